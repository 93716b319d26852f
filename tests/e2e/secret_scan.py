"""The shapes of secret the end-to-end scan looks for in everything the app wrote, kept apart from
the scan so they can be checked on their own: `python3 tests/e2e/secret_scan.py` (or the sdk suite's
test_secret_scan.py) holds them to tests/fixtures/secret-shapes.json, the list the Rust redactor is
held to — each shape is found in clear, and nothing is found in it once redacted."""

import json
import re
from pathlib import Path

SHAPES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "secret-shapes.json"

# Not already redacted: the log's `[REDACTED]` / `[REDACTED-JWT]`, or a logged URL's `%5BREDACTED%5D`.
_CLEAR = r"(?!\[REDACTED|%5BREDACTED)"
# A quote around a JSON name or value, JSON-escaped any number of times, or none.
_QUOTE = r"""(?:\\*["'])?"""
_NAMED = r"(?:SharedAccessKey|AccountKey|primary_?key|secondary_?key|refresh_?token|access_?token|client_?secret|api_?token|password)"

PATTERNS = [
    ("a JWT", re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")),
    # Plain, JSON-escaped (\u0026sig=), at a line start or after a quote, URL-encoded once or twice.
    ("a SAS signature", re.compile(r"sig(?:=|%3D|%253D)" + _CLEAR + r"[A-Za-z0-9%+/=_.~-]{16,}", re.I)),
    # key=value, "key":"value", \"key\":\"value\", Rust Debug key: "value".
    ("a named key or token", re.compile(_NAMED + _QUOTE + r"\s*[:=]\s*" + _QUOTE + _CLEAR + r"[\w.~+/=-]{12,}", re.I)),
    ("a bearer token", re.compile(r"Bearer\s+" + _CLEAR + r"[\w.~+/-]{16,}", re.I)),
    ("basic credentials", re.compile(r"Authorization" + _QUOTE + r"\s*[:=]\s*" + _QUOTE + r"(?:Basic|Negotiate|NTLM)\s+" + _CLEAR + r"[A-Za-z0-9+/=]{8,}", re.I)),
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:\s|\\n)*" + _CLEAR + r"[A-Za-z0-9+/=]{16,}")),
    ("a PKCE verifier", re.compile(r"code_verifier=" + _CLEAR + r"[\w-]{16,}")),
    ("an authorization code", re.compile(r"(?:[?&#]|\\u0026)code=" + _CLEAR + r"[\w.~-]{16,}")),
]


def secrets_in(text: str):
    """(what, match) for every secret-shaped run in `text`."""
    return [(what, m) for what, pattern in PATTERNS for m in pattern.finditer(text)]


def check_shapes() -> list[str]:
    """What is wrong with the patterns against the shared list of shapes (empty when nothing)."""
    problems = []
    for shape in json.loads(SHAPES_FILE.read_text())["shapes"]:
        kind, text, secret = shape["kind"], shape["text"], shape["secret"]
        if not secrets_in(text):
            problems.append(f"{kind}: not found in {text!r}")
        # As the Rust redactor writes it (its tests hold it to `redacted`), and as any redaction
        # that replaces just the secret would.
        for redacted in (shape["redacted"], text.replace(secret, "[REDACTED]")):
            left = [m.group(0) for _, m in secrets_in(redacted)]
            if left:
                problems.append(f"{kind}: found {left} in {redacted!r}")
    return problems


if __name__ == "__main__":
    problems = check_shapes()
    print("\n".join(problems) or "every shape is found in clear and none once redacted")
    raise SystemExit(1 if problems else 0)
