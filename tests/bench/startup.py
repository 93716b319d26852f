"""Start-up benchmark of the release build: cold start to first paint, idle memory, sizes.

Run by `./x bench startup` under Xvfb. "Cold" means a first launch on a fresh profile (no settings,
no WebKit cache); the OS file cache is warm after the first of the runs, so the median of five is
reported beside the first.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "iot-migrator"
BUNDLES = ROOT / "target" / "release" / "bundle"
RUNS = 5
IDLE_SECONDS = 10
MB = 1024 * 1024
# WebKitGTK's own demo browser: the floor any WebKitGTK window pays, measured beside the app.
MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")


def fresh_env(home: Path) -> dict:
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def memory_bytes(pid: int, field: str) -> int:
    """`Rss` or `Pss` (shared pages split between the processes that map them) from smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def launch(measure_idle: bool) -> tuple[float, int | None, int | None]:
    home = Path(tempfile.mkdtemp(prefix="iotm-bench-"))
    try:
        started = time.monotonic()
        proc = subprocess.Popen([str(BINARY)], env=fresh_env(home), stderr=subprocess.PIPE, text=True)
        first_paint = None
        deadline = started + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if "first paint" in line:
                first_paint = (time.monotonic() - started) * 1000
                break
        if first_paint is None:
            proc.kill()
            sys.exit("the app never reported its first paint")
        main_rss = total_rss = None
        if measure_idle:
            time.sleep(IDLE_SECONDS)
            main_rss = memory_bytes(proc.pid, "Rss")
            total_rss = sum(memory_bytes(p, "Pss") for p in descendants(proc.pid))
        proc.terminate()
        proc.wait(timeout=10)
        return first_paint, main_rss, total_rss
    finally:
        shutil.rmtree(home, ignore_errors=True)


def floor_memory() -> tuple[int, int] | None:
    """MiniBrowser on a blank page, with the renderer setting the app uses, after the same idle time."""
    if not MINIBROWSER.exists():
        return None
    home = Path(tempfile.mkdtemp(prefix="iotm-bench-floor-"))
    env = {**fresh_env(home), "WEBKIT_DISABLE_DMABUF_RENDERER": "1"}
    proc = subprocess.Popen([str(MINIBROWSER), "about:blank"], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        time.sleep(IDLE_SECONDS)
        return memory_bytes(proc.pid, "Rss"), sum(memory_bytes(p, "Pss") for p in descendants(proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def row(name: str, value: float, unit: str, goal: float | None) -> str:
    if goal is None:
        return f"  {name:46} {value:9.1f} {unit:3}"
    verdict = "meets goal" if value <= goal else "OVER GOAL"
    return f"  {name:46} {value:9.1f} {unit:3}   goal <= {goal:6.1f} {unit:3}  ratio {value / goal:4.2f}  {verdict}"


def main() -> None:
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: ./x bench startup builds it")
    paints = []
    idle = (None, None)
    for i in range(RUNS):
        paint, main_rss, total_rss = launch(measure_idle=(i == RUNS - 1))
        paints.append(paint)
        if main_rss is not None:
            idle = (main_rss, total_rss)
    floor = floor_memory()
    debs = sorted(BUNDLES.glob("deb/*.deb"))
    print(f"IoT Migrator start-up benchmark (release build, {RUNS} launches on fresh profiles, Xvfb)")
    print(row("first launch: start to first paint", paints[0], "ms", 1000))
    print(row(f"median of {RUNS}: start to first paint", statistics.median(paints), "ms", 1000))
    print(row(f"idle RSS after {IDLE_SECONDS} s, app process", idle[0] / MB, "MB", 120))
    print(row(f"idle PSS after {IDLE_SECONDS} s, app + WebKit processes", idle[1] / MB, "MB", None))
    if floor:
        print(row("floor: MiniBrowser (blank page) RSS", floor[0] / MB, "MB", None)
              + f"   app/floor {idle[0] / floor[0]:4.2f}")
        print(row("floor: MiniBrowser + WebKit PSS", floor[1] / MB, "MB", None)
              + f"   app/floor {idle[1] / floor[1]:4.2f}")
    print(row("release binary size", BINARY.stat().st_size / MB, "MB", 15))
    for deb in debs:
        print(row(f"installer {deb.name}", deb.stat().st_size / MB, "MB", 15))
    if not debs:
        print("  installer: no .deb was built")


if __name__ == "__main__":
    main()
