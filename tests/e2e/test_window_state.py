"""The window reopens where the user left it, even after the app was killed."""

import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import APP, Home

TITLE = "IoT Migrator"


def windows(pid: int | None = None) -> list[str]:
    by_pid = ["--pid", str(pid)] if pid else []
    found = subprocess.run(["xdotool", "search", "--onlyvisible", *by_pid, "--name", f"^{TITLE}$"], capture_output=True, text=True)
    return found.stdout.split()


def window_id(proc: subprocess.Popen, timeout: float = 30.0) -> str:
    """The window of this process (GTK sets _NET_WM_PID), not another instance's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the app exited with {proc.returncode}"
        ids = windows(proc.pid)
        if ids:
            return ids[0]
        time.sleep(0.2)
    raise AssertionError("the window never appeared")


def no_instance_running(timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while windows() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not windows(), "another IoT Migrator window is still open"


def geometry(wid: str) -> dict[str, int]:
    info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"^\s+(Width|Height|Absolute upper-left X|Absolute upper-left Y):\s+(-?\d+)", info, re.M))
    return {"width": int(fields["Width"]), "height": int(fields["Height"]),
            "x": int(fields["Absolute upper-left X"]), "y": int(fields["Absolute upper-left Y"])}


@pytest.fixture
def fresh_home():
    root = Path(tempfile.mkdtemp(prefix="iotm-e2e-window-"))
    yield Home(root)
    shutil.rmtree(root, ignore_errors=True)


def test_size_and_position_survive_a_kill(fresh_home):
    no_instance_running()
    first = subprocess.Popen([str(APP)], env=fresh_home.env, stderr=subprocess.DEVNULL)
    try:
        wid = window_id(first)
        subprocess.run(["xdotool", "windowsize", wid, "1000", "680"], check=True)
        subprocess.run(["xdotool", "windowmove", wid, "60", "40"], check=True)
        state_file = fresh_home.config_dir / ".window-state.json"
        deadline = time.monotonic() + 10
        saved = {}
        while time.monotonic() < deadline:
            if state_file.exists():
                saved = json.loads(state_file.read_text()).get("main", {})
                if saved.get("width") == 1000 and saved.get("x") == 60:
                    break
            time.sleep(0.2)
        assert saved.get("width") == 1000 and saved.get("height") == 680, saved
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    second = subprocess.Popen([str(APP)], env=fresh_home.env, stderr=subprocess.DEVNULL)
    try:
        g = geometry(window_id(second))
        assert (g["width"], g["height"]) == (1000, 680), g
        assert (g["x"], g["y"]) == (60, 40), g
    finally:
        second.terminate()
        second.wait(timeout=10)
