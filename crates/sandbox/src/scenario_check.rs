//! A scenario that parses can still contradict itself (a group of a template the app lacks, a DPS
//! linked to a hub that does not exist, personas over 100 %). Each problem is named by its path in
//! the file, so whoever edits a scenario knows exactly what to fix; nothing is loaded until none remain.

use crate::scenario::Scenario;
use std::collections::HashSet;

/// Every contradiction in the scenario, as `path: problem`.
pub fn problems(scenario: &Scenario) -> Vec<String> {
    let mut found = Vec::new();
    let mut tenants = HashSet::new();
    for (t, tenant) in scenario.tenants.iter().enumerate() {
        if !tenants.insert(tenant.id.to_ascii_lowercase()) {
            found.push(format!("tenants[{t}].id: '{}' appears twice", tenant.id));
        }
    }
    let (mut hubs, mut dpss, mut subdomains, mut storage) = (HashSet::new(), HashSet::new(), HashSet::new(), HashSet::new());
    for (s, sub) in scenario.subscriptions.iter().enumerate() {
        let at = format!("subscriptions[{s}]");
        if !tenants.contains(&sub.tenant_id.to_ascii_lowercase()) {
            found.push(format!("{at}.tenantId: '{}' is not a tenant of the scenario", sub.tenant_id));
        }
        for (r, reader) in sub.readers.iter().enumerate() {
            if sub.access.contains(reader) {
                found.push(format!("{at}.readers[{r}]: '{reader}' is also in access (a principal has one role here)"));
            }
        }
        let sub_hubs: HashSet<String> = sub.resource_groups.iter().flat_map(|g| g.iot_hubs.iter().map(|h| h.name.to_ascii_lowercase())).collect();
        for (g, group) in sub.resource_groups.iter().enumerate() {
            let at = format!("{at}.resourceGroups[{g}]");
            for (h, hub) in group.iot_hubs.iter().enumerate() {
                if !hubs.insert(hub.name.to_ascii_lowercase()) {
                    found.push(format!("{at}.iotHubs[{h}].name: '{}' is taken (hub names are global)", hub.name));
                }
                if !["F1", "B1", "B2", "B3", "S1", "S2", "S3"].contains(&hub.sku.as_str()) {
                    found.push(format!("{at}.iotHubs[{h}].sku: '{}' is not one of F1, B1-B3, S1-S3", hub.sku));
                }
            }
            for (a, account) in group.storage_accounts.iter().enumerate() {
                let name = &account.name;
                if !(3..=24).contains(&name.len()) || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
                    found.push(format!("{at}.storageAccounts[{a}].name: '{name}' must be 3 to 24 lower-case letters and digits"));
                }
                if !storage.insert(name.clone()) {
                    found.push(format!("{at}.storageAccounts[{a}].name: '{name}' is taken (storage account names are global)"));
                }
            }
            for (d, dps) in group.provisioning_services.iter().enumerate() {
                if !dpss.insert(dps.name.to_ascii_lowercase()) {
                    found.push(format!("{at}.provisioningServices[{d}].name: '{}' is taken", dps.name));
                }
                for (l, linked) in dps.linked_hubs.iter().enumerate() {
                    if !sub_hubs.contains(&linked.to_ascii_lowercase()) {
                        found.push(format!("{at}.provisioningServices[{d}].linkedHubs[{l}]: no hub '{linked}' in this subscription"));
                    }
                }
                if !["Hashed", "GeoLatency", "Static"].contains(&dps.allocation_policy.as_str()) {
                    found.push(format!("{at}.provisioningServices[{d}].allocationPolicy: '{}' is not Hashed, GeoLatency or Static", dps.allocation_policy));
                }
            }
            for (a, app) in group.iot_central_apps.iter().enumerate() {
                let at = format!("{at}.iotCentralApps[{a}]");
                if !subdomains.insert(app.subdomain.to_ascii_lowercase()) {
                    found.push(format!("{at}.subdomain: '{}' is taken", app.subdomain));
                }
                let templates: HashSet<&str> = app.device_templates.iter().map(|t| t.id.as_str()).collect();
                for (i, g) in app.device_groups.iter().enumerate() {
                    if !templates.contains(g.template.as_str()) {
                        found.push(format!("{at}.deviceGroups[{i}].template: '{}' is not a template of this app", g.template));
                    }
                }
                for (i, fleet) in app.fleets.iter().enumerate() {
                    if !templates.contains(fleet.template.as_str()) {
                        found.push(format!("{at}.fleets[{i}].template: '{}' is not a template of this app", fleet.template));
                    }
                    let total: f64 = fleet.personas.values().sum();
                    if total > 100.0 || fleet.personas.values().any(|p| *p < 0.0) {
                        found.push(format!("{at}.fleets[{i}].personas: shares must be 0-100 % and add up to at most 100 %, not {total} %"));
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_scenario_is_consistent() {
        assert_eq!(problems(&Scenario::builtin()), Vec::<String>::new());
    }

    #[test]
    fn each_contradiction_is_named_by_its_path() {
        let mut s = Scenario::builtin();
        let group = &mut s.subscriptions[0].resource_groups[0];
        group.provisioning_services[0].linked_hubs.push("no-such-hub".into());
        group.iot_central_apps[0].fleets[0].template = "dtmi:nope;1".into();
        group.iot_central_apps[1].subdomain = "contoso-fleet".into();
        let ada = s.subscriptions[1].access[0].clone();
        s.subscriptions[1].readers.push(ada.clone());
        let found = problems(&s);
        assert!(found.contains(&format!("subscriptions[1].readers[0]: '{ada}' is also in access (a principal has one role here)")), "{found:?}");
        assert!(
            found.contains(&"subscriptions[0].resourceGroups[0].provisioningServices[0].linkedHubs[1]: no hub 'no-such-hub' in this subscription".to_string()),
            "{found:?}"
        );
        assert!(
            found.contains(&"subscriptions[0].resourceGroups[0].iotCentralApps[0].fleets[0].template: 'dtmi:nope;1' is not a template of this app".to_string()),
            "{found:?}"
        );
        assert!(found.contains(&"subscriptions[0].resourceGroups[0].iotCentralApps[1].subdomain: 'contoso-fleet' is taken".to_string()), "{found:?}");
        assert_eq!(found.len(), 4);
    }

    #[test]
    fn storage_account_names_are_checked_as_azure_checks_them() {
        let mut s = Scenario::builtin();
        let taken = s.subscriptions[0].resource_groups[0].storage_accounts[0].clone();
        s.subscriptions[1].resource_groups[0].storage_accounts =
            vec![taken, crate::scenario::StorageAccount { name: "Bad-Name".into(), sku: "Standard_LRS".into() }];
        assert_eq!(
            problems(&s),
            [
                "subscriptions[1].resourceGroups[0].storageAccounts[0].name: 'contosomigration' is taken (storage account names are global)",
                "subscriptions[1].resourceGroups[0].storageAccounts[1].name: 'Bad-Name' must be 3 to 24 lower-case letters and digits",
            ]
        );
    }
}
