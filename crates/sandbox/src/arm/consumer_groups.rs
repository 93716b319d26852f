//! `…/IotHubs/{hub}/eventHubEndpoints/{endpoint}/ConsumerGroups[/{name}]`: list, get, create
//! (PUT `{"properties": {"name": …}}`) and delete the consumer groups of the hub's built-in
//! Event Hub-compatible endpoint, `events` (the only one a hub has).

use super::errors::ArmError;
use super::iot_hub_operations::hub;
use super::{json, Ctx};
use crate::hub::consumer_groups::{valid_name, ConsumerGroup, Refused, ENDPOINT, MAX_GROUPS};
use crate::hub::state::Hub;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Value};
use std::sync::Arc;

const ACTION: &str = "Microsoft.Devices/IotHubs/eventHubEndpoints/consumerGroups";

fn group_json(hub: &Hub, group: &ConsumerGroup) -> Value {
    // `$Default` is `%24Default` in its ID, as ARM writes it; the characters a name may have stay.
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');
    let escaped = percent_encoding::utf8_percent_encode(&group.name, ESCAPED).to_string();
    j!({
        "id": format!("{}/eventHubEndpoints/{ENDPOINT}/ConsumerGroups/{escaped}", hub.resource_id()),
        "name": group.name,
        "type": "Microsoft.Devices/IotHubs/EventHubEndpoints/ConsumerGroups",
        "etag": group.etag,
        "properties": {"created": group.created},
    })
}

/// The hub, once the endpoint named is its built-in one.
fn endpoint_hub(ctx: &Ctx, at: (&str, &str, &str), endpoint: &str, version: Option<&str>, verb: &str) -> Result<Arc<Hub>, ArmError> {
    let hub = hub(ctx, at.0, at.1, at.2, version, &format!("{ACTION}/{verb}"))?;
    if !endpoint.eq_ignore_ascii_case(ENDPOINT) {
        return Err(ArmError::new(
            StatusCode::NOT_FOUND,
            "EventHubEndpointNotFound",
            format!("The IoT hub '{}' has no Event Hub-compatible endpoint '{endpoint}': its built-in endpoint is '{ENDPOINT}'.", at.2),
        ));
    }
    Ok(hub)
}

/// A name as the path carries it (`%24Default`).
fn decoded(name: &str) -> String {
    percent_encoding::percent_decode_str(name).decode_utf8_lossy().into_owned()
}

fn not_found(name: &str) -> ArmError {
    ArmError::new(StatusCode::NOT_FOUND, "ConsumerGroupNotFound", format!("The consumer group '{name}' does not exist on the endpoint '{ENDPOINT}'."))
}

pub fn list(ctx: &Ctx, at: (&str, &str, &str), endpoint: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let hub = endpoint_hub(ctx, at, endpoint, version, "read")?;
    Ok(json(ctx.cloud, ctx.paged(hub.consumer_groups().list().iter().map(|g| group_json(&hub, g)).collect())))
}

pub fn get(ctx: &Ctx, at: (&str, &str, &str), endpoint: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let name = &decoded(name);
    let hub = endpoint_hub(ctx, at, endpoint, version, "read")?;
    let group = hub.consumer_groups().get(name).ok_or_else(|| not_found(name))?;
    Ok(json(ctx.cloud, group_json(&hub, &group)))
}

pub fn put(ctx: &Ctx, at: (&str, &str, &str), endpoint: &str, name: &str, version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    let name = &decoded(name);
    let hub = endpoint_hub(ctx, at, endpoint, version, "write")?;
    let bad = |message: String| ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", message);
    let body: Value = serde_json::from_slice(body).map_err(|e| bad(format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
    if !body["properties"]["name"].is_string() {
        return Err(bad("The request content must be {\"properties\": {\"name\": \"<consumer group name>\"}}.".into()));
    }
    if !valid_name(name) {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidConsumerGroupName",
            format!("The consumer group name '{name}' is invalid: use 1 to 50 letters, digits, periods, underscores or hyphens, starting and ending with a letter or digit."),
        ));
    }
    let group = hub.consumer_groups().create(name).map_err(|_| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "ConsumerGroupQuotaExceeded",
            format!("The endpoint '{ENDPOINT}' already has the most consumer groups a hub may have ({MAX_GROUPS})."),
        )
    })?;
    Ok(json(ctx.cloud, group_json(&hub, &group)))
}

pub fn delete(ctx: &Ctx, at: (&str, &str, &str), endpoint: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    let name = &decoded(name);
    let hub = endpoint_hub(ctx, at, endpoint, version, "delete")?;
    hub.consumer_groups().delete(name).map_err(|why| match why {
        Refused::DefaultIsPermanent => {
            ArmError::new(StatusCode::BAD_REQUEST, "CannotDeleteDefaultConsumerGroup", "The $Default consumer group cannot be deleted.")
        }
        _ => not_found(name),
    })?;
    // 200 with an empty body, as the service answers.
    let mut response = super::errors::with_ids(ctx.cloud, StatusCode::OK, Value::Null);
    *response.body_mut() = axum::body::Body::empty();
    response.headers_mut().remove(axum::http::header::CONTENT_TYPE);
    Ok(response)
}
