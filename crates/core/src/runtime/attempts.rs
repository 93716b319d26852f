//! Every attempt at an item, kept: a retry sets its failed items going again, and their earlier
//! failure would be lost with it. Before a retry resets them, the items it retries (with the
//! reason each failed for) and how many it left out are journaled as that attempt's checkpoint;
//! the report reads them back as "N retried, M moved" per retry and each item's earlier reasons.

use super::context::RunContext;
use super::error::RunError;
use crate::journal::{Journal, JournalError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use ts_rs::TS;

/// What one retry set going again, as journaled before it did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retried {
    /// The items retried, each with the reason its previous attempt failed for.
    pub items: BTreeMap<String, Option<String>>,
    /// Failed items this retry left out: the wizard expects them to fail again as they are.
    pub left_out: u64,
}

/// One retry as the report tells it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetryRound {
    /// 1 for the first retry.
    pub attempt: u32,
    #[ts(type = "number")]
    pub retried: u64,
    /// Of those retried, how many reached the wizard's successful state in this retry.
    #[ts(type = "number")]
    pub moved: u64,
    #[ts(type = "number")]
    pub left_out: u64,
}

fn key(kind: &str, attempt: u32) -> String {
    format!("attempt:{kind}:{attempt}")
}

/// Journals the items retry `attempt` sets going again, before they are reset. A retry stopped
/// and started again under the same attempt adds to what it had journaled, never replaces it.
pub fn record<T>(ctx: &RunContext<'_, T>, kind: &str, attempt: u32, retried: Retried) -> Result<(), RunError> {
    let key = key(kind, attempt);
    let mut kept: Retried = ctx.load_checkpoint(&key)?.unwrap_or_default();
    kept.items.extend(retried.items);
    kept.left_out = retried.left_out;
    ctx.checkpoint(&key, &kept)
}

/// Every retry of the migration's items of `kind`, first first.
pub fn rounds(journal: &Journal, id: &str, kind: &str) -> Result<Vec<(u32, Retried)>, JournalError> {
    let prefix = format!("attempt:{kind}:");
    let mut rounds = Vec::new();
    for (key, value) in journal.checkpoints(id, &prefix)? {
        let attempt = key[prefix.len()..].parse::<u32>().map_err(|_| JournalError::Sql(format!("the checkpoint {key} names no attempt")))?;
        let retried: Retried = serde_json::from_value(value).map_err(|e| JournalError::Sql(format!("the checkpoint {key} cannot be read: {e}")))?;
        rounds.push((attempt, retried));
    }
    rounds.sort_by_key(|(attempt, _)| *attempt);
    Ok(rounds)
}

/// Each retry's counts. An item retried in one round moved in it when a later round did not
/// retry it again and its state now is `success`.
pub fn summarise(rounds: &[(u32, Retried)], now: &HashMap<&str, &str>, success: &str) -> Vec<RetryRound> {
    rounds
        .iter()
        .enumerate()
        .map(|(i, (attempt, round))| {
            let retried_later = |item: &str| rounds[i + 1..].iter().any(|(_, later)| later.items.contains_key(item));
            let moved = round.items.keys().filter(|item| !retried_later(item) && now.get(item.as_str()) == Some(&success)).count() as u64;
            RetryRound { attempt: *attempt, retried: round.items.len() as u64, moved, left_out: round.left_out }
        })
        .collect()
}

/// Each item's reasons from its earlier attempts, first first.
pub fn earlier_reasons(rounds: &[(u32, Retried)]) -> HashMap<String, Vec<Option<String>>> {
    let mut earlier: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for (_, round) in rounds {
        for (item, reason) in &round.items {
            earlier.entry(item.clone()).or_default().push(reason.clone());
        }
    }
    earlier
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizards::WizardId;

    fn retried(items: &[(&str, &str)], left_out: u64) -> Retried {
        Retried { items: items.iter().map(|(k, r)| (k.to_string(), Some(r.to_string()))).collect(), left_out }
    }

    #[test]
    fn each_retry_is_kept_and_counted_as_retried_and_moved() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.db")).unwrap();
        let id = journal.create(WizardId::CentralToHub, "t", &serde_json::json!({})).unwrap();
        let quiet = |_: super::super::Progress<()>| {};
        let ctx = RunContext::new(&journal, &id, &quiet, Default::default());
        record(&ctx, "device", 1, retried(&[("a", "noAnswer"), ("b", "noAnswer")], 3)).unwrap();
        // The first retry stopped and started again: what it journaled first is kept.
        record(&ctx, "device", 1, retried(&[("c", "commandError:500")], 3)).unwrap();
        record(&ctx, "device", 2, retried(&[("b", "noAnswer")], 3)).unwrap();
        // Attempts are read in number order, not key order ("10" before "2").
        record(&ctx, "device", 10, retried(&[], 0)).unwrap();

        let rounds = rounds(&journal, &id, "device").unwrap();
        assert_eq!(rounds.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 10]);
        let now = HashMap::from([("a", "verified"), ("b", "verified"), ("c", "failed")]);
        let summary = summarise(&rounds, &now, "verified");
        assert_eq!(summary[0], RetryRound { attempt: 1, retried: 3, moved: 1, left_out: 3 }, "b failed again in round 1: it moved in round 2");
        assert_eq!(summary[1], RetryRound { attempt: 2, retried: 1, moved: 1, left_out: 3 });
        let earlier = earlier_reasons(&rounds);
        assert_eq!(earlier["b"], [Some("noAnswer".to_string()), Some("noAnswer".to_string())]);
        assert_eq!(earlier["c"], [Some("commandError:500".to_string())]);
        assert!(!earlier.contains_key("d"));
    }
}
