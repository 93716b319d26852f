"""IoT Hub import/export jobs against the sandbox, with Azurite (the real Storage emulator) as the
blob store, through official clients only: azure-mgmt-storage finds the account, its keys and a
service SAS; azure-iot-hub's IoTHubJobManager runs the jobs; azure-storage-blob writes devices.txt
and reads what the jobs wrote. Storage's own checks (SAS permissions, expiry) are Azurite's."""

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.identity import ClientSecretCredential
from azure.iot.hub import IoTHubJobManager, IoTHubRegistryManager
from azure.iot.hub.models import JobProperties, QuerySpecification, Twin, TwinProperties
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import ServiceSasParameters
from azure.storage.blob import BlobServiceClient, ContainerClient
from msrest.exceptions import HttpOperationError

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT

RG = "rg-iot-prod"
ACCOUNT = "contosomigration"
HUB = "contoso-hub-weu"
COMMON = {"credential_scopes": ["https://management.azure.com/.default"]}
ENDED = {"completed", "failed", "cancelled"}


@pytest.fixture
def credential(sandbox, fresh_scenario):
    assert sandbox.azurite, "Azurite is not installed: run `npm ci` in tests/azurite (./x test does)"
    return ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)


@pytest.fixture
def storage(sandbox, credential):
    return StorageManagementClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)


@pytest.fixture
def hub_cs(sandbox, credential):
    hubs = IotHubClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)
    host = hubs.iot_hub_resource.get(RG, HUB).properties.host_name
    key = hubs.iot_hub_resource.get_keys_for_key_name(RG, HUB, "iothubowner").primary_key
    return f"HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}"


@pytest.fixture
def jobs(hub_cs):
    return IoTHubJobManager.from_connection_string(hub_cs)


@pytest.fixture
def registry(hub_cs):
    return IoTHubRegistryManager.from_connection_string(hub_cs)


class Blobs:
    """A fresh container on the account ARM lists, and SAS URLs for it minted by ARM."""

    def __init__(self, storage: StorageManagementClient):
        self.storage = storage
        account = storage.storage_accounts.get_properties(RG, ACCOUNT)
        self.endpoint = account.primary_endpoints.blob.rstrip("/")
        key = storage.storage_accounts.list_keys(RG, ACCOUNT).keys_property[0].value
        self.name = f"jobs-{uuid.uuid4().hex[:12]}"
        # Creating a container takes the account (a storage admin's step, not the job's).
        service = BlobServiceClient(self.endpoint, credential={"account_name": ACCOUNT, "account_key": key})
        service.create_container(self.name)

    def sas_url(self, permissions: str = "rwdl", expires_in: timedelta = timedelta(hours=1)) -> str:
        params = ServiceSasParameters(canonicalized_resource=f"/blob/{ACCOUNT}/{self.name}", resource="c", permissions=permissions,
                                      shared_access_expiry_time=datetime.now(timezone.utc) + expires_in)
        token = self.storage.storage_accounts.list_service_sas(RG, ACCOUNT, params).service_sas_token
        return f"{self.endpoint}/{self.name}?{token}"

    def client(self, permissions: str = "rwdl") -> ContainerClient:
        return ContainerClient.from_container_url(self.sas_url(permissions))

    def read_lines(self, blob: str) -> list[dict]:
        text = self.client().download_blob(blob).readall().decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def write_lines(self, blob: str, lines: list) -> None:
        text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
        self.client().upload_blob(blob, text.encode(), overwrite=True)


@pytest.fixture
def blobs(storage):
    return Blobs(storage)


def wait(jobs: IoTHubJobManager, job_id: str, timeout: float = 120) -> JobProperties:
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.get_import_export_job(job_id)
        if job.status in ENDED:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} at {job.progress}%"
        time.sleep(0.2)


def export(jobs, blobs, exclude_keys=False) -> list[dict]:
    job = jobs.create_import_export_job(JobProperties(type="export", output_blob_container_uri=blobs.sas_url(), exclude_keys_in_export=exclude_keys))
    assert job.status == "enqueued" and job.type == "export"
    done = wait(jobs, job.job_id)
    assert (done.status, done.progress, done.failure_reason) == ("completed", 100, None)
    assert done.start_time_utc <= done.end_time_utc
    return blobs.read_lines("devices.txt")


