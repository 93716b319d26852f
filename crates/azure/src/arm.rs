//! Azure Resource Manager, for what the wizards find and change there: subscriptions, resource
//! groups, IoT Central applications, IoT hubs (with their keys; create or rescale as a long-running
//! PUT guarded by If-Match) and DPS instances (linked hubs changed by an ETag-guarded
//! read-modify-write PUT). Bearer tokens for the cloud's ARM audience.

mod hub_keys;
pub mod models;
pub use hub_keys::{new_shared_access_key, KeySlot};
pub mod storage;

use crate::auth::Credential;
use crate::cloud::Service;
use crate::error::AzureError;
use crate::pager::{Continuation, Pager};
use crate::pipeline::Pipeline;
use crate::poller::Poller;
use crate::request::{with_api_version, Request};
use models::{CentralApplication, IotHub, Location, ProvisioningService, ResourceGroup, SharedAccessPolicy, Subscription};
use reqwest::Method;
use std::sync::Arc;
use url::Url;

const SUBSCRIPTIONS: &str = "2022-12-01";
const RESOURCE_GROUPS: &str = "2024-07-01";
const IOT_CENTRAL: &str = "2021-06-01";
const IOT_HUBS: &str = "2023-06-30";
const PROVISIONING: &str = "2022-12-12";

const CENTRAL_APPS: [&str; 2] = ["Microsoft.IoTCentral", "iotApps"];
const HUBS: [&str; 2] = ["Microsoft.Devices", "IotHubs"];
const DPS: [&str; 2] = ["Microsoft.Devices", "provisioningServices"];

#[derive(Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    credential: Arc<dyn Credential>,
}

impl ArmClient {
    pub fn new(pipeline: Pipeline, credential: Arc<dyn Credential>) -> ArmClient {
        ArmClient { pipeline, credential }
    }

    /// The ARM URL of `segments` (each percent-encoded, so a name cannot change the path).
    fn url(&self, segments: &[&str], version: &str) -> Result<Url, AzureError> {
        let mut url = self.pipeline.cloud().endpoints().resource_manager;
        if segments.iter().any(|s| s.is_empty()) {
            return Err(AzureError::InvalidInput { what: format!("The ARM path /{}", segments.join("/")), problem: "has an empty name in it".into() });
        }
        url.path_segments_mut()
            .map_err(|_| AzureError::InvalidInput { what: "The ARM endpoint".into(), problem: "cannot take a path".into() })?
            .clear()
            .extend(segments);
        Ok(with_api_version(url, version))
    }

