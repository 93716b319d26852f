//! `PUT …/Microsoft.Storage/storageAccounts/{name}`: a storage account created through ARM (by a
//! client or a deployment) becomes an account of its own in Azurite, with keys minted for it, and
//! is listed and read through storage_accounts.rs beside the scenario's own.

use super::errors::ArmError;
use super::generic_resources::group_location;
use super::subscriptions::check_version;
use super::Ctx;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

fn bad(code: &'static str, message: String) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, code, message)
}

/// Every account name in use: the scenario's and the ones created through ARM (names are global).
fn taken(ctx: &Ctx, name: &str) -> Option<(String, String)> {
    let scenario = ctx.cloud.scenario();
    for s in &scenario.subscriptions {
        for g in &s.resource_groups {
            if g.storage_accounts.iter().any(|a| a.name == name) {
                return Some((s.id.clone(), g.name.clone()));
            }
        }
    }
    ctx.cloud.arm_store().accounts.lock().unwrap().iter().find(|a| a[2] == name).map(|a| (a[0].clone(), a[1].clone()))
}

pub fn put(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    check_version(version, "Microsoft.Storage/storageAccounts", super::storage_accounts::VERSIONS)?;
    group_location(ctx, sub, group, "Microsoft.Storage/storageAccounts/write")?;
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| bad("InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'.")))?;
    if !(3..=24).contains(&name.len()) || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(bad(
            "AccountNameInvalid",
            format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."),
        ));
    }
    match taken(ctx, name) {
        // Incremental: an account already here is left as it is.
        Some((s, g)) if s.eq_ignore_ascii_case(sub) && g.eq_ignore_ascii_case(group) => {}
        Some(_) => {
            return Err(ArmError::new(StatusCode::CONFLICT, "StorageAccountAlreadyTaken", format!("The storage account named {name} is already taken.")));
        }
        None => {
            let location = body["location"].as_str().ok_or_else(|| bad("LocationRequired", "The location property is required for this definition.".into()))?;
            let sku =
                body["sku"]["name"].as_str().ok_or_else(|| bad("MissingRequiredProperty", "The sku.name property is required (e.g. Standard_LRS).".into()))?;
            const SKUS: &[&str] =
                &["Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS", "Standard_GZRS", "Standard_RAGZRS"];
            let sku = SKUS
                .iter()
                .find(|s| s.eq_ignore_ascii_case(sku))
                .ok_or_else(|| bad("InvalidSku", format!("The sku '{sku}' is not one of {}.", SKUS.join(", "))))?;
            let azurite = ctx.cloud.azurite().map_err(|why| {
                ArmError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "StorageUnavailable",
                    format!("The sandbox cloud's storage accounts are backed by Azurite, which is not running: {why}"),
                )
            })?;
            azurite.serve_accounts(&[name.to_string()]).map_err(|why| ArmError::new(StatusCode::SERVICE_UNAVAILABLE, "StorageUnavailable", why))?;
            ctx.cloud.arm_store().accounts.lock().unwrap().push([sub.to_string(), group.to_string(), name.to_string(), location.to_string(), sku.to_string()]);
        }
    }
    super::storage_accounts::get(ctx, sub, group, name, version)
}
