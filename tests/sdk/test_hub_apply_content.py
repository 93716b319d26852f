"""IoT Hub's `applyConfigurationContent` (Configuration_ApplyOnEdgeDevice) through the official
`azure-iot-hub` client, unmodified: an edge device given a deployment directly gets its
`$edgeAgent`, `$edgeHub` and deployment modules with exactly those desired properties (the modules
made as the edge runtime's, with no credentials of their own); a device that is not an edge device
is refused. The Hub state wizard imports edge devices' modules this way, as `az iot hub state` does."""

import pytest
from azure.iot.hub import IoTHubConfigurationManager, IoTHubRegistryManager
from azure.iot.hub.models import ConfigurationContent
from msrest.exceptions import HttpOperationError

from conftest import arm_view


@pytest.fixture
def hub(sandbox, fresh_scenario):
    sandbox.control("POST", "quotas", json={"enabled": False, "hub": "contoso-hub-weu"})
    return arm_view(sandbox)


def test_a_deployment_applied_to_an_edge_device_sets_its_modules_desired_properties(hub):
    registry = IoTHubRegistryManager.from_connection_string(hub["hub_cs"])
    configs = IoTHubConfigurationManager.from_connection_string(hub["hub_cs"])
    registry.create_device_with_sas("gw-apply", "", "", "enabled", iot_edge=True)
    registry.create_device_with_sas("plain-apply", "", "", "enabled")
    agent = {"schemaVersion": "1.1", "runtime": {"type": "docker", "settings": {}}, "systemModules": {}, "modules": {"sensor": {"type": "docker"}}}
    content = ConfigurationContent(modules_content={
        "$edgeAgent": {"properties.desired": agent},
        "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {"up": "FROM /messages/* INTO $upstream"}}},
        "sensor": {"properties.desired": {"SendInterval": 5}},
    })
    configs.apply_configuration_on_edge_device("gw-apply", content)

    modules = {m.module_id: m for m in registry.get_modules("gw-apply")}
    assert sorted(modules) == ["$edgeAgent", "$edgeHub", "sensor"]
    assert modules["sensor"].managed_by == "iotEdge"
    assert modules["sensor"].authentication.type == "none"
    twin = registry.get_module_twin("gw-apply", "sensor")
    assert twin.properties.desired["SendInterval"] == 5
    assert registry.get_module_twin("gw-apply", "$edgeAgent").properties.desired["modules"] == {"sensor": {"type": "docker"}}

    # Applied again with less, each module's desired properties are exactly the new ones.
    configs.apply_configuration_on_edge_device("gw-apply", ConfigurationContent(modules_content={"sensor": {"properties.desired": {"Threshold": 3}}}))
    desired = registry.get_module_twin("gw-apply", "sensor").properties.desired
    assert desired.get("Threshold") == 3 and "SendInterval" not in desired

    with pytest.raises(HttpOperationError) as refused:
        configs.apply_configuration_on_edge_device("plain-apply", content)
    assert refused.value.response.status_code == 400
    with pytest.raises(HttpOperationError) as missing:
        configs.apply_configuration_on_edge_device("nobody", content)
    assert missing.value.response.status_code == 404
