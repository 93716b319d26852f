//! What ARM deployments leave in the cloud: the deployments themselves with their operations,
//! the resources of types the sandbox has no service for (a generic store by resource ID, so
//! `Microsoft.IoTOperations/instances/…` exists after a template created it), the storage
//! accounts created through ARM, and what-if results waiting to be collected. A scenario load
//! forgets all of it, as it forgets every other service's state; a persistent sandbox keeps it
//! (persist/, `ArmRecord`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct ArmStore {
    deployments: Mutex<Vec<Arc<Deployment>>>,
    /// Lower-case resource ID → the resource as GET returns it.
    resources: Mutex<BTreeMap<String, Value>>,
    /// Storage accounts created through ARM: (subscription, group, name, location, sku).
    pub(crate) accounts: Mutex<Vec<[String; 5]>>,
    /// What-if operation ID → its result.
    what_ifs: Mutex<HashMap<String, Value>>,
}

impl ArmStore {
    /// What the sandbox keeps across restarts (persist/): a deployment the sandbox stopped in the
    /// middle of is kept as Canceled, with the resources it had made in place.
    pub(crate) fn record(&self) -> ArmRecord {
        ArmRecord {
            resources: self.resources.lock().unwrap().clone(),
            accounts: self.accounts.lock().unwrap().clone(),
            deployments: self
                .deployments
                .lock()
                .unwrap()
                .iter()
                .map(|d| DeploymentRecord {
                    subscription_id: d.subscription_id.clone(),
                    resource_group: d.resource_group.clone(),
                    name: d.name.clone(),
                    state: d.state(),
                })
                .collect(),
        }
    }

    pub(crate) fn restore(&self, record: ArmRecord) {
        self.clear();
        *self.resources.lock().unwrap() = record.resources;
        *self.accounts.lock().unwrap() = record.accounts;
        let mut deployments = self.deployments.lock().unwrap();
        for d in record.deployments {
            let mut state = d.state;
            if matches!(state.provisioning_state.as_str(), "Accepted" | "Running") {
                state.provisioning_state = "Canceled".into();
                state.finished = Some(Utc::now());
                state.error = Some(
                    json!({"code": "DeploymentCanceled", "message": "The sandbox cloud stopped while this deployment ran: the resources it had made are in place, the rest were not deployed."}),
                );
            }
            deployments.push(Deployment::new(&d.subscription_id, &d.resource_group, &d.name, state));
        }
    }

    pub(crate) fn clear(&self) {
        self.deployments.lock().unwrap().clear();
        self.resources.lock().unwrap().clear();
        self.accounts.lock().unwrap().clear();
        self.what_ifs.lock().unwrap().clear();
    }

    pub fn deployment(&self, sub: &str, group: &str, name: &str) -> Option<Arc<Deployment>> {
        self.deployments.lock().unwrap().iter().find(|d| d.is(sub, group, name)).cloned()
    }

    pub fn deployments_in(&self, sub: &str, group: &str) -> Vec<Arc<Deployment>> {
        self.deployments
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.subscription_id.eq_ignore_ascii_case(sub) && d.resource_group.eq_ignore_ascii_case(group))
            .cloned()
            .collect()
    }

    /// Adds or replaces the deployment of that name (a PUT of a finished deployment starts anew).
    pub fn put_deployment(&self, d: Arc<Deployment>) {
        let mut all = self.deployments.lock().unwrap();
        all.retain(|x| !x.is(&d.subscription_id, &d.resource_group, &d.name));
        all.push(d);
    }

    pub fn remove_deployment(&self, sub: &str, group: &str, name: &str) -> bool {
        let mut all = self.deployments.lock().unwrap();
        let before = all.len();
        all.retain(|x| !x.is(sub, group, name));
        all.len() != before
    }

    pub fn resource(&self, id: &str) -> Option<Value> {
        self.resources.lock().unwrap().get(&id.to_ascii_lowercase()).cloned()
    }

    pub fn put_resource(&self, id: &str, body: Value) {
        self.resources.lock().unwrap().insert(id.to_ascii_lowercase(), body);
    }

    pub fn remove_resource(&self, id: &str) -> bool {
        let lower = id.to_ascii_lowercase();
        let mut all = self.resources.lock().unwrap();
        // A resource's children go with it, as on Azure.
        let children: Vec<String> = all.keys().filter(|k| k.starts_with(&format!("{lower}/"))).cloned().collect();
        for c in children {
            all.remove(&c);
        }
        all.remove(&lower).is_some()
    }

    /// The generic resources whose ID starts with `prefix` (lower case compared).
    pub fn resources_under(&self, prefix: &str) -> Vec<Value> {
        let lower = prefix.to_ascii_lowercase();
        self.resources.lock().unwrap().iter().filter(|(k, _)| k.starts_with(&lower)).map(|(_, v)| v.clone()).collect()
    }

    pub fn put_what_if(&self, id: String, result: Value) {
        self.what_ifs.lock().unwrap().insert(id, result);
    }

    pub fn what_if(&self, id: &str) -> Option<Value> {
        self.what_ifs.lock().unwrap().get(id).cloned()
    }
}

