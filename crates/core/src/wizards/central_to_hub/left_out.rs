//! Devices the target hub already holds are left out of a migration (unless the plan includes
//! them). A Central job reaches a device group, not a list of devices, so a group with devices
//! left out is narrowed: the run makes a device group of its own whose filter is the chosen
//! group's with `$id != "…"` for each device left out. Central's filters are joined with AND and
//! grow with each condition, so a group may leave out at most `MAX_PER_GROUP` devices; past that
//! the person is asked to pick a group that leaves them out, before anything is changed.

use super::error::WizardError;
use super::readiness::Readiness;
use std::collections::BTreeMap;

/// Devices one narrowed group may leave out (one `$id != "…"` condition each).
pub const MAX_PER_GROUP: usize = 200;

/// The devices left out, by device group, once the selection is known to leave something to move
/// and every group to be narrowable. Groups all of whose devices are left out need no job.
pub fn check(readiness: &Readiness, hub_name: &str) -> Result<BTreeMap<String, Vec<String>>, WizardError> {
    let left_out = readiness.left_out_by_group();
    let total = readiness.rows.len();
    if total > 0 && readiness.left_out as usize == total {
        return Err(WizardError::NothingToMove { hub: hub_name.into(), devices: total as u32 });
    }
    for (group, devices) in &left_out {
        let in_group = readiness.rows.iter().filter(|r| &r.group == group).count();
        if devices.len() > MAX_PER_GROUP && devices.len() < in_group {
            return Err(WizardError::TooManyLeftOut { group: group.clone(), hub: hub_name.into(), devices: devices.len() as u32, most: MAX_PER_GROUP as u32 });
        }
    }
    Ok(left_out)
}

/// Whether every device of `group` is left out (the group needs no job).
pub fn whole_group_left_out(readiness_rows_in_group: usize, left_out: usize) -> bool {
    left_out > 0 && left_out >= readiness_rows_in_group
}

/// The chosen group's filter, narrowed to leave out `devices` (IDs Central accepts hold no quote).
pub fn narrowed_filter(filter: &str, devices: &[String]) -> String {
    let conditions = devices.iter().map(|id| format!("$id != \"{}\"", id.replace('"', ""))).collect::<Vec<_>>().join(" AND ");
    if conditions.is_empty() {
        return filter.to_string();
    }
    let has_where = filter.split_whitespace().any(|word| word.eq_ignore_ascii_case("WHERE"));
    if has_where {
        format!("{filter} AND {conditions}")
    } else {
        format!("{} WHERE {conditions}", filter.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::super::readiness::{AttestationKind, Expected, ReadinessRow, ALREADY_IN_TARGET};
    use super::*;

    fn row(id: &str, group: &str, in_target: bool) -> ReadinessRow {
        ReadinessRow {
            device_id: id.into(),
            display_name: id.into(),
            group: group.into(),
            provisioned: true,
            enabled: true,
            attestation: AttestationKind::GroupKey,
            expected_failure: None,
            already_in_target: in_target.then(|| Expected { code: ALREADY_IN_TARGET.into(), reason: "moved before".into() }),
        }
    }

    fn readiness(rows: Vec<ReadinessRow>) -> Readiness {
        let left_out = rows.iter().filter(|r| r.already_in_target.is_some()).count() as u32;
        Readiness {
            groups: vec![],
            ready: rows.len() as u32 - left_out,
            expected_to_fail: 0,
            by_reason: BTreeMap::new(),
            attestation_checked: true,
            left_out,
            rows,
        }
    }

    #[test]
    fn a_filter_is_narrowed_with_and_or_given_a_where() {
        let ids = vec!["t-1".to_string(), "t-2".to_string()];
        assert_eq!(narrowed_filter("SELECT * FROM devices", &ids), r#"SELECT * FROM devices WHERE $id != "t-1" AND $id != "t-2""#);
        assert_eq!(
            narrowed_filter(r#"SELECT * FROM devices WHERE $template = "dtmi:x;1""#, &ids[..1]),
            r#"SELECT * FROM devices WHERE $template = "dtmi:x;1" AND $id != "t-1""#
        );
        assert_eq!(narrowed_filter("SELECT * FROM devices where $provisioned = true", &[]), "SELECT * FROM devices where $provisioned = true");
    }

    #[test]
    fn a_selection_all_in_the_target_hub_has_nothing_to_move() {
        let error = check(&readiness(vec![row("a", "g", true), row("b", "g", true)]), "contoso-hub-neu").unwrap_err();
        assert_eq!(error.code(), "centralToHub.nothing_to_move");
        assert!(error.to_string().contains("contoso-hub-neu"), "{error}");
    }

    #[test]
    fn a_group_leaving_out_more_than_a_filter_holds_is_refused_unless_it_is_left_out_whole() {
        let mut rows: Vec<ReadinessRow> = (0..=MAX_PER_GROUP).map(|i| row(&format!("d-{i}"), "big", true)).collect();
        rows.push(row("stays", "big", false));
        let error = check(&readiness(rows.clone()), "hub").unwrap_err();
        assert_eq!(error.code(), "centralToHub.too_many_left_out");
        // The same devices, but the one device to move is in another group: "big" needs no job.
        rows.last_mut().unwrap().group = "small".into();
        let left_out = check(&readiness(rows), "hub").unwrap();
        assert_eq!(left_out["big"].len(), MAX_PER_GROUP + 1);
        assert!(whole_group_left_out(MAX_PER_GROUP + 1, left_out["big"].len()));
    }
}
