"""The Bulk identities wizard in the real window against the in-app Sandbox and its Azurite, as an
IoT admin would use it: a few devices made in contoso-hub-weu with the official azure-iot-hub SDK;
import a small devices.txt with two bad lines and see each problem beside its line before anything
is uploaded; fix them, import a file the hub refuses two lines of, and see importErrors.log line by
line beside the input lines, the codes in words (the hub read back with the SDK); then export the
hub and browse its devices in the table. A screenshot of each step.

The files live outside the app's home: a devices.txt with keys is the person's own, and the last
module scans the home for anything with a key in it."""

import base64
import json
import os

import pytest

from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import Twin
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import shoot, wait
from sandbox_access import hub_connection_string, sandbox_of

HUB = "contoso-hub-weu"
EXISTING = ["bulk-e2e-sensor-1", "bulk-e2e-sensor-2", "bulk-e2e-gateway"]
IMPORTED = ["bulk-e2e-new-1", "bulk-e2e-new-2"]


@pytest.fixture(scope="module", autouse=True)
def hub_left_as_found(home, driver):
    """The devices this module made are gone after it (while the app, and so its sandbox, still
    runs): the modules after it count the hub's devices."""
    yield
    hub = registry(home)
    for device in EXISTING + IMPORTED:
        try:
            hub.delete_device(device)
        except Exception:  # noqa: BLE001 - one a failed test never made
            pass


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def text_of(driver, selector) -> str:
    """All of an element's text, scrolled out of view or not (a table's cells are cut with an ellipsis)."""
    return driver.execute_script("return arguments[0].textContent", css(driver, selector))


def registry(home) -> IoTHubRegistryManager:
    _, ca, _ = sandbox_of(home)
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    return IoTHubRegistryManager.from_connection_string(hub_connection_string(home, HUB))


def key(n: int) -> str:
    return base64.b64encode(bytes([n]) * 32).decode()


def line(device: str, **fields) -> str:
    return json.dumps({"id": device, **fields})


def test_a_few_devices(home, driver):
    hub = registry(home)
    for i, device in enumerate(EXISTING):
        hub.create_device_with_sas(device, key(i + 1), key(i + 101), "enabled")
    twin = hub.get_twin(EXISTING[0])
    hub.update_twin(EXISTING[0], Twin(tags={"site": "bulk-plant-7"}), twin.etag)


def test_sign_in(driver):
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
    wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))


def choose_hub_and_storage(driver):
    wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-testid='hub'] option[value='rg-iot-prod/{HUB}']"))
    Select(css(driver, "[data-testid='hub']")).select_by_value(f"rg-iot-prod/{HUB}")
    wait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='storage-account'] option[value='rg-iot-prod/contosomigration']"))
    Select(css(driver, "[data-testid='storage-account']")).select_by_value("rg-iot-prod/contosomigration")
    assert css(driver, "[data-testid='container']").get_attribute("value") == "iotm-bulk-jobs"


def set_field(driver, selector, value):
    field = css(driver, selector)
    field.clear()
    # Typed as text: a path to a file that exists is not a file to upload to the driver.
    with driver.file_detector_context(UselessFileDetector):
        field.send_keys(value)


def test_bad_lines_are_shown_beside_their_numbers_before_anything_is_uploaded(driver, screenshots, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bulk-import")
    bad = folder / "lab-devices.txt"
    bad.write_text("\n".join([
        line("bulk-e2e-new-1", importMode="create"),
        '{"id": "bulk-e2e-new-2", "importMode": ',
        line("bulk-e2e-new-3", importMode="create", authentication={"type": "sas", "symmetricKey": {"primaryKey": "c2hvcnQ=", "secondaryKey": key(9)}}),
        line("bulk-e2e-new-1", importMode="create"),
    ]) + "\n")
    css(driver, "[data-nav='bulkIdentities']").click()
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-kind='import']"))).click()
    choose_hub_and_storage(driver)
    set_field(driver, "[data-testid='import-file']", str(bad))
    modes = [o.get_attribute("value") for o in Select(css(driver, "[data-testid='import-mode']")).options]
    assert len(modes) == 9 and "updateTwinIfMatchETag" in modes, modes
    Select(css(driver, "[data-testid='import-mode']")).select_by_value("create")
    css(driver, "[data-testid='dry-run-button']").click()
    problems = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='file-problems']")))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", problems)
    shoot(driver, screenshots, "bulk-1-file-problems")
    content = lambda el: driver.execute_script("return arguments[0].textContent", el)  # noqa: E731
    shown = {li.get_attribute("data-line"): li for li in problems.find_elements(By.CSS_SELECTOR, "li[data-line]")}
    assert sorted(shown) == ["2", "3", "4"], content(problems)
    assert content(shown["2"].find_element(By.CSS_SELECTOR, "code")) == '{"id": "bulk-e2e-new-2", "importMode":'
    assert "Not JSON" in content(shown["2"])
    assert "Bad key" in content(shown["3"]) and "c2hvcnQ" not in content(shown["3"]), "a key is never shown"
    assert "Duplicate ID" in content(shown["4"]) and "line 1" in content(shown["4"])
    assert "Nothing has been uploaded" in content(problems)
    assert css(driver, "[data-page='wizard']").get_attribute("data-step") == "plan", "the dry run did not start"


