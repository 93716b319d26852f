"""The IoT Hub query language through azure-iot-hub's IoTHubRegistryManager, unmodified: aggregates
(`SELECT COUNT() AS n`), GROUP BY, module twins (`FROM devices.modules`), per-device jobs
(`FROM devices.jobs`), TOP, the type-check and string functions, and the hub's 400 for what it
refuses. Each answer is checked against the service's spec."""

import pytest
from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import QuerySpecification, Twin
from msrest.exceptions import HttpOperationError

from conftest import arm_view
from swagger import validate

SPEC = "azure-iot-sdk-python/azure-iot-hub/service.json"


@pytest.fixture
def registry(sandbox, fresh_scenario):
    sandbox.control("POST", "quotas", json={"enabled": False, "hub": "contoso-hub-weu"})
    registry = IoTHubRegistryManager.from_connection_string(arm_view(sandbox)["hub_cs"])
    for i, (site, floor) in enumerate([("lyon", 1), ("lyon", 4), ("paris", 2), (None, None)]):
        device = f"q-{i}"
        registry.create_device_with_sas(device, "", "", "enabled" if i != 2 else "disabled")
        if site:
            registry.update_twin(device, Twin(tags={"site": site, "floor": floor}))
    registry.create_module_with_sas("q-0", "edgeAgent", None, "", "")
    registry.create_module_with_sas("q-0", "reader", None, "", "")
    registry.create_module_with_sas("q-2", "reader", None, "", "")
    return registry


def rows(registry: IoTHubRegistryManager, query: str, page: int | None = None) -> tuple[list, dict]:
    """The JSON items and headers of one page, read from the SDK's own raw response."""
    raw = registry.protocol.query.get_twins(QuerySpecification(query=query), None, str(page) if page else None, raw=True)
    body = raw.response.json()
    validate(SPEC, "/devices/query", "post", 200, body)
    return body, raw.response.headers


def test_count_and_group_by(registry):
    body, headers = rows(registry, "SELECT COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'q-')")
    assert (body, headers["x-ms-item-type"]) == ([{"n": 4}], "raw")
    body, _ = rows(registry, "SELECT tags.site AS site, COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'q-') GROUP BY tags.site")
    assert sorted(body, key=lambda r: r.get("site", "")) == [{"n": 1}, {"site": "lyon", "n": 2}, {"site": "paris", "n": 1}]
    body, _ = rows(registry, "SELECT status, COUNT() AS n, MAX(tags.floor) AS top_floor FROM devices WHERE STARTSWITH(deviceId, 'q-') GROUP BY status")
    assert sorted(body, key=lambda r: r["status"]) == [{"status": "disabled", "n": 1, "top_floor": 2}, {"status": "enabled", "n": 3, "top_floor": 4}]


def test_functions_select_the_twins_they_describe(registry):
    def ids(where: str) -> list[str]:
        result = registry.query_iot_hub(QuerySpecification(query=f"SELECT * FROM devices WHERE STARTSWITH(deviceId, 'q-') AND {where}"))
        assert result.type == "twin"
        return sorted(t.device_id for t in result.items)

    assert ids("IS_DEFINED(tags.site)") == ["q-0", "q-1", "q-2"]
    assert ids("IS_STRING(tags.site) AND IS_NUMBER(tags.floor) AND tags.floor * 2 > 3") == ["q-1", "q-2"]
    assert ids("ENDSWITH(tags.site, 'is')") == ["q-2"]
    assert ids("NOT IS_DEFINED(tags.site) AND IS_OBJECT(tags) AND IS_PRIMITIVE(deviceId) AND NOT IS_ARRAY(tags) AND NOT IS_BOOL(tags)") == ["q-3"]
    assert ids("tags.site NIN ['lyon'] AND NOT IS_NULL(tags.site)") == ["q-2"]


def test_module_twins_and_device_jobs(registry):
    result = registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices.modules WHERE devices.modules.moduleId = 'reader'"))
    assert sorted((t.device_id, t.module_id) for t in result.items) == [("q-0", "reader"), ("q-2", "reader")]
    first, headers = rows(registry, "SELECT * FROM devices.modules WHERE STARTSWITH(deviceId, 'q-')", page=2)
    token = headers["x-ms-continuation"]
    rest = registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices.modules WHERE STARTSWITH(deviceId, 'q-')"), token, "2")
    assert [(t["deviceId"], t["moduleId"]) for t in first] + [(t.device_id, t.module_id) for t in rest.items] == [
        ("q-0", "edgeAgent"), ("q-0", "reader"), ("q-2", "reader")]
    # The sandbox runs no scheduled device jobs, so no device has job details: an empty answer.
    jobs = registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices.jobs WHERE devices.jobs.deviceId = 'q-0'"))
    assert (jobs.type, jobs.items) == ("deviceJob", [])


def test_top_caps_the_answer_across_pages(registry):
    query = QuerySpecification(query="SELECT TOP 3 * FROM devices WHERE STARTSWITH(deviceId, 'q-')")
    first = registry.query_iot_hub(query, None, "2")
    second = registry.query_iot_hub(query, first.continuation_token, "2")
    assert [t.device_id for t in first.items + second.items] == ["q-0", "q-1", "q-2"] and second.continuation_token is None


@pytest.mark.parametrize("query,reason", [
    ("SELECT deviceId FROM devices.jobs", "SELECT * only"),
    ("SELECT moduleId, COUNT() AS n FROM devices.modules GROUP BY moduleId", "device twins"),
    ("SELECT deviceId, COUNT() AS n FROM devices", "neither in the GROUP BY"),
    ("SELECT * FROM devices WHERE STARTS_WITH(deviceId, 'q-')", "not a function"),
    ("SELECT * FROM devices WHERE LOWER(deviceId) = 'q-1'", "route conditions only"),
])
def test_what_the_hub_refuses_is_its_400(registry, query, reason):
    with pytest.raises(HttpOperationError) as refused:
        registry.query_iot_hub(QuerySpecification(query=query))
    response = refused.value.response
    assert (response.status_code, response.headers["iothub-errorcode"]) == (400, "ArgumentInvalid")
    assert reason in response.json()["Message"]