def run_import(jobs, blobs, lines: list) -> list[dict]:
    """Imports `lines` (dicts, or raw strings for malformed ones); importErrors.log's lines."""
    blobs.write_lines("devices.txt", lines)
    job = jobs.create_import_export_job(JobProperties(type="import", input_blob_container_uri=blobs.sas_url(), output_blob_container_uri=blobs.sas_url()))
    done = wait(jobs, job.job_id)
    # Per-line failures do not fail the job: they are in importErrors.log only.
    assert (done.status, done.failure_reason) == ("completed", None), done.failure_reason
    return blobs.read_lines("importErrors.log")


def exported(jobs, blobs) -> dict[str, dict]:
    return {d["id"]: d for d in export(jobs, blobs)}


# --- ARM: the storage account ------------------------------------------------------------------

def test_mgmt_storage_lists_the_account_its_keys_and_mints_a_service_sas_azurite_honours(sandbox, storage):
    by_sub = [a.name for a in storage.storage_accounts.list()]
    by_rg = [a.name for a in storage.storage_accounts.list_by_resource_group(RG)]
    assert by_sub == by_rg == [ACCOUNT]
    account = storage.storage_accounts.get_properties(RG, ACCOUNT)
    # The account is Azurite's own account of that name, not a shared development account.
    assert account.primary_endpoints.blob == f"{sandbox.azurite}/{ACCOUNT}/"
    keys = storage.storage_accounts.list_keys(RG, ACCOUNT).keys_property
    assert [k.key_name for k in keys] == ["key1", "key2"] and keys[0].value != keys[1].value
    # Both keys really work for the account ARM names: Azurite was started with them.
    for key in keys:
        BlobServiceClient(account.primary_endpoints.blob, credential={"account_name": ACCOUNT, "account_key": key.value}).get_service_properties()
    blobs = Blobs(storage)
    writer = blobs.client("rwl")
    writer.upload_blob("hello.txt", b"hi")
    assert [b.name for b in blobs.client("rl").list_blobs()] == ["hello.txt"]
    from azure.core.exceptions import HttpResponseError
    with pytest.raises(HttpResponseError) as refused:
        blobs.client("rl").upload_blob("nope.txt", b"x")
    assert refused.value.status_code == 403 and refused.value.error_code == "AuthorizationPermissionMismatch"


def test_a_client_that_follows_arm_gets_into_the_account_and_no_other_key_does(sandbox, storage):
    """What azure-storage-blob does when given only what ARM says: the endpoint from
    primaryEndpoints, the account name from the resource, a key from listKeys (as a connection
    string, the way the portal hands it out)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    account = storage.storage_accounts.get_properties(RG, ACCOUNT)
    key = storage.storage_accounts.list_keys(RG, ACCOUNT).keys_property[1].value
    endpoint = account.primary_endpoints.blob.rstrip("/")
    service = BlobServiceClient.from_connection_string(f"DefaultEndpointsProtocol=https;AccountName={account.name};AccountKey={key};BlobEndpoint={endpoint}")
    container = f"follows-arm-{uuid.uuid4().hex[:8]}"
    service.create_container(container)
    service.get_blob_client(container, "a.txt").upload_blob(b"through ARM")
    assert service.get_blob_client(container, "a.txt").download_blob().readall() == b"through ARM"
    assert container in [c.name for c in service.list_containers()]
    # Azurite's well-known development key is not this account's key.
    wrong = BlobServiceClient(endpoint, credential={"account_name": ACCOUNT,
                                                    "account_key": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="})
    with pytest.raises((ClientAuthenticationError, HttpResponseError)) as refused:
        wrong.get_service_properties()
    assert refused.value.status_code == 403


def test_a_storage_account_a_later_scenario_adds_is_served_by_azurite_too(sandbox, fresh_scenario):
    """Azurite reads its accounts when it starts: a scenario loaded later with a new account
    restarts it on the same port, and the new account's keys from ARM work at once."""
    scenario = fresh_scenario
    group = scenario["subscriptions"][0]["resourceGroups"][0]
    group["storageAccounts"] = group.get("storageAccounts", []) + [{"name": "contosolab01"}]
    sandbox.load_scenario(scenario)
    # A scenario load mints new client secrets: sign in after it.
    credential = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                        authority=sandbox.base_url, disable_instance_discovery=True)
    storage = StorageManagementClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)
    account = storage.storage_accounts.get_properties(RG, "contosolab01")
    assert account.primary_endpoints.blob == f"{sandbox.azurite}/contosolab01/"
    key = storage.storage_accounts.list_keys(RG, "contosolab01").keys_property[0].value
    service = BlobServiceClient(account.primary_endpoints.blob, credential={"account_name": "contosolab01", "account_key": key})
    deadline = time.monotonic() + 30
    while True:  # Azurite is starting again
        try:
            service.create_container("lab")
            break
        except Exception:
            assert time.monotonic() < deadline, "Azurite did not come back with the new account"
            time.sleep(0.3)
    assert [c.name for c in service.list_containers()] == ["lab"]
    # The first account still works, with the keys it had.
    first = storage.storage_accounts.list_keys(RG, ACCOUNT).keys_property[0].value
    BlobServiceClient(f"{sandbox.azurite}/{ACCOUNT}", credential={"account_name": ACCOUNT, "account_key": first}).get_service_properties()


