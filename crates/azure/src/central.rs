//! One IoT Central application's API (2022-07-31) at `https://<subdomain>.azureiotcentral.com/api`
//! (in the sandbox, `<base>/iotc/<subdomain>/api`): the devices a migration moves and their
//! credentials, the templates and groups that select them, the app's enrollment groups, and the
//! jobs and commands that carry DeviceMove. Authorised by an Entra ID bearer token for the Central
//! audience or by an app API token (`CentralApiToken`). Each app has its own rate-limit bucket.

pub mod models;

use crate::auth::Credential;
use crate::cloud::Service;
use crate::error::AzureError;
use crate::pager::{Continuation, Pager};
use crate::pipeline::Pipeline;
use crate::request::{with_api_version, Request};
use models::{Attestation, Device, DeviceCommand, DeviceCredentials, DeviceGroup, DeviceTemplate, EnrollmentGroup, Job, JobDeviceStatus};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const API_VERSION: &str = "2022-07-31";

#[derive(Clone)]
pub struct CentralClient {
    pipeline: Pipeline,
    credential: Arc<dyn Credential>,
    subdomain: String,
    app_url: Url,
}

impl CentralClient {
    /// The client of the application at `subdomain` in the pipeline's cloud.
    pub fn new(pipeline: Pipeline, credential: Arc<dyn Credential>, subdomain: &str) -> Result<CentralClient, AzureError> {
        let app_url = pipeline.cloud().central_app_url(subdomain)?;
        Ok(CentralClient { pipeline, credential, subdomain: subdomain.to_ascii_lowercase(), app_url })
    }

    pub fn subdomain(&self) -> &str {
        &self.subdomain
    }

    fn url(&self, segments: &[&str]) -> Result<Url, AzureError> {
        if segments.iter().any(|s| s.is_empty()) {
            return Err(AzureError::InvalidInput { what: format!("The Central path api/{}", segments.join("/")), problem: "has an empty ID in it".into() });
        }
        let mut url = self.app_url.clone();
        url.path_segments_mut()
            .map_err(|_| AzureError::InvalidInput { what: "The Central address".into(), problem: "cannot take a path".into() })?
            .pop_if_empty()
            .push("api")
            .extend(segments);
        Ok(with_api_version(url, API_VERSION))
    }

    fn request(&self, operation: &'static str, method: Method, segments: &[&str]) -> Result<Request, AzureError> {
        Ok(Request::new(Service::Central, operation, method, self.url(segments)?).partition(self.subdomain.clone()))
    }

    fn list<T: DeserializeOwned>(&self, operation: &'static str, segments: &[&str], items: &'static str) -> Result<Pager<T>, AzureError> {
        Ok(Pager::new(self.pipeline.clone(), self.credential.clone(), self.request(operation, Method::GET, segments)?, Continuation::NextLink, items))
    }

    async fn call<T: DeserializeOwned>(&self, request: Request, expected: &str) -> Result<T, AzureError> {
        self.pipeline.send(&request, Some(self.credential.as_ref())).await?.json(expected)
    }

    async fn get<T: DeserializeOwned>(&self, operation: &'static str, segments: &[&str], expected: &str) -> Result<T, AzureError> {
        self.call(self.request(operation, Method::GET, segments)?, expected).await
    }

    /// `Devices_List`: every device of the app, page by page.
    pub fn devices(&self) -> Result<Pager<Device>, AzureError> {
        self.list("Devices_List", &["devices"], "Central devices")
    }

    /// `Devices_Get`.
    pub async fn device(&self, device_id: &str) -> Result<Device, AzureError> {
        self.get("Devices_Get", &["devices", device_id], "a Central device").await
    }

    /// `Devices_Create`: a device Central knows of before it first connects.
    pub async fn create_device(&self, device_id: &str, device: &Device) -> Result<Device, AzureError> {
        self.call(self.request("Devices_Create", Method::PUT, &["devices", device_id])?.json(device)?, "the created Central device").await
    }

    /// `Devices_GetCredentials`: the ID scope and keys the device connects with.
    pub async fn device_credentials(&self, device_id: &str) -> Result<DeviceCredentials, AzureError> {
        self.get("Devices_GetCredentials", &["devices", device_id, "credentials"], "device credentials").await
    }

    /// `Devices_GetAttestation`.
    pub async fn device_attestation(&self, device_id: &str) -> Result<Attestation, AzureError> {
        self.get("Devices_GetAttestation", &["devices", device_id, "attestation"], "a device attestation").await
    }

    /// `Devices_RunComponentCommand`: runs `command` of `component` on the device now and waits for
    /// its answer. Not repeated after a broken connection: the device may already have acted.
    pub async fn run_component_command(&self, device_id: &str, component: &str, command: &str, request: &DeviceCommand) -> Result<DeviceCommand, AzureError> {
        let wait = Duration::from_secs(request.response_timeout.unwrap_or(30) + request.connection_timeout.unwrap_or(0) + 15);
        let call = self
            .request("Devices_RunComponentCommand", Method::POST, &["devices", device_id, "components", component, "commands", command])?
            .json(request)?
            .timeout(wait);
        self.call(call, "a device command result").await
    }

