//! Automatic device management configurations: `PUT/GET/DELETE /configurations/{id}` with ETags,
//! `GET /configurations?top=`, and `POST /configurations/testQueries`. Checked as the hub checks
//! them: the ID's characters, a priority of 0 or more, content present and of one kind (device or
//! module), content unchanged by an update, and every query readable.
//!
//! Metrics are counted when read: `targetedCount` is the devices the target condition selects,
//! `appliedCount` those of them for which this configuration wins (highest priority, then the
//! newest), and each custom metric the devices its query selects. The sandbox does not write the
//! content into the targeted twins (the hub does that in the background).

use super::devices::{bad_json, if_match};
use super::identity::DeviceIdentity;
use super::query::{self, Condition};
use super::{HubCtx, HubError};
use crate::live::new_etag;
use crate::timestamps::rfc3339;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

type Q = Query<HashMap<String, String>>;

/// Configurations a hub holds (the service's maximum deployment count for paid tiers).
pub const MAX_CONFIGURATIONS: usize = 100;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Configuration {
    pub id: String,
    pub schema_version: String,
    pub labels: Map<String, Value>,
    pub content: Value,
    pub target_condition: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub priority: i64,
    pub metric_queries: Map<String, Value>,
    pub etag: String,
}

fn bad(name: &'static str, text: impl Into<String>) -> HubError {
    HubError::new(StatusCode::BAD_REQUEST, name, text)
}

fn not_found(id: &str) -> HubError {
    HubError::new(StatusCode::NOT_FOUND, "ConfigurationNotFound", format!("Configuration {id} not found"))
}

/// 1 to 128 lower-case letters, digits and `-:+%_#*?!(),=@;'`.
pub fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-:+%_#*?!(),=@;'".contains(&b))
}

/// A target condition: `*` selects every device, an empty one none, else a WHERE clause.
fn target(condition: &str) -> Result<Option<Option<Condition>>, String> {
    match condition.trim() {
        "" => Ok(None),
        "*" => Ok(Some(None)),
        text => query::parse(&format!("SELECT * FROM devices WHERE {text}")).map(|q| Some(q.condition)).map_err(|e| e.to_string()),
    }
}

/// A custom metric's query: a whole `SELECT … FROM devices [WHERE …]`.
fn metric(text: &str) -> Result<Option<Condition>, String> {
    query::parse(text).map(|q| q.condition).map_err(|e| e.to_string())
}

/// `deviceContent` and `moduleContent` set twin paths under `properties.desired.`; a configuration
/// is for devices or for modules, not both; edge deployments (`modulesContent`) stand alone.
fn check_content(content: &Value) -> Result<(), HubError> {
    let invalid = |text: String| bad("InvalidConfigurationContent", text);
    let Some(content) = content.as_object() else { return Err(invalid("The configuration must have content.".into())) };
    let section = |name: &str| -> Result<bool, HubError> {
        match content.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Object(m)) if m.is_empty() => Ok(false),
            Some(Value::Object(m)) => {
                if name != "modulesContent" {
                    if let Some(bad) = m.keys().find(|k| !k.starts_with("properties.desired.") || k.len() == "properties.desired.".len()) {
                        return Err(invalid(format!("{name} key '{bad}' must be a twin path under properties.desired.")));
                    }
                }
                Ok(true)
            }
            Some(other) => Err(invalid(format!("{name} must be a JSON object, not {other}"))),
        }
    };
    match (section("deviceContent")?, section("moduleContent")?, section("modulesContent")?) {
        (false, false, false) => Err(invalid("The configuration content is empty: give deviceContent, moduleContent or modulesContent.".into())),
        (true, false, false) | (false, true, false) | (false, false, true) => Ok(()),
        _ => Err(invalid("A configuration has one kind of content: deviceContent, moduleContent or modulesContent.".into())),
    }
}

/// Content as the hub keeps and shows it: all three sections, absent ones empty (so a client's
/// round trip of a configuration compares equal whichever empty sections it sends back).
fn normalized(content: &Value) -> Value {
    let section = |name: &str| content.get(name).filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({}));
    json!({"deviceContent": section("deviceContent"), "moduleContent": section("moduleContent"), "modulesContent": section("modulesContent")})
}

/// Content as the hub answers it: only the section in use. The az CLI's `hub state import` refuses a
/// configuration whose content names both `deviceContent` and `moduleContent`, and the state files
/// it exports from Azure carry the one section.
fn shown(content: &Value) -> Value {
    let mut shown = content.as_object().cloned().unwrap_or_default();
    shown.retain(|_, section| section.as_object().is_some_and(|s| !s.is_empty()));
    Value::Object(shown)
}

