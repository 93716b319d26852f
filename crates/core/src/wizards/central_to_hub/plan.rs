//! The plan of a Central → Hub migration, as the wizard's first page fills it in and the CLI reads
//! it from a file: where the devices come from, where they go, and how the job runs. It names
//! things and never holds a secret: keys are read from Central and ARM when the run needs them, so
//! a plan can be saved, mailed and journaled in clear.

pub use crate::runtime::PlanProblem;
pub use crate::wizards::central_access::CentralAccess;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub source: Source,
    pub target: Target,
    #[serde(default)]
    pub enrollment: Enrollment,
    #[serde(default)]
    pub job: JobOptions,
    #[serde(default)]
    pub verify: VerifyOptions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Source {
    /// The application's subdomain (`contoso-fleet` of contoso-fleet.azureiotcentral.com).
    pub subdomain: String,
    /// How the app is reached: the signed-in account, or a saved API token (by its ID).
    #[serde(default)]
    pub access: CentralAccess,
    /// The device template whose devices move; it must carry DeviceMove.
    pub template_id: String,
    /// The Central device groups to move (one job each). Empty: every device of the template,
    /// through a device group the migration creates for it.
    #[serde(default)]
    pub device_groups: Vec<String>,
    /// Send DeviceMove also to devices the target hub already holds (moved before). Off: they are
    /// left out, so a plan run twice never moves a fleet twice.
    #[serde(default)]
    pub include_already_in_target: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Target {
    pub subscription_id: String,
    pub resource_group: String,
    pub dps_name: String,
    /// The hub the devices must land in (name, in the same subscription).
    pub hub_name: String,
    #[serde(default)]
    pub hub_resource_group: Option<String>,
    /// Link the hub to the DPS when it is not linked yet (an ETag-guarded update of the DPS).
    #[serde(default = "yes")]
    pub link_hub_if_needed: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Enrollment {
    /// Central's enrollment group whose keys the devices derive theirs from.
    pub central_group_id: String,
    /// The DPS enrollment group to create (or reuse, when it holds the same keys). Left out of a
    /// plan file, the name the wizard proposes for the app and template (`Plan::complete`).
    #[serde(default)]
    pub dps_group_id: String,
    /// The PEM of the signing certificate, for an X.509 group: Central shows only its thumbprint,
    /// so the person gives the certificate (public; never its private key).
    #[serde(default)]
    pub x509_certificate_pem: Option<String>,
}

impl Default for Enrollment {
    fn default() -> Self {
        Enrollment { central_group_id: "sas-iot-devices".into(), dps_group_id: String::new(), x509_certificate_pem: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PayloadStyle {
    /// What the template's DeviceMigration interface defines (an object carrying `idScope`).
    #[default]
    FromTemplate,
    /// The bare ID scope string older device code expects.
    IdScopeString,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobOptions {
    #[serde(default)]
    pub payload: PayloadStyle,
    /// Devices per batch (Central runs a job in batches); none: all at once.
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// Cancel the job once this share of devices (percent) has failed; none: never.
    #[serde(default)]
    pub cancellation_threshold_percent: Option<f64>,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions { payload: PayloadStyle::FromTemplate, batch_size: None, cancellation_threshold_percent: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyOptions {
    /// How long after the job ends a device that answered may take to appear in the hub before it
    /// counts as failed.
    #[serde(default = "default_settle")]
    pub settle_seconds: u32,
}

fn default_settle() -> u32 {
    120
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions { settle_seconds: default_settle() }
    }
}

impl Plan {
    /// A plan from its JSON file, with the line and field of whatever is wrong.
    pub fn from_json(text: &str) -> Result<Plan, PlanProblem> {
        let mut plan: Plan = crate::runtime::plan_file::from_json(text)?;
        plan.complete();
        plan.check().map_err(|mut problems| problems.remove(0))?;
        Ok(plan)
    }

    /// Every field that cannot work, named by its path.
    pub fn check(&self) -> Result<(), Vec<PlanProblem>> {
        let mut problems = Vec::new();
        let mut need = |field: &str, value: &str| {
            if value.trim().is_empty() {
                problems.push(PlanProblem { field: field.into(), problem: "is required".into(), line: None });
            }
        };
        need("source.subdomain", &self.source.subdomain);
        need("source.templateId", &self.source.template_id);
        need("target.subscriptionId", &self.target.subscription_id);
        need("target.resourceGroup", &self.target.resource_group);
        need("target.dpsName", &self.target.dps_name);
        need("target.hubName", &self.target.hub_name);
        need("enrollment.centralGroupId", &self.enrollment.central_group_id);
        need("enrollment.dpsGroupId", &self.enrollment.dps_group_id);
        let id = &self.enrollment.dps_group_id;
        let valid = id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c));
        if !id.is_empty() && !valid {
            problems.push(PlanProblem {
                field: "enrollment.dpsGroupId".into(),
                problem: "may hold only letters, digits and - . _ : (at most 128)".into(),
                line: None,
            });
        }
        if let Some(share) = self.job.cancellation_threshold_percent {
            if !(share > 0.0 && share <= 100.0) {
                problems.push(PlanProblem {
                    field: "job.cancellationThresholdPercent".into(),
                    problem: format!("{share} is not between 0 (exclusive) and 100"),
                    line: None,
                });
            }
        }
        if self.job.batch_size == Some(0) {
            problems.push(PlanProblem { field: "job.batchSize".into(), problem: "must be at least 1".into(), line: None });
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, group) in self.source.device_groups.iter().enumerate() {
            if group.trim().is_empty() || !seen.insert(group) {
                problems.push(PlanProblem {
                    field: format!("source.deviceGroups[{i}]"),
                    problem: if group.trim().is_empty() { "is empty".into() } else { format!("'{group}' is listed twice") },
                    line: None,
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Fills what a plan file may leave out: the DPS enrollment group's name, proposed for the app
    /// and template, so two apps' plans never share one by default.
    pub fn complete(&mut self) {
        if self.enrollment.dps_group_id.trim().is_empty() && !self.source.subdomain.is_empty() && !self.source.template_id.is_empty() {
            self.enrollment.dps_group_id = Plan::proposed_dps_group_id(&self.source.subdomain, &self.source.template_id);
        }
    }

    /// The hub's resource group (the DPS's when not given).
    pub fn hub_resource_group(&self) -> &str {
        self.target.hub_resource_group.as_deref().unwrap_or(&self.target.resource_group)
    }

    /// The DPS enrollment group name the wizard proposes for an app and template: one name shared
    /// by every plan would make a second app's dry run clash with the first app's group, so the
    /// app's subdomain and the template's name go into it (`contoso-fleet-thermostat-v1`).
    pub fn proposed_dps_group_id(subdomain: &str, template_id: &str) -> String {
        // `dtmi:contoso:Thermostat;1` → `thermostat-v1`.
        let tail = template_id.rsplit(':').next().unwrap_or(template_id).replace(';', "-v");
        let mut id = String::new();
        for c in format!("{subdomain}-{tail}").chars().map(|c| c.to_ascii_lowercase()) {
            let c = if c.is_ascii_alphanumeric() { c } else { '-' };
            if !(c == '-' && (id.is_empty() || id.ends_with('-'))) {
                id.push(c);
            }
        }
        let id = id.trim_end_matches('-');
        id[..id.len().min(128)].trim_end_matches('-').to_string()
    }

    pub fn title(&self) -> String {
        format!("{} → {} via {}", self.source.subdomain, self.target.hub_name, self.target.dps_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> String {
        r#"{
  "source": {"subdomain": "contoso-fleet", "templateId": "dtmi:contoso:Thermostat;1", "deviceGroups": ["thermostats"]},
  "target": {"subscriptionId": "s", "resourceGroup": "rg", "dpsName": "dps", "hubName": "hub"}
}"#
        .into()
    }

    #[test]
    fn a_minimal_plan_takes_the_defaults() {
        let plan = Plan::from_json(&text()).unwrap();
        assert_eq!(plan.enrollment.central_group_id, "sas-iot-devices");
        assert!(plan.target.link_hub_if_needed);
        assert_eq!(plan.source.access, CentralAccess::SignedIn);
    }

    #[test]
    fn a_plan_file_without_a_group_name_gets_the_name_proposed_for_its_app_and_template() {
        assert_eq!(Plan::from_json(&text()).unwrap().enrollment.dps_group_id, "contoso-fleet-thermostat-v1");
        let other_app = Plan::from_json(&text().replace("contoso-fleet", "fabrikam-fleet")).unwrap();
        assert_eq!(other_app.enrollment.dps_group_id, "fabrikam-fleet-thermostat-v1", "two apps' plans never share a name by default");
        let named = text().replace("\n}", ",\n  \"enrollment\": {\"centralGroupId\": \"sas-iot-devices\", \"dpsGroupId\": \"mine\"}\n}");
        assert_eq!(Plan::from_json(&named).unwrap().enrollment.dps_group_id, "mine");
        let through_the_runtime = crate::runtime::MigrationPlan::from_json(crate::wizards::WizardId::CentralToHub, &text()).unwrap();
        assert!(serde_json::to_string(&through_the_runtime).unwrap().contains("contoso-fleet-thermostat-v1"));
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line() {
        let bad = text().replace("\"hubName\"", "\"hubname\"");
        let problem = Plan::from_json(&bad).unwrap_err();
        assert_eq!((problem.field.as_str(), problem.line), ("target.hubname", Some(3)), "{problem}");
        let missing = Plan::from_json(r#"{"source": {"templateId": "t"}}"#).unwrap_err();
        assert_eq!(missing.field, "source.subdomain", "{missing}");
    }

    #[test]
    fn empty_and_impossible_fields_are_each_named() {
        let mut plan = Plan::from_json(&text()).unwrap();
        plan.target.dps_name.clear();
        plan.job.cancellation_threshold_percent = Some(150.0);
        plan.source.device_groups.push("thermostats".into());
        let fields: Vec<String> = plan.check().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["target.dpsName", "job.cancellationThresholdPercent", "source.deviceGroups[1]"]);
    }

    #[test]
    fn a_batch_of_zero_devices_is_refused_by_its_field() {
        let mut plan = Plan::from_json(&text()).unwrap();
        plan.job.batch_size = Some(0);
        let problems = plan.check().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].field.as_str(), problems[0].problem.as_str()), ("job.batchSize", "must be at least 1"));
        plan.job.batch_size = Some(1);
        assert!(plan.check().is_ok());
    }

    #[test]
    fn the_proposed_enrollment_group_differs_by_app_and_template_and_is_a_valid_name() {
        let first = Plan::proposed_dps_group_id("contoso-fleet", "dtmi:contoso:Thermostat;1");
        assert_eq!(first, "contoso-fleet-thermostat-v1");
        let second = Plan::proposed_dps_group_id("fabrikam-fleet", "dtmi:contoso:Thermostat;1");
        assert_ne!(first, second);
        assert_ne!(first, Plan::proposed_dps_group_id("contoso-fleet", "dtmi:contoso:Sensor;2"));
        let long = Plan::proposed_dps_group_id(&"a".repeat(200), "urn:odd name!;3");
        let mut plan = Plan::from_json(&text()).unwrap();
        for id in [first, second, long] {
            plan.enrollment.dps_group_id = id.clone();
            assert!(plan.check().is_ok(), "{id} is refused");
            assert!(!id.starts_with('-') && !id.ends_with('-'), "{id}");
        }
    }
}
