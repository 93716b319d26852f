//! `Microsoft.Storage/storageAccounts` (2023-05-01 and the versions azure-mgmt-storage sends):
//! list by subscription and resource group, get, `listKeys` and `listServiceSas`. Every account is
//! an account of its own in Azurite (storage::accounts): its blob endpoint is Azurite's path-style
//! URL for it and its keys are the ones Azurite accepts for it, so whatever a client signs with
//! them Azurite verifies.

use super::errors::ArmError;
use super::subscriptions::check_version;
use super::{json, Ctx};
use crate::azurite::Azurite;
use crate::live::{Placed, Placement};
use crate::storage::sas::{sas_time, sign, ServiceSas};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Value};
use std::sync::Arc;

pub const VERSIONS: &[&str] = crate::api_versions::ARM_STORAGE;
const TYPE: &str = "Microsoft.Storage/storageAccounts";

/// A scenario's storage account where ARM finds it.
pub struct Account {
    placement: Placement,
    name: String,
    sku: String,
}

impl Placed for Account {
    fn placement(&self) -> &Placement {
        &self.placement
    }
    fn name(&self) -> &str {
        &self.name
    }
}

fn accounts(ctx: &Ctx) -> Vec<Arc<Account>> {
    let scenario = ctx.cloud.scenario();
    let mut all = Vec::new();
    for sub in &scenario.subscriptions {
        for rg in &sub.resource_groups {
            for a in &rg.storage_accounts {
                let placement = Placement { subscription_id: sub.id.clone(), resource_group: rg.name.clone(), location: rg.location.clone() };
                all.push(Arc::new(Account { placement, name: a.name.clone(), sku: a.sku.clone() }));
            }
        }
    }
    // And the ones created through ARM (storage_account_writes.rs).
    for [sub, group, name, location, sku] in ctx.cloud.arm_store().accounts.lock().unwrap().iter().cloned() {
        all.push(Arc::new(Account { placement: Placement { subscription_id: sub, resource_group: group, location }, name, sku }));
    }
    all
}

/// The keys Azurite holds for the account (it serves every account of the scenario; one it does
/// not is a sandbox that could not restart Azurite, said as such).
fn account_keys(azurite: &Azurite, name: &str) -> Result<[String; 2], ArmError> {
    azurite.keys(name).ok_or_else(|| {
        ArmError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "StorageUnavailable",
            format!("The sandbox cloud's blob storage (Azurite) does not serve the account '{name}' yet."),
        )
    })
}

/// Without Azurite an account has no endpoint to report and no keys that work: say why.
fn azurite(ctx: &Ctx) -> Result<Arc<Azurite>, ArmError> {
    ctx.cloud.azurite().map_err(|why| {
        ArmError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "StorageUnavailable",
            format!("The sandbox cloud's storage accounts are backed by Azurite, which is not running: {why}"),
        )
    })
}

fn account_json(a: &Account, azurite: &Azurite) -> Value {
    let id = format!("/subscriptions/{}/resourceGroups/{}/providers/{TYPE}/{}", a.placement.subscription_id, a.placement.resource_group, a.name);
    j!({
        "id": id,
        "name": a.name,
        "type": TYPE,
        "location": a.placement.location,
        "kind": "StorageV2",
        "sku": {"name": a.sku, "tier": if a.sku.starts_with("Premium") { "Premium" } else { "Standard" }},
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "primaryLocation": a.placement.location,
            "statusOfPrimary": "available",
            "primaryEndpoints": {"blob": format!("{}/", azurite.account_url(&a.name))},
            "supportsHttpsTrafficOnly": true,
            "allowSharedKeyAccess": true,
            "minimumTlsVersion": "TLS1_2",
            "accessTier": "Hot",
            "creationTime": "2024-01-01T00:00:00.0000000Z",
        },
    })
}

pub fn list(ctx: &Ctx, sub: &str, group: Option<&str>, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let found = super::placed_in(ctx, &accounts(ctx), sub, group, "Microsoft.Storage/storageAccounts/read")?;
    let items: Vec<Value> = if found.is_empty() {
        vec![]
    } else {
        let azurite = azurite(ctx)?;
        found.iter().map(|a| account_json(a, &azurite)).collect()
    };
    Ok(json(ctx.cloud, ctx.paged(items)))
}

fn find(ctx: &Ctx, sub: &str, group: &str, name: &str, action: &str) -> Result<Arc<Account>, ArmError> {
    super::find_placed(ctx, &accounts(ctx), TYPE, sub, group, name, action)
}

pub fn get(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let account = find(ctx, sub, group, name, "Microsoft.Storage/storageAccounts/read")?;
    Ok(json(ctx.cloud, account_json(&account, &*azurite(ctx)?)))
}

