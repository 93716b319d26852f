//! `Microsoft.Devices/provisioningServices` (2022-12-12): list, get, keys, create, and the
//! read-modify-write PUT that links and unlinks hubs, guarded by the resource's ETag.

use super::errors::ArmError;
use super::keys;
use super::subscriptions::check_version;
use super::{find_placed, json, placed_in, Ctx};
use crate::dps::state::{Dps, LinkedHub};
use crate::live::Placed;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json as j, Value};
use std::sync::Arc;

// 2026-11-01 is what azure-mgmt-iothubprovisioningservices 2.1 sends.
const VERSIONS: &[&str] = crate::api_versions::ARM_DPS;
const TYPE: &str = "Microsoft.Devices/provisioningServices";

/// Connection strings are returned with the key hidden, as DPS does.
fn masked(connection_string: &str) -> String {
    connection_string.split(';').map(|part| if part.starts_with("SharedAccessKey=") { "SharedAccessKey=****" } else { part }).collect::<Vec<_>>().join(";")
}

/// Unset optional fields are left out, as the service does (the spec types them, not as nullable).
fn linked_json(h: &LinkedHub) -> Value {
    let mut v = j!({"connectionString": masked(&h.connection_string), "location": h.location, "name": h.name});
    if let Some(w) = h.allocation_weight {
        v["allocationWeight"] = j!(w);
    }
    if let Some(a) = h.apply_allocation_policy {
        v["applyAllocationPolicy"] = j!(a);
    }
    v
}

fn dps_json(dps: &Dps) -> Value {
    let state = dps.settings();
    j!({
        "id": dps.resource_id(),
        "name": dps.name(),
        "type": TYPE,
        "location": dps.placement().location,
        "resourcegroup": dps.placement().resource_group,
        "subscriptionid": dps.placement().subscription_id,
        "tags": {},
        "etag": state.etag,
        "sku": {"name": "S1", "tier": "Standard", "capacity": 1},
        "properties": {
            "state": "Active",
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "allocationPolicy": state.allocation_policy,
            "iotHubs": state.linked_hubs.iter().map(linked_json).collect::<Vec<_>>(),
            "serviceOperationsHostName": dps.host(),
            "deviceProvisioningHostName": dps.host(),
            "idScope": dps.id_scope(),
            "enableDataResidency": false,
        },
    })
}

fn find(ctx: &Ctx, sub: &str, group: &str, name: &str, action: &str) -> Result<Arc<Dps>, ArmError> {
    find_placed(ctx, &ctx.cloud.provisioning_services().all(), TYPE, sub, group, name, action)
}

pub fn list(ctx: &Ctx, sub: &str, group: Option<&str>, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let all = placed_in(ctx, &ctx.cloud.provisioning_services().all(), sub, group, "Microsoft.Devices/provisioningServices/Read")?;
    Ok(json(ctx.cloud, ctx.paged(all.iter().map(|d| dps_json(d)).collect())))
}

pub fn get(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let dps = find(ctx, sub, group, name, "Microsoft.Devices/provisioningServices/Read")?;
    Ok(json(ctx.cloud, dps_json(&dps)))
}

pub fn list_keys(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let dps = find(ctx, sub, group, name, "Microsoft.Devices/provisioningServices/listkeys/Action")?;
    Ok(json(ctx.cloud, keys::all(dps.policies())))
}

pub fn key_for_name(ctx: &Ctx, sub: &str, group: &str, name: &str, key_name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let dps = find(ctx, sub, group, name, "Microsoft.Devices/provisioningServices/keys/listkeys/Action")?;
    Ok(json(ctx.cloud, keys::by_name(dps.policies(), key_name, &format!("provisioning service '{name}'"))?))
}