/// ARM's deployments and generic resources as the state file keeps them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArmRecord {
    pub resources: BTreeMap<String, Value>,
    pub accounts: Vec<[String; 5]>,
    pub deployments: Vec<DeploymentRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub state: DeploymentState,
}

/// One operation of a deployment: a resource it created or updated (or a nested deployment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    /// `Create`, or `Delete` for what a Complete-mode deployment removes.
    pub kind: String,
    pub resource_id: String,
    pub resource_type: String,
    pub resource_name: String,
    pub state: String,
    pub status_code: String,
    pub error: Option<Value>,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentState {
    pub provisioning_state: String,
    pub correlation_id: String,
    /// The ID its Azure-AsyncOperation URL carries.
    pub status_id: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub mode: String,
    /// As the deployment shows them (secure ones without their values).
    pub parameters: Value,
    /// The template as deployed (exportTemplate), and its link when it was linked.
    pub template: Value,
    pub template_link: Option<Value>,
    pub outputs: Option<Value>,
    pub output_resources: Vec<String>,
    pub dependencies: Vec<Value>,
    pub error: Option<Value>,
    pub operations: Vec<Operation>,
    pub cancel_requested: bool,
}

pub struct Deployment {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub state: Mutex<DeploymentState>,
}

/// `PT1.2345S`, as ARM writes durations.
fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ms = (to - from).num_milliseconds().max(0);
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

impl Deployment {
    pub fn new(sub: &str, group: &str, name: &str, state: DeploymentState) -> Arc<Deployment> {
        Arc::new(Deployment { subscription_id: sub.into(), resource_group: group.into(), name: name.into(), state: Mutex::new(state) })
    }

    fn is(&self, sub: &str, group: &str, name: &str) -> bool {
        self.subscription_id.eq_ignore_ascii_case(sub) && self.resource_group.eq_ignore_ascii_case(group) && self.name.eq_ignore_ascii_case(name)
    }

    pub fn id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Resources/deployments/{}", self.subscription_id, self.resource_group, self.name)
    }

    pub fn state(&self) -> DeploymentState {
        self.state.lock().unwrap().clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut DeploymentState)) {
        f(&mut self.state.lock().unwrap())
    }

    pub fn is_active(&self) -> bool {
        matches!(self.state().provisioning_state.as_str(), "Accepted" | "Running")
    }

    /// `DeploymentExtended`.
    pub fn to_json(&self) -> Value {
        let s = self.state();
        let now = Utc::now();
        let mut properties = json!({
            "provisioningState": s.provisioning_state,
            "correlationId": s.correlation_id,
            "timestamp": crate::timestamps::rfc3339(s.finished.unwrap_or(s.started)),
            "duration": duration(s.started, s.finished.unwrap_or(now)),
            "mode": s.mode,
            "parameters": s.parameters,
            "templateHash": template_hash(&s.template),
            "providers": providers(&s.operations),
            "dependencies": s.dependencies,
        });
        if let Some(link) = &s.template_link {
            properties["templateLink"] = link.clone();
        }
        if let Some(outputs) = &s.outputs {
            properties["outputs"] = outputs.clone();
        }
        if s.finished.is_some() {
            properties["outputResources"] = s.output_resources.iter().map(|id| json!({"id": id})).collect();
        }
        if let Some(error) = &s.error {
            properties["error"] = error.clone();
        }
        json!({"id": self.id(), "name": self.name, "type": "Microsoft.Resources/deployments", "properties": properties})
    }

    /// `DeploymentOperation`s, as `…/operations` lists them.
    pub fn operations_json(&self) -> Vec<Value> {
        let s = self.state();
        s.operations
            .iter()
            .map(|op| {
                let mut properties = json!({
                    "provisioningOperation": op.kind,
                    "provisioningState": op.state,
                    "timestamp": crate::timestamps::rfc3339(op.finished.unwrap_or(op.started)),
                    "duration": duration(op.started, op.finished.unwrap_or_else(Utc::now)),
                    "trackingId": op.id,
                    "serviceRequestId": op.id,
                    "statusCode": op.status_code,
                    "targetResource": {"id": op.resource_id, "resourceType": op.resource_type, "resourceName": op.resource_name},
                });
                if let Some(error) = &op.error {
                    properties["statusMessage"] = json!({"status": "Failed", "error": error});
                }
                json!({"id": format!("{}/operations/{}", self.id(), op.id), "operationId": op.id, "properties": properties})
            })
            .collect()
    }
}