pub fn list_keys(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let account = find(ctx, sub, group, name, "Microsoft.Storage/storageAccounts/listkeys/action")?;
    let keys: Vec<Value> = account_keys(&*azurite(ctx)?, &account.name)?
        .iter()
        .enumerate()
        .map(|(i, k)| j!({"keyName": format!("key{}", i + 1), "value": k, "permissions": "Full", "creationTime": "2024-01-01T00:00:00.0000000Z"}))
        .collect();
    Ok(json(ctx.cloud, j!({"keys": keys})))
}

fn bad(message: String) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, "InvalidValuesForRequestParameters", message)
}

/// The service SAS a `ListServiceSas` body asks for, on the account named in the path.
fn requested_sas(body: &Value, name: &str) -> Result<(ServiceSas, usize), ArmError> {
    let field = |f: &str| body.get(f).and_then(Value::as_str).filter(|s| !s.is_empty());
    let resource = field("canonicalizedResource").ok_or_else(|| bad("canonicalizedResource is required, e.g. /blob/<account>/<container>.".into()))?;
    let rest = resource.strip_prefix(&format!("/blob/{name}/"));
    let rest = rest.filter(|r| !r.is_empty()).ok_or_else(|| {
        bad(format!("canonicalizedResource '{resource}' must be /blob/{name}/<container>[/<blob>]: the sandbox's storage serves blobs only."))
    })?;
    let kind = field("signedResource").ok_or_else(|| bad("signedResource is required (c for a container, b for a blob).".into()))?;
    if !matches!(kind, "c" | "b") || (kind == "c" && rest.contains('/')) {
        return Err(bad(format!("signedResource '{kind}' does not fit '{resource}': c names a container, b a blob in one.")));
    }
    let permissions = field("signedPermission").ok_or_else(|| bad("signedPermission is required.".into()))?;
    if let Some(c) = permissions.chars().find(|c| !"racwdxltmeop".contains(*c)) {
        return Err(bad(format!("signedPermission '{permissions}' has '{c}', which is not a blob permission.")));
    }
    let expiry = sas_time(field("signedExpiry").ok_or_else(|| bad("signedExpiry is required.".into()))?).map_err(bad)?;
    let start = field("signedStart").map(sas_time).transpose().map_err(bad)?;
    let key = match field("keyToSign").unwrap_or("key1") {
        "key1" => 0,
        "key2" => 1,
        other => return Err(bad(format!("keyToSign '{other}' is neither key1 nor key2."))),
    };
    let sas = ServiceSas {
        canonicalized_resource: format!("/blob/{name}/{rest}"),
        resource: kind.to_string(),
        permissions: permissions.to_string(),
        start,
        expiry,
        protocol: field("signedProtocol").unwrap_or("https,http").to_string(),
        identifier: field("signedIdentifier").map(str::to_string),
    };
    Ok((sas, key))
}

pub fn list_service_sas(ctx: &Ctx, sub: &str, group: &str, name: &str, version: Option<&str>, body: &[u8]) -> Result<Response, ArmError> {
    check_version(version, TYPE, VERSIONS)?;
    let account = find(ctx, sub, group, name, "Microsoft.Storage/storageAccounts/listServiceSas/action")?;
    let body: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'."))
    })?;
    let (sas, key) = requested_sas(&body, &account.name)?;
    let azurite = azurite(ctx)?;
    let token = sign(&sas, &account_keys(&azurite, &account.name)?[key]).map_err(|e| ArmError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e))?;
    Ok(json(ctx.cloud, j!({"serviceSasToken": token})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_sas_request_is_signed_for_the_account_it_names_and_checked() {
        let body = j!({"canonicalizedResource": "/blob/contosomigration/exports", "signedResource": "c", "signedPermission": "rwl", "signedExpiry": "2030-01-01T00:00:00.1234567Z"});
        let (sas, key) = requested_sas(&body, "contosomigration").unwrap();
        assert_eq!((sas.canonicalized_resource.as_str(), sas.expiry.as_str(), key), ("/blob/contosomigration/exports", "2030-01-01T00:00:00Z", 0));
        let other = j!({"canonicalizedResource": "/blob/devstoreaccount1/exports", "signedResource": "c", "signedPermission": "r", "signedExpiry": "2030-01-01T00:00:00Z"});
        assert!(requested_sas(&other, "contosomigration").unwrap_err().message.contains("/blob/contosomigration/"), "another account's resource is refused");
        let refused = |b: Value| requested_sas(&b, "contosomigration").unwrap_err().message;
        assert!(refused(j!({"canonicalizedResource": "/file/contosomigration/share", "signedResource": "c", "signedPermission": "r", "signedExpiry": "2030-01-01T00:00:00Z"})).contains("blobs only"));
        assert!(refused(j!({"canonicalizedResource": "/blob/contosomigration/exports", "signedResource": "c", "signedPermission": "rz", "signedExpiry": "2030-01-01T00:00:00Z"})).contains("'z'"));
        assert!(
            refused(j!({"canonicalizedResource": "/blob/contosomigration/exports", "signedResource": "c", "signedPermission": "r"})).contains("signedExpiry")
        );
    }
}
