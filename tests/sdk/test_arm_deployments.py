"""ARM template deployments through the official azure-mgmt-resource client, unmodified: validate
(a good template; a wrong-typed parameter and a dependency cycle refused as InvalidTemplate with
line and path), what-if (Create / Modify with delta / NoChange / Ignore / Delete in Complete
mode), a deployment from a linked template on the sandbox's blob storage that creates a storage
account and an IoT hub (dependsOn), an outer- and an inner-scope nested template and a linked one
by relativePath, the hub then used through its own endpoint; a deployment that fails half-way
(the earlier resources stay, the operations name the failing one); cancel, export, delete."""

import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.iot.hub import IoTHubRegistryManager
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.resource import ResourceManagementClient
from azure.mgmt.resource.resources.models import (Deployment, DeploymentProperties, DeploymentWhatIf, DeploymentWhatIfProperties,
                                                  TemplateLink)
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import ServiceSasParameters
from azure.storage.blob import BlobServiceClient

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT
from swagger import validate

RG = "rg-iot-prod"
ACCOUNT = "contosomigration"
COMMON = {"credential_scopes": ["https://management.azure.com/.default"]}
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
GROUP_ID = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{RG}"


@pytest.fixture
def credential(sandbox, fresh_scenario):
    assert sandbox.azurite, "Azurite is not installed: run `npm ci` in tests/azurite (./x test does)"
    return ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)


@pytest.fixture
def arm(sandbox, credential):
    return ResourceManagementClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)


@pytest.fixture
def hubs(sandbox, credential):
    return IotHubClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)


@pytest.fixture
def storage(sandbox, credential):
    return StorageManagementClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)


def template(resources, parameters=None, outputs=None, variables=None):
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": parameters or {}, "variables": variables or {},
            "resources": resources, "outputs": outputs or {}}


def generic(resource_type, name, properties=None, **extra):
    return {"type": resource_type, "apiVersion": "2025-04-01", "name": name, "location": "[resourceGroup().location]",
            "properties": properties or {}, **extra}


# The linked template: Device Registry assets in a copy loop, their count as an output.
ASSETS = template(
    parameters={"count": {"type": "int", "minValue": 1}, "prefix": {"type": "string"}},
    resources=[generic("Microsoft.DeviceRegistry/assets", "[format('{0}-{1}', parameters('prefix'), copyIndex())]",
                       {"assetEndpointProfileRef": "[parameters('prefix')]"}, copy={"name": "assets", "count": "[parameters('count')]"})],
    outputs={"count": {"type": "int", "value": "[parameters('count')]"}},
)


def main_template():
    """A storage account and a hub that depends on it; an outer-scope nested template (a custom
    location named after the hub), an inner-scope one given the hub's host name through
    reference(), and a linked one (relativePath) with the assets."""
    return template(
        parameters={"hubName": {"type": "string", "minLength": 3}, "accountName": {"type": "string"},
                    "units": {"type": "int", "defaultValue": 1, "minValue": 1, "maxValue": 10},
                    "assetCount": {"type": "int", "defaultValue": 3}},
        variables={"accountId": "[resourceId('Microsoft.Storage/storageAccounts', parameters('accountName'))]",
                   "hubId": "[resourceId('Microsoft.Devices/IotHubs', parameters('hubName'))]"},
        resources=[
            {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "[parameters('accountName')]",
             "location": "[resourceGroup().location]", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "properties": {}},
            {"type": "Microsoft.Devices/IotHubs", "apiVersion": "2023-06-30", "name": "[parameters('hubName')]",
             "location": "[resourceGroup().location]", "sku": {"name": "S1", "capacity": "[parameters('units')]"},
             "properties": {}, "dependsOn": ["[variables('accountId')]"]},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "outer-location",
             "properties": {"mode": "Incremental", "template": template([
                 generic("Microsoft.ExtendedLocation/customLocations", "[concat(parameters('hubName'), '-cl')]",
                         {"hostResourceId": "[variables('hubId')]"})])}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner-instance",
             "dependsOn": ["[variables('hubId')]"],
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                            "parameters": {"hubHost": {"value": "[reference(variables('hubId'), '2023-06-30').hostName]"}},
                            "template": template(
                                [generic("Microsoft.IoTOperations/instances", "ops-instance", {"description": "[parameters('hubHost')]"})],
                                parameters={"hubHost": {"type": "string"}},
                                outputs={"host": {"type": "string", "value": "[parameters('hubHost')]"}})}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "linked-assets",
             "dependsOn": ["inner-instance"],
             "properties": {"mode": "Incremental", "templateLink": {"relativePath": "linked/assets.json"},
                            "parameters": {"count": {"value": "[parameters('assetCount')]"}, "prefix": {"value": "[parameters('hubName')]"}}}},
        ],
        outputs={"hubHost": {"type": "string", "value": "[reference(parameters('hubName')).hostName]"},
                 "innerHost": {"type": "string", "value": "[reference('inner-instance').outputs.host.value]"},
                 "assets": {"type": "int", "value": "[reference('linked-assets').outputs.count.value]"}},
    )


