"""ARM's IotHubs operations beside the resource, through azure-mgmt-iothub unmodified: getStats,
getValidSkus, getQuotaMetrics, checkNameAvailability, event hub consumer groups (list, get,
create, delete, kept across a restart of the state), the import/export jobs started and read
through ARM (the same jobs the hub's data plane lists), and routing testAllRoutes / testRoute.
Every raw answer is checked against the IotHub resource provider's spec."""

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.iot.hub import IoTHubJobManager
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.iothub import models
from azure.mgmt.iothub.models import (EventHubConsumerGroupBodyDescription, EventHubConsumerGroupName, ExportDevicesRequest,
                                      OperationInputs, RouteProperties, RoutingMessage, RoutingProperties, RoutingTwin,
                                      RoutingTwinProperties)

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT, arm_view
from swagger import validate

SPEC = "specification/iothub/resource-manager/Microsoft.Devices/stable/2023-06-30/iothub.json"
HUBS = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Devices/IotHubs"
RG, HUB = "rg-iot-prod", "contoso-hub-weu"
HUB_URL = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Devices/IotHubs/{HUB}"
V = "api-version=2023-06-30"


@pytest.fixture
def credential(sandbox, fresh_scenario):
    return ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)


@pytest.fixture
def hubs(sandbox, credential):
    return IotHubClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url,
                        credential_scopes=["https://management.azure.com/.default"]).iot_hub_resource


