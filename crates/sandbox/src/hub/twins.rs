//! Device and module twins: `GET`, `PATCH` (update) and `PUT` (replace) on `/twins/{id}` and
//! `/twins/{id}/modules/{mid}`, with If-Match on the twin's ETag. Twin reads and writes need
//! ServiceConnect, as on the hub (RegistryRead/Write cover identities, not twins).

use super::devices::{bad_json, if_match};
use super::module_identity::ModuleIdentity;
use super::twin::{self, TwinState};
use super::{HubCtx, HubError};
use crate::hub::identity::DeviceIdentity;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

type Q = Query<HashMap<String, String>>;

pub fn module_not_found(device_id: &str, module_id: &str) -> HubError {
    HubError::new(StatusCode::NOT_FOUND, "ModuleNotFound", format!("Module {module_id} on device {device_id} not registered"))
}

fn twin_precondition_failed() -> HubError {
    HubError::new(StatusCode::PRECONDITION_FAILED, "PreconditionFailed", "Precondition failed: Twin version did not match, ETag value mismatch.")
}

/// What holds a twin: a device or one of its modules.
trait Twinned {
    fn slot(&mut self) -> &mut Option<Box<TwinState>>;
    fn render(&self) -> Value;
}

impl Twinned for DeviceIdentity {
    fn slot(&mut self) -> &mut Option<Box<TwinState>> {
        &mut self.twin
    }
    fn render(&self) -> Value {
        self.twin_json()
    }
}

impl Twinned for ModuleIdentity {
    fn slot(&mut self) -> &mut Option<Box<TwinState>> {
        &mut self.twin
    }
    fn render(&self) -> Value {
        self.twin_json()
    }
}

/// The device, or its module when `module_id` is given.
fn find<'a>(devices: &'a mut BTreeMap<String, DeviceIdentity>, id: &str, module_id: Option<&str>) -> Result<&'a mut dyn Twinned, HubError> {
    let device = devices.get_mut(id).ok_or_else(|| HubError::device_not_found(id))?;
    match module_id {
        None => Ok(device),
        Some(mid) => device.modules.as_mut().and_then(|m| m.get_mut(mid)).map(|m| m as &mut dyn Twinned).ok_or_else(|| module_not_found(id, mid)),
    }
}

/// Checks If-Match, applies the change, stores the twin (from now on: it holds something) and
/// answers the twin as it now is.
fn change(holder: &mut dyn Twinned, if_match: Option<&str>, body: &Value, replace: bool) -> Result<Value, HubError> {
    let patch = twin::parse_patch(body).map_err(|why| HubError::new(StatusCode::BAD_REQUEST, "ArgumentInvalid", why))?;
    if !twin::matches(holder.slot().as_deref(), if_match) {
        return Err(twin_precondition_failed());
    }
    holder.slot().get_or_insert_with(Box::default).apply(patch, replace);
    Ok(holder.render())
}

async fn read(ctx: HubCtx, id: String, module_id: Option<String>, q: HashMap<String, String>, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "ServiceConnect")?;
    let mut devices = ctx.hub.devices.lock().unwrap();
    Ok(Json(find(&mut devices, &id, module_id.as_deref())?.render()))
}

async fn write(
    ctx: HubCtx,
    id: String,
    module_id: Option<String>,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: String,
    replace: bool,
) -> Result<Json<Value>, HubError> {
    ctx.authorize(&headers, &q, "ServiceConnect")?;
    let body: Value = serde_json::from_str(&body).map_err(bad_json)?;
    let mut devices = ctx.hub.devices.lock().unwrap();
    let holder = find(&mut devices, &id, module_id.as_deref())?;
    let desired_before = holder.slot().as_ref().map_or(1, |t| t.desired_version);
    let twin = change(holder, if_match(&headers).as_deref(), &body, replace)?;
    // A device connected over MQTT hears of the change: the patch as sent, or (a replacement)
    // the whole new desired section, with the new version.
    if let Some(state) = holder.slot().as_deref().filter(|t| module_id.is_none() && t.desired_version != desired_before) {
        let patch = match body.pointer("/properties/desired").and_then(Value::as_object) {
            Some(sent) if !replace => sent.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => state.desired(),
        };
        ctx.hub.live_devices().notify_desired(&id, patch, state.desired_version);
    }
    Ok(Json(twin))
}

pub async fn get(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    read(ctx, id, None, q, headers).await
}

