//! `Microsoft.Devices/IotHubs` (2023-06-30): list, get, and the keys of the shared access policies.
//! Each hub's host name is `localhost:<port>` of its own data-plane listener.

use super::errors::ArmError;
use super::subscriptions::check_version;
use super::{find_placed, json, placed_in, Ctx};
use super::keys;
use crate::live::Hub;
use axum::response::Response;
use serde_json::{json as j, Value};
use std::sync::Arc;

pub const VERSIONS: &[&str] = &["2021-07-02", "2022-04-30-preview", "2022-11-15-preview", "2023-06-30", "2023-06-30-preview"];
const TYPE: &str = "Microsoft.Devices/IotHubs";

fn hub_json(hub: &Hub) -> Value {
    j!({
        "id": hub.resource_id(),
        "name": hub.name,
        "type": TYPE,
        "location": hub.placement.location,
        "tags": {},
        "etag": *hub.etag.lock().unwrap(),
        "sku": {"name": hub.sku, "tier": if hub.sku.starts_with('B') { "Basic" } else if hub.sku == "F1" { "Free" } else { "Standard" }, "capacity": hub.capacity},
        "properties": {
            "state": "Active",
            "provisioningState": "Succeeded",
            "hostName": hub.host,
            "locations": [{"location": hub.placement.location, "role": "primary"}],
            "enableFileUploadNotifications": false,
            "features": "None",
            "disableLocalAuth": false,
            "publicNetworkAccess": "Enabled",
        },
    })
}

fn find(ctx: &Ctx, sub: &str, group: &str, name: &str, action: &str) -> Result<Arc<Hub>, ArmError> {
    find_placed(ctx, &ctx.cloud.hubs.read().unwrap(), TYPE, sub, group, name, action)
}

pub fn list(ctx: &Ctx, sub: &str, group: Option<&str>, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let hubs = placed_in(ctx, &ctx.cloud.hubs.read().unwrap(), sub, group, "Microsoft.Devices/IotHubs/Read")?;
    Ok(json(ctx.cloud, ctx.paged(hubs.iter().map(|h| hub_json(h)).collect())))
}

pub fn get(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let hub = find(ctx, sub, group, name, "Microsoft.Devices/IotHubs/Read")?;
    Ok(json(ctx.cloud, hub_json(&hub)))
}

pub fn list_keys(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let hub = find(ctx, sub, group, name, "Microsoft.Devices/IotHubs/listkeys/Action")?;
    Ok(json(ctx.cloud, keys::all(&hub.policies)))
}

pub fn key_for_name(ctx: &Ctx, sub: &str, group: &str, name: &str, key_name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let hub = find(ctx, sub, group, name, "Microsoft.Devices/IotHubs/IotHubKeys/listkeys/Action")?;
    Ok(json(ctx.cloud, keys::by_name(&hub.policies, key_name, &format!("IoT hub '{name}'"))?))
}
