//! `Microsoft.Devices/IotHubs` (2023-06-30): list, get, create or update (a long-running PUT
//! honouring If-Match: SKU, units, tags, shared access policies and `disableLocalAuth` —
//! hub_policies.rs), and the keys of the shared access policies (paged). Each hub's
//! host name is `localhost:<port>` of its own data-plane listener.

use super::errors::ArmError;
use super::keys;
use super::subscriptions::check_version;
use super::{find_placed, json, placed_in, Ctx};
use crate::hub::state::Hub;
use crate::live::Placed;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json as j, Value};
use std::sync::Arc;

pub const VERSIONS: &[&str] = crate::api_versions::ARM_IOT_HUBS;
const TYPE: &str = "Microsoft.Devices/IotHubs";

fn hub_json(hub: &Hub) -> Value {
    let scale = hub.scale();
    j!({
        "id": hub.resource_id(),
        "name": hub.name(),
        "type": TYPE,
        "location": hub.placement().location,
        // Azure returns these two beside the resource's ID, and the az CLI's IoT extension reads
        // `resourcegroup` from them to find the hub's policies.
        "resourcegroup": hub.placement().resource_group,
        "subscriptionid": hub.placement().subscription_id,
        "tags": scale.tags,
        "etag": hub.etag(),
        "sku": {"name": scale.sku, "tier": scale.tier(), "capacity": scale.capacity},
        "properties": {
            "state": "Active",
            "provisioningState": "Succeeded",
            "hostName": hub.host(),
            "locations": [{"location": hub.placement().location, "role": "primary"}],
            "enableFileUploadNotifications": false,
            "features": "None",
            "disableLocalAuth": hub.local_auth_disabled(),
            "publicNetworkAccess": "Enabled",
            "routing": hub.routing().get(),
        },
    })
}

fn find(ctx: &Ctx, sub: &str, group: &str, name: &str, action: &str) -> Result<Arc<Hub>, ArmError> {
    find_placed(ctx, &ctx.cloud.hubs().all(), TYPE, sub, group, name, action)
}

pub fn list(ctx: &Ctx, sub: &str, group: Option<&str>, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let hubs = placed_in(ctx, &ctx.cloud.hubs().all(), sub, group, "Microsoft.Devices/IotHubs/Read")?;
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
    // IotHubResource_ListKeys is pageable (nextLink), as ARM pages it.
    let all = keys::all(&hub.policies());
    Ok(json(ctx.cloud, ctx.paged(all["value"].as_array().cloned().unwrap_or_default())))
}

pub fn key_for_name(ctx: &Ctx, sub: &str, group: &str, name: &str, key_name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let hub = find(ctx, sub, group, name, "Microsoft.Devices/IotHubs/IotHubKeys/listkeys/Action")?;
    let policy = keys::by_name(&hub.policies(), key_name, &format!("IoT hub '{name}'"))?;
    Ok(json(ctx.cloud, policy))
}

const SKUS: &[&str] = &["F1", "B1", "B2", "B3", "S1", "S2", "S3"];

fn bad(code: &'static str, message: String) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, code, message)
}

/// The SKU and units a PUT body asks for, checked as the service checks them.
fn requested_scale(body: &Value, current: Option<&crate::hub::state::HubScale>) -> Result<crate::hub::state::HubScale, ArmError> {
    let sku =
        body["sku"]["name"].as_str().ok_or_else(|| bad("InvalidRequestContent", "sku.name is required (F1, B1-B3 or S1-S3).".into()))?.to_ascii_uppercase();
    if !SKUS.contains(&sku.as_str()) {
        return Err(bad("InvalidSku", format!("sku.name '{sku}' is not one of {}.", SKUS.join(", "))));
    }
    let capacity = match &body["sku"]["capacity"] {
        Value::Null => 1,
        v => v
            .as_u64()
            .filter(|c| (1..=200).contains(c))
            .ok_or_else(|| bad("InvalidSkuCapacity", format!("sku.capacity must be a whole number of units from 1 to 200, not {v}.")))? as u32,
    };
    if sku == "F1" && capacity != 1 {
        return Err(bad("InvalidSkuCapacity", "The free tier (F1) has exactly one unit.".into()));
    }
    let next = crate::hub::state::HubScale { sku, capacity, tags: body.get("tags").cloned().filter(Value::is_object).unwrap_or_else(|| j!({})) };
    if let Some(current) = current {
        if current.sku != next.sku && (current.sku == "F1" || next.sku == "F1") {
            return Err(bad(
                "IotHubSkuChangeNotAllowed",
                format!(
                    "A hub cannot move between the free tier and {}: create a new hub.",
                    if next.sku == "F1" { current.sku.as_str() } else { next.sku.as_str() }
                ),
            ));
        }
        if current.tier() == "Standard" && next.tier() == "Basic" {
            return Err(bad(
                "IotHubSkuChangeNotAllowed",
                format!("A standard-tier hub ({}) cannot be downgraded to the basic tier ({}).", current.sku, next.sku),
            ));
        }
    }
    Ok(next)
}