    fn in_group<'a>(sub: &'a str, group: &'a str, kind: [&'a str; 2], name: &'a str) -> [&'a str; 8] {
        ["subscriptions", sub, "resourceGroups", group, "providers", kind[0], kind[1], name]
    }

    fn list<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        segments: &[&str],
        version: &str,
        items: &'static str,
    ) -> Result<Pager<T>, AzureError> {
        let request = Request::get(Service::Arm, operation, self.url(segments, version)?);
        Ok(Pager::new(self.pipeline.clone(), self.credential.clone(), request, Continuation::NextLink, items))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, operation: &'static str, segments: &[&str], version: &str, expected: &str) -> Result<T, AzureError> {
        let request = Request::get(Service::Arm, operation, self.url(segments, version)?);
        self.pipeline.send(&request, Some(self.credential.as_ref())).await?.json(expected)
    }

    /// The keys actions are POSTs that only read, so they may be retried.
    fn keys(&self, operation: &'static str, segments: &[&str], version: &str) -> Result<Pager<SharedAccessPolicy>, AzureError> {
        let request = Request::new(Service::Arm, operation, Method::POST, self.url(segments, version)?).retry_safe(true);
        Ok(Pager::new(self.pipeline.clone(), self.credential.clone(), request, Continuation::NextLink, "shared access policies"))
    }

    /// A long-running PUT of `body` at `segments`, watched to its end.
    async fn put_and_watch<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        segments: &[&str],
        version: &str,
        body: &B,
        if_match: Option<&str>,
    ) -> Result<Poller<T>, AzureError> {
        let url = self.url(segments, version)?;
        let put = Request::new(Service::Arm, operation, Method::PUT, url.clone()).json(body)?.if_match(if_match)?;
        let response = self.pipeline.send(&put, Some(self.credential.as_ref())).await?;
        Poller::new(self.pipeline.clone(), self.credential.clone(), Request::get(Service::Arm, operation, url), &response)
    }

    /// `Subscriptions_List`: the subscriptions the signed-in identity can see.
    pub fn subscriptions(&self) -> Result<Pager<Subscription>, AzureError> {
        self.list("Subscriptions_List", &["subscriptions"], SUBSCRIPTIONS, "subscriptions")
    }

    /// `Subscriptions_Get`.
    pub async fn subscription(&self, subscription_id: &str) -> Result<Subscription, AzureError> {
        self.get("Subscriptions_Get", &["subscriptions", subscription_id], SUBSCRIPTIONS, "a subscription").await
    }

    /// `ResourceGroups_List`.
    pub fn resource_groups(&self, subscription_id: &str) -> Result<Pager<ResourceGroup>, AzureError> {
        self.list("ResourceGroups_List", &["subscriptions", subscription_id, "resourcegroups"], RESOURCE_GROUPS, "resource groups")
    }

    /// `Subscriptions_ListLocations`: the regions the subscription may place resources in.
    pub fn locations(&self, subscription_id: &str) -> Result<Pager<Location>, AzureError> {
        self.list("Subscriptions_ListLocations", &["subscriptions", subscription_id, "locations"], SUBSCRIPTIONS, "locations")
    }

    /// `ResourceGroups_Get`.
    pub async fn resource_group(&self, subscription_id: &str, name: &str) -> Result<ResourceGroup, AzureError> {
        self.get("ResourceGroups_Get", &["subscriptions", subscription_id, "resourcegroups", name], RESOURCE_GROUPS, "a resource group").await
    }

    /// `Apps_ListBySubscription`: every IoT Central application in the subscription.
    pub fn central_apps(&self, subscription_id: &str) -> Result<Pager<CentralApplication>, AzureError> {
        self.list(
            "Apps_ListBySubscription",
            &["subscriptions", subscription_id, "providers", CENTRAL_APPS[0], CENTRAL_APPS[1]],
            IOT_CENTRAL,
            "IoT Central applications",
        )
    }

    /// `Apps_Get`.
    pub async fn central_app(&self, subscription_id: &str, group: &str, name: &str) -> Result<CentralApplication, AzureError> {
        self.get("Apps_Get", &Self::in_group(subscription_id, group, CENTRAL_APPS, name), IOT_CENTRAL, "an IoT Central application").await
    }

    /// `IotHubResource_ListBySubscription`.
    pub fn iot_hubs(&self, subscription_id: &str) -> Result<Pager<IotHub>, AzureError> {
        self.list("IotHubResource_ListBySubscription", &["subscriptions", subscription_id, "providers", HUBS[0], HUBS[1]], IOT_HUBS, "IoT hubs")
    }

    /// `IotHubResource_Get`.
    pub async fn iot_hub(&self, subscription_id: &str, group: &str, name: &str) -> Result<IotHub, AzureError> {
        self.get("IotHubResource_Get", &Self::in_group(subscription_id, group, HUBS, name), IOT_HUBS, "an IoT hub").await
    }

    /// `IotHubResource_CreateOrUpdate`: creates the hub, or updates it (`if_match` = the ETag read,
    /// so a change made meanwhile is not overwritten). Returns the poller of the long operation.
    pub async fn create_or_update_iot_hub(
        &self,
        subscription_id: &str,
        group: &str,
        name: &str,
        hub: &IotHub,
        if_match: Option<&str>,
    ) -> Result<Poller<IotHub>, AzureError> {
        self.put_and_watch("IotHubResource_CreateOrUpdate", &Self::in_group(subscription_id, group, HUBS, name), IOT_HUBS, hub, if_match).await
    }

    /// `IotHubResource_ListKeys`: every shared access policy of the hub, with keys.
    pub fn iot_hub_keys(&self, subscription_id: &str, group: &str, name: &str) -> Result<Pager<SharedAccessPolicy>, AzureError> {
        let [a, b, c, d, e, f, g, h] = Self::in_group(subscription_id, group, HUBS, name);
        self.keys("IotHubResource_ListKeys", &[a, b, c, d, e, f, g, h, "listkeys"], IOT_HUBS)
    }

    /// `IotHubResource_GetKeysForKeyName`: one policy (e.g. `iothubowner`), with keys.
    pub async fn iot_hub_key(&self, subscription_id: &str, group: &str, name: &str, key_name: &str) -> Result<SharedAccessPolicy, AzureError> {
        let [a, b, c, d, e, f, g, h] = Self::in_group(subscription_id, group, HUBS, name);
        let url = self.url(&[a, b, c, d, e, f, g, h, "IotHubKeys", key_name, "listkeys"], IOT_HUBS)?;
        let request = Request::new(Service::Arm, "IotHubResource_GetKeysForKeyName", Method::POST, url).retry_safe(true);
        self.pipeline.send(&request, Some(self.credential.as_ref())).await?.json("a shared access policy")
    }

    /// `IotDpsResource_ListBySubscription`.
    pub fn provisioning_services(&self, subscription_id: &str) -> Result<Pager<ProvisioningService>, AzureError> {
        self.list("IotDpsResource_ListBySubscription", &["subscriptions", subscription_id, "providers", DPS[0], DPS[1]], PROVISIONING, "provisioning services")
    }

    /// `IotDpsResource_Get`.
    pub async fn provisioning_service(&self, subscription_id: &str, group: &str, name: &str) -> Result<ProvisioningService, AzureError> {
        self.get("IotDpsResource_Get", &Self::in_group(subscription_id, group, DPS, name), PROVISIONING, "a provisioning service").await
    }

    /// `IotDpsResource_CreateOrUpdate`: creates a DPS, or replaces it whole (linked hubs, allocation
    /// policy) from a read made with its ETag, sent both in `If-Match` and in the body.
    pub async fn create_or_update_provisioning_service(
        &self,
        subscription_id: &str,
        group: &str,
        name: &str,
        dps: &ProvisioningService,
    ) -> Result<Poller<ProvisioningService>, AzureError> {
        self.put_and_watch("IotDpsResource_CreateOrUpdate", &Self::in_group(subscription_id, group, DPS, name), PROVISIONING, dps, dps.etag.as_deref()).await
    }

    /// `IotDpsResource_ListKeys`.
    pub fn provisioning_service_keys(&self, subscription_id: &str, group: &str, name: &str) -> Result<Pager<SharedAccessPolicy>, AzureError> {
        let [a, b, c, d, e, f, g, h] = Self::in_group(subscription_id, group, DPS, name);
        self.keys("IotDpsResource_ListKeys", &[a, b, c, d, e, f, g, h, "listKeys"], PROVISIONING)
    }
}
