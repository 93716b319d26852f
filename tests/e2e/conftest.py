"""Drives the real IoT Migrator window through tauri-driver (WebKitWebDriver on Linux).

`./x test` runs this under Xvfb and a private D-Bus session. Each test session gets fresh XDG
folders, so the app starts as on a new machine: no settings, Sandbox environment, System theme.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
APP = Path(os.environ.get("IOTM_APP_BINARY", ROOT / "target" / "debug" / "iot-migrator"))
SCREENSHOTS = Path(os.environ.get("IOTM_SCREENSHOTS", ROOT / "target" / "e2e" / "screenshots"))
IDENTIFIER = "com.iotmigrator.desktop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(x) for x in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def end_processes(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL what is left: the next module must start with no instance running."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout / 2
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"tauri-driver did not listen on {port} within {timeout}s")


def browser_launcher(root: Path) -> Path:
    """An executable that runs system_browser.py with this suite's Python, made this home's default
    web browser the freedesktop way (xdg-open asks xdg-mime before it looks at $BROWSER)."""
    root.mkdir(parents=True, exist_ok=True)
    launcher = root / "system-browser"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {ROOT / 'tests' / 'e2e' / 'system_browser.py'} \"$@\"\n")
    launcher.chmod(0o755)
    applications = root / "data" / "applications"
    applications.mkdir(parents=True, exist_ok=True)
    (applications / "iotm-e2e-browser.desktop").write_text(
        f"[Desktop Entry]\nType=Application\nName=E2E browser\nExec={launcher} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n"
    )
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "mimeapps.list").write_text(
        "[Default Applications]\nx-scheme-handler/http=iotm-e2e-browser.desktop\nx-scheme-handler/https=iotm-e2e-browser.desktop\n"
    )
    return launcher


class Home:
    """The fresh per-session home: where the app keeps its config, data and logs."""

    def __init__(self, root: Path):
        self.root = root
        self.env = {
            **os.environ,
            "HOME": str(root),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_CACHE_HOME": str(root / "cache"),
            "XDG_DOWNLOAD_DIR": str(root / "Downloads"),
            # The app opens sign-in pages with xdg-open, which runs $BROWSER: a scripted Chromium.
            "BROWSER": str(browser_launcher(root)),
            "IOTM_E2E_BROWSER_LOG": str(root / "browser.log"),
        }
        (root / "Downloads").mkdir(parents=True)
        # Where a desktop keeps its Downloads folder: xdg-user-dirs' file (what Tauri's download_dir reads).
        (root / "config").mkdir(parents=True, exist_ok=True)
        (root / "config" / "user-dirs.dirs").write_text('XDG_DOWNLOAD_DIR="$HOME/Downloads"\n')

    @property
    def config_dir(self) -> Path:
        return self.root / "config" / IDENTIFIER

    @property
    def data_dir(self) -> Path:
        return self.root / "data" / IDENTIFIER

    @property
    def log_dir(self) -> Path:
        # Tauri's app_log_dir on Linux is under the data folder.
        return self.root / "data" / IDENTIFIER / "logs"


@pytest.fixture(scope="session")
def home():
    root = Path(tempfile.mkdtemp(prefix="iotm-e2e-"))
    yield Home(root)
    shutil.rmtree(root, ignore_errors=True)


# One window per test module: the module's tests walk through it in order, as a person would, and
# the next module starts with no instance running.
@pytest.fixture(scope="module")
def driver(home: Home):
    assert APP.exists(), f"build the app first: {APP} is missing"
    port, native_port = free_port(), free_port()
    log = open(ROOT / "target" / "e2e" / "tauri-driver.log", "w")
    proc = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(native_port)],
        env=home.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    spawned: set[int] = set()
    try:
        # tauri-driver listens before the WebKitWebDriver it starts does: wait for both.
        wait_for_port(port)
        wait_for_port(native_port)
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": str(APP)})
        drv = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        drv.implicitly_wait(0)
        WebDriverWait(drv, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-nav='centralToHub']")))
        spawned.update(descendants(proc.pid))  # the app, before quitting can orphan it
        yield drv
        spawned.update(descendants(proc.pid))
        drv.quit()
    finally:
        spawned.update(descendants(proc.pid))
        proc.terminate()
        proc.wait(timeout=10)
        end_processes(sorted(spawned))
        log.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def wait(driver, timeout: float = 10.0) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def shoot(driver, screenshots: Path, name: str) -> Path:
    """Saves what is on screen in the app's window, as a person would see it.

    X-level capture rather than WebDriver's: WebKitGTK's snapshot never returns when the DMA-BUF
    renderer is off, which is the app's default on Linux (see src-tauri/src/lib.rs).
    """
    time.sleep(0.8)  # let the frame after the last DOM change reach the screen
    ids = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", "^IoT Migrator$"], capture_output=True, text=True, timeout=10
    ).stdout.split()
    assert len(ids) == 1, f"expected one IoT Migrator window, found {ids}"
    path = screenshots / f"{name}.png"
    subprocess.run(["import", "-window", ids[0], str(path)], check=True, timeout=30)
    assert path.stat().st_size > 10_000, f"screenshot {name} is suspiciously small"
    return path
