"""Adds up the JUnit reports of every suite ./x test ran and prints one closing line.

Usage: summary.py <results-dir> [suite...] (the suites that ran; all when none are named; `rust`
includes the house rules: cargo fmt and clippy).
Exit status 1 when any test failed or errored, or when a suite that should have run left no report.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

results = Path(sys.argv[1])
reports = {
    "house": results / "house.xml",
    "rust": results.parent / "nextest" / "ci" / "junit.xml",
    "ui": results / "ui.xml",
    "sdk": results / "sdk.xml",
    "e2e": results / "e2e.xml",
}
ran = set(sys.argv[2:]) or {"rust", "ui", "sdk", "e2e"}
if "rust" in ran:
    ran.add("house")
reports = {suite: path for suite, path in reports.items() if suite in ran}

totals = {"passed": 0, "failed": 0, "skipped": 0}
missing = []
for suite, path in reports.items():
    if not path.exists():
        missing.append(suite)
        continue
    passed = failed = skipped = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    print(f"  {suite:5} {passed:4} passed, {failed} failed, {skipped} skipped")
    totals["passed"] += passed
    totals["failed"] += failed
    totals["skipped"] += skipped

for suite in missing:
    print(f"  {suite:5} no report: the suite did not run")
failed = totals["failed"] + len(missing)
print(f"total: {totals['passed']} passed, {failed} failed, {totals['skipped']} skipped")
sys.exit(1 if failed else 0)
