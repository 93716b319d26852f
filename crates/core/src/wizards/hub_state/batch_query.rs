//! Questions about a whole batch of devices asked in a few hub queries instead of a read per device:
//! which of them a hub already holds, and their module twins. On S1 a hub allows 100 registry
//! operations a minute but a query answers hundreds of devices at once (queries have a budget of
//! their own), so asking first leaves the registry budget to the reads and writes that need it.

use iotm_azure::hub::HubClient;
use iotm_azure::AzureError;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A query's text kept well under the service's limit on a query's size.
const QUERY_CHARS: usize = 4000;

/// The IDs as `['a', 'b']` lists of at most `QUERY_CHARS`. An ID holding a quote cannot be written
/// in the query language's strings, so it is left out: its questions are answered by a read.
fn id_lists<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut lists = Vec::new();
    let mut current = String::new();
    for id in ids.into_iter().filter(|id| askable(id)) {
        if !current.is_empty() && current.len() + id.len() + 4 > QUERY_CHARS {
            lists.push(format!("[{current}]"));
            current.clear();
        }
        if !current.is_empty() {
            current.push_str(", ");
        }
        current.push('\'');
        current.push_str(id);
        current.push('\'');
    }
    if !current.is_empty() {
        lists.push(format!("[{current}]"));
    }
    lists
}

pub fn askable(id: &str) -> bool {
    !id.contains('\'')
}

async fn rows(hub: &HubClient, sql: &str) -> Result<Vec<Value>, AzureError> {
    let mut pager = hub.query(sql, 1000)?;
    let mut rows = Vec::new();
    while let Some(page) = pager.next_page().await {
        rows.extend(page?);
    }
    Ok(rows)
}

/// Which of `ids` the hub does not hold, as far as a query can tell. A device created moments ago
/// may not show yet (queries are eventually consistent): a create then meets it and reads it.
pub async fn missing(hub: &HubClient, ids: &[&str]) -> Result<HashSet<String>, AzureError> {
    let mut missing: HashSet<String> = ids.iter().filter(|id| askable(id)).map(|id| id.to_string()).collect();
    for list in id_lists(ids.iter().copied()) {
        for row in rows(hub, &format!("SELECT deviceId FROM devices WHERE deviceId IN {list}")).await? {
            if let Some(id) = row.get("deviceId").and_then(Value::as_str) {
                missing.remove(id);
            }
        }
    }
    Ok(missing)
}

/// The module twins of each askable device of `ids` (an empty list: the device has no module).
pub async fn module_twins(hub: &HubClient, ids: &[&str]) -> Result<HashMap<String, Vec<Value>>, AzureError> {
    let mut twins: HashMap<String, Vec<Value>> = ids.iter().filter(|id| askable(id)).map(|id| (id.to_string(), Vec::new())).collect();
    for list in id_lists(ids.iter().copied()) {
        for row in rows(hub, &format!("SELECT * FROM devices.modules WHERE deviceId IN {list}")).await? {
            if let Some(found) = row.get("deviceId").and_then(Value::as_str).and_then(|id| twins.get_mut(id)) {
                found.push(row);
            }
        }
    }
    Ok(twins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_split_into_lists_that_fit_a_query_and_quoted_ids_are_left_to_reads() {
        let ids: Vec<String> = (0..400).map(|n| format!("device-{n:04}")).collect();
        let mut all: Vec<&str> = ids.iter().map(String::as_str).collect();
        all.push("o'brien");
        let lists = id_lists(all.iter().copied());
        assert!(lists.len() > 1 && lists.iter().all(|l| l.len() <= QUERY_CHARS + 2), "{}", lists.len());
        let joined = lists.join(",");
        assert_eq!(joined.matches("'device-").count(), 400);
        assert!(!joined.contains("brien"));
        assert!(lists[0].starts_with("['device-0000', 'device-0001'"));
    }
}
