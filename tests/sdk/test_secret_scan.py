"""The end-to-end scan's patterns (tests/e2e/secret_scan.py) against the shared list of secret
shapes: that suite cannot run without the window, but what it looks for can be checked here."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("secret_scan", Path(__file__).resolve().parents[1] / "e2e" / "secret_scan.py")
secret_scan = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(secret_scan)


def test_every_shape_is_found_in_clear_and_none_once_redacted():
    problems = secret_scan.check_shapes()
    assert not problems, "\n".join(problems)


def test_text_without_secrets_is_not_flagged():
    lines = [
        "GET /subscriptions?api-version=2022-12-01 200 in 35 ms (x-ms-client-request-id=1f2e)",
        "HostName=contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=[REDACTED]",
        "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=%5BREDACTED%5D&se=2030-01-01",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2VydGlmaWNhdGVCb2R5\n-----END CERTIFICATE-----",
        '{"primaryKey":"[REDACTED]","error_code":"DeviceNotFoundInTheHubRegistry"}',
    ]
    found = [(what, m.group(0)) for line in lines for what, m in secret_scan.secrets_in(line)]
    assert not found, found
