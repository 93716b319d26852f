//! Which devices the target hub already holds, asked the cheapest way the hub allows: a hub that
//! holds little besides the devices in question is read whole (a thousand twins per query page);
//! a hub shared with a larger fleet is asked about the devices by ID, a hundred per query. The
//! monitor uses it to verify arrivals; the dry run and the run use it to find devices that were
//! moved before, so a plan run twice never sends a fleet DeviceMove twice.

use iotm_azure::hub::HubClient;
use iotm_azure::AzureError;
use std::collections::{BTreeMap, HashMap};

/// Device IDs per `IN [...]` query: IoT Hub's query language takes lists of this size well.
pub const HUB_QUERY_BATCH: usize = 100;

/// Whether a device found in the hub is connected there now.
pub type Presence = BTreeMap<String, bool>;

/// Whether reading the whole hub costs less than asking about `devices` by ID: the hub holds
/// little besides them.
pub fn read_whole_hub(hub_total: u64, devices: usize) -> bool {
    hub_total <= 2 * devices as u64 + 1_000
}

/// How many devices the hub holds (one cheap call), to choose how to ask.
pub async fn hub_total(hub: &HubClient) -> Result<u64, AzureError> {
    Ok(hub.device_statistics().await?.total_device_count)
}

/// Which of `ids` the hub holds, keyed by the caller's spelling of each ID (IoT Hub matches device
/// IDs without regard to case), with each one's connection state. `whole` reads every twin of the
/// hub instead of asking by ID (see `read_whole_hub`); `only_connected` asks only for devices
/// connected now (what proves an arrival).
pub async fn in_hub(hub: &HubClient, ids: &[String], whole: bool, only_connected: bool) -> Result<Presence, AzureError> {
    let mut found = Presence::new();
    if ids.is_empty() {
        return Ok(found);
    }
    let by_lower: HashMap<String, &String> = ids.iter().map(|id| (id.to_ascii_lowercase(), id)).collect();
    let mut twins = Vec::new();
    if whole {
        let filter = if only_connected { " WHERE connectionState = 'Connected'" } else { "" };
        twins = hub.query(&format!("SELECT deviceId, connectionState FROM devices{filter}"), 1000)?.all().await?;
    } else {
        // IoT Hub's query language has no escape for a quote inside a string, which device IDs
        // may hold: such IDs are not asked about here (the monitor's other readings cover them).
        let quotable: Vec<&String> = ids.iter().filter(|id| !id.contains('\'')).collect();
        for batch in quotable.chunks(HUB_QUERY_BATCH) {
            let list = batch.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(", ");
            twins.extend(hub.query(&format!("SELECT deviceId, connectionState FROM devices WHERE deviceId IN [{list}]"), 1000)?.all().await?);
        }
    }
    for twin in twins {
        let Some(device) = twin["deviceId"].as_str() else { continue };
        let connected = twin["connectionState"] == "Connected";
        if let Some(id) = by_lower.get(&device.to_ascii_lowercase()).filter(|_| connected || !only_connected) {
            found.insert((*id).clone(), connected);
        }
    }
    Ok(found)
}
