"""Signing in on a computer where no browser opens (no xdg-open, no gio: a server image, a broken
desktop): the dialog says so plainly instead of "your browser has opened", and the link with its
Copy button is the way in — a person pastes it into a browser, signs in, and the app continues."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

import conftest
from conftest import shoot, wait
from system_browser import main as person_signs_in_with


@pytest.fixture(scope="module")
def home():
    """A fresh home whose PATH holds only what the driver needs: no program that opens a browser."""
    root = Path(tempfile.mkdtemp(prefix="iotm-e2e-nobrowser-"))
    home = conftest.Home(root)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for tool in ("tauri-driver", "WebKitWebDriver"):
        found = shutil.which(tool)
        assert found, f"{tool} is not installed"
        (bin_dir / tool).symlink_to(found)
    home.env["PATH"] = str(bin_dir)
    home.env.pop("BROWSER", None)
    yield home
    shutil.rmtree(root, ignore_errors=True)


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def not_opened_dialog(driver):
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
    return wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='browser-not-opened']")))


def choose_theme(driver, theme: str):
    css(driver, "[data-nav='settings']").click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, f"[data-theme-option='{theme}']"))).find_element(By.XPATH, "..").click()
    css(driver, "[data-testid='save-settings']").click()
    wait(driver).until(lambda d: d.execute_script("return document.documentElement.dataset.theme") == theme)


def test_the_dialog_says_no_browser_opened_and_offers_the_link_to_copy(driver, screenshots):
    choose_theme(driver, "light")
    warning = not_opened_dialog(driver)
    dialog = css(driver, "[data-testid='sign-in-dialog']")
    assert "Your browser did not open." in warning.text and "xdg-open is not installed" in warning.text, warning.text
    assert "has opened" not in dialog.text
    link = css(driver, "[data-testid='sign-in-link']").get_attribute("value")
    assert link.startswith("http://localhost:") and "/oauth2/v2.0/authorize?" in link, link
    copy = css(driver, "[data-testid='copy-sign-in-link']")
    assert "primary" in copy.get_attribute("class")
    copy.click()
    wait(driver).until(lambda d: "Copied." in dialog.text or "press Ctrl+C" in dialog.text)
    shoot(driver, screenshots, "sign-in-no-browser-light")
    css(driver, "[data-testid='cancel-sign-in']").click()
    wait(driver).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, "[data-testid='sign-in-dialog']")))

    choose_theme(driver, "dark")
    not_opened_dialog(driver)
    shoot(driver, screenshots, "sign-in-no-browser-dark")
    css(driver, "[data-testid='cancel-sign-in']").click()
    wait(driver).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, "[data-testid='sign-in-dialog']")))
    choose_theme(driver, "light")


def test_the_copied_link_opened_by_hand_signs_the_person_in(driver, home):
    not_opened_dialog(driver)
    link = css(driver, "[data-testid='sign-in-link']").get_attribute("value")
    # What the person does with the copied link: a stock browser (no certificate exception).
    os.environ["IOTM_E2E_BROWSER_LOG"] = str(home.root / "by-hand.log")
    person_signs_in_with(link)
    name = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))
    assert name.text == "Ada Lovelace"
    assert (home.root / "by-hand.log").read_text().splitlines()[0] == "Signed in"