pub async fn update(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Json<Value>, HubError> {
    write(ctx, id, None, q, headers, body, false).await
}

pub async fn replace(State(ctx): State<HubCtx>, Path(id): Path<String>, Query(q): Q, headers: HeaderMap, body: String) -> Result<Json<Value>, HubError> {
    write(ctx, id, None, q, headers, body, true).await
}

pub async fn get_module(State(ctx): State<HubCtx>, Path((id, mid)): Path<(String, String)>, Query(q): Q, headers: HeaderMap) -> Result<Json<Value>, HubError> {
    read(ctx, id, Some(mid), q, headers).await
}

pub async fn update_module(
    State(ctx): State<HubCtx>,
    Path((id, mid)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, HubError> {
    write(ctx, id, Some(mid), q, headers, body, false).await
}

pub async fn replace_module(
    State(ctx): State<HubCtx>,
    Path((id, mid)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, HubError> {
    write(ctx, id, Some(mid), q, headers, body, true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::state::Hub;
    use crate::testing;
    use axum::response::IntoResponse;
    use serde_json::json;
    use std::sync::Arc;

    fn ctx() -> (tempfile::TempDir, HubCtx) {
        let (dir, cloud) = testing::cloud();
        let hub = Arc::new(Hub::new(testing::placement(), "h", "S1", 1, "localhost:1".into()));
        hub.devices.lock().unwrap().insert("d1".into(), DeviceIdentity::new_sas("d1", String::new(), String::new()));
        (dir, HubCtx { cloud, hub })
    }

    fn headers(ctx: &HubCtx, policy: usize, etag: Option<&str>) -> HeaderMap {
        let mut h = testing::sas(&ctx.hub.host, &ctx.hub.policies()[policy], ctx.cloud.now());
        if let Some(e) = etag {
            h.insert("if-match", format!("\"{e}\"").parse().unwrap());
        }
        h
    }

    fn q() -> Q {
        Query(HashMap::from([("api-version".to_string(), "2021-04-12".to_string())]))
    }

    fn status(r: Result<Json<Value>, HubError>) -> StatusCode {
        r.map(|j| j.into_response().status()).unwrap_or_else(|e| e.status)
    }

    #[tokio::test]
    async fn patch_then_stale_etag_is_412_and_the_read_shows_the_tags() {
        let (_dir, ctx) = ctx();
        let body = json!({"tags": {"site": "lyon"}}).to_string();
        let first = update(State(ctx.clone()), Path("d1".into()), q(), headers(&ctx, 1, Some("AAAAAAAAAAE=")), body.clone()).await.unwrap().0;
        assert_eq!((first["version"].clone(), first["etag"].clone()), (json!(2), json!("AAAAAAAAAAI=")));
        let stale = update(State(ctx.clone()), Path("d1".into()), q(), headers(&ctx, 1, Some("AAAAAAAAAAE=")), body.clone()).await;
        assert_eq!(status(stale), StatusCode::PRECONDITION_FAILED);
        let read = get(State(ctx.clone()), Path("d1".into()), q(), headers(&ctx, 1, None)).await.unwrap().0;
        assert_eq!(read["tags"], json!({"site": "lyon"}));
        // registryRead (policy 3) has no ServiceConnect: twins are not its to read.
        assert_eq!(status(get(State(ctx.clone()), Path("d1".into()), q(), headers(&ctx, 3, None)).await), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_module_twin_needs_the_module() {
        let (_dir, ctx) = ctx();
        let missing = get_module(State(ctx.clone()), Path(("d1".into(), "m1".into())), q(), headers(&ctx, 0, None)).await;
        assert_eq!(missing.unwrap_err().name, "ModuleNotFound");
        let module = ModuleIdentity::from_request("d1", "m1", &json!({}), None).unwrap();
        ctx.hub.devices.lock().unwrap().get_mut("d1").unwrap().modules = Some(Box::new(BTreeMap::from([("m1".to_string(), module)])));
        let body = json!({"properties": {"desired": {"rate": 5}}}).to_string();
        let twin = replace_module(State(ctx.clone()), Path(("d1".into(), "m1".into())), q(), headers(&ctx, 0, None), body).await.unwrap().0;
        assert_eq!((twin["moduleId"].clone(), twin["properties"]["desired"]["rate"].clone()), (json!("m1"), json!(5)));
        assert!(ctx.hub.devices.lock().unwrap()["d1"].twin.is_none(), "the device's own twin is untouched");
    }
}
