//! Plans from JSON (a file the CLI is given, the journal's copy): each mistake named by its line and
//! its field's path (`line 3, target.hubName: unknown field`), for every wizard alike.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use ts_rs::TS;

/// A problem in a plan: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanProblem {
    pub field: String,
    pub problem: String,
    /// The line in the plan file, when the plan came from one.
    pub line: Option<u32>,
}

impl std::fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, {}: {}", self.field, self.problem),
            None => write!(f, "{}: {}", self.field, self.problem),
        }
    }
}

impl PlanProblem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> PlanProblem {
        PlanProblem { field: field.into(), problem: problem.into(), line: None }
    }
}

/// A plan from its JSON text, with the line and field of whatever cannot be read.
pub fn from_json<P: DeserializeOwned>(text: &str) -> Result<P, PlanProblem> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let problem = message.split(" at line ").next().unwrap_or(&message).to_string();
        // A missing field is reported at its parent: name the field itself.
        let missing = problem.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
        let field = match (missing, path.as_str()) {
            (Some(name), "." | "") => name.to_string(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, ".") => "plan".to_string(),
            (None, path) => path.to_string(),
        };
        PlanProblem { field, problem, line: Some(inner.line() as u32) }
    })
}

/// Why a plan file could not be used: the file named, and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PlanFileError {
    pub path: String,
    pub problem: String,
}

/// The text of a plan file.
pub fn read(path: &Path) -> Result<String, PlanFileError> {
    std::fs::read_to_string(path).map_err(|e| PlanFileError { path: path.display().to_string(), problem: e.to_string() })
}

#[cfg(test)]
mod tests {
    use crate::runtime::MigrationPlan;
    use crate::wizards::WizardId;

    const PLAN: &str = r#"{
  "source": {"subdomain": "contoso-fleet", "templateId": "dtmi:contoso:Thermostat;1", "deviceGroups": ["thermostats"]},
  "target": {"subscriptionId": "s", "resourceGroup": "rg", "dpsName": "dps", "hubName": "hub", "hubNmae": "typo"}
}"#;

    #[test]
    fn a_plan_file_names_the_line_and_field_of_its_mistake() {
        let problem = MigrationPlan::from_json(WizardId::CentralToHub, PLAN).unwrap_err();
        assert_eq!((problem.line, problem.field.as_str()), (Some(3), "target.hubNmae"));
        assert!(problem.to_string().starts_with("line 3, target.hubNmae: unknown field `hubNmae`"), "{problem}");
        let refused = MigrationPlan::from_json(WizardId::IotOperationsClone, "{}").unwrap_err();
        assert_eq!(refused.field, "wizard");
    }

    #[test]
    fn a_saved_plan_reads_back_as_the_same_plan() {
        let dir = tempfile::tempdir().unwrap();
        let plan = MigrationPlan::from_json(WizardId::CentralToHub, &PLAN.replace(", \"hubNmae\": \"typo\"", "")).unwrap();
        let path = plan.save(dir.path()).unwrap();
        assert!(path.file_name().unwrap().to_str().unwrap().starts_with("iot-migrator-plan-central-to-hub-"));
        let again = MigrationPlan::from_json(WizardId::CentralToHub, &std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&plan).unwrap());
    }
}