/// Create or update. An update must carry the current ETag in If-Match when it sends one; a
/// name already taken anywhere is refused, since it would be another hub's host name.
pub fn put(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| bad("InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
    // The routes a PUT sets are checked before anything changes (arm/routing_test.rs).
    let routing = body["properties"].get("routing").filter(|r| r.is_object()).cloned();
    if let Some(routing) = &routing {
        super::routing_test::check_routing(routing)?;
    }
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim_matches('"').to_string());
    let existing =
        placed_in(ctx, &ctx.cloud.hubs().all(), sub, Some(group), "Microsoft.Devices/IotHubs/Write")?.into_iter().find(|h| h.name().eq_ignore_ascii_case(name));
    let version = version.unwrap_or_default();
    match existing {
        Some(hub) => {
            let location = &hub.placement().location;
            let access = super::hub_policies::requested(&body, &hub.policies())?;
            hub.update_scale(|current, etag| {
                let scale = requested_scale(&body, Some(current))?;
                if let Some(wanted) = if_match.filter(|e| e != "*") {
                    if wanted != etag {
                        return Err(ArmError::new(
                            StatusCode::PRECONDITION_FAILED,
                            "PreconditionFailed",
                            format!("The etag '{wanted}' does not match the hub's current etag '{etag}'. Read the hub again and retry."),
                        ));
                    }
                }
                if body["location"].as_str().is_some_and(|l| !l.eq_ignore_ascii_case(location)) {
                    return Err(bad("LocationNotChangeable", format!("The hub is in {location}; its location cannot change.")));
                }
                // Applied under the ETag's lock, once every check has passed.
                access.apply(&hub);
                Ok(scale)
            })?;
            if let Some(routing) = routing {
                hub.routing().set(routing);
            }
            Ok(super::operations::started(ctx, &hub.resource_id(), version, StatusCode::OK, hub_json(&hub)))
        }
        None => {
            if if_match.is_some_and(|e| e != "*") {
                return Err(ArmError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "PreconditionFailed",
                    format!("The hub '{name}' does not exist, so no etag can match."),
                ));
            }
            if ctx.cloud.hubs().named(name).is_some() {
                return Err(ArmError::new(StatusCode::CONFLICT, "IotHubNameNotAvailable", format!("The IoT hub name '{name}' is already taken.")));
            }
            let location = body["location"].as_str().ok_or_else(|| bad("LocationRequired", "location is required to create a hub.".into()))?;
            let scale = requested_scale(&body, None)?;
            let access = super::hub_policies::requested(&body, &[])?;
            let placement = crate::live::Placement { subscription_id: sub.to_string(), resource_group: group.to_string(), location: location.to_string() };
            let hub = ctx
                .cloud
                .add_hub(placement, name, &scale.sku, scale.capacity)
                .map_err(|e| ArmError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", format!("The hub could not start: {e}")))?;
            hub.update_scale(|_, _| Ok::<_, ArmError>(scale))?;
            if let Some(routing) = routing {
                hub.routing().set(routing);
            }
            access.apply(&hub);
            Ok(super::operations::started(ctx, &hub.resource_id(), version, StatusCode::CREATED, hub_json(&hub)))
        }
    }
}