impl Configuration {
    /// The configuration a PUT body describes (`existing` when it updates one).
    pub fn from_request(id: &str, body: &Value, existing: Option<&Configuration>) -> Result<Configuration, HubError> {
        if !body.is_object() {
            return Err(bad("ArgumentInvalid", "The configuration must be a JSON object."));
        }
        if body.get("id").and_then(Value::as_str).is_some_and(|b| b != id) {
            return Err(bad("ArgumentInvalid", format!("The id in the body must be '{id}'.")));
        }
        let priority = match body.get("priority") {
            None | Some(Value::Null) => 0,
            Some(p) => p
                .as_i64()
                .filter(|p| (0..=i64::from(i32::MAX)).contains(p))
                .ok_or_else(|| bad("ArgumentInvalid", format!("priority must be a whole number of 0 or more, not {p}")))?,
        };
        let content = body.get("content").cloned().unwrap_or(Value::Null);
        check_content(&content)?;
        let content = normalized(&content);
        if let Some(old) = existing {
            if old.content != content {
                return Err(bad(
                    "CannotModifyImmutableConfigurationContent",
                    format!("The content of configuration {id} cannot be changed; create a new configuration."),
                ));
            }
        }
        let target_condition = body.get("targetCondition").and_then(Value::as_str).unwrap_or_default().to_string();
        target(&target_condition).map_err(|e| bad("InvalidConfigurationTargetCondition", format!("The target condition is not valid: {e}")))?;
        let strings = |field: &str| -> Result<Map<String, Value>, HubError> {
            match body.pointer(field) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(m.clone()),
                Some(_) => Err(bad("ArgumentInvalid", format!("{} must map names to strings.", field.trim_start_matches('/').replace('/', ".")))),
            }
        };
        let labels = strings("/labels")?;
        let metric_queries = strings("/metrics/queries")?;
        for (name, text) in &metric_queries {
            metric(text.as_str().unwrap_or_default())
                .map_err(|e| bad("InvalidConfigurationCustomMetricsQuery", format!("The metric '{name}' has a query that is not valid: {e}")))?;
        }
        let now = Utc::now();
        Ok(Configuration {
            id: id.to_string(),
            schema_version: body.get("schemaVersion").and_then(Value::as_str).unwrap_or("1.0").to_string(),
            labels,
            content,
            target_condition,
            created: existing.map_or(now, |c| c.created),
            last_updated: now,
            priority,
            metric_queries,
            etag: new_etag(),
        })
    }

    /// Which twins the content is for: devices, modules, or edge modules (a deployment).
    fn kind(&self) -> &'static str {
        let has = |name: &str| self.content.get(name).and_then(Value::as_object).is_some_and(|m| !m.is_empty());
        if has("deviceContent") {
            "device"
        } else if has("moduleContent") {
            "module"
        } else {
            "edge"
        }
    }

    /// The parsed target condition: None selects no device, Some(None) every device.
    fn parsed_target(&self) -> Option<Option<Condition>> {
        target(&self.target_condition).ok().flatten()
    }

    /// The configuration with its metrics counted over `devices`, among all of the hub's `configurations`.
    pub fn to_json(&self, devices: &BTreeMap<String, DeviceIdentity>, configurations: &BTreeMap<String, Configuration>) -> Value {
        let metrics: Vec<(String, Option<Condition>)> = self.metric_queries.iter().filter_map(|(n, q)| Some((n.clone(), metric(q.as_str()?).ok()?))).collect();
        let (mut targeted, mut applied, mut results) = (0u64, 0u64, vec![0u64; metrics.len()]);
        // Only configurations with the same kind of content compete for a device.
        let rivals: Vec<(&Configuration, Option<Option<Condition>>)> =
            configurations.values().filter(|c| c.id != self.id && c.kind() == self.kind()).map(|c| (c, c.parsed_target())).collect();
        let mine = self.parsed_target();
        let selects = |t: &Option<Option<Condition>>, twin: &Value| t.as_ref().is_some_and(|c| query::selects(c.as_ref(), twin));
        for device in devices.values() {
            let twin = device.twin_json();
            if selects(&mine, &twin) {
                targeted += 1;
                let outranked = rivals.iter().any(|(c, t)| (c.priority, c.created) > (self.priority, self.created) && selects(t, &twin));
                applied += u64::from(!outranked);
            }
            for (i, (_, condition)) in metrics.iter().enumerate() {
                results[i] += u64::from(query::selects(condition.as_ref(), &twin));
            }
        }
        let custom: Map<String, Value> = metrics.iter().zip(&results).map(|((n, _), r)| (n.clone(), json!(r))).collect();
        json!({
            "id": self.id, "schemaVersion": self.schema_version, "labels": self.labels, "content": shown(&self.content),
            "targetCondition": self.target_condition, "createdTimeUtc": rfc3339(self.created), "lastUpdatedTimeUtc": rfc3339(self.last_updated),
            "priority": self.priority, "etag": self.etag,
            "systemMetrics": {
                "results": {"targetedCount": targeted, "appliedCount": applied},
                "queries": {
                    "targetedCount": format!("select deviceId from devices where {}", if self.target_condition.trim().is_empty() { "false" } else { self.target_condition.as_str() }),
                    "appliedCount": format!("select deviceId from devices where configurations.[[{}]].status = 'Applied'", self.id),
                },
            },
            "metrics": {"results": custom, "queries": self.metric_queries},
        })
    }
}