# --- Export --------------------------------------------------------------------------------------

def test_export_writes_devices_txt_one_device_per_line_with_keys_unless_excluded(jobs, registry, blobs):
    created = {i: registry.create_device_with_sas(f"exp-{i}", "", "", "enabled" if i != 2 else "disabled") for i in range(3)}
    lines = export(jobs, blobs)
    assert [d["id"] for d in lines] == ["exp-0", "exp-1", "exp-2"]
    first = lines[0]
    assert first["eTag"] == created[0].etag and first["status"] == "enabled" and lines[2]["status"] == "disabled"
    assert first["authentication"]["type"] == "sas"
    assert first["authentication"]["symmetricKey"]["primaryKey"] == created[0].authentication.symmetric_key.primary_key
    assert first["twinETag"] == "AAAAAAAAAAE=" and first["tags"] == {} and first["capabilities"] == {"iotEdge": False}
    assert set(first["properties"]) == {"desired", "reported"}
    without = export(jobs, blobs, exclude_keys=True)
    assert all(d["authentication"]["symmetricKey"] == {"primaryKey": None, "secondaryKey": None} for d in without)
    listed = jobs.get_import_export_jobs()
    assert [j.type for j in listed] == ["export", "export"] and all(j.status == "completed" for j in listed)
    assert listed[1].exclude_keys_in_export is True


# --- Import, mode by mode ------------------------------------------------------------------------

KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def test_import_create_registers_new_devices_and_logs_existing_ones(jobs, registry, blobs):
    registry.create_device_with_sas("dup", "", "", "enabled")
    errors = run_import(jobs, blobs, [
        {"id": "c-1", "importMode": "create", "status": "enabled", "authentication": {"type": "sas", "symmetricKey": {"primaryKey": KEY, "secondaryKey": KEY}},
         "tags": {"site": "munich"}, "properties": {"desired": {"interval": 30}}},
        {"id": "dup", "importMode": "create", "status": "enabled"},
    ])
    assert errors == [{"deviceId": "dup", "errorCode": 409001, "errorStatus": "A device with ID 'dup' is already registered."}]
    device = registry.get_device("c-1")
    assert device.status == "enabled" and device.authentication.symmetric_key.primary_key == KEY
    twin = exported(jobs, blobs)["c-1"]
    assert twin["tags"] == {"site": "munich"} and twin["properties"]["desired"]["interval"] == 30


def test_import_update_overwrites_existing_devices_and_logs_missing_ones(jobs, registry, blobs):
    registry.create_device_with_sas("u-1", "", "", "enabled")
    errors = run_import(jobs, blobs, [
        {"id": "u-1", "importMode": "update", "status": "disabled", "statusReason": "retired"},
        {"id": "u-missing", "importMode": "update", "status": "enabled"},
    ])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("u-missing", 404001)]
    assert registry.get_device("u-1").status == "disabled"


def test_import_update_if_match_etag_applies_only_a_matching_etag(jobs, registry, blobs):
    a = registry.create_device_with_sas("ue-a", "", "", "enabled")
    registry.create_device_with_sas("ue-b", "", "", "enabled")
    errors = run_import(jobs, blobs, [
        {"id": "ue-a", "importMode": "updateIfMatchETag", "eTag": a.etag, "status": "disabled"},
        {"id": "ue-b", "importMode": "updateIfMatchETag", "eTag": "stale", "status": "disabled"},
    ])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("ue-b", 412001)]
    assert registry.get_device("ue-a").status == "disabled" and registry.get_device("ue-b").status == "enabled"


