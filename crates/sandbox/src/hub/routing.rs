//! A hub's message routing as ARM sets it (`properties.routing` of the IotHubs resource: custom
//! endpoints, routes, the fallback route, enrichments). The sandbox delivers no routed messages;
//! it keeps the routing so ARM answers it back, and tests routes against a message as the hub
//! evaluates them (arm/routing_test.rs). Kept in the hub's saved state.

use serde_json::{json, Value};
use std::sync::Mutex;

/// What a new hub's routing is: no custom endpoint or route, and the fallback route to `events`.
pub fn default_routing() -> Value {
    json!({
        "endpoints": {"serviceBusQueues": [], "serviceBusTopics": [], "eventHubs": [], "storageContainers": [], "cosmosDBSqlContainers": []},
        "routes": [],
        "fallbackRoute": {"name": "$fallback", "source": "DeviceMessages", "condition": "true", "endpointNames": ["events"], "isEnabled": true},
        "enrichments": [],
    })
}

pub struct HubRouting(Mutex<Value>);

impl Default for HubRouting {
    fn default() -> HubRouting {
        HubRouting(Mutex::new(default_routing()))
    }
}

impl HubRouting {
    pub fn restored(saved: Option<Value>) -> HubRouting {
        HubRouting(Mutex::new(saved.filter(Value::is_object).unwrap_or_else(default_routing)))
    }

    pub fn get(&self) -> Value {
        self.0.lock().unwrap().clone()
    }

    pub fn set(&self, routing: Value) {
        *self.0.lock().unwrap() = routing;
    }

    /// The routes (`RouteProperties`), in the order they were set.
    pub fn routes(&self) -> Vec<Value> {
        self.0.lock().unwrap()["routes"].as_array().cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crate::hub::state::Hub;
    use crate::testing;
    use serde_json::json;

    #[test]
    fn consumer_groups_and_routing_survive_a_restart_of_the_state() {
        let hub = Hub::new(testing::placement(), "h", "S1", 1, "localhost:1".into());
        hub.consumer_groups().create("reader").unwrap();
        let routing = json!({"routes": [{"name": "r", "source": "DeviceMessages", "condition": "true", "endpointNames": ["events"], "isEnabled": true}]});
        hub.routing().set(routing.clone());
        let saved = serde_json::to_string(&hub.record()).unwrap();
        let restored = Hub::from_record(serde_json::from_str(&saved).unwrap());
        assert_eq!(restored.consumer_groups().list(), hub.consumer_groups().list());
        assert_eq!(restored.routing().get(), routing);
        // A hub saved before either was kept comes back with `$Default` and the default routing.
        let mut old: serde_json::Value = serde_json::from_str(&saved).unwrap();
        old.as_object_mut().unwrap().retain(|k, _| k != "consumer_groups" && k != "routing");
        let older = Hub::from_record(serde_json::from_value(old).unwrap());
        assert_eq!(older.consumer_groups().list().iter().map(|g| g.name.clone()).collect::<Vec<_>>(), ["$Default"]);
        assert_eq!(older.routing().get(), super::default_routing());
    }
}
