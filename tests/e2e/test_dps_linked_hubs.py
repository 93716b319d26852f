"""The DPS linked hubs wizard in the real window against the in-app Sandbox, as an IoT admin would
use it: pick contoso-dps and see its linked hub; link contoso-hub-neu with weight 3 (the chart
shows its expected share, the dry run the change in words); rotate the keys of its link (the old
keys then refused by the hub); unlink it, with the enrollment that names it shown, allowed to be
edited, and left naming the other hub only. What the window did is read back through ARM and the
DPS service API, not from the window's own words. A screenshot of each step."""

import base64
import hashlib
import hmac
import time
import urllib.parse

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import shoot, wait
from sandbox_access import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT, sandbox_of

RG = "rg-iot-prod"
ARM = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Devices"


@pytest.fixture(scope="module", autouse=True)
def the_built_in_links(home, driver):
    """The suite shares one sandbox, and Central → Hub before this links contoso-hub-neu and moves
    devices to it: the scenario is loaded again, so the DPS starts with its one built-in link. (The
    window's app starts its sandbox anew; until its log names the new address, the last one answers
    nothing.)"""
    deadline = time.monotonic() + 60
    while True:
        base, ca, control = sandbox_of(home)
        try:
            requests.post(f"{base}/_sandbox/reset", verify=ca, timeout=60, headers=control).raise_for_status()
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


class Arm:
    """ARM and the DPS's service API, as the scenario's automation service principal."""

    def __init__(self, home):
        self.base, self.ca, control = sandbox_of(home)
        secret = requests.get(f"{self.base}/_sandbox/credentials", verify=self.ca, timeout=30, headers=control).json()["clientSecrets"][AUTOMATION_CLIENT]
        token = requests.post(f"{self.base}/{TENANT}/oauth2/v2.0/token", verify=self.ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": AUTOMATION_CLIENT, "client_secret": secret,
            "scope": "https://management.azure.com/.default"}).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, version: str):
        r = requests.get(f"{self.base}{ARM}/{path}?api-version={version}", verify=self.ca, timeout=30, headers=self.headers)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, version: str):
        r = requests.post(f"{self.base}{ARM}/{path}?api-version={version}", verify=self.ca, timeout=30, headers=self.headers)
        r.raise_for_status()
        return r.json()

    def host(self, hub: str) -> str:
        return self.get(f"IotHubs/{hub}", "2023-06-30")["properties"]["hostName"]

    def hub_keys(self, hub: str) -> dict:
        return self.post(f"IotHubs/{hub}/IotHubKeys/iothubowner/listkeys", "2023-06-30")

    def linked(self) -> list[dict]:
        return self.get("provisioningServices/contoso-dps", "2022-12-12")["properties"]["iotHubs"]

    def enrollment_group(self, group: dict | None, group_id: str) -> dict:
        """Puts `group` (or reads it, when None) through the DPS's service API, signed with its owner key."""
        service = self.get("provisioningServices/contoso-dps", "2022-12-12")["properties"]["serviceOperationsHostName"]
        key = self.post("provisioningServices/contoso-dps/keys/provisioningserviceowner/listKeys", "2022-12-12")["primaryKey"]
        sr = urllib.parse.quote(service, safe="")
        se = int(time.time()) + 3600
        sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
        auth = {"Authorization": f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn=provisioningserviceowner"}
        url = f"https://{service}/enrollmentGroups/{group_id}?api-version=2021-10-01"
        r = requests.put(url, json=group, verify=self.ca, timeout=30, headers=auth) if group else requests.get(url, verify=self.ca, timeout=30, headers=auth)
        r.raise_for_status()
        return r.json()


def hub_accepts(arm: Arm, host: str, key: str) -> int:
    """The status the hub's registry answers a call signed with `key` (200, or 401 for a stale key)."""
    sr = urllib.parse.quote(host, safe="")
    se = int(time.time()) + 3600
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    token = f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn=iothubowner"
    return requests.get(f"https://{host}/devices?top=1&api-version=2021-04-12", verify=arm.ca, timeout=30, headers={"Authorization": token}).status_code


def run_and_wait_for_report(driver, screenshots, name: str, timeout: float = 120):
    css(driver, "[data-testid='run']").click()
    wait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='monitor']")))
    report = wait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='report-items']")))
    assert "Done" in css(driver, "[data-testid='headline']").text
    shoot(driver, screenshots, name)
    return report


def plan_another(driver, action: str):
    css(driver, "[data-testid='plan-another']").click()
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"[data-action='{action}']"))).click()


def test_sign_in(driver):
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
    wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))


def test_see_the_dps(driver, screenshots):
    css(driver, "[data-nav='dpsLinkedHubs']").click()
    wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-testid='dps'] option[value='{RG}/contoso-dps']"))
    Select(css(driver, "[data-testid='dps']")).select_by_value(f"{RG}/contoso-dps")
    table = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='linked-hubs'] tbody tr[data-host]")))
    assert "contoso-hub-weu" in table.text and "iothubowner" in table.text
    assert css(driver, "[data-testid='allocation-policy']").text == "Hashed"
    assert "SharedAccessKey" not in css(driver, "[data-testid='dps-card']").text
    shoot(driver, screenshots, "dps-linked-hubs-1-view")