def test_import_create_or_update_creates_and_replaces(jobs, registry, blobs):
    registry.create_device_with_sas("cu-old", "", "", "enabled")
    errors = run_import(jobs, blobs, [
        {"id": "cu-old", "importMode": "createOrUpdate", "status": "disabled"},
        {"id": "cu-new", "importMode": "createOrUpdate", "status": "enabled", "tags": {"wave": 1}},
    ])
    assert errors == []
    assert registry.get_device("cu-old").status == "disabled" and registry.get_device("cu-new").status == "enabled"
    assert exported(jobs, blobs)["cu-new"]["tags"] == {"wave": 1}


def test_import_create_or_update_if_match_etag_checks_existing_devices_only(jobs, registry, blobs):
    registry.create_device_with_sas("cue-old", "", "", "enabled")
    errors = run_import(jobs, blobs, [
        {"id": "cue-old", "importMode": "createOrUpdateIfMatchETag", "eTag": "stale", "status": "disabled"},
        {"id": "cue-new", "importMode": "createOrUpdateIfMatchETag", "eTag": "whatever", "status": "enabled"},
    ])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("cue-old", 412001)]
    assert registry.get_device("cue-old").status == "enabled" and registry.get_device("cue-new").device_id == "cue-new"


def test_import_delete_removes_devices_and_logs_missing_ones(jobs, registry, blobs):
    registry.create_device_with_sas("del-1", "", "", "enabled")
    errors = run_import(jobs, blobs, [{"id": "del-1", "importMode": "delete"}, {"id": "del-missing", "importMode": "delete"}])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("del-missing", 404001)]
    with pytest.raises(HttpOperationError) as gone:
        registry.get_device("del-1")
    assert gone.value.response.status_code == 404


def test_import_delete_if_match_etag_deletes_only_on_a_matching_etag(jobs, registry, blobs):
    a = registry.create_device_with_sas("de-a", "", "", "enabled")
    registry.create_device_with_sas("de-b", "", "", "enabled")
    errors = run_import(jobs, blobs, [{"id": "de-a", "importMode": "deleteIfMatchETag", "eTag": a.etag}, {"id": "de-b", "importMode": "deleteIfMatchETag", "eTag": "stale"}])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("de-b", 412001)]
    assert [d.device_id for d in registry.get_devices()] == ["de-b"]


def test_import_update_twin_sets_tags_and_desired_and_leaves_the_identity(jobs, registry, blobs):
    device = registry.create_device_with_sas("tw-1", "", "", "enabled")
    errors = run_import(jobs, blobs, [
        {"id": "tw-1", "importMode": "updateTwin", "tags": {"floor": 3}, "properties": {"desired": {"mode": "eco"}}},
        {"id": "tw-missing", "importMode": "updateTwin", "tags": {"floor": 1}},
    ])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("tw-missing", 404001)]
    line = exported(jobs, blobs)["tw-1"]
    assert line["tags"] == {"floor": 3} and line["properties"]["desired"]["mode"] == "eco" and line["twinETag"] == "AAAAAAAAAAI="
    assert line["eTag"] == device.etag


def test_import_update_twin_if_match_etag_checks_the_twin_etag(jobs, registry, blobs):
    registry.create_device_with_sas("twe-a", "", "", "enabled")
    registry.create_device_with_sas("twe-b", "", "", "enabled")
    twin_etag = exported(jobs, blobs)["twe-a"]["twinETag"]
    errors = run_import(jobs, blobs, [
        {"id": "twe-a", "importMode": "updateTwinIfMatchETag", "twinETag": twin_etag, "tags": {"ok": True}},
        {"id": "twe-b", "importMode": "updateTwinIfMatchETag", "twinETag": "AAAAAAAAAAk=", "tags": {"ok": False}},
    ])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("twe-b", 412001)]
    lines = exported(jobs, blobs)
    assert lines["twe-a"]["tags"] == {"ok": True} and lines["twe-b"]["tags"] == {}