@pytest.fixture
def linked(storage):
    """main.json and linked/assets.json in a fresh container, and a read SAS for it minted by ARM."""
    endpoint = storage.storage_accounts.get_properties(RG, ACCOUNT).primary_endpoints.blob.rstrip("/")
    key = storage.storage_accounts.list_keys(RG, ACCOUNT).keys_property[0].value
    container = f"templates-{uuid.uuid4().hex[:10]}"
    service = BlobServiceClient(endpoint, credential={"account_name": ACCOUNT, "account_key": key})
    service.create_container(container)
    service.get_blob_client(container, "main.json").upload_blob(json.dumps(main_template(), indent=2))
    service.get_blob_client(container, "linked/assets.json").upload_blob(json.dumps(ASSETS, indent=2))
    sas = storage.storage_accounts.list_service_sas(RG, ACCOUNT, ServiceSasParameters(
        canonicalized_resource=f"/blob/{ACCOUNT}/{container}", resource="c", permissions="r",
        shared_access_expiry_time=datetime.now(timezone.utc) + timedelta(hours=1))).service_sas_token
    return TemplateLink(uri=f"{endpoint}/{container}/main.json", query_string=sas)


def params(**values):
    return {k: {"value": v} for k, v in values.items()}


def test_validate_accepts_a_good_template_and_names_what_is_wrong_in_a_bad_one(arm, linked):
    good = arm.deployments.begin_validate(RG, "check", Deployment(properties=DeploymentProperties(
        mode="Incremental", template_link=linked, parameters=params(hubName="hub-checked", accountName="acctchecked")))).result()
    assert good.properties.provisioning_state == "Succeeded"
    validated = {r.id for r in good.properties.validated_resources}
    assert f"{GROUP_ID}/providers/Microsoft.Devices/IotHubs/hub-checked" in validated
    assert f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/acctchecked" in validated
    assert f"{GROUP_ID}/providers/Microsoft.DeviceRegistry/assets/hub-checked-2" in validated, "the linked template was read and checked"
    assert f"{GROUP_ID}/providers/Microsoft.IoTOperations/instances/ops-instance" not in validated, "its parameter waits on reference()"

    # relativePath needs a parent deployed from a link, as on Azure.
    with pytest.raises(HttpResponseError) as unlinked:
        arm.deployments.begin_validate(RG, "check", Deployment(properties=DeploymentProperties(
            mode="Incremental", template=main_template(), parameters=params(hubName="hub-checked", accountName="acctchecked")))).result()
    assert unlinked.value.error.code == "InvalidTemplateLink" and "'linked-assets'" in unlinked.value.error.message

    with pytest.raises(HttpResponseError) as wrong_type:
        arm.deployments.begin_validate(RG, "check", Deployment(properties=DeploymentProperties(
            mode="Incremental", template=main_template(), parameters=params(hubName="hub-x", accountName="acctx", units="three")))).result()
    error = wrong_type.value.error
    assert wrong_type.value.status_code == 400 and error.code == "InvalidTemplate"
    assert "'units'" in error.message and "Expected 'Integer'. Actual 'String'" in error.message
    # ARM's TemplateViolation: where in the request the wrong value is.
    violation = wrong_type.value.response.json()["error"]["additionalInfo"][0]
    assert violation["type"] == "TemplateViolation" and violation["info"]["path"] == "properties.parameters.units.value"
    assert violation["info"]["lineNumber"] >= 1 and f"line '{violation['info']['lineNumber']}'" not in error.message

    cyclic = template([generic("Microsoft.IoTOperations/instances", "a", dependsOn=["b"]),
                       generic("Microsoft.IoTOperations/instances", "b", dependsOn=["a"])])
    with pytest.raises(HttpResponseError) as cycle:
        arm.deployments.begin_validate(RG, "check", Deployment(properties=DeploymentProperties(mode="Incremental", template=cyclic))).result()
    assert cycle.value.error.code == "InvalidTemplate" and "Circular dependency detected" in cycle.value.error.message
    nested_cycle = template([{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner", "properties": {
        "mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": cyclic}}])
    with pytest.raises(HttpResponseError) as nested:
        arm.deployments.begin_validate(RG, "check", Deployment(properties=DeploymentProperties(mode="Incremental", template=nested_cycle))).result()
    assert "The nested deployment 'inner' is not valid" in nested.value.error.message and "Circular dependency" in nested.value.error.message
    where = nested.value.response.json()["error"]["additionalInfo"][0]["info"]
    assert where["path"].startswith("properties.template.resources[0].properties.template.resources["), where
    assert "check" not in [d.name for d in arm.deployments.list_by_resource_group(RG)], "validation deploys nothing"


