//! Message routing through ARM: `routing/routes/$testall` (which of the hub's routes a message
//! matches) and `routing/routes/$testnew` (one route's condition against a message), evaluated as
//! the hub evaluates route conditions: application properties by name, system properties as
//! `$name`, a JSON body as `$body` (when the message says it is `application/json` in UTF-8/16/32),
//! and the twin as `$twin`. Also the check of the routes a hub's PUT sets.

use super::errors::ArmError;
use super::iot_hub_operations::hub;
use super::{json, Ctx};
use crate::hub::query::{evaluate, parse_condition, Dialect};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Map, Value};

const SOURCES: &[&str] = &["DeviceMessages", "TwinChangeEvents", "DeviceLifecycleEvents", "DeviceJobLifecycleEvents", "DeviceConnectionStateEvents"];

fn bad(message: impl Into<String>) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", message)
}

/// The document a route condition reads for a `RoutingMessage` and `RoutingTwin`.
fn document(message: &Value, twin: &Value) -> Value {
    let mut doc = Map::new();
    for (k, v) in message["appProperties"].as_object().into_iter().flatten() {
        doc.insert(k.clone(), v.clone());
    }
    let system = message["systemProperties"].as_object();
    let system_value =
        |name: &str| system.and_then(|s| s.iter().find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(name))).and_then(|(_, v)| v.as_str());
    for (k, v) in system.into_iter().flatten() {
        doc.insert(format!("${}", k.trim_start_matches('$')), v.clone());
    }
    let json_body = system_value("contentType").is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
        && system_value("contentEncoding").is_some_and(|e| ["utf-8", "utf-16", "utf-32"].iter().any(|u| e.eq_ignore_ascii_case(u)));
    if json_body {
        if let Some(body) = message["body"].as_str().and_then(|b| serde_json::from_str::<Value>(b).ok()) {
            doc.insert("$body".into(), body);
        }
    }
    if twin.is_object() {
        doc.insert("$twin".into(), twin.clone());
    }
    Value::Object(doc)
}

/// `true`, `false` or `undefined`, or the compilation error (message, column) of the condition.
fn test(condition: Option<&str>, doc: &Value) -> Result<&'static str, (String, usize)> {
    let Some(text) = condition.filter(|c| !c.trim().is_empty()) else { return Ok("true") };
    let parsed = parse_condition(text, Dialect::Routes).map_err(|e| (e.message, e.position))?;
    Ok(match evaluate(&parsed, doc) {
        Some(true) => "true",
        Some(false) => "false",
        None => "undefined",
    })
}

/// What the service checks of a route before it keeps it.
pub fn check_route(route: &Value, endpoints: &[String]) -> Result<(), String> {
    let name = route["name"].as_str().unwrap_or_default();
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
        return Err(format!("The route name '{name}' is invalid: 1 to 64 letters, digits, periods, underscores or hyphens."));
    }
    if !route["source"].as_str().is_some_and(|s| SOURCES.iter().any(|k| k.eq_ignore_ascii_case(s))) {
        return Err(format!("The route '{name}' has no valid source (one of {}).", SOURCES.join(", ")));
    }
    if !route["isEnabled"].is_boolean() {
        return Err(format!("The route '{name}' must say isEnabled (true or false)."));
    }
    match route["endpointNames"].as_array().map(Vec::as_slice) {
        Some([Value::String(e)]) if e == "events" || endpoints.iter().any(|n| n.eq_ignore_ascii_case(e)) => {}
        Some([Value::String(e)]) => return Err(format!("The route '{name}' names the endpoint '{e}', which the hub does not have.")),
        _ => return Err(format!("The route '{name}' must name exactly one endpoint.")),
    }
    if let Some(condition) = route["condition"].as_str().filter(|c| !c.trim().is_empty()) {
        parse_condition(condition, Dialect::Routes).map_err(|e| format!("The condition of route '{name}' does not compile: {e}"))?;
    }
    Ok(())
}

/// The routing a hub's PUT sets (`properties.routing`), refused as the service refuses it.
pub fn check_routing(routing: &Value) -> Result<(), ArmError> {
    let endpoints: Vec<String> = routing["endpoints"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, list)| list.as_array().into_iter().flatten())
        .filter_map(|e| e["name"].as_str().map(String::from))
        .collect();
    for route in routing["routes"].as_array().into_iter().flatten() {
        check_route(route, &endpoints).map_err(|m| ArmError::new(StatusCode::BAD_REQUEST, "InvalidRoute", m))?;
    }
    Ok(())
}