fn render(ctx: &HubCtx, configuration: &Configuration, all: &BTreeMap<String, Configuration>) -> Value {
    configuration.to_json(&ctx.hub.devices.lock().unwrap(), all)
}

pub async fn get(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let all = ctx.hub.configurations.lock().unwrap().clone();
    all.get(&id).map(|c| Json(render(&ctx, c, &all))).ok_or_else(|| not_found(&id))
}

pub async fn list(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let top = match q.get("top") {
        None => MAX_CONFIGURATIONS,
        Some(t) => t.parse::<usize>().map_err(|_| bad("ArgumentInvalid", format!("top must be a whole number, not '{t}'.")))?.min(MAX_CONFIGURATIONS),
    };
    let all = ctx.hub.configurations.lock().unwrap().clone();
    Ok(Json(Value::Array(all.values().take(top).map(|c| render(&ctx, c, &all)).collect())))
}

pub async fn put(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Response, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    if !valid_id(&id) {
        return Err(bad("ArgumentInvalid", format!("The configuration ID '{id}' is not valid: 1 to 128 lower-case letters, digits and -:+%_#*?!(),=@;'")));
    }
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    let if_match = if_match(&headers);
    let answer = {
        let mut configurations = ctx.hub.configurations.lock().unwrap();
        let existing = configurations.get(&id);
        match (existing, if_match.as_deref()) {
            (None, Some(etag)) if etag != "*" => return Err(not_found(&id)),
            (Some(_), None) => {
                return Err(HubError::new(
                    StatusCode::CONFLICT,
                    "ConfigurationAlreadyExists",
                    format!("Configuration {id} already exists; update it with its ETag."),
                ))
            }
            (Some(old), Some(etag)) if etag != "*" && etag != old.etag => {
                return Err(HubError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "PreconditionFailed",
                    "Precondition failed: Configuration version did not match, ETag value mismatch.",
                ))
            }
            (None, _) if configurations.len() >= MAX_CONFIGURATIONS => {
                return Err(bad("ConfigurationCountLimitExceeded", format!("The hub already has the maximum of {MAX_CONFIGURATIONS} configurations.")))
            }
            _ => {}
        }
        let created = existing.is_none();
        let configuration = Configuration::from_request(&id, &body, existing)?;
        configurations.insert(id.clone(), configuration);
        (created, configurations.clone())
    };
    let (created, all) = answer;
    let body = render(&ctx, &all[&id], &all);
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(body)).into_response())
}