def test_import_errors_are_shown_beside_their_input_lines(home, driver, screenshots, tmp_path_factory):
    good = tmp_path_factory.mktemp("bulk-import-fixed") / "lab-devices.txt"
    good.write_text("\n".join([
        line("bulk-e2e-new-1", importMode="create", tags={"site": "lab"}),
        line(EXISTING[1], importMode="create"),  # the hub holds it: 409001
        line("bulk-e2e-new-2", importMode="createOrUpdate", status="disabled"),
        line("bulk-e2e-missing", importMode="update", status="enabled"),  # no such device: 404001
    ]) + "\n")
    set_field(driver, "[data-testid='import-file']", str(good))
    css(driver, "[data-testid='check-file']").click()
    ok = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='file-ok']")))
    assert "4 device lines" in ok.text, ok.text
    css(driver, "[data-testid='dry-run-button']").click()
    modes = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run-modes']")))
    assert "Create" in modes.text and "Update" in modes.text, modes.text
    shoot(driver, screenshots, "bulk-2-import-dry-run")
    css(driver, "[data-testid='run']").click()
    wait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='progress']")))
    table = wait(driver, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='import-errors-table']")))
    wait(driver, 10).until(lambda d: "bulk-e2e-missing" in text_of(d, "[data-testid='import-errors-table']"))
    rows = [" ".join(driver.execute_script("return arguments[0].textContent", r).split()) for r in table.find_elements(By.CSS_SELECTOR, ".row")]
    assert len(rows) == 2, rows
    assert rows[0].startswith(f'2 {{"id": "{EXISTING[1]}", "importMode": "create"}}'), rows[0]
    assert "a device with this ID is registered already" in rows[0] and "409001" in rows[0], rows[0]
    assert rows[1].startswith('4 {"id": "bulk-e2e-missing"'), rows[1]
    assert "no device with this ID is registered" in rows[1] and "404001" in rows[1], rows[1]
    assert "Finished" in css(driver, "[data-testid='headline']").text
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", css(driver, "[data-testid='import-errors']"))
    shoot(driver, screenshots, "bulk-3-import-errors")
    hub = registry(home)
    assert hub.get_twin("bulk-e2e-new-1").tags == {"site": "lab"}
    assert hub.get_device("bulk-e2e-new-2").status == "disabled"


def test_export_shows_the_devices_in_a_table(driver, screenshots, tmp_path_factory):
    saved = tmp_path_factory.mktemp("bulk-export") / "weu-devices.txt"
    css(driver, "[data-testid='plan-another']").click()
    wait(driver, 10).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-kind='export']"))).click()
    choose_hub_and_storage(driver)
    set_field(driver, "[data-testid='save-to']", str(saved))
    # Without keys: the export's blob stays in the sandbox's storage, which the last module scans.
    with_keys = css(driver, "[data-testid='with-keys']")
    assert with_keys.is_selected(), "keys are in by default, as the service exports them"
    with_keys.click()
    css(driver, "[data-testid='dry-run-button']").click()
    wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run-changes']")))
    in_hub = int(css(driver, "[data-testid='devices-in-hub']").text)
    assert in_hub >= len(EXISTING) + 2
    css(driver, "[data-testid='run']").click()
    table = wait(driver, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='devices-table']")))
    assert int(table.get_attribute("data-rows")) == in_hub
    exported = [json.loads(text) for text in saved.read_text().splitlines()]
    assert len(exported) == in_hub, "devices.txt is saved where the plan said"
    assert all(d["authentication"]["symmetricKey"]["primaryKey"] is None for d in exported), "exported without keys"
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", css(driver, "[data-testid='exported-devices']"))
    shoot(driver, screenshots, "bulk-4-exported-devices")
    set_field(driver, "input[aria-label='Filter devices']", "bulk-plant-7")
    wait(driver, 10).until(lambda d: css(d, "[data-testid='devices-table']").get_attribute("data-rows") == "1")
    shown = text_of(driver, "[data-testid='devices-table']")
    assert EXISTING[0] in shown and "Symmetric key" in shown, shown
    assert key(1) not in driver.page_source, "keys never reach the window"
    Select(css(driver, "select[aria-label='Status']")).select_by_value("disabled")
    set_field(driver, "input[aria-label='Filter devices']", "bulk-e2e")
    wait(driver, 10).until(lambda d: "bulk-e2e-new-2" in text_of(d, "[data-testid='devices-table']"))
    shoot(driver, screenshots, "bulk-5-exported-filtered")
