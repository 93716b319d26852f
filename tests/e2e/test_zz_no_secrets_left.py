"""Runs last: everything the suite made the app write — its logs, settings, accounts, diagnostics
bundles and the driver's log — holds no token, key or signature, in clear or half-masked."""

import zipfile
from pathlib import Path

from conftest import ROOT
from secret_scan import secrets_in


def texts(home_root: Path):
    for path in home_root.rglob("*"):
        if not path.is_file() or path.suffix in (".png", ".pem", ".key"):
            continue
        # The simulated cloud's saved state holds that cloud's own keys, as its CA and signing key
        # files do (a 0600 file of the sandbox's folder); it is the cloud's, not something the app wrote.
        if path.name.startswith("sandbox-state.json") and path.parent.name == "sandbox":
            continue
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    yield f"{path}!{name}", z.read(name).decode(errors="replace")
        else:
            yield str(path), path.read_text(errors="replace")
    driver_log = ROOT / "target" / "e2e" / "tauri-driver.log"
    if driver_log.exists():
        yield str(driver_log), driver_log.read_text(errors="replace")


def test_no_secret_in_anything_the_app_wrote(home):
    scanned, found = 0, []
    for where, text in texts(home.root):
        scanned += 1
        for what, m in secrets_in(text):
            found.append(f"{what} in {where}: …{text[max(0, m.start() - 40):m.end()]}…")
    assert scanned >= 3, f"only {scanned} files were scanned: the suite should have left logs and settings"
    assert not found, "\n".join(found[:20])