pub async fn delete(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<StatusCode, HubError> {
    ctx.authorize(&headers, &q, "RegistryWrite")?;
    let if_match = if_match(&headers);
    let mut configurations = ctx.hub.configurations.lock().unwrap();
    let existing = configurations.get(&id).ok_or_else(|| not_found(&id))?;
    if if_match.as_deref().is_some_and(|e| e != "*" && e != existing.etag) {
        return Err(HubError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "Precondition failed: Configuration version did not match, ETag value mismatch.",
        ));
    }
    configurations.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// `Configuration_TestQueries`: each query's error, empty when it reads.
pub async fn test_queries(State(ctx): State<HubCtx>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "RegistryRead")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    let target_error = target(body.get("targetCondition").and_then(Value::as_str).unwrap_or_default()).err().unwrap_or_default();
    let metric_errors: Map<String, Value> = body
        .get("customMetricQueries")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, text)| (name.clone(), json!(metric(text.as_str().unwrap_or_default()).err().unwrap_or_default())))
        .collect();
    Ok(Json(json!({"targetConditionError": target_error, "customMetricQueryErrors": metric_errors})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(body: Value) -> Result<Configuration, HubError> {
        Configuration::from_request("cfg-1", &body, None)
    }

    fn content() -> Value {
        json!({"deviceContent": {"properties.desired.interval": 30}})
    }

    #[test]
    fn ids_priority_content_and_queries_are_checked() {
        assert!(valid_id("fw-update_2:1") && !valid_id("Upper") && !valid_id("") && !valid_id(&"a".repeat(129)) && !valid_id("a/b"));
        assert_eq!(config(json!({"priority": -1, "content": content()})).unwrap_err().name, "ArgumentInvalid");
        assert_eq!(config(json!({"priority": 1})).unwrap_err().name, "InvalidConfigurationContent");
        assert_eq!(config(json!({"content": {"deviceContent": {"interval": 30}}})).unwrap_err().name, "InvalidConfigurationContent");
        assert_eq!(
            config(json!({"content": {"deviceContent": {"properties.desired.a": 1}, "moduleContent": {"properties.desired.b": 1}}})).unwrap_err().name,
            "InvalidConfigurationContent"
        );
        assert_eq!(config(json!({"content": content(), "targetCondition": "tags.x = "})).unwrap_err().name, "InvalidConfigurationTargetCondition");
        assert_eq!(
            config(json!({"content": content(), "metrics": {"queries": {"m": "SELECT nothing"}}})).unwrap_err().name,
            "InvalidConfigurationCustomMetricsQuery"
        );
        let ok = config(json!({"content": content(), "targetCondition": "tags.site = 'lyon'", "labels": {"team": "ops"}, "priority": 5})).unwrap();
        assert_eq!((ok.priority, ok.schema_version.as_str()), (5, "1.0"));
        let round_trip = json!({"content": {"deviceContent": {"properties.desired.interval": 30}, "moduleContent": {}}});
        assert!(Configuration::from_request("cfg-1", &round_trip, Some(&ok)).is_ok(), "empty sections sent back are no change");
        let changed = Configuration::from_request("cfg-1", &json!({"content": {"deviceContent": {"properties.desired.interval": 60}}}), Some(&ok));
        assert_eq!(changed.unwrap_err().name, "CannotModifyImmutableConfigurationContent");
        let updated = Configuration::from_request("cfg-1", &json!({"content": content(), "priority": 9}), Some(&ok)).unwrap();
        assert_eq!((updated.created, updated.priority), (ok.created, 9));
        assert_ne!(updated.etag, ok.etag);
    }

    #[test]
    fn metrics_count_targeted_applied_and_custom_over_the_twins() {
        let mut devices = BTreeMap::new();
        for (id, site) in [("a", "lyon"), ("b", "lyon"), ("c", "paris")] {
            let mut d = DeviceIdentity::new_sas(id, String::new(), String::new());
            let mut twin = crate::hub::twin::TwinState::default();
            twin.apply(crate::hub::twin::parse_patch(&json!({"tags": {"site": site}})).unwrap(), false);
            d.twin = Some(Box::new(twin));
            devices.insert(id.to_string(), d);
        }
        let low = Configuration::from_request("low", &json!({"content": content(), "targetCondition": "*", "priority": 1, "metrics": {"queries": {"paris": "SELECT deviceId FROM devices WHERE tags.site = 'paris'"}}}), None).unwrap();
        let high = Configuration::from_request("high", &json!({"content": content(), "targetCondition": "tags.site = 'lyon'", "priority": 10}), None).unwrap();
        let all = BTreeMap::from([("low".to_string(), low.clone()), ("high".to_string(), high.clone())]);
        let low_json = low.to_json(&devices, &all);
        assert_eq!(low_json["systemMetrics"]["results"], json!({"targetedCount": 3, "appliedCount": 1}), "the lyon devices go to the higher priority");
        assert_eq!(low_json["metrics"]["results"], json!({"paris": 1}));
        assert_eq!(high.to_json(&devices, &all)["systemMetrics"]["results"], json!({"targetedCount": 2, "appliedCount": 2}));
        let none = Configuration::from_request("none", &json!({"content": content()}), None).unwrap();
        assert_eq!(none.to_json(&devices, &all)["systemMetrics"]["results"]["targetedCount"], 0, "no target condition, no devices");
        assert_eq!(none.to_json(&devices, &all)["content"], content(), "only the section in use is shown");
    }
}
