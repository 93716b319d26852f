"""The Hub state wizard in the real window against the in-app Sandbox, as an IoT admin would use it:
a few devices made in contoso-hub-weu with the official azure-iot-hub SDK; choose Migrate hub → hub,
the two hubs from ARM, devices and configurations (ARM shown as not yet available); tick Replace and
see the dry run's delete count named in the confirmation, cancel it; dry run again without Replace,
migrate, read the report; the target hub then holds the devices (read back with the SDK). A
screenshot of each step."""

import base64
import os

from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import Twin
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import shoot, wait
from sandbox_access import hub_connection_string, sandbox_of

DEVICES = ["hs-e2e-thermostat-1", "hs-e2e-thermostat-2", "hs-e2e-gateway"]
ONLY_IN_TARGET = "hs-e2e-only-in-target"


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def registry(home, hub: str) -> IoTHubRegistryManager:
    _, ca, _ = sandbox_of(home)
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    return IoTHubRegistryManager.from_connection_string(hub_connection_string(home, hub))


def key(n: int) -> str:
    return base64.b64encode(bytes([n]) * 32).decode()


def test_a_small_hub(home, driver):
    source = registry(home, "contoso-hub-weu")
    for i, device in enumerate(DEVICES):
        source.create_device_with_sas(device, key(i + 1), key(i + 101), "enabled")
    twin = source.get_twin(DEVICES[0])
    source.update_twin(DEVICES[0], Twin(tags={"site": "weu-plant-3"}), twin.etag)
    # A device the target has and the source has not: what Replace would delete.
    registry(home, "contoso-hub-neu").create_device_with_sas(ONLY_IN_TARGET, key(7), key(8), "enabled")


def test_sign_in(driver):
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
    wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))


def test_plan(driver, screenshots):
    css(driver, "[data-nav='hubState']").click()
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-mode='migrate']"))).click()
    wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='source-hub'] option[value='rg-iot-prod/contoso-hub-weu']"))
    Select(css(driver, "[data-testid='source-hub']")).select_by_value("rg-iot-prod/contoso-hub-weu")
    Select(css(driver, "[data-testid='target-hub']")).select_by_value("rg-iot-prod/contoso-hub-neu")
    assert css(driver, "[data-aspect='devices']").is_selected() and css(driver, "[data-aspect='configurations']").is_selected()
    arm = css(driver, "[data-aspect='arm']")
    assert not arm.is_enabled(), "the ARM aspect cannot be chosen yet"
    assert "not yet available" in css(driver, "[data-testid='aspects']").text
    css(driver, "[data-testid='replace']").click()
    shoot(driver, screenshots, "hub-state-1-plan")


def test_replace_names_what_it_deletes(driver, screenshots):
    css(driver, "[data-testid='dry-run-button']").click()
    counts = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run-counts']")))
    deletes = int(counts.find_element(By.CSS_SELECTOR, "tr[data-kind='device'] td[data-change='delete']").text)
    assert deletes >= 1, counts.text
    css(driver, "[data-testid='run']").click()
    dialog = wait(driver, 10).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid='confirm-replace']")))
    assert f"Delete {deletes} device" in dialog.text, dialog.text
    shoot(driver, screenshots, "hub-state-2-replace-confirmation")
    dialog.find_element(By.XPATH, ".//button[normalize-space()='Cancel']").click()
    wait(driver, 10).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, "[data-testid='confirm-replace']")))
    driver.find_element(By.XPATH, "//button[normalize-space()='Back to the plan']").click()
    wait(driver, 10).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='replace']"))).click()


def test_dry_run(driver, screenshots):
    css(driver, "[data-testid='dry-run-button']").click()
    counts = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run-counts']")))
    device = counts.find_element(By.CSS_SELECTOR, "tr[data-kind='device']")
    assert int(device.find_element(By.CSS_SELECTOR, "td[data-change='create']").text) >= len(DEVICES), counts.text
    assert device.find_element(By.CSS_SELECTOR, "td[data-change='delete']").text == "0", "without Replace nothing is deleted"
    driver.find_element(By.CSS_SELECTOR, "input[aria-label='Search by ID']").send_keys("hs-e2e")
    listed = lambda d: d.execute_script("return arguments[0].textContent", css(d, "[data-testid='changes-table']"))  # noqa: E731
    wait(driver, 10).until(lambda d: all(x in listed(d) for x in DEVICES))
    shoot(driver, screenshots, "hub-state-3-dry-run")


def test_run_and_report(home, driver, screenshots):
    css(driver, "[data-testid='run']").click()
    wait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='monitor']")))
    shoot(driver, screenshots, "hub-state-4-running")
    report = wait(driver, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='report-counts']")))
    assert "Finished" in css(driver, "[data-testid='headline']").text
    assert "created" in report.find_element(By.CSS_SELECTOR, "tr[data-kind='device']").text, report.text
    shoot(driver, screenshots, "hub-state-5-report")
    target = registry(home, "contoso-hub-neu")
    for i, device in enumerate(DEVICES):
        copied = target.get_device(device)
        assert copied.authentication.symmetric_key.primary_key == key(i + 1), device
    assert target.get_twin(DEVICES[0]).tags == {"site": "weu-plant-3"}
    assert target.get_device(ONLY_IN_TARGET).device_id == ONLY_IN_TARGET, "without Replace, the target keeps its own devices"