def test_garbage_from_an_authorised_caller_gets_arm_client_errors(sandbox, arm):
    token = requests.post(f"{sandbox.authority}/oauth2/v2.0/token", data={
        "client_id": AUTOMATION_CLIENT, "client_secret": sandbox.client_secret(AUTOMATION_CLIENT),
        "grant_type": "client_credentials", "scope": "https://management.azure.com/.default"}, timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    base = f"{sandbox.base_url}{GROUP_ID}/providers"
    urls = [("PUT", f"{base}/Microsoft.Resources/deployments/g?api-version=2024-07-01"),
            ("PUT", f"{base}/Microsoft.Resources/deployments/{'n' * 65}?api-version=2024-07-01"),
            ("PUT", f"{base}/Microsoft.Resources/deployments/a%20b?api-version=2024-07-01"),
            ("POST", f"{base}/Microsoft.Resources/deployments/g/validate?api-version=2024-07-01"),
            ("POST", f"{base}/Microsoft.Resources/deployments/g/whatIf?api-version=2024-07-01"),
            ("PUT", f"{base}/Microsoft.IoTOperations/instances/g?api-version=2025-04-01"),
            ("PUT", f"{base}/Microsoft.Storage/storageAccounts/garbage01?api-version=2023-05-01")]
    bodies = [b"{not json", b"[]", b'"a string"', b'{"properties": []}', b'{"properties": {"mode": 5}}',
              b'{"properties": {"mode": "Incremental", "template": {"$schema": "x", "contentVersion": "1", "resources": [{"name": 1}]}}}',
              b'{"properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.com/t.json"}}}', "\u00ff\u0000".encode("latin-1")]
    failures = []
    for method, url in urls:
        # A type without a service of its own takes any object with ARM's envelope.
        for body in bodies if "IoTOperations" not in url else bodies[:4] + bodies[-1:]:
            r = requests.request(method, url, data=body, headers=headers, timeout=10)
            shaped = r.headers.get("content-type", "").startswith("application/json") and {"code", "message"} <= set(r.json().get("error", {}))
            if not (400 <= r.status_code < 500 and shaped):
                failures.append(f"{method} {url.split('/providers/')[1][:60]} {body!r:.40}: {r.status_code} {r.text[:150]}")
    assert not failures, "\n".join(failures)
    assert [d.name for d in arm.deployments.list_by_resource_group(RG)] == [], "nothing refused was deployed"


def test_what_if_shows_create_modify_nochange_ignore_and_complete_mode_deletes(arm, hubs, linked):
    current = hubs.iot_hub_resource.get(RG, "contoso-hub-weu")
    existing_hub = {"type": "Microsoft.Devices/IotHubs", "apiVersion": "2023-06-30", "name": "contoso-hub-weu", "location": current.location,
                    "sku": {"name": current.sku.name, "capacity": current.sku.capacity + 1}, "properties": {}}
    what_if = DeploymentWhatIf(properties=DeploymentWhatIfProperties(mode="Incremental", template=template([existing_hub])))
    changes = {c.resource_id: c for c in arm.deployments.begin_what_if(RG, "preview", what_if, polling_interval=0.2).result().changes}
    modify = changes[current.id]
    assert modify.change_type == "Modify"
    assert [(d.path, d.property_change_type, d.before, d.after) for d in modify.delta] == [("sku.capacity", "Modify", current.sku.capacity, current.sku.capacity + 1)]
    assert {c.change_type for i, c in changes.items() if i != current.id} == {"Ignore"}, "Incremental leaves the group's other resources alone"

    existing_hub["sku"]["capacity"] = current.sku.capacity
    complete = DeploymentWhatIf(properties=DeploymentWhatIfProperties(mode="Complete", template=template([existing_hub])))
    changes = {c.resource_id: c for c in arm.deployments.begin_what_if(RG, "preview", complete, polling_interval=0.2).result().changes}
    assert changes[current.id].change_type == "NoChange"
    assert changes[f"{GROUP_ID}/providers/Microsoft.Devices/IotHubs/contoso-hub-neu"].change_type == "Delete"

    linked_preview = DeploymentWhatIf(properties=DeploymentWhatIfProperties(mode="Incremental", template_link=linked,
                                                                            parameters=params(hubName="hub-previewed", accountName="acctpreviewed")))
    changes = {c.resource_id: c.change_type for c in arm.deployments.begin_what_if(RG, "preview", linked_preview, polling_interval=0.2).result().changes}
    for created in ("Microsoft.Devices/IotHubs/hub-previewed", "Microsoft.Storage/storageAccounts/acctpreviewed",
                    "Microsoft.ExtendedLocation/customLocations/hub-previewed-cl", "Microsoft.IoTOperations/instances/ops-instance",
                    "Microsoft.DeviceRegistry/assets/hub-previewed-2"):
        assert changes[f"{GROUP_ID}/providers/{created}"] == "Create", created
    assert hubs.iot_hub_resource.get(RG, "contoso-hub-weu").sku.capacity == current.sku.capacity, "what-if changes nothing"
    with pytest.raises(ResourceNotFoundError):
        hubs.iot_hub_resource.get(RG, "hub-previewed")


def test_a_linked_template_deploys_a_hub_a_storage_account_and_nested_deployments(arm, hubs, storage, linked):
    poller = arm.deployments.begin_create_or_update(RG, "iot-stack", Deployment(properties=DeploymentProperties(
        mode="Incremental", template_link=linked, parameters=params(hubName="hub-deployed", accountName="acctdeployed", units=2))),
        polling_interval=0.2)
    done = poller.result()
    assert done.properties.provisioning_state == "Succeeded", done.properties.error
    hub = hubs.iot_hub_resource.get(RG, "hub-deployed")
    assert (hub.sku.name, hub.sku.capacity) == ("S1", 2)
    assert done.properties.outputs["hubHost"] == {"type": "String", "value": hub.properties.host_name}
    assert done.properties.outputs["innerHost"]["value"] == hub.properties.host_name, "reference() reached the inner template"
    assert done.properties.outputs["assets"] == {"type": "Int", "value": 3}
    assert done.properties.template_link.uri == linked.uri

    # The hub is a real one: its own endpoint takes its keys.
    key = hubs.iot_hub_resource.get_keys_for_key_name(RG, "hub-deployed", "iothubowner").primary_key
    registry = IoTHubRegistryManager.from_connection_string(f"HostName={hub.properties.host_name};SharedAccessKeyName=iothubowner;SharedAccessKey={key}")
    registry.create_device_with_sas("deployed-device", "", "", "enabled")
    assert registry.get_device("deployed-device").status == "enabled"
    assert storage.storage_accounts.get_properties(RG, "acctdeployed").primary_endpoints.blob.endswith("/acctdeployed/")

    # Resources of types without a service of their own exist at their IDs.
    instance = arm.resources.get_by_id(f"{GROUP_ID}/providers/Microsoft.IoTOperations/instances/ops-instance", "2025-04-01")
    assert instance.properties["description"] == hub.properties.host_name
    location = arm.resources.get_by_id(f"{GROUP_ID}/providers/Microsoft.ExtendedLocation/customLocations/hub-deployed-cl", "2025-04-01")
    assert location.properties["hostResourceId"] == hub.id
    for i in range(3):
        asset = arm.resources.get_by_id(f"{GROUP_ID}/providers/Microsoft.DeviceRegistry/assets/hub-deployed-{i}", "2025-04-01")
        assert asset.properties["provisioningState"] == "Succeeded"

    names = {d.name: d.properties.provisioning_state for d in arm.deployments.list_by_resource_group(RG)}
    assert names == {"iot-stack": "Succeeded", "outer-location": "Succeeded", "inner-instance": "Succeeded", "linked-assets": "Succeeded"}
    ops = {o.properties.target_resource.resource_name: o.properties for o in arm.deployment_operations.list(RG, "iot-stack")}
    assert set(ops) == {"acctdeployed", "hub-deployed", "outer-location", "inner-instance", "linked-assets"}
    assert {o.provisioning_state for o in ops.values()} == {"Succeeded"}
    assert arm.deployments.export_template(RG, "iot-stack").template == main_template()


def test_a_deployment_failing_half_way_keeps_what_it_made_and_names_the_failing_resource(arm, storage):
    failing = template([
        {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "acctbefore", "location": "[resourceGroup().location]",
         "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "properties": {}},
        generic("Microsoft.IoTOperations/instances", "made-before"),
        {"type": "Microsoft.Devices/IotHubs", "apiVersion": "2023-06-30", "name": "hub-bad-sku", "location": "[resourceGroup().location]",
         "sku": {"name": "X9", "capacity": 1}, "properties": {}, "dependsOn": ["acctbefore", "made-before"]},
        generic("Microsoft.IoTOperations/instances", "needs-the-hub", dependsOn=["hub-bad-sku"]),
    ])
    poller = arm.deployments.begin_create_or_update(RG, "half-way", Deployment(properties=DeploymentProperties(mode="Incremental", template=failing)),
                                                    polling_interval=0.2)
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert "DeploymentFailed" in str(failed.value)
    deployment = arm.deployments.get(RG, "half-way")
    assert deployment.properties.provisioning_state == "Failed"
    assert deployment.properties.error.code == "DeploymentFailed" and deployment.properties.error.details[0].code == "InvalidSku"
    ops = {o.properties.target_resource.resource_name: o.properties for o in arm.deployment_operations.list(RG, "half-way")}
    assert ops["hub-bad-sku"].provisioning_state == "Failed" and ops["hub-bad-sku"].status_code == "BadRequest"
    assert ops["hub-bad-sku"].status_message.error.code == "InvalidSku" and "X9" in ops["hub-bad-sku"].status_message.error.message
    assert ops["acctbefore"].provisioning_state == ops["made-before"].provisioning_state == "Succeeded"
    assert "needs-the-hub" not in ops, "what depends on the failed resource is not attempted"
    assert storage.storage_accounts.get_properties(RG, "acctbefore").name == "acctbefore"
    assert arm.resources.get_by_id(f"{GROUP_ID}/providers/Microsoft.IoTOperations/instances/made-before", "2025-04-01").name == "made-before"
    with pytest.raises(ResourceNotFoundError):
        arm.resources.get_by_id(f"{GROUP_ID}/providers/Microsoft.IoTOperations/instances/needs-the-hub", "2025-04-01")


def test_a_running_deployment_is_canceled_and_a_finished_one_deleted(arm):
    slow = template([{"type": "Microsoft.Devices/IotHubs", "apiVersion": "2023-06-30", "name": f"hub-slow-{i}", "location": "[resourceGroup().location]",
                      "sku": {"name": "S1", "capacity": 1}, "properties": {}, "dependsOn": [f"hub-slow-{i - 1}"] if i else []} for i in range(4)])
    arm.deployments.begin_create_or_update(RG, "slow", Deployment(properties=DeploymentProperties(mode="Incremental", template=slow)), polling_interval=0.2)
    arm.deployments.cancel(RG, "slow")
    with pytest.raises(HttpResponseError) as again:
        arm.deployments.begin_create_or_update(RG, "slow", Deployment(properties=DeploymentProperties(mode="Incremental", template=slow)))
    assert again.value.status_code == 409 and again.value.error.code == "DeploymentActive"
    state = arm.deployments.get(RG, "slow").properties.provisioning_state
    for _ in range(50):
        if state != "Running":
            break
        time.sleep(0.2)
        state = arm.deployments.get(RG, "slow").properties.provisioning_state
    assert state == "Canceled"
    assert len(list(arm.deployment_operations.list(RG, "slow"))) < 4, "no resource after the cancel was started"
    with pytest.raises(HttpResponseError) as not_running:
        arm.deployments.cancel(RG, "slow")
    assert not_running.value.error.code == "DeploymentCannotBeCanceled"
    assert arm.deployments.check_existence(RG, "slow")
    arm.deployments.begin_delete(RG, "slow", polling_interval=0.2).result()
    assert not arm.deployments.check_existence(RG, "slow")


def test_complete_mode_deletes_what_the_template_no_longer_names(sandbox, fresh_scenario):
    scenario = sandbox.default_scenario()
    scenario["subscriptions"][0]["resourceGroups"].append({"name": "rg-ops-staging", "location": "northeurope"})
    sandbox.load_scenario(scenario)
    # A reload mints new client secrets: sign in after it.
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT), authority=sandbox.base_url, disable_instance_discovery=True)
    arm = ResourceManagementClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)
    group = "rg-ops-staging"
    both = template([generic("Microsoft.IoTOperations/instances", "keep"), generic("Microsoft.IoTOperations/instances", "drop")])
    first = arm.deployments.begin_create_or_update(group, "first", Deployment(properties=DeploymentProperties(mode="Incremental", template=both)),
                                                   polling_interval=0.2).result()
    assert first.properties.provisioning_state == "Succeeded"
    assert arm.resources.get_by_id(f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.IoTOperations/instances/keep", "2025-04-01").location == "northeurope"
    only_keep = template([generic("Microsoft.IoTOperations/instances", "keep")])
    second = arm.deployments.begin_create_or_update(group, "second", Deployment(properties=DeploymentProperties(mode="Complete", template=only_keep)),
                                                    polling_interval=0.2).result()
    assert second.properties.provisioning_state == "Succeeded" and second.properties.mode == "Complete"
    ops = {(o.properties.provisioning_operation, o.properties.target_resource.resource_name) for o in arm.deployment_operations.list(group, "second")}
    assert ops == {("Create", "keep"), ("Delete", "drop")}
    with pytest.raises(ResourceNotFoundError):
        arm.resources.get_by_id(f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.IoTOperations/instances/drop", "2025-04-01")


def test_deployment_answers_match_the_official_spec(sandbox, arm):
    """The raw answers, checked against resources.json (2024-07-01)."""
    spec = "specification/resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json"
    base = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Resources/deployments"
    url = f"{sandbox.base_url}/subscriptions/{PROD_SUBSCRIPTION}/resourcegroups/{RG}/providers/Microsoft.Resources/deployments"
    token = requests.post(f"{sandbox.authority}/oauth2/v2.0/token", data={
        "client_id": AUTOMATION_CLIENT, "client_secret": sandbox.client_secret(AUTOMATION_CLIENT),
        "grant_type": "client_credentials", "scope": "https://management.azure.com/.default"}, timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    body = {"properties": {"mode": "Incremental", "template": template([generic("Microsoft.IoTOperations/instances", "checked")],
                                                                        outputs={"n": {"type": "int", "value": 1}})}}
    put = requests.put(f"{url}/spec-check?api-version=2024-07-01", json=body, headers=auth, timeout=10)
    assert put.status_code == 201 and put.headers["Azure-AsyncOperation"], put.text
    validate(spec, base + "/{deploymentName}", "put", 201, put.json())
    for _ in range(50):
        status = requests.get(put.headers["Azure-AsyncOperation"], headers=auth, timeout=10).json()["status"]
        if status in ("Succeeded", "Failed"):
            break
        time.sleep(0.1)
    assert status == "Succeeded"
    got = requests.get(f"{url}/spec-check?api-version=2024-07-01", headers=auth, timeout=10)
    validate(spec, base + "/{deploymentName}", "get", 200, got.json())
    assert got.json()["properties"]["outputs"] == {"n": {"type": "Int", "value": 1}}
    validate(spec, base + "/", "get", 200, requests.get(f"{url}/?api-version=2024-07-01", headers=auth, timeout=10).json())
    ops_url = f"{sandbox.base_url}/subscriptions/{PROD_SUBSCRIPTION}/resourcegroups/{RG}/deployments/spec-check/operations?api-version=2024-07-01"
    ops = requests.get(ops_url, headers=auth, timeout=10).json()
    validate(spec, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/deployments/{deploymentName}/operations", "get", 200, ops)
    assert [o["properties"]["targetResource"]["resourceName"] for o in ops["value"]] == ["checked"]
    exported = requests.post(f"{url}/spec-check/exportTemplate?api-version=2024-07-01", headers=auth, timeout=10)
    validate(spec, base + "/{deploymentName}/exportTemplate", "post", 200, exported.json())
    validated = requests.post(f"{url}/spec-check/validate?api-version=2024-07-01", json=body, headers=auth, timeout=10)
    validate(spec, base + "/{deploymentName}/validate", "post", 200, validated.json())
    bad = {"properties": {"mode": "Incremental", "template": template([generic("Microsoft.IoTOperations/instances", "x", dependsOn=["ghost"])])}}
    refused = requests.post(f"{url}/spec-check/validate?api-version=2024-07-01", json=bad, headers=auth, timeout=10)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "InvalidTemplate"
    validate(spec, base + "/{deploymentName}/validate", "post", 400, refused.json())
    what_if = requests.post(f"{url}/spec-check/whatIf?api-version=2024-07-01", json=body, headers=auth, timeout=10)
    assert what_if.status_code == 202
    result = requests.get(what_if.headers["Location"], headers=auth, timeout=10)
    validate(spec, base + "/{deploymentName}/whatIf", "post", 200, result.json())
    group_export = requests.post(f"{sandbox.base_url}/subscriptions/{PROD_SUBSCRIPTION}/resourcegroups/{RG}/exportTemplate?api-version=2024-07-01",
                                 json={"resources": ["*"], "options": "SkipAllParameterization"}, headers=auth, timeout=10)
    validate(spec, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/exportTemplate", "post", 200, group_export.json())
    changes = {c["resourceId"].rsplit("/", 1)[1]: c["changeType"] for c in result.json()["properties"]["changes"]}
    assert changes["checked"] == "NoChange" and changes["contoso-hub-weu"] == "Ignore"


def test_a_resource_groups_export_deploys_back_as_the_hub_state_arm_aspect_does(arm, hubs):
    from azure.mgmt.resource.resources.models import ExportTemplateRequest
    hub = hubs.iot_hub_resource.get(RG, "contoso-hub-weu")
    exported = arm.resource_groups.begin_export_template(RG, ExportTemplateRequest(resources=[hub.id], options="SkipAllParameterization"),
                                                         polling_interval=0.2).result()
    assert exported.error is None
    resources = exported.template["resources"]
    assert [(r["type"], r["name"], r["sku"]["name"]) for r in resources] == [("Microsoft.Devices/IotHubs", "contoso-hub-weu", hub.sku.name)]
    assert exported.template["parameters"] == {} and "id" not in resources[0] and "etag" not in resources[0]
    # `az iot hub state import` deploys the exported template with `az deployment group create`.
    redeployed = arm.deployments.begin_create_or_update(RG, "hub-state", Deployment(properties=DeploymentProperties(mode="Incremental", template=exported.template)),
                                                        polling_interval=0.2).result()
    assert redeployed.properties.provisioning_state == "Succeeded"
    assert [r.id for r in redeployed.properties.output_resources] == [hub.id]
    assert hubs.iot_hub_resource.get(RG, "contoso-hub-weu").sku.capacity == hub.sku.capacity

    everything = arm.resource_groups.begin_export_template(RG, ExportTemplateRequest(resources=["*"], options="IncludeParameterDefaultValue"),
                                                           polling_interval=0.2).result().template
    assert everything["parameters"]["IotHubs_contoso_hub_weu_name"] == {"type": "String", "defaultValue": "contoso-hub-weu"}
    assert {r["type"] for r in everything["resources"]} >= {"Microsoft.Devices/IotHubs", "Microsoft.Devices/provisioningServices", "Microsoft.Storage/storageAccounts"}
    with pytest.raises(HttpResponseError) as missing:
        arm.resource_groups.begin_export_template(RG, ExportTemplateRequest(resources=[hub.id + "-nope"])).result()
    assert missing.value.status_code == 404


def test_az_deployment_group_what_if_create_and_group_export(sandbox, fresh_scenario, tmp_path):
    """`az deployment group create` is how `az iot hub state import` deploys the ARM aspect."""
    from test_az_cli import AZ
    if not AZ:
        pytest.skip("the az CLI is not installed (./x test sdk installs it)")
    env = dict(os.environ)
    env.update({"AZURE_CONFIG_DIR": str(tmp_path / "az-config"), "AZURE_EXTENSION_DIR": os.environ["IOTM_AZ_EXTENSIONS"],
                "AZURE_CORE_INSTANCE_DISCOVERY": "false", "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_NO_COLOR": "true",
                "REQUESTS_CA_BUNDLE": sandbox.ca_bundle})

    def az(*args):
        done = subprocess.run([AZ, *args, "--only-show-errors"], env=env, capture_output=True, text=True, timeout=300)
        errors = [line for line in done.stderr.splitlines() if "rdbms" not in line and "mysql" not in line and line.strip()]
        assert done.returncode == 0, f"az {' '.join(args[:4])} failed: {errors}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    az("cloud", "register", "-n", "IotmSandbox", "--endpoint-resource-manager", f"{sandbox.base_url}/")
    az("cloud", "set", "-n", "IotmSandbox")
    az("login", "--service-principal", "-u", AUTOMATION_CLIENT, "-p", sandbox.client_secret(AUTOMATION_CLIENT), "--tenant", TENANT)
    az("account", "set", "-s", PROD_SUBSCRIPTION)
    template_file = tmp_path / "assets.json"
    template_file.write_text(json.dumps(ASSETS))
    preview = az("deployment", "group", "what-if", "-g", RG, "-n", "az-assets", "--template-file", str(template_file),
                 "--parameters", "count=2", "prefix=az", "--no-pretty-print")
    created = sorted(c["resourceId"].rsplit("/", 1)[1] for c in preview["changes"] if c["changeType"] == "Create")
    assert created == ["az-0", "az-1"]
    done = az("deployment", "group", "create", "-g", RG, "-n", "az-assets", "--template-file", str(template_file), "--parameters", "count=2", "prefix=az")
    assert done["properties"]["provisioningState"] == "Succeeded" and done["properties"]["outputs"]["count"]["value"] == 2
    with pytest.raises(AssertionError) as refused:
        az("deployment", "group", "create", "-g", RG, "-n", "az-bad", "--template-file", str(template_file), "--parameters", "count=0", "prefix=az")
    assert "InvalidTemplate" in str(refused.value) and "less than the minimum value of" in str(refused.value)
    exported = az("group", "export", "-n", RG, "--skip-all-params")
    assert {"az-0", "az-1", "contoso-hub-weu"} <= {r["name"] for r in exported["resources"]}


def test_a_dps_is_linked_to_a_hub_of_the_same_template_through_list_keys(sandbox, arm, credential):
    from azure.mgmt.iothubprovisioningservices import IotDpsClient
    hub_id = "[resourceId('Microsoft.Devices/IotHubs', 'hub-for-dps')]"
    owner = "[listKeys(concat(resourceId('Microsoft.Devices/IotHubs', 'hub-for-dps'), '/IotHubKeys/iothubowner'), '2023-06-30').primaryKey]"
    linked = template([
        {"type": "Microsoft.Devices/provisioningServices", "apiVersion": "2022-12-12", "name": "dps-from-template", "location": "[resourceGroup().location]",
         "sku": {"name": "S1", "capacity": 1}, "properties": {"allocationPolicy": "Hashed", "iotHubs": [{
             "location": "[resourceGroup().location]",
             "connectionString": f"[concat('HostName=', reference({hub_id[1:-1]}, '2023-06-30').hostName, ';SharedAccessKeyName=iothubowner;SharedAccessKey=', {owner[1:-1]})]"}]}},
        # Declared after the DPS, without dependsOn: ARM orders it first for the DPS's reference().
        {"type": "Microsoft.Devices/IotHubs", "apiVersion": "2023-06-30", "name": "hub-for-dps", "location": "[resourceGroup().location]",
         "sku": {"name": "S1", "capacity": 1}, "properties": {}},
    ], outputs={"ownerKey": {"type": "securestring", "value": owner}})
    done = arm.deployments.begin_create_or_update(RG, "dps-linked", Deployment(properties=DeploymentProperties(mode="Incremental", template=linked)),
                                                  polling_interval=0.2).result()
    assert done.properties.provisioning_state == "Succeeded", done.properties.error
    ops = [o.properties.target_resource.resource_name for o in arm.deployment_operations.list(RG, "dps-linked")]
    assert ops == ["hub-for-dps", "dps-from-template"], "the DPS waited for the hub its listKeys() and reference() name"
    assert done.properties.outputs["ownerKey"] == {"type": "SecureString"}, "a secure output's value is not shown"
    dps = IotDpsClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_dps_resource.get("dps-from-template", RG)
    hub_host = IotHubClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_hub_resource.get(RG, "hub-for-dps").properties.host_name
    assert [h.name for h in dps.properties.iot_hubs] == [hub_host]