def test_a_malformed_line_is_an_error_line_naming_it_and_the_rest_still_apply(jobs, registry, blobs):
    errors = run_import(jobs, blobs, [
        '{"id": "broken", "importMode": ',
        {"id": "m-1", "importMode": "merge"},
        {"importMode": "create"},
        {"id": "m-ok", "importMode": "create"},
    ])
    assert [e["errorCode"] for e in errors] == [400012, 400012, 400012]
    assert errors[0]["errorStatus"].startswith('Invalid device format in line: {"id": "broken", "importMode": . ')
    assert '"merge"' in errors[1]["errorStatus"] and "'id'" in errors[2]["errorStatus"]
    assert [d.device_id for d in registry.get_devices()] == ["m-ok"]


# --- One twin store: what jobs write, GET /twins and the query see, and the other way round -------

def test_a_twin_an_import_writes_is_the_twin_get_twin_and_the_query_see(jobs, registry, blobs):
    registry.create_device_with_sas("one-a", "", "", "enabled")
    registry.update_twin("one-a", Twin(tags={"keep": "me", "site": "old"}))
    errors = run_import(jobs, blobs, [
        {"id": "one-a", "importMode": "updateTwin", "tags": {"site": "lyon", "wave": 2}, "properties": {"desired": {"interval": 30}}},
        {"id": "one-b", "importMode": "create", "status": "enabled", "tags": {"site": "lyon"}},
        {"id": "one-c", "importMode": "create", "status": "enabled", "tags": {"site": "paris"}},
    ])
    assert errors == []
    twin = registry.get_twin("one-a")
    # Merged as a twin PATCH merges (tags it does not name stay), the twin's version moved once more.
    assert twin.tags == {"keep": "me", "site": "lyon", "wave": 2} and twin.properties.desired["interval"] == 30
    assert (twin.version, twin.etag) == (3, "AAAAAAAAAAM=") and twin.properties.desired["$version"] == 2
    assert registry.get_twin("one-b").tags == {"site": "lyon"} and registry.get_twin("one-b").version == 2
    found = registry.query_iot_hub(QuerySpecification(query="SELECT deviceId FROM devices WHERE tags.site = 'lyon'"), None, 100)
    assert sorted(t.device_id for t in found.items) == ["one-a", "one-b"]
    found = registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices WHERE properties.desired.interval = 30"), None, 100)
    assert [t.device_id for t in found.items] == ["one-a"]


def test_an_export_carries_twins_patched_through_the_service_api_and_reported_properties(sandbox, jobs, registry, blobs):
    registry.create_device_with_sas("ex-tw", "", "", "enabled")
    registry.create_device_with_sas("ex-plain", "", "", "enabled")
    registry.update_twin("ex-tw", Twin(tags={"site": "munich", "loc": {"floor": 3}}, properties=TwinProperties(desired={"interval": 15})))
    sandbox.control("POST", f"hubs/{HUB}/devices/ex-tw/reported", json={"fw": "2.1", "battery": {"level": 80}})
    twin = registry.get_twin("ex-tw")
    lines = exported(jobs, blobs)
    line = lines["ex-tw"]
    assert line["tags"] == {"site": "munich", "loc": {"floor": 3}} and line["twinETag"] == twin.etag == "AAAAAAAAAAM="
    desired, reported = line["properties"]["desired"], line["properties"]["reported"]
    assert (desired["interval"], desired["$version"]) == (15, twin.properties.desired["$version"]) == (15, 2)
    assert (reported["fw"], reported["battery"], reported["$version"]) == ("2.1", {"level": 80}, 2)
    assert reported["$metadata"]["$lastUpdated"] == twin.properties.reported["$metadata"]["$lastUpdated"]
    plain = lines["ex-plain"]
    assert plain["tags"] == {} and plain["twinETag"] == "AAAAAAAAAAE=" and plain["properties"]["reported"]["$version"] == 1
    # The exported file, imported as it is (create), gives the other devices the same tags and desired
    # properties; reported properties stay the device's to report.
    registry.delete_device("ex-tw")
    errors = run_import(jobs, blobs, [line])
    assert errors == []
    again = registry.get_twin("ex-tw")
    assert again.tags == line["tags"] and again.properties.desired["interval"] == 15 and "fw" not in again.properties.reported


