"""Running the `iotm` CLI as a separate process against the sandbox, and killing it mid-run.

A kill point is a random moment, as a crash would be, but never later than the leg's share of the
work: on a fast machine a purely timed kill can come after the run has ended, and the test would
prove fewer kills than it claims. The CLI's tick lines (`[  1.2 s] answered 40 · pending 160`) say
how far a run has come."""

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from conftest import AUTOMATION_CLIENT, ROOT, TENANT

CLI = Path(os.environ.get("IOTM_CLI_BINARY") or ROOT / "target" / "debug" / "iotm")
TICK = re.compile(r"^\[\s*[\d.]+ s\] (.*?)(?: \| .*)?$")


def cli_env(sandbox) -> dict:
    creds = sandbox.control("GET", "credentials")
    env = dict(os.environ)
    env.update({
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": AUTOMATION_CLIENT,
        "AZURE_CLIENT_SECRET": creds["clientSecrets"][AUTOMATION_CLIENT],
        "IOTM_CENTRAL_API_TOKEN": creds["centralApiTokens"]["contoso-fleet"],
        "IOTM_SANDBOX_URL": sandbox.base_url,
        "IOTM_SANDBOX_CA": sandbox.ca_cert,
    })
    return env


def tick_counts(line: str) -> dict | None:
    """`[  1.2 s] answered 40 · pending 160 | job …` → {"answered": 40, "pending": 160}."""
    found = TICK.match(line.strip())
    if not found:
        return None
    counts = {}
    for part in found.group(1).split(" · "):
        state, _, n = part.rpartition(" ")
        if not n.isdigit():
            return None
        counts[state] = int(n)
    return counts


class Leg:
    """One CLI process: its output read as it comes, and how far its ticks say the run has come."""

    def __init__(self, argv: list[str], env: dict, progress: Callable[[dict], int]):
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.progress = 0
        self.first_line = threading.Event()
        self._measure = progress
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            self.first_line.set()
            counts = tick_counts(line)
            if counts is not None:
                self.progress = self._measure(counts)
        self.first_line.set()

    def kill_at(self, seconds: float, at_most: int) -> bool:
        """Kills after `seconds`, or as soon as the ticks pass `at_most` items; False if it ended first."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.progress < at_most:
            if self.proc.poll() is not None:
                self._reader.join(5)
                return False
            time.sleep(0.02)
        if self.proc.poll() is not None:
            self._reader.join(5)
            return False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)
        return True

    def output(self) -> str:
        return "".join(self.lines)


def run_killed(first: list[str], resume: Callable[[str], list[str]], env: dict, *, kills: int, rng, seconds: tuple[float, float],
               total: int, progress: Callable[[dict], int]) -> tuple[str, int, list[str]]:
    """Starts `first`, then resumes the migration it names, killing each leg at a random point no
    later than its share of `total`; returns the migration ID, the kills made and each leg's output."""
    migration_id, made, outputs = None, 0, []
    while made < kills:
        leg = Leg(first if migration_id is None else resume(migration_id), env, progress)
        if migration_id is None:
            leg.first_line.wait(60)
            opening = leg.lines[0] if leg.lines else ""
            assert opening.startswith("migration "), opening + leg.output()
            migration_id = opening.split()[1]
        # Leg k is killed by the time (k+1)/(kills+1) of the work is done, so the last kill still leaves work.
        cap = total * (made + 1) // (kills + 1)
        killed = leg.kill_at(rng.uniform(*seconds), cap)
        outputs.append(leg.output())
        if not killed:
            break
        made += 1
    return migration_id, made, outputs
