"""The IoT Central spec's own examples (data plane 2022-07-31, `examples/*.json`), replayed against
the sandbox as a second check next to test_central_api.py.

Every example file the spec points at (`x-ms-examples`) is either replayed here or listed in
NOT_SERVED with the reason, and a test keeps it so. A replayed example's request is sent as written
(path parameters, query parameters its operation declares, body, api-version) to an app whose
subdomain is the examples' `appsubdomain`, in an order that gives each request what it needs;
then its status must be the example's, its body must validate against the spec, and every field
of the example's response must be in the sandbox's answer with the same value — except what the
service makes (etags, keys it generates, job and device-job statuses) and where an example is
wrong or inconsistent with the others, each written down below as an erratum with its reason.

The examples come from different apps: the replay app holds all they need. Its templates and the
devices that must be provisioned (or answer commands) come from the scenario; the rest — the
example devices' simulated flag and organizations, the device groups the list example shows — is
set up through the API before the examples that read it.
"""

import base64
import datetime
import hashlib
import json
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from swagger import SPECS, validate

SPEC = "specification/iotcentral/data-plane/Microsoft.IoTCentral/stable/2022-07-31/iotcentral.json"
EXAMPLES = SPECS / Path(SPEC).parent / "examples"
DOCUMENT = json.loads((SPECS / SPEC).read_text())
SUBDOMAIN = "appsubdomain"
# Fast devices, and a command timeout long enough that the example job is still running when the
# stop example comes (its offline device holds the first batch that long).
TIMING = {"answerMs": 50, "slowAnswerMs": 600, "reconnectMs": 100, "commandTimeoutMs": 3000}

NOT_NEEDED = "not needed by the migration wizards"
# Example files whose operations the sandbox does not serve, with the reason. A new example file
# must land here or in REPLAY: test_every_example_is_replayed_or_listed_as_not_served checks it.
NOT_SERVED = {
    **{f"apitoken_{op}.json": f"{NOT_NEEDED} (they sign in with Entra ID; the sandbox mints one API token per app)" for op in ("create", "delete", "get", "list")},
    **{f"users_{op}.json": NOT_NEEDED for op in ("delete", "get", "list", "set", "set_serviceprincipal")},
    **{f"roles_{op}.json": NOT_NEEDED for op in ("get", "list")},
    **{f"organizations_{op}.json": NOT_NEEDED for op in ("create", "delete", "get", "list")},
    **{f"fileUpload_{op}.json": NOT_NEEDED for op in ("delete", "get", "update")},
    **{f"scheduledjobs_{op}.json": f"{NOT_NEEDED} (a migration runs its job now)" for op in ("create", "delete", "get", "list", "list_jobs", "update")},
    **{f"devicetemplates_{op}.json": f"device template writes: {NOT_NEEDED} (they read templates)" for op in ("create", "delete", "update")},
    **{f"devices_{what}.json": f"device {what.split('_')[0]}: {NOT_NEEDED}" for what in (
        "properties_get", "properties_update", "properties_components_get", "properties_components_set", "telemetry_get",
        "components_get", "modules_get", "modules_components_get",
        "relationships_create", "relationships_delete", "relationships_get", "relationships_list", "relationships_update")},
    **{f"modules_{what}.json": f"IoT Edge modules: {NOT_NEEDED}" for what in (
        "commands_send", "commandshistory_get", "properties_components_get", "properties_components_set", "properties_get", "properties_update", "telemetry_get")},
    **{f"enrollmentgroups_{op}.json": f"X.509 certificate entries of enrollment groups: {NOT_NEEDED} (Central never returns a certificate, so they "
                                      "cannot copy it; the user uploads the CA to the target DPS)" for op in ("getx509", "setx509", "removex509", "generateverificationcodex509", "verifyx509")},
}