@pytest.fixture
def raw(sandbox, credential):
    """The exact JSON of a call, checked against the spec's operation for it."""
    token = credential.get_token("https://management.azure.com/.default").token

    def call(method: str, url: str, template: str, status: int = 200, body=None):
        r = requests.request(method, f"{sandbox.base_url}{url}{'&' if '?' in url else '?'}{V}", json=body,
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == status, r.text
        answer = r.json() if r.content else None
        validate(SPEC, template, method.lower(), status if status < 400 else "default", answer)
        return answer

    return call


def test_stats_skus_quota_metrics_and_name_availability(sandbox, hubs, raw):
    registry_view = arm_view(sandbox)
    from azure.iot.hub import IoTHubRegistryManager
    registry = IoTHubRegistryManager.from_connection_string(registry_view["hub_cs"])
    before = hubs.get_stats(RG, HUB)
    registry.create_device_with_sas("ops-on", "", "", "enabled")
    registry.create_device_with_sas("ops-off", "", "", "disabled")
    after = hubs.get_stats(RG, HUB)
    assert (after.total_device_count - before.total_device_count, after.enabled_device_count - before.enabled_device_count,
            after.disabled_device_count - before.disabled_device_count) == (2, 1, 1)
    raw("GET", f"{HUB_URL}/IotHubStats", HUBS + "/{resourceName}/IotHubStats")

    skus = {s.sku.name: s for s in hubs.get_valid_skus(RG, HUB)}
    assert set(skus) <= {"B1", "B2", "B3", "S1", "S2", "S3"} and "S1" in skus and skus["S3"].capacity.maximum == 10
    raw("GET", f"{HUB_URL}/skus", HUBS + "/{resourceName}/skus")

    metrics = {m.name: m for m in hubs.get_quota_metrics(RG, HUB)}
    assert metrics["TotalDeviceCount"].current_value == after.total_device_count and metrics["TotalMessages"].max_value >= 400_000
    raw("GET", f"{HUB_URL}/quotaMetrics", HUBS + "/{resourceName}/quotaMetrics")

    taken = hubs.check_name_availability(OperationInputs(name=HUB))
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")
    assert hubs.check_name_availability(OperationInputs(name=f"free-{uuid.uuid4().hex[:8]}")).name_available
    assert hubs.check_name_availability(OperationInputs(name="-bad name")).reason == "Invalid"
    raw("POST", f"/subscriptions/{PROD_SUBSCRIPTION}/providers/Microsoft.Devices/checkNameAvailability",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Devices/checkNameAvailability", body={"name": HUB})


def test_consumer_groups_are_created_listed_and_deleted_and_default_stays(sandbox, hubs, raw):
    names = lambda: sorted(g.name for g in hubs.list_event_hub_consumer_groups(RG, HUB, "events"))
    assert names() == ["$Default"]
    made = hubs.create_event_hub_consumer_group(RG, HUB, "events", "migration-reader",
                                                EventHubConsumerGroupBodyDescription(properties=EventHubConsumerGroupName(name="migration-reader")))
    assert made.name == "migration-reader" and made.id.endswith("/eventHubEndpoints/events/ConsumerGroups/migration-reader")
    assert hubs.get_event_hub_consumer_group(RG, HUB, "events", "migration-reader").etag == made.etag
    assert names() == ["$Default", "migration-reader"]
    raw("GET", f"{HUB_URL}/eventHubEndpoints/events/ConsumerGroups", HUBS + "/{resourceName}/eventHubEndpoints/{eventHubEndpointName}/ConsumerGroups")
    raw("GET", f"{HUB_URL}/eventHubEndpoints/events/ConsumerGroups/migration-reader",
        HUBS + "/{resourceName}/eventHubEndpoints/{eventHubEndpointName}/ConsumerGroups/{name}")

    with pytest.raises(HttpResponseError) as refused:
        hubs.delete_event_hub_consumer_group(RG, HUB, "events", "$Default")
    assert refused.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        hubs.get_event_hub_consumer_group(RG, HUB, "nope", "x")
    hubs.delete_event_hub_consumer_group(RG, HUB, "events", "migration-reader")
    assert names() == ["$Default"]
    with pytest.raises(ResourceNotFoundError):
        hubs.get_event_hub_consumer_group(RG, HUB, "events", "migration-reader")


def test_routes_set_through_arm_are_tested_against_a_message(hubs, raw):
    hub = hubs.get(RG, HUB)
    assert hub.properties.routing.fallback_route.name == "$fallback" and hub.properties.routing.routes == []
    hub.properties.routing = RoutingProperties(routes=[
        RouteProperties(name="alerts", source="DeviceMessages", condition="level = 'critical' AND $body.temperature > 30", endpoint_names=["events"], is_enabled=True),
        RouteProperties(name="lyon", source="DeviceMessages", condition="$twin.tags.site = 'lyon'", endpoint_names=["events"], is_enabled=True),
        RouteProperties(name="off", source="DeviceMessages", condition="true", endpoint_names=["events"], is_enabled=False),
    ])
    hubs.begin_create_or_update(RG, HUB, hub, if_match=hub.etag).result()
    assert [r.name for r in hubs.get(RG, HUB).properties.routing.routes] == ["alerts", "lyon", "off"]

    message = RoutingMessage(body='{"temperature": 35}', app_properties={"level": "critical"},
                             system_properties={"contentType": "application/json", "contentEncoding": "utf-8"})
    twin = RoutingTwin(tags={"site": "paris"}, properties=RoutingTwinProperties(reported={}))
    matched = hubs.test_all_routes(HUB, RG, models.TestAllRoutesInput(routing_source="DeviceMessages", message=message, twin=twin))
    assert [r.properties.name for r in matched.routes] == ["alerts"]
    body = {"routingSource": "DeviceMessages", "message": message.serialize(), "twin": {"tags": {"site": "lyon"}}}
    answer = raw("POST", f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Devices/IotHubs/{HUB}/routing/routes/$testall",
                 "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Devices/IotHubs/{iotHubName}/routing/routes/$testall", body=body)
    assert [r["properties"]["name"] for r in answer["routes"]] == ["alerts", "lyon"]

    route = lambda condition: RouteProperties(name="new", source="DeviceMessages", condition=condition, endpoint_names=["events"], is_enabled=True)
    assert hubs.test_route(HUB, RG, models.TestRouteInput(message=message, route=route("as_number('2') <= 2 AND level = 'critical'"))).result == "true"
    assert hubs.test_route(HUB, RG, models.TestRouteInput(message=message, route=route("level = 'info'"))).result == "false"
    assert hubs.test_route(HUB, RG, models.TestRouteInput(message=message, route=route("missing = 'x'"))).result == "undefined"
    broken = hubs.test_route(HUB, RG, models.TestRouteInput(message=message, route=route("level = = 'x'")))
    assert broken.details.compilation_errors[0].severity == "error" and broken.details.compilation_errors[0].location.start.column == 9

    # A route whose condition does not compile is refused when it is set.
    hub = hubs.get(RG, HUB)
    hub.properties.routing.routes = [route("level = ")]
    with pytest.raises(HttpResponseError) as refused:
        hubs.begin_create_or_update(RG, HUB, hub, if_match=hub.etag).result()
    assert refused.value.status_code == 400 and refused.value.error.code == "InvalidRoute"


def test_an_export_started_through_arm_is_the_hubs_own_job(sandbox, hubs, credential, raw):
    assert sandbox.azurite, "Azurite is not installed: run `npm ci` in tests/azurite (./x test does)"
    from test_hub_import_export import Blobs, COMMON
    from azure.mgmt.storage import StorageManagementClient
    blobs = Blobs(StorageManagementClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON))
    from azure.iot.hub import IoTHubRegistryManager
    IoTHubRegistryManager.from_connection_string(arm_view(sandbox)["hub_cs"]).create_device_with_sas("exported-by-arm", "", "", "enabled")
    job = hubs.export_devices(RG, HUB, ExportDevicesRequest(export_blob_container_uri=blobs.sas_url(), exclude_keys=True))
    assert job.type == "export" and job.status in {"enqueued", "running", "completed"}
    data_plane = IoTHubJobManager.from_connection_string(arm_view(sandbox)["hub_cs"])
    deadline = time.time() + 60
    while (seen := data_plane.get_import_export_job(job.job_id)).status not in {"completed", "failed"} and time.time() < deadline:
        time.sleep(0.5)
    assert seen.status == "completed", seen.failure_reason
    through_arm = hubs.get_job(RG, HUB, job.job_id)
    assert (through_arm.status, through_arm.type) == ("completed", "export") and through_arm.end_time_utc is not None
    assert job.job_id in [j.job_id for j in hubs.list_jobs(RG, HUB)]
    exported = blobs.client().get_blob_client("devices.txt").download_blob().readall().decode()
    assert '"id":"exported-by-arm"' in exported.replace(" ", "") and '"primaryKey":null' in exported.replace(" ", ""), "keys excluded as asked"
    raw("GET", f"{HUB_URL}/jobs", HUBS + "/{resourceName}/jobs")
    raw("GET", f"{HUB_URL}/jobs/{job.job_id}", HUBS + "/{resourceName}/jobs/{jobId}")
    with pytest.raises(ResourceNotFoundError):
        hubs.get_job(RG, HUB, "no-such-job")
    # ARM refuses what the data plane refuses: a container it cannot write to.
    with pytest.raises(HttpResponseError) as refused:
        hubs.export_devices(RG, HUB, ExportDevicesRequest(export_blob_container_uri=blobs.sas_url(permissions="r"), exclude_keys=True))
    assert refused.value.status_code == 400