/// ARM's `providers` summary: the namespaces and types the deployment touched.
fn providers(operations: &[Operation]) -> Value {
    let mut by_namespace: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in operations {
        if let Some((namespace, rest)) = op.resource_type.split_once('/') {
            let types = by_namespace.entry(namespace.to_string()).or_default();
            if !types.iter().any(|t| t.eq_ignore_ascii_case(rest)) {
                types.push(rest.to_string());
            }
        }
    }
    by_namespace
        .into_iter()
        .map(|(namespace, types)| json!({"namespace": namespace, "resourceTypes": types.iter().map(|t| json!({"resourceType": t})).collect::<Vec<_>>()}))
        .collect()
}

/// A stable hash of the template, shown as ARM shows its `templateHash` (decimal digits).
pub fn template_hash(template: &Value) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(template.to_string().as_bytes());
    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_survives_a_restart_and_an_interrupted_deployment_is_canceled() {
        let store = ArmStore::default();
        store.put_resource("/subscriptions/s/resourceGroups/g/providers/Microsoft.IoTOperations/instances/i", json!({"name": "i"}));
        store.accounts.lock().unwrap().push(["s".into(), "g".into(), "acct".into(), "westeurope".into(), "Standard_LRS".into()]);
        let state = |p: &str| DeploymentState {
            provisioning_state: p.into(),
            correlation_id: "c".into(),
            status_id: "x".into(),
            started: Utc::now(),
            finished: None,
            mode: "Incremental".into(),
            parameters: json!({}),
            template: json!({"resources": []}),
            template_link: None,
            outputs: None,
            output_resources: vec!["/a".into()],
            dependencies: vec![],
            error: None,
            operations: vec![],
            cancel_requested: false,
        };
        store.put_deployment(Deployment::new("s", "g", "done", state("Succeeded")));
        store.put_deployment(Deployment::new("s", "g", "midway", state("Running")));
        let saved = serde_json::to_string(&store.record()).unwrap();
        let again = ArmStore::default();
        again.restore(serde_json::from_str(&saved).unwrap());
        assert_eq!(again.resource("/SUBSCRIPTIONS/s/resourcegroups/g/providers/microsoft.iotoperations/instances/i"), Some(json!({"name": "i"})));
        assert_eq!(again.accounts.lock().unwrap()[0][2], "acct");
        assert_eq!(again.deployment("s", "g", "done").unwrap().state().provisioning_state, "Succeeded");
        let midway = again.deployment("S", "G", "MIDWAY").unwrap().state();
        assert_eq!((midway.provisioning_state.as_str(), midway.output_resources.len()), ("Canceled", 1));
        assert!(midway.error.unwrap()["message"].as_str().unwrap().contains("stopped while this deployment ran"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_persistent_sandbox_keeps_deployments_and_generic_resources_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let config = || crate::SandboxConfig::new(dir.path().to_path_buf(), crate::scenario::Scenario::builtin()).persistent();
        let id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.DeviceRegistry/assets/a1";
        let first = crate::Sandbox::start(config()).await.unwrap();
        first.cloud.arm_store().put_resource(id, json!({"id": id, "properties": {"provisioningState": "Succeeded"}}));
        first.stop();
        let second = crate::Sandbox::start(config()).await.unwrap();
        assert_eq!(second.cloud.arm_store().resource(id).unwrap()["id"], json!(id));
        second.stop();
    }
}
