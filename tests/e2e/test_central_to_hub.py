"""The Central → Hub wizard clicked through in the real window against the in-app Sandbox, as a
person would: sign in; choose the Central app, its template (checked for DeviceMove), the device
group, the DPS and a hub it does not link yet; dry run; run 200 simulated devices mixing every
persona; watch; read the report — whose counts per persona must be exact (healthy and slow →
verified; offline, no DeviceMove, wrong key, never moves → failed with the right reason) — export
it, and find the migration on the Jobs page. A screenshot of each step."""

import json
import re
import subprocess
import time
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import shoot, wait
from sandbox_access import sandbox_of

PERSONAS = ["offline", "noDeviceMove", "wrongKey", "neverMoves", "slow"]
EXPECTED = {"healthy": ("verified", None), "slow": ("verified", None), "offline": ("failed", "noAnswer"),
            "noDeviceMove": ("failed", "noDeviceMove"), "wrongKey": ("failed", "wrongKey"), "neverMoves": ("failed", "neverRegistered")}


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def shoot_every_way(driver, screenshots, name: str, check_small=None):
    """The page as it is, then dark, then at the window's minimum size (960×620) in both themes;
    the theme is put back as it was (only the page's attribute: nothing is saved)."""
    before = driver.execute_script("return document.documentElement.dataset.theme ?? null")
    wid = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^IoT Migrator$"], capture_output=True, text=True, timeout=10).stdout.split()[0]
    size = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], capture_output=True, text=True, timeout=10).stdout
    width, height = (re.search(rf"{k}=(\d+)", size).group(1) for k in ("WIDTH", "HEIGHT"))
    try:
        for small in (False, True):
            if small:
                subprocess.run(["xdotool", "windowsize", "--sync", wid, "960", "620"], check=True, timeout=10)
                if check_small:
                    time.sleep(0.5)
                    check_small()
            for theme in ("light", "dark"):
                driver.execute_script("document.documentElement.dataset.theme = arguments[0]", theme)
                shoot(driver, screenshots, f"{name}-{theme}{'-960x620' if small else ''}")
    finally:
        subprocess.run(["xdotool", "windowsize", "--sync", wid, width, height], check=True, timeout=10)
        driver.execute_script("if (arguments[0]) document.documentElement.dataset.theme = arguments[0]; else delete document.documentElement.dataset.theme", before)


def test_a_fleet_of_two_hundred_with_every_persona(driver, home):
    base, ca, control = sandbox_of(home)
    scenario = requests.get(f"{base}/_sandbox/scenario", verify=ca, timeout=30, headers=control)
    scenario = scenario.json() if scenario.ok else None
    assert scenario, "the control API gives the loaded scenario"
    app = scenario["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"][0]
    fleet = next(f for f in app["fleets"] if f["prefix"] == "thermostat-")
    fleet["count"] = 200
    fleet["personas"] = {p: 5.0 for p in PERSONAS}
    scenario["deviceTiming"] = {"answerMs": 50, "slowAnswerMs": 600, "reconnectMs": 100, "commandTimeoutMs": 1500}
    r = requests.post(f"{base}/_sandbox/scenario", data=json.dumps(scenario), verify=ca, timeout=60, headers=control)
    assert r.ok, r.text


def test_sign_in(driver):
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
    name = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))
    assert name.text == "Ada Lovelace"


def test_plan_source_and_target(driver, screenshots):
    css(driver, "[data-nav='centralToHub']").click()
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-app='contoso-fleet']"))).click()
    templates = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='templates']")))
    # The legacy template cannot move, and says why.
    assert "no DeviceMove command" in templates.text
    thermostat = templates.find_element(By.CSS_SELECTOR, "input[value='dtmi:contoso:Thermostat;1']")
    assert thermostat.is_selected(), "the template with DeviceMove is chosen for the person"
    groups = css(driver, "[data-testid='device-groups']")
    groups.find_element(By.CSS_SELECTOR, "input[value='thermostats']").click()
    dps = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dps']")))
    Select(dps).select_by_value("rg-iot-prod/contoso-dps")
    facts = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dps-facts']")))
    assert "contoso-hub-weu" in facts.text
    Select(css(driver, "[data-testid='hub']")).select_by_value("contoso-hub-neu")
    assert "Not linked yet" in css(driver, "[data-testid='target']").text
    # The DPS enrollment group is named after this app and template, so another app's plan does not clash.
    assert css(driver, "[data-testid='dps-group']").get_attribute("value") == "contoso-fleet-thermostat-v1"
    settle = css(driver, "[data-testid='settle']")
    settle.clear()
    settle.send_keys("5")
    shoot(driver, screenshots, "c2h-1-plan")
    shoot_every_way(driver, screenshots, "c2h-1-plan")