def test_update_twin_if_match_etag_takes_the_etag_get_twin_answers_and_logs_a_stale_one(jobs, registry, blobs):
    registry.create_device_with_sas("im-a", "", "", "enabled")
    registry.update_twin("im-a", Twin(tags={"site": "lyon"}))
    etag = registry.get_twin("im-a").etag
    errors = run_import(jobs, blobs, [{"id": "im-a", "importMode": "updateTwinIfMatchETag", "twinETag": etag, "tags": {"wave": 1}}])
    assert errors == []
    twin = registry.get_twin("im-a")
    assert twin.tags == {"site": "lyon", "wave": 1} and twin.etag != etag
    errors = run_import(jobs, blobs, [{"id": "im-a", "importMode": "updateTwinIfMatchETag", "twinETag": etag, "tags": {"wave": 2}}])
    assert [(e["deviceId"], e["errorCode"]) for e in errors] == [("im-a", 412001)]
    assert "Twin version did not match" in errors[0]["errorStatus"]
    assert registry.get_twin("im-a").tags == {"site": "lyon", "wave": 1} and registry.get_twin("im-a").etag == twin.etag


# --- One job at a time, cancel, list -------------------------------------------------------------

def test_a_second_job_while_one_runs_is_refused_and_a_cancelled_job_stops(jobs, blobs):
    # Big enough to still be running when the second job is asked for.
    blobs.write_lines("devices.txt", [{"id": f"bulk-{i:06}", "importMode": "createOrUpdate", "status": "enabled"} for i in range(60000)])
    first = jobs.create_import_export_job(JobProperties(type="import", input_blob_container_uri=blobs.sas_url(), output_blob_container_uri=blobs.sas_url()))
    with pytest.raises(HttpOperationError) as refused:
        jobs.create_import_export_job(JobProperties(type="export", output_blob_container_uri=blobs.sas_url()))
    assert refused.value.response.status_code == 403
    assert refused.value.response.headers["iothub-errorcode"] == "JobQuotaExceeded"
    assert first.job_id in refused.value.response.json()["Message"]
    jobs.cancel_import_export_job(first.job_id)
    cancelled = jobs.get_import_export_job(first.job_id)
    assert cancelled.status == "cancelled" and cancelled.end_time_utc is not None
    # The hub is free again.
    second = jobs.create_import_export_job(JobProperties(type="export", output_blob_container_uri=blobs.sas_url()))
    assert wait(jobs, second.job_id).status == "completed"
    assert [(j.job_id, j.status) for j in jobs.get_import_export_jobs()] == [(first.job_id, "cancelled"), (second.job_id, "completed")]
    with pytest.raises(HttpOperationError) as unknown:
        jobs.get_import_export_job("no-such-job")
    assert unknown.value.response.status_code == 404 and unknown.value.response.headers["iothub-errorcode"] == "JobNotFound"


# --- Storage refuses: Azurite's checks, the service's errors ------------------------------------

@pytest.mark.parametrize("permissions,expires_in", [("rl", timedelta(hours=1)), ("rwdl", timedelta(minutes=-5))], ids=["read-only", "expired"])
def test_an_output_sas_storage_refuses_fails_the_job_at_creation(jobs, blobs, permissions, expires_in):
    with pytest.raises(HttpOperationError) as refused:
        jobs.create_import_export_job(JobProperties(type="export", output_blob_container_uri=blobs.sas_url(permissions, expires_in)))
    response = refused.value.response
    assert response.status_code == 400 and response.headers["iothub-errorcode"] == "BlobContainerValidationError"
    # Azurite's codes: a missing permission, and a SAS past its expiry (Azure says AuthenticationFailed there).
    expected = "AuthorizationPermissionMismatch" if permissions == "rl" else "AuthorizationFailure"
    assert "Unauthorized to write to output blob container" in response.json()["Message"] and expected in response.json()["Message"]
    assert jobs.get_import_export_jobs() == []
    assert [b.name for b in blobs.client().list_blobs()] == [], "the check leaves no blob behind"


def test_an_input_sas_without_read_fails_the_import_with_storages_reason(jobs, registry, blobs):
    blobs.write_lines("devices.txt", [{"id": "never", "importMode": "create"}])
    job = jobs.create_import_export_job(JobProperties(type="import", input_blob_container_uri=blobs.sas_url("wl"), output_blob_container_uri=blobs.sas_url()))
    done = wait(jobs, job.job_id)
    assert done.status == "failed"
    assert done.failure_reason.startswith("Reading devices.txt from the input blob container failed: 403 AuthorizationPermissionMismatch")
    assert registry.get_devices() == []
