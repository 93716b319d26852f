"""Runs last: everything the suite made the app write — its logs, settings, accounts, diagnostics
bundles and the driver's log — holds no token, key or signature, in clear or half-masked."""

import re
import zipfile
from pathlib import Path

from conftest import ROOT

PATTERNS = {
    "a JWT": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    "a SAS signature": re.compile(r"sig=(?!\[REDACTED\])[A-Za-z0-9%+/=]{16,}"),
    "a shared access key": re.compile(r"SharedAccessKey=(?!\[REDACTED\])[A-Za-z0-9+/=]{16,}"),
    "a refresh token": re.compile(r"refresh_token[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED\])[\w.-]{16,}"),
    "a PKCE verifier": re.compile(r"code_verifier=(?!\[REDACTED\])[\w-]{16,}"),
    "an authorization code": re.compile(r"[?&]code=(?!\[REDACTED\])[\w-]{16,}"),
}


def texts(home_root: Path):
    for path in home_root.rglob("*"):
        if not path.is_file() or path.suffix in (".png", ".pem", ".key"):
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
        for what, pattern in PATTERNS.items():
            for m in pattern.finditer(text):
                found.append(f"{what} in {where}: …{text[max(0, m.start() - 40):m.end()]}…")
    assert scanned >= 3, f"only {scanned} files were scanned: the suite should have left logs and settings"
    assert not found, "\n".join(found[:20])
