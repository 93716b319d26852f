"""Sandbox cloud benchmark (release build): requests/s on a simple GET, and memory holding
100,000 registered devices. Run by `./x bench sandbox`.

The device fleet (DeviceMove re-provisioning of 10,000 devices) is not built yet, so that figure is
not printed; see the open issue.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "iotm-sandbox"
DEVICES = 100_000
MB = 1024 * 1024


def start(scenario: dict | None) -> tuple[subprocess.Popen, dict, Path]:
    state = Path(tempfile.mkdtemp(prefix="iotm-bench-sandbox-"))
    args = [str(BINARY), "--state-dir", str(state)]
    if scenario is not None:
        path = state / "scenario.json"
        path.write_text(json.dumps(scenario))
        args += ["--scenario", str(path)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline()), state


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: ./x bench sandbox builds it")
    default = json.loads(subprocess.run([str(BINARY), "--print-default-scenario"], capture_output=True, text=True, check=True).stdout)

    proc, info, state = start(None)
    try:
        idle = rss(proc.pid)
        url = f"{info['baseUrl']}/organizations/v2.0/.well-known/openid-configuration"
        out = subprocess.run(["wrk", "-t2", "-c32", "-d10s", url], capture_output=True, text=True, check=True).stdout
        rate = float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec:")))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)

    big = json.loads(json.dumps(default))
    app = big["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"][0]
    app["fleets"] = [{"prefix": "device-", "count": DEVICES, "template": "dtmi:contoso:Thermostat;1"}]
    started = time.monotonic()
    proc, info, state = start(big)
    try:
        loaded = time.monotonic() - started
        time.sleep(2)
        held = rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)

    print("Sandbox cloud benchmark (release build, loopback, 2 cores shared with the load generator)")
    print(f"  simple GET (OpenID configuration), wrk 2 threads x 32 connections, TLS: {rate:10.0f} requests/s")
    builtin = sum(f["count"] for s in default["subscriptions"] for g in s["resourceGroups"] for a in g["iotCentralApps"] for f in a["fleets"])
    print(f"  RSS idle, built-in scenario ({builtin} Central devices): {idle / MB:8.1f} MB")
    print(f"  RSS holding {DEVICES:,} registered devices (+ the built-in ones): {held / MB:8.1f} MB   goal <= 300 MB  ratio {held / MB / 300:4.2f}  {'meets goal' if held / MB <= 300 else 'OVER GOAL'}")
    print(f"  start-up with {DEVICES:,} devices: {loaded:.1f} s")


if __name__ == "__main__":
    main()