def test_a_subscription_without_a_dps_says_so_and_offers_to_create_one(driver, screenshots):
    subscription = Select(css(driver, "[data-testid='subscription']"))
    production = subscription.first_selected_option.text
    subscription.select_by_visible_text("Contoso IoT Lab (sandbox)")
    empty = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='no-dps']")))
    assert "no Device Provisioning Service" in empty.text
    css(driver, "[data-testid='create-dps-open']").click()
    groups = [o.get_attribute("value") for o in Select(css(driver, "[data-testid='new-dps-group']")).options]
    assert groups == ["rg-iot-lab"], groups
    region = Select(css(driver, "[data-testid='new-dps-location']")).first_selected_option.text
    assert region, "a region is chosen for the person, from the resource group's"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(driver, "[data-testid='create-dps']"))
    shoot_every_way(driver, screenshots, "c2h-1-plan-no-dps")
    css(driver, "[data-testid='create-dps'] button:not(.primary)").click()
    subscription.select_by_visible_text(production)
    wait(driver, 30).until(lambda d: Select(css(d, "[data-testid='dps']")).first_selected_option.get_attribute("value") == "rg-iot-prod/contoso-dps")
    assert Select(css(driver, "[data-testid='hub']")).first_selected_option.get_attribute("value") == "contoso-hub-neu"


def test_a_batch_of_zero_is_refused_on_its_field(driver, screenshots):
    batch = css(driver, "[data-testid='batch-size']")
    batch.send_keys("0")
    said = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-field='job.batchSize']")))
    assert "at least 1 device" in said.text
    assert not css(driver, "[data-testid='to-dry-run']").is_enabled()
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", batch)
    shoot(driver, screenshots, "c2h-1-plan-batch-zero")
    batch.send_keys(Keys.BACKSPACE)  # as a person empties it (WebDriver's clear() sends no input event)
    wait(driver).until(lambda d: css(d, "[data-testid='to-dry-run']").is_enabled())
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-field='job.batchSize']")


def choose_file(driver, path: Path):
    """Picks `path` in the page's file input, as the file dialog does (the window and the driver run
    on this machine, so the path is given as it is rather than uploaded through Selenium's grid)."""
    with driver.file_detector_context(UselessFileDetector):
        css(driver, "[data-testid='open-plan']").send_keys(str(path))


def test_the_plan_saves_as_a_file_and_opens_from_one(driver, home, screenshots):
    css(driver, "[data-testid='save-plan']").click()
    said = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='plan-file']")))
    path = Path(said.text.removeprefix("Saved to "))
    assert path.parent == home.root / "Downloads", path
    plan = json.loads(path.read_text())
    assert (plan["source"]["subdomain"], plan["target"]["hubName"], plan["verify"]["settleSeconds"]) == ("contoso-fleet", "contoso-hub-neu", 5)
    # A plan file with a mistake is refused with its line and field, and the plan on the page is kept.
    broken = path.with_name("broken-plan.json")
    broken.write_text(path.read_text().replace('"hubName"', '"hubNmae"'))
    choose_file(driver, broken)
    error = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-error-code='migration.badPlan']")))
    assert "target.hubNmae" in error.text and "line" in error.text, error.text
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", error)
    shoot(driver, screenshots, "c2h-1-plan-file-refused")
    # The saved plan, edited, opens into the page.
    plan["verify"]["settleSeconds"] = 7
    edited = path.with_name("edited-plan.json")
    edited.write_text(json.dumps(plan, indent=2))
    choose_file(driver, edited)
    wait(driver).until(lambda d: css(d, "[data-testid='settle']").get_attribute("value") == "7")
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-error-code='migration.badPlan']")
    driver.execute_script("document.querySelector(\"[data-testid='save-plan']\").scrollIntoView({block: 'end'})")
    shoot(driver, screenshots, "c2h-1-plan-file")
    settle = css(driver, "[data-testid='settle']")
    settle.clear()
    settle.send_keys("5")