/// `POST …/routing/routes/$testall`: the hub's enabled routes of the message's source whose
/// condition is true for it.
pub fn test_all(ctx: &Ctx, at: (&str, &str, &str), version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    let hub = hub(ctx, at.0, at.1, at.2, version, "Microsoft.Devices/IotHubs/routing/routes/$testall/Action")?;
    let input: Value = serde_json::from_slice(body).map_err(|e| bad(format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
    let source = input["routingSource"].as_str().unwrap_or("DeviceMessages");
    let doc = document(&input["message"], &input["twin"]);
    let matched: Vec<Value> = hub
        .routing()
        .routes()
        .into_iter()
        .filter(|r| r["isEnabled"] == Value::Bool(true) && r["source"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(source)))
        .filter(|r| test(r["condition"].as_str(), &doc) == Ok("true"))
        .map(|r| j!({"properties": r}))
        .collect();
    Ok(json(ctx.cloud, j!({"routes": matched})))
}

/// `POST …/routing/routes/$testnew`: one route (not necessarily the hub's) against a message.
pub fn test_new(ctx: &Ctx, at: (&str, &str, &str), version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    hub(ctx, at.0, at.1, at.2, version, "Microsoft.Devices/IotHubs/routing/routes/$testnew/Action")?;
    let input: Value = serde_json::from_slice(body).map_err(|e| bad(format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
    let route = input.get("route").filter(|r| r.is_object()).ok_or_else(|| bad("The request content must carry the route to test (route)."))?;
    let doc = document(&input["message"], &input["twin"]);
    let answer = match test(route["condition"].as_str(), &doc) {
        Ok(result) => j!({"result": result, "details": {"compilationErrors": []}}),
        Err((message, column)) => j!({
            "result": "false",
            "details": {"compilationErrors": [{
                "message": message,
                "severity": "error",
                "location": {"start": {"line": 1, "column": column}, "end": {"line": 1, "column": column}},
            }]},
        }),
    };
    Ok(json(ctx.cloud, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Value {
        j!({"body": "{\"temperature\": 31, \"unit\": \"C\"}", "appProperties": {"level": "critical", "severity": "2"},
            "systemProperties": {"contentType": "application/json", "contentEncoding": "UTF-8", "connectionDeviceId": "pump-7"}})
    }

    #[test]
    fn conditions_read_properties_system_properties_body_and_twin() {
        let twin = j!({"tags": {"site": "lyon"}, "properties": {"reported": {"fw": "2.0"}}});
        let doc = document(&message(), &twin);
        for (condition, expected) in [
            ("level = 'critical' AND as_number(severity) <= 2", "true"),
            ("$connectionDeviceId = 'pump-7' AND $contentType = 'application/json'", "true"),
            ("$body.temperature > 30 AND $body.unit = 'C'", "true"),
            ("$twin.tags.site = 'paris'", "false"),
            ("$twin.properties.reported.fw = '2.0'", "true"),
            ("missing = 'x'", "undefined"),
            ("true", "true"),
        ] {
            assert_eq!(test(Some(condition), &doc), Ok(expected), "{condition}");
        }
        assert_eq!(test(None, &doc), Ok("true"), "no condition routes everything");
        let plain = document(&j!({"body": "{\"temperature\": 31}", "systemProperties": {"contentType": "text/plain"}}), &Value::Null);
        assert_eq!(test(Some("$body.temperature > 30"), &plain), Ok("undefined"), "a body not declared JSON is not read");
        let (message, column) = test(Some("level = = 'x'"), &doc).unwrap_err();
        assert_eq!(column, 9, "{message}");
    }

    #[test]
    fn routes_are_checked_as_the_service_checks_them() {
        let ok = j!({"name": "alerts", "source": "DeviceMessages", "condition": "level = 'critical'", "endpointNames": ["events"], "isEnabled": true});
        assert_eq!(check_route(&ok, &[]), Ok(()));
        let mut to_custom = ok.clone();
        to_custom["endpointNames"] = j!(["archive"]);
        assert!(check_route(&to_custom, &[]).unwrap_err().contains("archive"));
        assert_eq!(check_route(&to_custom, &["archive".into()]), Ok(()));
        let mut broken = ok.clone();
        broken["condition"] = j!("level = ");
        assert!(check_route(&broken, &[]).unwrap_err().contains("does not compile"));
        let mut bad_source = ok;
        bad_source["source"] = j!("Telemetry");
        assert!(check_route(&bad_source, &[]).is_err());
    }
}
