"""The rehearsal survives the app being killed: start a 200-device Central → Hub move, kill the app
(SIGKILL, mid-run), open it again on the same folders, and Resume from the offer that appears at
once — signing in again first — to the same end state as a run without the interruption: the
report's counts per persona exact, as test_central_to_hub asserts them. The in-app sandbox kept its
state (devices, the Central job, links, ID scopes, keys) across the kill."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import APP, ROOT, Home, descendants, end_processes, free_port, shoot, wait, wait_for_port
from test_central_to_hub import PERSONAS, css
from test_shell import choose_theme

APP_NAME = APP.name


class Window:
    """One run of the app under its own tauri-driver; `kill` ends the app as a crash would."""

    def __init__(self, home: Home, log_name: str):
        port, native_port = free_port(), free_port()
        self.log = open(ROOT / "target" / "e2e" / log_name, "w")
        self.proc = subprocess.Popen(
            ["tauri-driver", "--port", str(port), "--native-port", str(native_port)], env=home.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for_port(port)
        wait_for_port(native_port)
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": str(APP)})
        self.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        self.driver.implicitly_wait(0)
        wait(self.driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-nav='centralToHub']")))
        self.spawned = set(descendants(self.proc.pid))

    def app_pids(self) -> list[int]:
        pids = []
        for pid in descendants(self.proc.pid):
            try:
                if Path(f"/proc/{pid}/exe").resolve().name == APP_NAME:
                    pids.append(pid)
            except OSError:
                pass
        return pids

    def kill_app(self) -> None:
        pids = self.app_pids()
        assert pids, "the app runs under tauri-driver"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)

    def close(self) -> None:
        self.spawned.update(descendants(self.proc.pid))
        try:
            self.driver.quit()
        except Exception:  # the app was killed: its session has nothing left to end
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        end_processes(sorted(self.spawned))
        self.log.close()


@pytest.fixture(scope="module")
def own_home():
    """Folders of this module's own: the kill and the reopening must see only this migration."""
    root = Path(tempfile.mkdtemp(prefix="iotm-e2e-resume-"))
    yield Home(root)
    shutil.rmtree(root, ignore_errors=True)