def test_link_a_hub(home, driver, screenshots):
    arm = Arm(home)
    neu = arm.host("contoso-hub-neu").lower()
    css(driver, "[data-action='link']").click()
    wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-testid='link-hub'] option[value='{RG}/contoso-hub-neu']"))
    Select(css(driver, "[data-testid='link-hub']")).select_by_value(f"{RG}/contoso-hub-neu")
    wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='link-policy'] option[value='iothubowner']"))
    offered = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "[data-testid='link-policy'] option")]
    assert offered == ["iothubowner"], "only policies with RegistryWrite and ServiceConnect are offered"
    weight = css(driver, "[data-testid='weight-input']")
    weight.send_keys("1001")
    assert "1 to 1000" in wait(driver, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='weight-problem']"))).text
    assert not css(driver, "[data-testid='dry-run-button']").is_enabled()
    weight.clear()
    weight.send_keys("3")
    share = wait(driver, 5).until(lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid='share'][data-host='{neu}']"))
    assert float(share.get_attribute("data-after")) == 0.75 and share.get_attribute("data-before") == "", "weights 1 and 3: three quarters to the new hub"
    shoot(driver, screenshots, "dps-linked-hubs-2-link-plan")
    css(driver, "[data-testid='dry-run-button']").click()
    changes = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run-changes']")))
    assert "link contoso-hub-neu: weight 3, apply allocation policy yes, through policy iothubowner" in changes.text, changes.text
    assert "SharedAccessKey=****" in css(driver, "[data-testid='json-after']").text
    assert len(arm.linked()) == 1, "a dry run writes nothing"
    shoot(driver, screenshots, "dps-linked-hubs-3-link-dry-run")
    report = run_and_wait_for_report(driver, screenshots, "dps-linked-hubs-4-linked")
    assert "linked" in report.text
    linked = {h["name"].lower(): h for h in arm.linked()}
    assert linked[neu]["allocationWeight"] == 3


def test_rotate_its_keys(home, driver, screenshots):
    arm = Arm(home)
    neu = arm.host("contoso-hub-neu")
    old = arm.hub_keys("contoso-hub-neu")
    plan_another(driver, "rotateKeys")
    wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-testid='rotate-hub'] option[value='{RG}/contoso-hub-neu']"))
    Select(css(driver, "[data-testid='rotate-hub']")).select_by_value(f"{RG}/contoso-hub-neu")
    assert css(driver, "[data-testid='rotate-policy']").get_attribute("value") == "iothubowner", "the policy the link uses"
    assert css(driver, "[data-testid='renew-secondary']").is_selected()
    css(driver, "[data-testid='dry-run-button']").click()
    steps = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='rotation-steps']")))
    assert len(steps.find_elements(By.CSS_SELECTOR, "li")) == 6, steps.text
    shoot(driver, screenshots, "dps-linked-hubs-5-rotate-dry-run")
    report = run_and_wait_for_report(driver, screenshots, "dps-linked-hubs-6-rotated", timeout=180)
    assert "keys rotated" in report.text
    done = [li.get_attribute("data-step") for li in driver.find_elements(By.CSS_SELECTOR, "[data-testid='monitor'] li[data-step-state='done']")]
    for step in ["use-secondary", "prove-secondary", "renew-primary", "use-primary", "prove-primary", "renew-secondary"]:
        assert step in done, done
    new = arm.hub_keys("contoso-hub-neu")
    assert new["primaryKey"] != old["primaryKey"] and new["secondaryKey"] != old["secondaryKey"]
    assert hub_accepts(arm, neu, old["primaryKey"]) == 401 and hub_accepts(arm, neu, old["secondaryKey"]) == 401, "the old keys are refused"
    assert hub_accepts(arm, neu, new["primaryKey"]) == 200


def test_unlink_it_with_the_enrollment_that_names_it(home, driver, screenshots):
    arm = Arm(home)
    weu, neu = arm.host("contoso-hub-weu").lower(), arm.host("contoso-hub-neu").lower()
    key = base64.b64encode(b"e2e linked hubs enrollment group key 32b!").decode()
    arm.enrollment_group({"enrollmentGroupId": "e2e-both-hubs", "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": key, "secondaryKey": key}},
                          "iotHubs": [weu, neu]}, "e2e-both-hubs")
    plan_another(driver, "unlink")
    wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"[data-testid='unlink-hubs'] input[data-host='{neu}']"))).click()
    warning = wait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='pinned-warning']")))
    assert "1 enrollment names contoso-hub-neu" in warning.text, warning.text
    shoot(driver, screenshots, "dps-linked-hubs-7-unlink-plan")
    css(driver, "[data-testid='dry-run-button']").click()
    pinned = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='pinned']")))
    assert "e2e-both-hubs (group; hubs: contoso-hub-weu, contoso-hub-neu)" in pinned.text, pinned.text
    assert not css(driver, "[data-testid='run']").is_enabled(), "the unlink waits until editing the enrollment is allowed"
    css(driver, "[data-testid='edit-enrollments']").click()
    assert css(driver, "[data-testid='run']").is_enabled()
    shoot(driver, screenshots, "dps-linked-hubs-8-unlink-dry-run")
    report = run_and_wait_for_report(driver, screenshots, "dps-linked-hubs-9-unlinked")
    assert "unlinked" in report.text and "hub taken out" in report.text, report.text
    assert [h["name"].lower() for h in arm.linked()] == [weu]
    assert [h.lower() for h in arm.enrollment_group(None, "e2e-both-hubs")["iotHubs"]] == [weu]
