//! Azure Resource Manager: subscriptions, resource groups and `Microsoft.IoTCentral/iotApps`, with
//! ARM's bearer checks, api-version checks, RBAC (403 AuthorizationFailed), `nextLink` paging and
//! `{"error":{"code","message"}}` errors. ARM paths are case-insensitive, so routing is by hand.

mod central_apps;
mod consumer_groups;
mod deployment_request;
mod deployment_run;
mod deployment_store;
pub use deployment_store::{ArmRecord, ArmStore};
mod deployments;
mod errors;
mod generic_resources;
mod group_export;
mod hub_policies;
mod internal;
mod iot_hub_jobs;
mod iot_hub_operations;
mod iot_hubs;
mod keys;
mod operations;
pub use operations::ArmOperations;
mod locations;
mod metadata;
mod provisioning;
mod routing_test;
mod storage_account_writes;
mod storage_accounts;
mod subscriptions;
pub mod template;
mod what_if;

use crate::cloud::Cloud;
use crate::entra::{resource_audiences, Resource};
use crate::live::Placed;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use errors::ArmError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Who is calling: the token's object ID.
pub struct Caller {
    pub oid: String,
}

fn authenticate(cloud: &Cloud, headers: &HeaderMap) -> Result<Caller, ArmError> {
    let header = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(ArmError::missing_auth)?;
    let token = header.strip_prefix("Bearer ").ok_or_else(ArmError::missing_auth)?;
    let claims: Value = cloud.signer().verify(token, cloud.now(), resource_audiences(Resource::Arm)).map_err(ArmError::invalid_token)?;
    Ok(Caller { oid: claims["oid"].as_str().unwrap_or_default().to_string() })
}