/// A linked hub from a PUT body: a masked connection string keeps the key already stored for that
/// hub (clients send back what GET returned); a full one must open a sandbox hub with a real key.
fn linked_hub(ctx: &Ctx, entry: &Value, current: &[LinkedHub]) -> Result<LinkedHub, ArmError> {
    let invalid = |why: String| ArmError::new(StatusCode::BAD_REQUEST, "InvalidIotHubConnectionString", why);
    let cs = entry["connectionString"].as_str().ok_or_else(|| invalid("properties.iotHubs[].connectionString is required.".into()))?;
    let field = |name: &str| cs.split(';').find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_string));
    let host = field("HostName").ok_or_else(|| invalid(format!("The connection string '{}' has no HostName.", masked(cs))))?;
    let connection_string = if field("SharedAccessKey").as_deref() == Some("****") {
        current
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(&host))
            .map(|h| h.connection_string.clone())
            .ok_or_else(|| invalid(format!("The hub {host} is not linked yet, so its key cannot be masked.")))?
    } else {
        let hub = ctx.cloud.hubs().by_host(&host).ok_or_else(|| invalid(format!("No IoT hub answers at {host}.")))?;
        // DPS writes devices into the hub's registry and reads them back: it needs both rights.
        hub.accepts_connection_string(cs, &["RegistryWrite", "ServiceConnect"])
            .map_err(|why| invalid(format!("The connection string for {host} is not accepted by the hub: {why}.")))?;
        cs.to_string()
    };
    Ok(LinkedHub {
        connection_string,
        location: entry["location"].as_str().map(str::to_string).ok_or_else(|| invalid(format!("properties.iotHubs[{host}].location is required.")))?,
        allocation_weight: entry["allocationWeight"].as_i64(),
        apply_allocation_policy: entry["applyAllocationPolicy"].as_bool(),
        name: host,
    })
}

/// Create, or update (linked hubs included) with ETag checks on the `If-Match` header and on the
/// body's `etag`; both run as long operations, as on Azure.
pub fn put(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let body: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'."))
    })?;
    let version = version.unwrap_or_default();
    let existing = placed_in(ctx, &ctx.cloud.provisioning_services().all(), sub, Some(group), "Microsoft.Devices/provisioningServices/Write")?
        .into_iter()
        .find(|d| d.name().eq_ignore_ascii_case(name));
    let Some(dps) = existing else {
        return create(ctx, sub, group, name, version, &body);
    };
    dps.update_settings(|state| {
        let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(|v| v.trim_matches('"').to_string());
        let body_etag = body["etag"].as_str().map(|e| e.trim_matches('"').to_string());
        for etag in [if_match, body_etag].into_iter().flatten() {
            if etag != "*" && etag != state.etag {
                return Err(ArmError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "PreconditionFailed",
                    format!("The etag '{etag}' does not match the provisioning service's current etag '{}'. Read the resource again and retry.", state.etag),
                ));
            }
        }
        let entries = body["properties"]["iotHubs"].as_array().cloned().unwrap_or_default();
        let linked = entries.iter().map(|e| linked_hub(ctx, e, &state.linked_hubs)).collect::<Result<Vec<_>, _>>()?;
        state.linked_hubs = linked;
        if let Some(policy) = body["properties"]["allocationPolicy"].as_str() {
            state.allocation_policy = allocation_policy(policy)?;
        }
        Ok(())
    })?;
    Ok(super::operations::started(ctx, &dps.resource_id(), version, StatusCode::OK, dps_json(&dps)))
}

fn allocation_policy(policy: &str) -> Result<String, ArmError> {
    ["Hashed", "GeoLatency", "Static"].iter().find(|p| p.eq_ignore_ascii_case(policy)).map(|p| p.to_string()).ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAllocationPolicy",
            format!("properties.allocationPolicy '{policy}' is not one of Hashed, GeoLatency, Static."),
        )
    })
}

fn create(ctx: &Ctx, sub: &str, group: &str, name: &str, version: &str, body: &Value) -> Result<Response, ArmError> {
    if ctx.cloud.provisioning_services().named(name).is_some() {
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "ProvisioningServiceNameNotAvailable",
            format!("The provisioning service name '{name}' is already taken."),
        ));
    }
    let location = body["location"]
        .as_str()
        .ok_or_else(|| ArmError::new(StatusCode::BAD_REQUEST, "LocationRequired", "location is required to create a provisioning service."))?;
    let entries = body["properties"]["iotHubs"].as_array().cloned().unwrap_or_default();
    let linked = entries.iter().map(|e| linked_hub(ctx, e, &[])).collect::<Result<Vec<_>, _>>()?;
    let policy = allocation_policy(body["properties"]["allocationPolicy"].as_str().unwrap_or("Hashed"))?;
    let placement = crate::live::Placement { subscription_id: sub.to_string(), resource_group: group.to_string(), location: location.to_string() };
    let dps = ctx
        .cloud
        .add_dps(placement, name, linked, &policy)
        .map_err(|e| ArmError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", format!("The provisioning service could not start: {e}")))?;
    Ok(super::operations::started(ctx, &dps.resource_id(), version, StatusCode::CREATED, dps_json(&dps)))
}