    /// `Devices_GetComponentCommandHistory` (or `Devices_GetCommandHistory` at the root): the
    /// last run of `command` on the device, with its answer code when it answered — how a job's
    /// failed device tells "did not answer" from "answered with an error".
    pub async fn command_history(&self, device_id: &str, component: Option<&str>, command: &str) -> Result<Vec<DeviceCommand>, AzureError> {
        #[derive(serde::Deserialize)]
        struct History {
            #[serde(default)]
            value: Vec<DeviceCommand>,
        }
        let history: History = match component {
            Some(component) => {
                self.get("Devices_GetComponentCommandHistory", &["devices", device_id, "components", component, "commands", command], "a command history")
                    .await?
            }
            None => self.get("Devices_GetCommandHistory", &["devices", device_id, "commands", command], "a command history").await?,
        };
        Ok(history.value)
    }

    /// `DeviceTemplates_List`.
    pub fn device_templates(&self) -> Result<Pager<DeviceTemplate>, AzureError> {
        self.list("DeviceTemplates_List", &["deviceTemplates"], "device templates")
    }

    /// `DeviceTemplates_Get`.
    pub async fn device_template(&self, template_id: &str) -> Result<DeviceTemplate, AzureError> {
        self.get("DeviceTemplates_Get", &["deviceTemplates", template_id], "a device template").await
    }

    /// `DeviceGroups_List`.
    pub fn device_groups(&self) -> Result<Pager<DeviceGroup>, AzureError> {
        self.list("DeviceGroups_List", &["deviceGroups"], "device groups")
    }

    /// `DeviceGroups_Get`.
    pub async fn device_group(&self, group_id: &str) -> Result<DeviceGroup, AzureError> {
        self.get("DeviceGroups_Get", &["deviceGroups", group_id], "a device group").await
    }

    /// `DeviceGroups_Create`: a group defined by its filter (a PUT: the same ID twice replaces, never doubles).
    pub async fn create_device_group(&self, group_id: &str, group: &DeviceGroup) -> Result<DeviceGroup, AzureError> {
        self.call(self.request("DeviceGroups_Create", Method::PUT, &["deviceGroups", group_id])?.json(group)?, "the created device group").await
    }

    /// `DeviceGroups_GetDevices`: the devices the group's filter selects.
    pub fn device_group_devices(&self, group_id: &str) -> Result<Pager<Device>, AzureError> {
        self.list("DeviceGroups_GetDevices", &["deviceGroups", group_id, "devices"], "devices of a device group")
    }

    /// `EnrollmentGroups_List`.
    pub fn enrollment_groups(&self) -> Result<Pager<EnrollmentGroup>, AzureError> {
        self.list("EnrollmentGroups_List", &["enrollmentGroups"], "enrollment groups")
    }

    /// `EnrollmentGroups_Get`.
    pub async fn enrollment_group(&self, group_id: &str) -> Result<EnrollmentGroup, AzureError> {
        self.get("EnrollmentGroups_Get", &["enrollmentGroups", group_id], "an enrollment group").await
    }

    /// `Jobs_Create`: starts the job `job_id` (a PUT: creating the same ID twice is refused, not
    /// doubled, so it may be retried).
    pub async fn create_job(&self, job_id: &str, job: &Job) -> Result<Job, AzureError> {
        self.call(self.request("Jobs_Create", Method::PUT, &["jobs", job_id])?.json(job)?, "the created job").await
    }

    /// `Jobs_Get`.
    pub async fn job(&self, job_id: &str) -> Result<Job, AzureError> {
        self.get("Jobs_Get", &["jobs", job_id], "a job").await
    }

    /// `Jobs_List`.
    pub fn jobs(&self) -> Result<Pager<Job>, AzureError> {
        self.list("Jobs_List", &["jobs"], "jobs")
    }

    /// `Jobs_GetDevices`: each device's status in the job.
    pub fn job_devices(&self, job_id: &str) -> Result<Pager<JobDeviceStatus>, AzureError> {
        self.list("Jobs_GetDevices", &["jobs", job_id, "devices"], "job device statuses")
    }

    /// `Jobs_Stop`.
    pub async fn stop_job(&self, job_id: &str) -> Result<(), AzureError> {
        self.pipeline.send(&self.request("Jobs_Stop", Method::POST, &["jobs", job_id, "stop"])?, Some(self.credential.as_ref())).await.map(drop)
    }

    /// `Jobs_Resume`.
    pub async fn resume_job(&self, job_id: &str) -> Result<(), AzureError> {
        self.pipeline.send(&self.request("Jobs_Resume", Method::POST, &["jobs", job_id, "resume"])?, Some(self.credential.as_ref())).await.map(drop)
    }

    /// `Jobs_Rerun`: a new job `rerun_id` over the devices that failed in `job_id`.
    pub async fn rerun_job(&self, job_id: &str, rerun_id: &str) -> Result<Job, AzureError> {
        self.call(self.request("Jobs_Rerun", Method::PUT, &["jobs", job_id, "rerun", rerun_id])?, "the rerun job").await
    }
}
