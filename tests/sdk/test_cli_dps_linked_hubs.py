"""`iotm dps linked-hubs` against the sandbox: list, link (with a dry run first), update, rotate the
keys of the link's policy, unlink — and bad input refused with exit 2 and the engine's code. Each
change is a migration on the shared journal (`iotm migrations` lists it) with its report written.
What the CLI did is checked with the official ARM client, not with the CLI's own words."""

import subprocess

from azure.identity import ClientSecretCredential
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.iothubprovisioningservices import IotDpsClient

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT
from test_cli_kill_resume import CLI, cli_env

RG = "rg-iot-prod"
DPS = f"{PROD_SUBSCRIPTION}/{RG}/contoso-dps"
NEU = f"{PROD_SUBSCRIPTION}/{RG}/contoso-hub-neu"
COMMON = {"credential_scopes": ["https://management.azure.com/.default"]}


def iotm(sandbox, tmp_path, *args):
    common = ["--cloud", "sandbox", "--journal", str(tmp_path / "journal.db"), "--report-dir", str(tmp_path)]
    return subprocess.run([str(CLI), "dps", "linked-hubs", *args, *common], env=cli_env(sandbox), capture_output=True, text=True, timeout=300)


def test_link_update_rotate_and_unlink_from_the_command_line(sandbox, fresh_scenario, tmp_path):
    assert CLI.exists(), f"build it first: {CLI} is missing"
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT), authority=sandbox.base_url, disable_instance_discovery=True)
    dps = IotDpsClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_dps_resource
    hubs = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_hub_resource
    neu_host = hubs.get(RG, "contoso-hub-neu").properties.host_name

    listed = iotm(sandbox, tmp_path, "list", "--dps", DPS)
    assert listed.returncode == 0, listed.stderr
    assert "weight 1 (default)" in listed.stdout and "policy iothubowner" in listed.stdout and "SharedAccessKey" not in listed.stdout

    dry = iotm(sandbox, tmp_path, "link", "--dps", DPS, "--hub", NEU, "--weight", "5", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "nothing was changed" in dry.stdout and "SharedAccessKey=****" in dry.stdout
    assert len(dps.get("contoso-dps", RG).properties.iot_hubs) == 1

    bad = iotm(sandbox, tmp_path, "link", "--dps", DPS, "--hub", NEU, "--weight", "1001")
    assert bad.returncode == 2 and "dpsLinkedHubs.weight_out_of_range" in bad.stderr
    weak = iotm(sandbox, tmp_path, "link", "--dps", DPS, "--hub", NEU, "--policy", "service")
    assert weak.returncode == 2 and "dpsLinkedHubs.policy_lacks_rights" in weak.stderr

    linked = iotm(sandbox, tmp_path, "link", "--dps", DPS, "--hub", NEU, "--weight", "5")
    assert linked.returncode == 0, linked.stderr
    updated = iotm(sandbox, tmp_path, "update", "--dps", DPS, "--host", neu_host, "--weight", "9", "--apply", "false")
    assert updated.returncode == 0, updated.stderr
    assert "update link contoso-hub-neu: weight 5 → 9, apply allocation policy yes → no" in updated.stdout, updated.stdout
    neu = [h for h in dps.get("contoso-dps", RG).properties.iot_hubs if h.name == neu_host][0]
    assert (neu.allocation_weight, neu.apply_allocation_policy) == (9, False)

    old = hubs.get_keys_for_key_name(RG, "contoso-hub-neu", "iothubowner")
    rotated = iotm(sandbox, tmp_path, "rotate-keys", "--dps", DPS, "--hub", NEU, "--renew-secondary")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "keys rotated" in rotated.stdout
    new = hubs.get_keys_for_key_name(RG, "contoso-hub-neu", "iothubowner")
    assert new.primary_key != old.primary_key and new.secondary_key != old.secondary_key

    unlinked = iotm(sandbox, tmp_path, "unlink", "--dps", DPS, "--host", neu_host)
    assert unlinked.returncode == 0, unlinked.stderr
    assert [h.name for h in dps.get("contoso-dps", RG).properties.iot_hubs] == [hubs.get(RG, "contoso-hub-weu").properties.host_name]

    # Every change is a migration on the one journal, with its report.
    listed = subprocess.run([str(CLI), "migrations", "--journal", str(tmp_path / "journal.db")], env=cli_env(sandbox), capture_output=True, text=True, timeout=60)
    changes = [line for line in listed.stdout.splitlines() if "dps-linked-hubs" in line]
    assert len(changes) == 4 and all("completed" in line for line in changes), listed.stdout
    assert len(list(tmp_path.glob("*.csv"))) == 4