pub async fn handle(
    State(cloud): State<Arc<Cloud>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    // IotHubs exportDevices/importDevices wait on blob storage (arm/iot_hub_jobs.rs).
    if let Some(answer) = iot_hub_jobs::serve(&cloud, &method, &uri, &headers, &query, &body).await {
        return answer;
    }
    // Deployments read linked templates from blob storage and run in the background (deployments.rs).
    if let Some(answer) = deployments::serve(&cloud, &method, &uri, &headers, &query, &body).await {
        return answer;
    }
    // A resource group's export reads each resource through its own GET (group_export.rs).
    if let Some(answer) = group_export::serve(&cloud, &method, &uri, &headers, &query, &body).await {
        return answer;
    }
    // The cloud's endpoints document is public, as on Azure.
    if method == Method::GET && metadata::is_metadata_path(uri.path()) {
        return match metadata::endpoints(&cloud, query.get("api-version").map(String::as_str)) {
            Ok(body) => json(&cloud, body),
            Err(e) => e.into_response_with_id(&cloud),
        };
    }
    let result = (|| {
        let caller = authenticate(&cloud, &headers)?;
        let segments: Vec<String> = uri.path().trim_matches('/').split('/').map(str::to_ascii_lowercase).collect();
        let raw: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let api_version = query.get("api-version").map(String::as_str);
        let page = query.get("$skiptoken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
        let ctx = Ctx { cloud: &cloud, caller: &caller, uri: &uri, page };
        match (method.clone(), s.as_slice()) {
            (Method::GET, ["subscriptions"]) => subscriptions::list(&ctx, api_version),
            (Method::GET, ["subscriptions", _]) => subscriptions::get(&ctx, raw[1], api_version),
            (Method::GET, ["subscriptions", _, "locations"]) => locations::list(&ctx, raw[1], api_version),
            (Method::GET, ["subscriptions", _, "resourcegroups"]) => subscriptions::list_groups(&ctx, raw[1], api_version),
            (Method::GET, ["subscriptions", _, "resourcegroups", _]) => subscriptions::get_group(&ctx, raw[1], raw[3], api_version),
            (Method::HEAD, ["subscriptions", _, "resourcegroups", _]) => subscriptions::group_exists(&ctx, raw[1], raw[3], api_version),
            (Method::GET, ["subscriptions", _, "providers", "microsoft.iotcentral", "iotapps"]) => central_apps::list(&ctx, raw[1], None, api_version),
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.iotcentral", "iotapps"]) => {
                central_apps::list(&ctx, raw[1], Some(raw[3]), api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.iotcentral", "iotapps", _]) => {
                central_apps::get(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::GET, ["subscriptions", _, "providers", "microsoft.devices", "iothubs"]) => iot_hubs::list(&ctx, raw[1], None, api_version),
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs"]) => {
                iot_hubs::list(&ctx, raw[1], Some(raw[3]), api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _]) => {
                iot_hubs::get(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            // The nextLink of a paged listkeys is followed with GET, as generated ARM clients follow every nextLink.
            (Method::POST | Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "listkeys"]) => {
                iot_hubs::list_keys(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "iothubkeys", _, "listkeys"]) => {
                iot_hubs::key_for_name(&ctx, raw[1], raw[3], raw[7], raw[9], api_version)
            }
            (Method::GET, ["subscriptions", _, "providers", "microsoft.devices", "provisioningservices"]) => {
                provisioning::list(&ctx, raw[1], None, api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "provisioningservices"]) => {
                provisioning::list(&ctx, raw[1], Some(raw[3]), api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "provisioningservices", _]) => {
                provisioning::get(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::PUT, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _]) => {
                iot_hubs::put(&ctx, raw[1], raw[3], raw[7], api_version, &headers, &body)
            }
            (
                Method::GET,
                ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs" | "provisioningservices", _, "operationresults", _],
            ) => operations::status(&ctx, raw[9], api_version),
            (Method::PUT, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "provisioningservices", _]) => {
                provisioning::put(&ctx, raw[1], raw[3], raw[7], api_version, &headers, &body)
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "provisioningservices", _, "listkeys"]) => {
                provisioning::list_keys(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "provisioningservices", _, "keys", _, "listkeys"]) => {
                provisioning::key_for_name(&ctx, raw[1], raw[3], raw[7], raw[9], api_version)
            }
            // Microsoft.Storage/storageAccounts, backed by Azurite (storage_accounts.rs).
            (Method::GET, ["subscriptions", _, "providers", "microsoft.storage", "storageaccounts"]) => storage_accounts::list(&ctx, raw[1], None, api_version),
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts"]) => {
                storage_accounts::list(&ctx, raw[1], Some(raw[3]), api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _]) => {
                storage_accounts::get(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "listkeys"]) => {
                storage_accounts::list_keys(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "listservicesas"]) => {
                storage_accounts::list_service_sas(&ctx, raw[1], raw[3], raw[7], api_version, &body)
            }
            // Microsoft.Devices/IotHubs operations beside the resource (iot_hub_operations.rs,
            // consumer_groups.rs, routing_test.rs).
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "iothubstats"]) => {
                iot_hub_operations::stats(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "skus"]) => {
                iot_hub_operations::valid_skus(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "quotametrics"]) => {
                iot_hub_operations::quota_metrics(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::POST, ["subscriptions", _, "providers", "microsoft.devices", "checknameavailability"]) => {
                iot_hub_operations::check_name_availability(&ctx, raw[1], api_version, &body)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "jobs"]) => {
                iot_hub_operations::list_jobs(&ctx, raw[1], raw[3], raw[7], api_version)
            }
            (Method::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "jobs", _]) => {
                iot_hub_operations::get_job(&ctx, raw[1], raw[3], raw[7], raw[9], api_version)
            }
            (
                Method::GET,
                ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "eventhubendpoints", _, "consumergroups"],
            ) => consumer_groups::list(&ctx, (raw[1], raw[3], raw[7]), raw[9], api_version),
            (
                method,
                ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "eventhubendpoints", _, "consumergroups", _],
            ) => {
                let (at, endpoint, name) = ((raw[1], raw[3], raw[7]), raw[9], raw[11]);
                match method {
                    Method::GET => consumer_groups::get(&ctx, at, endpoint, name, api_version),
                    Method::PUT => consumer_groups::put(&ctx, at, endpoint, name, api_version, &body),
                    Method::DELETE => consumer_groups::delete(&ctx, at, endpoint, name, api_version),
                    _ => Err(ArmError::not_found_path(method.as_str(), uri.path())),
                }
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "routing", "routes", "$testall"]) => {
                routing_test::test_all(&ctx, (raw[1], raw[3], raw[7]), api_version, &body)
            }
            (Method::POST, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.devices", "iothubs", _, "routing", "routes", "$testnew"]) => {
                routing_test::test_new(&ctx, (raw[1], raw[3], raw[7]), api_version, &body)
            }
            (Method::PUT, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _]) => {
                storage_account_writes::put(&ctx, raw[1], raw[3], raw[7], api_version, &body)
            }
            // Types without a service of their own, stored as written (generic_resources.rs).
            (_, segments) if generic_resources::claims(segments) => generic_resources::serve(&ctx, &method, &raw, api_version, &body),
            _ => Err(ArmError::not_found_path(method.as_str(), uri.path())),
        }
    })();
    match result {
        Ok(response) => response,
        Err(e) => e.into_response_with_id(&cloud),
    }
}