def sandbox_of(home: Home) -> tuple[str, str, dict]:
    """The in-app sandbox's address from this run's log (the last start), its CA and control token."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = "\n".join(p.read_text(errors="replace") for p in sorted(home.log_dir.glob("*")))
        found = re.findall(r"sandbox cloud started url=(https://\S+)", log)
        token_file = home.data_dir / "sandbox" / "control-token"
        if found and token_file.exists():
            return found[-1], str(home.data_dir / "sandbox" / "sandbox-ca.pem"), {"Authorization": f"Bearer {token_file.read_text()}"}
        time.sleep(0.3)
    raise AssertionError("the app's log never said where the sandbox listens")


def sign_in(driver) -> None:
    name = wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='account-name']")))
    assert name.text == "Ada Lovelace"


def test_a_move_killed_mid_run_resumes_to_the_same_end_state(own_home, screenshots):
    first = Window(own_home, "tauri-driver-resume-1.log")
    try:
        driver = first.driver
        base, ca, control = sandbox_of(own_home)
        scenario = requests.get(f"{base}/_sandbox/scenario", verify=ca, timeout=30, headers=control).json()
        fleet = next(f for f in scenario["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"][0]["fleets"] if f["prefix"] == "thermostat-")
        fleet["count"], fleet["personas"] = 200, {p: 5.0 for p in PERSONAS}
        # Slow enough that the kill lands while Central's job still runs.
        scenario["deviceTiming"] = {"answerMs": 300, "slowAnswerMs": 900, "reconnectMs": 300, "commandTimeoutMs": 2000}
        r = requests.post(f"{base}/_sandbox/scenario", json=scenario, verify=ca, timeout=60, headers=control)
        assert r.ok, r.text

        wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='sign-in']"))).click()
        sign_in(driver)
        css(driver, "[data-nav='centralToHub']").click()
        wait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-app='contoso-fleet']"))).click()
        wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='templates']")))
        css(driver, "[data-testid='device-groups'] input[value='thermostats']").click()
        Select(wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dps']")))).select_by_value("rg-iot-prod/contoso-dps")
        wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dps-facts']")))
        Select(css(driver, "[data-testid='hub']")).select_by_value("contoso-hub-neu")
        settle = css(driver, "[data-testid='settle']")
        settle.clear()
        settle.send_keys("5")
        css(driver, "[data-testid='to-dry-run']").click()
        wait(driver, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='dry-run']")))
        css(driver, "[data-testid='run']").click()
        wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='confirm-run-yes']"))).click()
        wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='monitor']")))
        # Killed once Central's job is moving devices, and after the sandbox has saved that (it
        # writes at most once a second).
        jobs_url = f"{base}/_sandbox/fleet/contoso-fleet"
        wait(driver, 60).until(lambda d: any(dev["link"]["movesAccepted"] > 0 for dev in requests.get(jobs_url, verify=ca, timeout=30, headers=control).json()["devices"]))
        time.sleep(2.5)
        moved_before = sum(dev["link"]["movesAccepted"] > 0 for dev in requests.get(jobs_url, verify=ca, timeout=30, headers=control).json()["devices"])
        assert moved_before < 200, "killed mid-run"
        shoot(driver, screenshots, "resume-1-before-kill")
        first.kill_app()
    finally:
        first.close()
    assert (own_home.data_dir / "sandbox" / "sandbox-state.json").exists(), "the sandbox saved its state before the kill"

    second = Window(own_home, "tauri-driver-resume-2.log")
    try:
        driver = second.driver
        base2, ca, control = sandbox_of(own_home)
        assert base2 == base, "the sandbox listens where it did: its URL stays valid"
        offer = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='resume-offer']")))
        assert "was interrupted" in offer.text
        shoot(driver, screenshots, "resume-2-offer")
        css(driver, "[data-testid='resume-interrupted']").click()
        sign_in(driver)  # the sandbox forgot sign-ins: Resume signs in first
        wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='monitor']")))
        wait(driver, 180).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='to-report']")))
        css(driver, "[data-testid='to-report']").click()
        report = wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='report']")))
        assert (css(driver, "[data-testid='verified']").text, css(driver, "[data-testid='failed']").text) == ("160", "40")
        reasons = {tr.get_attribute("data-code"): int(tr.find_element(By.CSS_SELECTOR, ".n").text) for tr in report.find_elements(By.CSS_SELECTOR, "[data-testid='by-reason'] tr")}
        assert reasons == {"noAnswer": 10, "noDeviceMove": 10, "wrongKey": 10, "neverRegistered": 10}, reasons
        shoot(driver, screenshots, "resume-3-report")
        css(driver, "[data-nav='jobs']").click()
        row = wait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='migrations'] tbody tr")))
        assert row.get_attribute("data-state") == "completed"
        assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='migrations'] tbody tr")) == 1, "resumed, not started again"

        # "Reset the sandbox" asks first, naming what is lost, then the sandbox is the built-in scenario again.
        css(driver, "[data-nav='settings']").click()
        wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='reset-sandbox']"))).click()
        confirm = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='reset-confirm']")))
        assert "can no longer be resumed" in confirm.text and "built-in scenario" in confirm.text
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", confirm)
        shoot(driver, screenshots, "resume-4-reset-confirm-light")
        choose_theme(driver, "dark")
        if not driver.find_elements(By.CSS_SELECTOR, "[data-testid='reset-confirm']"):
            css(driver, "[data-testid='reset-sandbox']").click()
        confirm = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='reset-confirm']")))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", confirm)
        shoot(driver, screenshots, "resume-4-reset-confirm-dark")
        css(driver, "[data-testid='reset-sandbox-confirm']").click()
        wait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='reset-done']")))
        deadline, fresh = time.monotonic() + 30, None
        while time.monotonic() < deadline and fresh is None:
            base3, ca, control = sandbox_of(own_home)
            try:
                devices = requests.get(f"{base3}/_sandbox/fleet/contoso-fleet", verify=ca, timeout=10, headers=control).json()["devices"]
                thermostats = [d for d in devices if d["id"].startswith("thermostat-")]
                if len(thermostats) == 240:  # the built-in fleet, not the 200 this test loaded
                    fresh = thermostats
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(0.5)
        assert fresh is not None, "the sandbox restarted from its built-in scenario"
        assert not any(d["link"]["movesAccepted"] for d in fresh), "no device has moved in the fresh sandbox"
    finally:
        second.close()
