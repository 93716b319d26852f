"""Signing in, in the real window against the in-app sandbox: Sign in → the system browser (headless
Chromium) completes the sandbox's sign-in page and Entra's redirect to http://localhost:3000 → the
top bar shows the account; the Account page lists its subscriptions and Central apps; sign out.
No keyring runs in this session, so the sign-in is session-only and the dialog says why."""

import json
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import shoot, wait
from sandbox_access import hub_connection_string


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def test_sign_in_through_the_system_browser_shows_the_account(driver, home, screenshots):
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
    dialog = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='sign-in-dialog']")))
    assert "browser" in dialog.text
    name = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))
    assert name.text == "Ada Lovelace"
    # The tab reads its page after the app has already moved on: wait for the browser's note.
    note = Path(home.env["IOTM_E2E_BROWSER_LOG"])
    deadline = time.monotonic() + 30
    while not note.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    heading, landed = note.read_text().splitlines()
    assert heading == "Signed in" and landed == "http://localhost:3000/"
    accounts = json.loads((home.config_dir / "accounts.json").read_text()) if (home.config_dir / "accounts.json").exists() else {"accounts": []}
    assert "token" not in json.dumps(accounts).lower()
    shoot(driver, screenshots, "signed-in")


def test_the_account_page_lists_subscriptions_and_central_apps(driver, screenshots):
    css(driver, "[data-testid='account']").click()
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "a[href='#/account']"))).click()
    rows = lambda table: driver.find_elements(By.CSS_SELECTOR, f"[data-testid='{table}'] tbody tr")
    wait(driver, 30).until(lambda d: len(rows("central-apps")) == 3)
    assert len(rows("subscriptions")) == 2
    subdomains = sorted(r.find_elements(By.TAG_NAME, "td")[1].text for r in rows("central-apps"))
    assert subdomains == ["contoso-cold-chain", "contoso-fleet", "contoso-lab"]
    shoot(driver, screenshots, "account-page")


def test_sign_out_forgets_the_account(driver, home):
    css(driver, "[data-testid='account']").click()
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-out']"))).click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='sign-in']")))
    time.sleep(0.3)
    assert "Not signed in" in css(driver, "[data-page='account']").text
    log = "\n".join(p.read_text(errors="replace") for p in home.log_dir.glob("*"))
    assert "signed out" in log and "Bearer " not in log and "refresh_token" not in log


def test_a_connection_string_is_checked_by_the_service_and_its_secret_never_written(driver, home, screenshots):
    """Each pasted connection string is tried before it is kept: a malformed one, a made-up host and
    a wrong key for a real hub are each refused with what to fix; the real one is kept, its key
    nowhere on disk, and what was pasted can be shown to check it."""
    real = hub_connection_string(home, "contoso-hub-neu")
    key = real.rsplit("SharedAccessKey=", 1)[1]
    css(driver, "[data-nav='settings']").click()
    form = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='add-connection']")))
    secret = form.find_element(By.CSS_SELECTOR, "input[aria-label='Secret']")

    def refused_with(text: str, code: str) -> str:
        secret.clear()
        secret.send_keys(text)
        form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
        alert = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, f"[data-testid='connections-card'] [role='alert'][data-error-code='{code}']")))
        return alert.text

    assert "SharedAccessKeyName" in refused_with(real.replace("SharedAccessKeyName=iothubowner;", ""), "connections.invalid")
    assert "contoso-hub.azure-devices.net" in refused_with(real.replace(real.split(";")[0], "HostName=contoso-hub.azure-devices.net"), "connections.unreachable")
    wrong_key = real.replace(key, "d3Jvbmcta2V5LW9mLXRoZS1wb2xpY3ktMzItYnl0ZXM=")
    assert "refused" in refused_with(wrong_key, "connections.key_refused")
    form.find_element(By.CSS_SELECTOR, "button.reveal").click()
    assert secret.get_attribute("type") == "text" and secret.get_attribute("value") == wrong_key
    secret.clear()
    secret.send_keys(real)
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    row = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='connections'] li")))
    assert "iothubowner" in row.text and "this session" in row.text
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid='connections-card'] [role='alert']"), "the accepted string clears the last refusal"
    driver.execute_script("document.querySelector(\"[data-testid='connections-card']\").scrollIntoView()")
    shoot(driver, screenshots, "settings-connections")
    # Not the simulated cloud's own saved state (sandbox/sandbox-state.json), which holds its hubs' keys.
    on_disk = "".join(p.read_text(errors="replace") for p in home.root.rglob("*.json") if p.name != "sandbox-state.json")
    assert key not in on_disk


def test_a_desktop_registration_signs_in_too(driver, home, screenshots):
    """Settings → the sandbox's mobile-and-desktop registration → Sign in → the account is back."""
    css(driver, "[data-nav='settings']").click()
    client = wait(driver).until(EC.presence_of_element_located((By.ID, "clientId")))
    client.clear()
    client.send_keys("5a4b1c2d-0000-4000-8000-00000000a002")
    Select(css(driver, "#registration")).select_by_value("desktop")
    css(driver, "[data-testid='save-settings']").click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='settings-saved']")))
    note = Path(home.env["IOTM_E2E_BROWSER_LOG"])
    note.unlink(missing_ok=True)
    css(driver, "[data-testid='sign-in']").click()
    name = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))
    assert name.text == "Ada Lovelace"
    deadline = time.monotonic() + 30
    while not note.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert note.read_text().splitlines()[0] == "Signed in"
    css(driver, "[data-testid='account']").click()
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "a[href='#/account']"))).click()
    card = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-card']")))
    assert "desktop registration" in card.text