def test_dry_run_lists_the_changes_and_who_will_fail(driver, screenshots):
    css(driver, "[data-testid='to-dry-run']").click()
    dry = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run']")))
    kinds = [li.get_attribute("data-kind") for li in dry.find_elements(By.CSS_SELECTOR, "[data-testid='changes'] li")]
    assert kinds == ["linkHub", "createEnrollmentGroup", "createJob"], kinds
    changes = css(driver, "[data-testid='changes']").text
    # Resources by their names, never the sandbox's host and port.
    assert "Link the hub contoso-hub-neu to the DPS contoso-dps" in changes, changes
    assert "localhost" not in changes and "azure-devices" not in changes, changes
    assert re.search(r"sending DeviceMove to the \d+ devices of the device group \w", changes), changes
    assert '"idScope"' in css(driver, "[data-testid='payload']").text
    # The ten wrong-key devices are caught before anything runs: their keys are their own.
    assert css(driver, "[data-testid='expected-fail-count']").text == "10"
    assert css(driver, "[data-testid='ready-count']").text == "190"
    assert css(driver, "[data-testid='readiness-table']").get_attribute("data-rows") == "200"
    tiles = css(driver, ".tiles").text
    assert "own key, not the group's" in tiles and "wrongKey" not in tiles, tiles
    shoot(driver, screenshots, "c2h-2-dry-run")


    def payload_breaks_only_between_names():
        # At 960 px the payload takes several lines, and each "name":"value" piece stays on one.
        lines, whole = driver.execute_script(
            "const p = document.querySelector(\"[data-testid='payload']\"); const spans = [...p.querySelectorAll('span')];"
            "return [new Set(spans.map(s => Math.round(s.getBoundingClientRect().top))).size, spans.every(s => s.getClientRects().length === 1)]"
        )
        assert lines > 1 and whole, (lines, whole)

    shoot_every_way(driver, screenshots, "c2h-2-dry-run", payload_breaks_only_between_names)


def test_run_and_watch_every_device(driver, screenshots):
    css(driver, "[data-testid='run']").click()
    wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='monitor']")))
    wait(driver, 60).until(lambda d: int(css(d, "[data-testid='counts'] [data-state='verified'] strong").text) > 0)
    # Every device is in the table while the run goes on, not only those that have changed.
    wait(driver, 10).until(lambda d: css(d, "[data-testid='devices-table']").get_attribute("data-rows") == "200")
    shoot(driver, screenshots, "c2h-3-run")
    wait(driver, 120).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='to-report']")))
    counts = {b.get_attribute("data-state"): int(b.find_element(By.TAG_NAME, "strong").text) for b in driver.find_elements(By.CSS_SELECTOR, "[data-testid='counts'] button")}
    assert counts["verified"] == 160 and counts["failed"] == 40, counts
    assert css(driver, "[data-testid='devices-table']").get_attribute("data-rows") == "200"
    shoot(driver, screenshots, "c2h-4-verified")


def test_the_report_counts_every_persona_exactly(driver, home, screenshots):
    css(driver, "[data-testid='to-report']").click()
    report = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='report']")))
    assert (css(driver, "[data-testid='verified']").text, css(driver, "[data-testid='failed']").text) == ("160", "40")
    reasons = {tr.get_attribute("data-code"): int(tr.find_element(By.CSS_SELECTOR, ".n").text) for tr in report.find_elements(By.CSS_SELECTOR, "[data-testid='by-reason'] tr")}
    assert reasons == {"noAnswer": 10, "noDeviceMove": 10, "wrongKey": 10, "neverRegistered": 10}, reasons
    css(driver, "[data-testid='export-json']").click()
    saved = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='saved']")))
    path = Path(saved.text.removeprefix("Saved "))
    assert path.parent == home.root / "Downloads", path
    exported = json.loads(path.read_text())
    base, ca, control = sandbox_of(home)
    personas = {d["id"]: d["persona"] for d in requests.get(f"{base}/_sandbox/fleet/contoso-fleet", verify=ca, timeout=30, headers=control).json()["devices"] if d["id"].startswith("thermostat-")}
    ended = {d["deviceId"]: (d["state"], d["reasonCode"]) for d in exported["devices"]}
    assert len(ended) == 200
    wrong = {d: (personas[d], ended[d]) for d in ended if ended[d] != EXPECTED[personas[d]]}
    assert not wrong, wrong
    css(driver, "[data-testid='export-csv']").click()
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='saved']")) == 2)
    shoot(driver, screenshots, "c2h-5-report")


def test_the_jobs_page_lists_the_migration(driver, screenshots):
    css(driver, "[data-nav='jobs']").click()
    row = wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='migrations'] tbody tr")))
    assert row.get_attribute("data-state") == "completed"
    assert "contoso-fleet → contoso-hub-neu via contoso-dps" in row.text
    shoot(driver, screenshots, "c2h-6-jobs")
