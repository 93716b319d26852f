//! `iotm bulk <operation>`: a Bulk identities plan from options rather than a plan file, for the
//! one-line jobs an admin types (`iotm bulk export --hub … --storage … --to devices.txt`).

use iotm_core::wizards::bulk_identities::{HubTarget, ImportMode, Operation, Plan, StorageTarget};
use std::collections::BTreeMap;

pub const USAGE: &str = "\
  iotm bulk export          --hub S/G/HUB --storage S/G/ACCOUNT/CONTAINER --to <file> [--keys exclude]
  iotm bulk import          --hub … --storage … --file <devices.txt> [--mode createOrUpdate]
  iotm bulk generate        --hub … --storage … --count <n> --prefix <id-prefix> --keys-file <file>
  iotm bulk delete          --hub … --storage … --query \"SELECT * FROM devices WHERE …\"
  iotm bulk enable|disable  --hub … --storage … --query \"…\"
  iotm bulk regenerate-keys --hub … --storage … --query \"…\" --keys-file <file>
  (add --dry-run to see what would change; --yes to run without asking)";

/// The options only `bulk` takes.
pub const OPTIONS: &[&str] = &["hub", "storage", "to", "keys", "file", "mode", "count", "prefix", "keys-file", "query"];

pub fn plan(operation: &str, options: &BTreeMap<String, String>) -> Result<Plan, String> {
    let get = |name: &str| options.get(name).cloned().ok_or_else(|| format!("bulk {operation} needs --{name}"));
    let parts = |name: &str, n: usize, shape: &str| -> Result<Vec<String>, String> {
        let value = get(name)?;
        let parts: Vec<String> = value.split('/').map(str::to_string).collect();
        match parts.len() == n && parts.iter().all(|p| !p.is_empty()) {
            true => Ok(parts),
            false => Err(format!("--{name} is {shape}, not '{value}'")),
        }
    };
    let hub = parts("hub", 3, "<subscription>/<resource group>/<hub>")?;
    let storage = parts("storage", 4, "<subscription>/<resource group>/<account>/<container>")?;
    let operation = match operation {
        "export" => Operation::Export {
            save_to: get("to")?,
            exclude_keys: match options.get("keys").map(String::as_str) {
                None | Some("include") => false,
                Some("exclude") => true,
                Some(other) => return Err(format!("--keys is include or exclude, not '{other}'")),
            },
        },
        "import" => Operation::Import {
            file: get("file")?,
            default_mode: match options.get("mode") {
                None => ImportMode::CreateOrUpdate,
                Some(m) => ImportMode::parse(m).ok_or_else(|| {
                    format!("--mode '{m}' is not an import mode ({})", ImportMode::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))
                })?,
            },
        },
        "generate" => Operation::Generate {
            prefix: get("prefix")?,
            count: get("count")?.parse().map_err(|_| "--count is a number of devices".to_string())?,
            keys_file: get("keys-file")?,
        },
        "delete" => Operation::Delete { query: get("query")? },
        "enable" | "disable" => Operation::SetStatus { query: get("query")?, enabled: operation == "enable" },
        "regenerate-keys" => Operation::RegenerateKeys { query: get("query")?, keys_file: get("keys-file")? },
        other => return Err(format!("'{other}' is not a bulk operation (export, import, generate, delete, enable, disable, regenerate-keys)")),
    };
    let plan = Plan {
        hub: HubTarget { subscription_id: hub[0].clone(), resource_group: hub[1].clone(), hub_name: hub[2].clone() },
        storage: StorageTarget {
            subscription_id: storage[0].clone(),
            resource_group: storage[1].clone(),
            account: storage[2].clone(),
            container: storage[3].clone(),
        },
        operation,
    };
    plan.check().map_err(|problems| problems.iter().map(|p| format!("{}: {}", p.field, p.problem)).collect::<Vec<_>>().join("; "))?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn each_operation_becomes_a_plan_and_each_mistake_names_its_option() {
        let base = [("hub", "s/rg/hub"), ("storage", "s/rg/acct/jobs")];
        let export = plan("export", &options(&[base[0], base[1], ("to", "d.txt"), ("keys", "exclude")])).unwrap();
        assert_eq!(export.operation, Operation::Export { save_to: "d.txt".into(), exclude_keys: true });
        assert_eq!(export.storage.container, "jobs");
        let import = plan("import", &options(&[base[0], base[1], ("file", "d.txt"), ("mode", "updateTwin")])).unwrap();
        assert_eq!(import.operation, Operation::Import { file: "d.txt".into(), default_mode: ImportMode::UpdateTwin });
        assert_eq!(plan("disable", &options(&[base[0], base[1], ("query", "SELECT * FROM devices")])).unwrap().operation.name(), "disable");
        assert!(plan("import", &options(&[base[0], base[1], ("file", "d"), ("mode", "merge")])).unwrap_err().contains("'merge'"));
        assert!(plan("export", &options(&[("hub", "s/rg"), base[1], ("to", "d")])).unwrap_err().contains("--hub"));
        assert!(plan("generate", &options(&[base[0], base[1], ("prefix", "lab"), ("count", "0"), ("keys-file", "k")]))
            .unwrap_err()
            .contains("operation.count"));
        assert!(plan("move", &options(&base)).unwrap_err().contains("not a bulk operation"));
    }
}