pub struct Ctx<'a> {
    pub cloud: &'a Arc<Cloud>,
    pub caller: &'a Caller,
    pub uri: &'a Uri,
    /// Index of the first item of the requested page (`$skiptoken`).
    pub page: usize,
}

impl Ctx<'_> {
    /// One page of `items` with a `nextLink` to the next, as ARM list operations return them.
    pub fn paged(&self, items: Vec<Value>) -> Value {
        let size = self.cloud.scenario().arm_page_size.max(1);
        let end = (self.page + size).min(items.len());
        let value: Vec<Value> = items.get(self.page..end).map(|s| s.to_vec()).unwrap_or_default();
        let mut body = serde_json::json!({ "value": value });
        if end < items.len() {
            // ARM writes `$skiptoken` unescaped; keep the caller's other parameters as they were sent.
            let kept: Vec<&str> = self
                .uri
                .query()
                .unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("$skiptoken=") && !p.starts_with("%24skiptoken="))
                .collect();
            let next = format!("{}{}?{}&$skiptoken={end}", self.cloud.base_url(), self.uri.path(), kept.join("&"));
            body["nextLink"] = serde_json::json!(next);
        }
        body
    }
}

/// The resources of one type in a subscription (and resource group), after ARM's 404/403 checks
/// on the subscription.
pub fn placed_in<T: Placed>(ctx: &Ctx, all: &[Arc<T>], sub: &str, group: Option<&str>, action: &str) -> Result<Vec<Arc<T>>, ArmError> {
    {
        let scenario = ctx.cloud.scenario();
        let scope = match group {
            Some(g) => format!("/subscriptions/{sub}/resourceGroups/{g}"),
            None => format!("/subscriptions/{sub}"),
        };
        subscriptions::readable(ctx, &scenario.subscriptions, sub, action, &scope)?;
    }
    Ok(all.iter().filter(|r| r.placement().within(sub, group)).cloned().collect())
}

/// One resource by name, or ARM's ResourceNotFound.
pub fn find_placed<T: Placed>(ctx: &Ctx, all: &[Arc<T>], resource_type: &str, sub: &str, group: &str, name: &str, action: &str) -> Result<Arc<T>, ArmError> {
    placed_in(ctx, all, sub, Some(group), action)?.into_iter().find(|r| r.name().eq_ignore_ascii_case(name)).ok_or_else(|| {
        ArmError::new(
            axum::http::StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource '{resource_type}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        )
    })
}

pub fn json(cloud: &Cloud, body: Value) -> Response {
    errors::with_ids(cloud, axum::http::StatusCode::OK, body)
}