# Test credentials for the examples whose requests carry placeholders ("<primary key>") that
# Central refuses, as the sandbox does: a self-signed device certificate and base64 keys.
_key = ec.generate_private_key(ec.SECP256R1())
_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CheckoutThermostat")])
_now = datetime.datetime.now(datetime.timezone.utc)
_cert = (x509.CertificateBuilder().subject_name(_name).issuer_name(_name).public_key(_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(_now).not_valid_after(_now + datetime.timedelta(days=1)).sign(_key, hashes.SHA256()))
_der = _cert.public_bytes(serialization.Encoding.DER)
PLACEHOLDERS = {
    "<primary key>": base64.b64encode(hashlib.sha256(b"primary").digest()).decode(),
    "<secondary key>": base64.b64encode(hashlib.sha256(b"secondary").digest()).decode(),
    "<endorsement key>": base64.b64encode(hashlib.sha512(b"endorsement").digest() * 4).decode(),
    "<string representation of the certificate>": base64.b64encode(_der).decode(),
    "<thumbprint>": hashlib.sha1(_der).hexdigest().upper(),
}
# Errata: examples whose request sends placeholders instead of a key, an endorsement key or a
# certificate (DPS, behind Central, refuses them: keys are base64 of 16 to 64 bytes). The test
# credentials above stand in for them in the request and in the response that echoes them; the
# thumbprint placeholder becomes the test certificate's thumbprint.
PLACEHOLDER_ERRATA = {"devices_attestations_set_symmetricKey.json", "devices_attestations_set_tpm.json", "devices_attestations_set_x509.json",
                      "devices_attestations_get.json"}

TEST_TEMPLATE = "dtmi:contoso:testDeviceTemplate;1"


def _template_id_erratum(expected):
    # Erratum: devicetemplates_get asks for dtmi:contoso:testDeviceTemplate;1 (the template the
    # device examples use) but answers "@id": "dtmi:modelDefinition:contoso;1"; Central answers
    # with the template asked for, so the replay expects that ID (devicetemplates_list likewise).
    text = json.dumps(expected).replace('"dtmi:modelDefinition:contoso;1"', json.dumps(TEST_TEMPLATE))
    return json.loads(text)


def _command_history_erratum(expected):
    # Erratum: devices_commandshistory_get shows a CoolDown run with request 20 and a thermostat's
    # answer (58.79…, 200), while devices_commands_send, the run before it on the same device and
    # component, sends {"tempVal": 30}. The history holds the last run, so the replay expects that
    # request; mx1 is a simulated device, which answers 501 to any command but DeviceMove. The
    # request ID is the service's, so it is not compared.
    sent = example("devices_commands_send.json")["parameters"]["body"]["request"]
    assert [{k: v for k, v in run.items() if k in ("request", "responseCode")} for run in expected["value"]] == [{"request": 20, "responseCode": 200}]
    return {"value": [{"request": sent, "responseCode": 501}]}


RESPONSE_ERRATA = {"devicetemplates_get.json": _template_id_erratum, "devicetemplates_list.json": _template_id_erratum,
                   "devices_commandshistory_get.json": _command_history_erratum}
# What the service makes, never compared: etags everywhere; a job's and its devices' status in the
# job examples (running, stopped, completed as the replay goes).
SERVICE_MADE = {"etag"}
SERVICE_MADE_IN = {name: {"status"} for name in ("jobs_create.json", "jobs_get.json", "jobs_list.json", "jobs_devices.json", "jobs_rerun.json")}


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def example_operations() -> dict[str, list[tuple[str, str]]]:
    """Example file -> the (method, path) operations whose x-ms-examples name it."""
    found = {}
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            for ref in op.get("x-ms-examples", {}).values() if isinstance(op, dict) else ():
                found.setdefault(Path(ref["$ref"]).name, []).append((method, path))
    return found


def replayed_operations(name: str) -> list[tuple[str, str]]:
    """The operations of a file that its parameters address: e.g. devices_commands_send names a
    componentName, so it replays the component command, not the device-level one sharing it."""
    params = set(example(name)["parameters"])
    in_any_path = {p for path in DOCUMENT["paths"] for p in re.findall(r"{(\w+)}", path)}
    return [(m, p) for m, p in example_operations()[name] if set(re.findall(r"{(\w+)}", p)) == params & in_any_path]


def query_parameters(method: str, path: str) -> set[str]:
    declared = DOCUMENT["paths"][path][method].get("parameters", [])
    resolved = [DOCUMENT["parameters"][p["$ref"].split("/")[-1]] if "$ref" in p else p for p in declared]
    return {p["name"] for p in resolved if p.get("in") == "query"}


def substitute(value, placeholders: dict):
    text = json.dumps(value)
    for placeholder, real in placeholders.items():
        text = text.replace(json.dumps(placeholder)[1:-1], real)
    return json.loads(text)


class Central:
    """The replay app's API, with its API token."""

    def __init__(self, sandbox):
        self.url = f"{sandbox.base_url}/iotc/{SUBDOMAIN}/api"
        self.token = sandbox.control("GET", "credentials")["centralApiTokens"][SUBDOMAIN]

    def call(self, method: str, path: str, body=None, expect: int = 200):
        r = requests.request(method, f"{self.url}{path}?api-version=2022-07-31", json=body, headers={"Authorization": self.token}, timeout=30)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def send(self, name: str, method: str, path: str) -> requests.Response:
        """The example's request, as written (placeholders replaced where that is an erratum)."""
        params = example(name)["parameters"]
        if name in PLACEHOLDER_ERRATA:
            params = substitute(params, PLACEHOLDERS)
        url = self.url + re.sub(r"{(\w+)}", lambda m: quote(str(params[m.group(1)]), safe=""), path)
        query = {"api-version": params["api-version"], **{k: params[k] for k in query_parameters(method, path) if k in params}}
        return requests.request(method.upper(), url, params=query, json=params.get("body"), headers={"Authorization": self.token}, timeout=30)


# --- The replay app: what the scenario declares --------------------------------------------------

JOB_TEMPLATE = "urn:1dgygpt7t:modelDefinition:02uwtefvdy"
COMMAND_TEMPLATE = "dtmi:contoso:mxchip;1"
JOB_DEVICES = [d["id"] for d in example("jobs_devices.json")["responses"]["200"]["body"]["value"]]


def examples_app() -> dict:
    """An app holding the IDs the examples use. Devices that must be provisioned, or answer a
    command, are a scenario fleet (Central reports API-created devices as not provisioned)."""
    job_model = {"@id": "urn:1dgygpt7t:02uwtefvdy_cm;1", "@type": "Interface", "displayName": "Job example", "contents": [
        {"@type": "Component", "name": "componentName", "displayName": "Component", "schema": {
            "@id": "dtmi:contoso:jobExample;1", "@type": "Interface",
            "contents": [{"@type": "Property", "name": "propertyName", "displayName": "Property", "schema": "string", "writable": True}]}}]}
    command_model = {"@id": "dtmi:contoso:mxchip_cm;1", "@type": "Interface", "displayName": "MXChip", "contents": [
        {"@type": "Component", "name": "Thermostat_1o", "displayName": "Thermostat", "schema": {
            "@id": "dtmi:contoso:thermostat;1", "@type": "Interface", "contents": [
                {"@type": "Command", "name": "CoolDown", "commandType": "synchronous",
                 "request": {"@type": "CommandPayload", "name": "cooldown", "schema": {"@type": "Object", "fields": [{"name": "tempVal", "schema": "double"}]}}}]}}]}
    template = example("devicetemplates_get.json")["responses"]["200"]["body"]
    return {
        "name": SUBDOMAIN, "subdomain": SUBDOMAIN, "displayName": "Spec examples", "applicationId": "b1f5e0a4-3a7c-4e0e-9f3e-6c0d1a2b3c0e",
        "deviceTemplates": [
            {"id": TEST_TEMPLATE, "displayName": template["displayName"], "capabilityModel": template["capabilityModel"]},
            {"id": JOB_TEMPLATE, "displayName": "Job example", "capabilityModel": job_model},
            {"id": COMMAND_TEMPLATE, "displayName": "MXChip", "capabilityModel": command_model},
        ],
        "fleets": [
            {"ids": ["CheckoutThermostat", "Checkout1", "Checkout2", "Checkout3", "Checkout4"], "template": TEST_TEMPLATE},
            {"ids": ["mx1"], "template": COMMAND_TEMPLATE},
            # One of the five offline: the job has a failed device to rerun, and runs long enough to be stopped.
            {"ids": JOB_DEVICES, "template": JOB_TEMPLATE, "personas": {"offline": 20}},
        ],
    }


# --- Set-up steps between examples -----------------------------------------------------------------

def shape_example_devices(central: Central):
    """The list and get examples show these devices simulated, two of them in organization seattle."""
    for device in example("devices_list.json")["responses"]["200"]["body"]["value"]:
        central.call("PATCH", f"/devices/{device['id']}", {k: device[k] for k in ("simulated", "organizations") if k in device})


def create_example_groups(central: Central):
    """The four groups devicegroups_list shows, created from that example's own answer; and
    myGroupId, which only devicegroups_getdevices names (its filter: the test template's devices)."""
    for group in example("devicegroups_list.json")["responses"]["200"]["body"]["value"]:
        central.call("PUT", f"/deviceGroups/{group['id']}", {k: v for k, v in group.items() if k != "id"})
    central.call("PUT", "/deviceGroups/myGroupId", {"displayName": "My group", "filter": f'SELECT * FROM devices WHERE $template = "{TEST_TEMPLATE}"'})


def point_the_job_group_at_the_job_template(central: Central):
    """Erratum: jobs_create runs on group 475cad48-… a property of template
    urn:1dgygpt7t:modelDefinition:02uwtefvdy, but that group's filter (devicegroups_get) selects
    devices of dtmi:modelDefinition:dtdlv2 only. Central runs a job on the group's devices of the
    job's template, so as written it would run on none, while jobs_devices shows five devices. The
    group is pointed at the job template's devices before the job examples."""
    central.call("PATCH", "/deviceGroups/475cad48-b7ff-4a09-b51e-1a9021385453",
                 {"filter": f'SELECT * FROM devices WHERE $template = "{JOB_TEMPLATE}" AND $provisioned = true'})


def wait_for_the_job_to_finish(central: Central):
    """A rerun runs on a finished job's failed devices."""
    deadline = time.time() + 30
    while central.call("GET", "/jobs/myJobId")["status"] == "running":
        assert time.time() < deadline, "myJobId still running after 30 s"
        time.sleep(0.1)


# The replay order: each example after what it needs (devices before their attestations, a group
# before the job on it, the job before its devices, stop, resume and rerun; deletes last).
REPLAY = [
    shape_example_devices,
    "devices_list.json", "devices_get.json", "devices_create.json", "devices_delete.json", "devicecredentials_get.json",
    "devices_attestations_set_symmetricKey.json", "devices_attestations_set_tpm.json", "devices_attestations_set_x509.json",
    "devices_attestations_get.json", "devices_attestations_delete.json",
    "devices_commands_send.json", "devices_commandshistory_get.json",
    "devicetemplates_list.json", "devicetemplates_get.json",
    create_example_groups,
    "devicegroups_list.json", "devicegroups_get.json", "devicegroups_create.json", "devicegroups_update.json", "devicegroups_getdevices.json",
    "enrollmentgroups_create.json", "enrollmentgroups_get.json", "enrollmentgroups_list.json", "enrollmentgroups_update.json", "enrollmentgroups_delete.json",
    point_the_job_group_at_the_job_template,
    "jobs_create.json", "jobs_get.json", "jobs_list.json", "jobs_devices.json", "jobs_stop.json", "jobs_resume.json",
    wait_for_the_job_to_finish,
    "jobs_rerun.json",
    "devicegroups_delete.json",
]
REPLAYED = [step for step in REPLAY if isinstance(step, str)]


@pytest.fixture(scope="module")
def replay(sandbox):
    """Runs the whole replay once, in order; each example's answers are checked by its own case."""
    scenario = sandbox.default_scenario()
    scenario["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"].append(examples_app())
    scenario["deviceTiming"] = TIMING
    scenario["quotas"] = False  # the replay is a burst of calls; the rate limit has its own test
    sandbox.load_scenario(scenario)
    try:
        central = Central(sandbox)
        answers = {}
        for step in REPLAY:
            if callable(step):
                step(central)
            else:
                answers[step] = [((m, p), central.send(step, m, p)) for m, p in replayed_operations(step)]
        yield central, answers
    finally:
        sandbox.load_scenario(sandbox.default_scenario())


def assert_has(expected, actual, where: str, ignore: set):
    """Every field of `expected` is in `actual` with the same value. Lists of items with an id
    match by id (a list may hold more: the replay app holds every example's items); `<...>`
    placeholders stand for a value the service makes, so only its presence is checked."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in ignore:
                assert key in actual, f"{where}.{key} is missing from {sorted(actual)}"
                assert_has(value, actual[key], f"{where}.{key}", ignore)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        key = next((k for k in ("id", "@id") if expected and all(isinstance(e, dict) and k in e for e in expected)), None)
        if key:
            by_key = {a.get(key): a for a in actual if isinstance(a, dict)}
            for item in expected:
                assert item[key] in by_key, f"{where}: no item with {key} {item[key]!r} in {sorted(map(str, by_key))}"
                assert_has(item, by_key[item[key]], f"{where}[{item[key]}]", ignore)
        else:
            assert len(actual) == len(expected), f"{where}: {len(actual)} items, the example has {len(expected)}"
            for i, (e, a) in enumerate(zip(expected, actual)):
                assert_has(e, a, f"{where}[{i}]", ignore)
    elif isinstance(expected, str) and re.fullmatch(r"<[^<>]+>", expected):
        assert isinstance(actual, str) and actual, f"{where}: expected a value the service makes, got {actual!r}"
    else:
        assert actual == expected, f"{where}: {actual!r}, the example has {expected!r}"


@pytest.mark.parametrize("name", REPLAYED)
def test_example(replay, name):
    _, answers = replay
    (status, response), = example(name)["responses"].items()
    expected = response.get("body")
    if name in PLACEHOLDER_ERRATA:
        expected = substitute(expected, PLACEHOLDERS)
    if name in RESPONSE_ERRATA:
        expected = RESPONSE_ERRATA[name](expected)
    assert answers[name], f"{name}: no operation replayed"
    for (method, path), r in answers[name]:
        operation = f"{method.upper()} {path}"
        assert r.status_code == int(status), f"{operation}: {r.status_code} {r.text}"
        if "schema" in DOCUMENT["paths"][path][method]["responses"][status]:
            body = r.json()
            validate(SPEC, path, method, status, body)
            assert_has(expected, body, operation, SERVICE_MADE | SERVICE_MADE_IN.get(name, set()))
        else:
            assert not r.content, f"{operation}: {status} has no body in the spec, the sandbox sent {r.text}"


def test_every_example_is_replayed_or_listed_as_not_served():
    files = {p.name for p in EXAMPLES.glob("*.json")}
    assert files == set(example_operations()), "every example file is the x-ms-examples of an operation, and every reference has its file"
    assert not set(REPLAYED) & set(NOT_SERVED), "an example is either replayed or not served"
    assert len(REPLAYED) == len(set(REPLAYED)), "each example is replayed once"
    unaccounted = files - set(REPLAYED) - set(NOT_SERVED)
    assert not unaccounted, f"neither replayed nor listed in NOT_SERVED: {sorted(unaccounted)}"
    assert not (set(REPLAYED) | set(NOT_SERVED)) - files, "listed but not an example file"
    assert all(replayed_operations(name) for name in files), "each example addresses at least one of its operations"


@pytest.mark.parametrize("name", sorted(NOT_SERVED))
def test_a_not_served_example_is_answered_as_not_served(replay, name):
    """NOT_SERVED is the truth: the sandbox answers those requests with Central's 404 saying so."""
    central, _ = replay
    for method, path in replayed_operations(name):
        r = central.send(name, method, path)
        assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
        assert r.json()["error"]["code"] == "NotFound" and "does not serve" in r.json()["error"]["message"]
        validate(SPEC, path, method, "default", r.json())


def test_an_x509_enrollment_group_keeps_its_certificates_by_thumbprint(replay):
    """Not in the examples: a group of X.509 devices, as the migration finds some."""
    central, _ = replay
    pem = _cert.public_bytes(serialization.Encoding.PEM).decode()
    body = {"displayName": "X.509 devices", "type": "iot", "attestation": {"type": "x509", "x509": {"signingCertificates": {"primary": {"certificate": pem}}}}}
    created = central.call("PUT", "/enrollmentGroups/x509-devices", body)
    validate(SPEC, "/enrollmentGroups/{enrollmentGroupId}", "put", 200, created)
    primary = created["attestation"]["x509"]["signingCertificates"]["primary"]
    assert primary["info"]["sha1Thumbprint"] == PLACEHOLDERS["<thumbprint>"] and primary["verified"] is False and "certificate" not in primary
    assert central.call("GET", "/enrollmentGroups/x509-devices") == created
    body["attestation"]["x509"]["signingCertificates"]["primary"]["certificate"] = "<base64-certificate>"
    refused = central.call("PUT", "/enrollmentGroups/x509-devices", body, expect=400)
    assert "signingCertificates.primary.certificate" in refused["error"]["message"]
