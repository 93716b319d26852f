//! `Microsoft.IoTCentral/iotApps` (api-version 2021-06-01): where the Central → Hub wizard finds
//! the user's Central applications across subscriptions.

use super::errors::ArmError;
use super::subscriptions::{check_version, readable};
use super::{json, Ctx};
use crate::scenario::{CentralApp, ResourceGroup, Subscription};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Value};

const VERSIONS: &[&str] = crate::api_versions::ARM_CENTRAL;
const TYPE: &str = "Microsoft.IoTCentral/iotApps";

fn app_json(sub: &Subscription, group: &ResourceGroup, app: &CentralApp) -> Value {
    j!({
        "id": format!("/subscriptions/{}/resourceGroups/{}/providers/{TYPE}/{}", sub.id, group.name, app.name),
        "name": app.name,
        "type": TYPE,
        "location": group.location,
        "tags": {},
        "sku": {"name": app.sku},
        "identity": {"type": "None"},
        "properties": {
            "applicationId": app.application_id,
            "displayName": app.display_name,
            "subdomain": app.subdomain,
            "template": app.template,
            "state": "created",
        },
    })
}

pub fn list(ctx: &Ctx, sub_id: &str, group: Option<&str>, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let scope = match group {
        Some(g) => format!("/subscriptions/{sub_id}/resourceGroups/{g}"),
        None => format!("/subscriptions/{sub_id}"),
    };
    let sub = readable(ctx, &scenario.subscriptions, sub_id, "Microsoft.IoTCentral/iotApps/read", &scope)?;
    let groups: Vec<&ResourceGroup> = match group {
        Some(g) => vec![sub
            .resource_groups
            .iter()
            .find(|rg| rg.name.eq_ignore_ascii_case(g))
            .ok_or_else(|| ArmError::new(StatusCode::NOT_FOUND, "ResourceGroupNotFound", format!("Resource group '{g}' could not be found.")))?],
        None => sub.resource_groups.iter().collect(),
    };
    let items = groups.iter().flat_map(|g| g.iot_central_apps.iter().map(|a| app_json(sub, g, a))).collect();
    Ok(json(ctx.cloud, ctx.paged(items)))
}

pub fn get(ctx: &Ctx, sub_id: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let scope = format!("/subscriptions/{sub_id}/resourceGroups/{group}/providers/{TYPE}/{name}");
    let sub = readable(ctx, &scenario.subscriptions, sub_id, "Microsoft.IoTCentral/iotApps/read", &scope)?;
    let not_found = || {
        ArmError::new(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The Resource '{TYPE}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"))
    };
    let rg = sub.resource_groups.iter().find(|rg| rg.name.eq_ignore_ascii_case(group)).ok_or_else(not_found)?;
    let app = rg.iot_central_apps.iter().find(|a| a.name.eq_ignore_ascii_case(name)).ok_or_else(not_found)?;
    Ok(json(ctx.cloud, app_json(sub, rg, app)))
}
