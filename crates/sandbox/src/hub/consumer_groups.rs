//! The consumer groups of a hub's built-in Event Hub-compatible endpoint (`events`), as ARM
//! manages them: `$Default` is always there and cannot be deleted; names are unique without
//! regard to case; a hub holds at most 20 (the documented limit of the standard tiers). Kept in
//! the hub's saved state (hub/persist.rs).

use crate::live::new_etag;
use std::sync::Mutex;

/// The built-in endpoint's one name.
pub const ENDPOINT: &str = "events";
pub const DEFAULT_GROUP: &str = "$Default";
/// Consumer groups a hub may have on its built-in endpoint.
pub const MAX_GROUPS: usize = 20;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConsumerGroup {
    pub name: String,
    /// RFC 1123, as ARM answers it.
    pub created: String,
    pub etag: String,
}

impl ConsumerGroup {
    fn new(name: &str) -> ConsumerGroup {
        ConsumerGroup { name: name.into(), created: chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(), etag: new_etag() }
    }
}

/// Why a change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    TooMany,
    DefaultIsPermanent,
}

pub struct ConsumerGroups(Mutex<Vec<ConsumerGroup>>);

impl Default for ConsumerGroups {
    fn default() -> ConsumerGroups {
        ConsumerGroups(Mutex::new(vec![ConsumerGroup::new(DEFAULT_GROUP)]))
    }
}

impl ConsumerGroups {
    /// The groups of a saved state (`$Default` added back if the file had none).
    pub fn restored(mut groups: Vec<ConsumerGroup>) -> ConsumerGroups {
        if !groups.iter().any(|g| g.name == DEFAULT_GROUP) {
            groups.insert(0, ConsumerGroup::new(DEFAULT_GROUP));
        }
        ConsumerGroups(Mutex::new(groups))
    }

    pub fn list(&self) -> Vec<ConsumerGroup> {
        self.0.lock().unwrap().clone()
    }

    pub fn get(&self, name: &str) -> Option<ConsumerGroup> {
        self.0.lock().unwrap().iter().find(|g| g.name.eq_ignore_ascii_case(name)).cloned()
    }

    /// Creates the group, or answers the one already of that name (a PUT is idempotent).
    pub fn create(&self, name: &str) -> Result<ConsumerGroup, Refused> {
        let mut groups = self.0.lock().unwrap();
        if let Some(existing) = groups.iter().find(|g| g.name.eq_ignore_ascii_case(name)) {
            return Ok(existing.clone());
        }
        if groups.len() >= MAX_GROUPS {
            return Err(Refused::TooMany);
        }
        let group = ConsumerGroup::new(name);
        groups.push(group.clone());
        Ok(group)
    }

    pub fn delete(&self, name: &str) -> Result<(), Refused> {
        if name.eq_ignore_ascii_case(DEFAULT_GROUP) {
            return Err(Refused::DefaultIsPermanent);
        }
        let mut groups = self.0.lock().unwrap();
        let at = groups.iter().position(|g| g.name.eq_ignore_ascii_case(name)).ok_or(Refused::NotFound)?;
        groups.remove(at);
        Ok(())
    }
}

/// A name Event Hubs takes for a consumer group: 1 to 50 letters, digits, `.`, `_`, `-`, starting
/// and ending with a letter or digit (`$Default` is the built-in one's).
pub fn valid_name(name: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (1..=50).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_always_there_and_names_are_unique_without_case() {
        let groups = ConsumerGroups::default();
        assert_eq!(groups.list().iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["$Default"]);
        let made = groups.create("migration").unwrap();
        assert_eq!(groups.create("MIGRATION").unwrap(), made, "a second PUT answers the same group");
        assert_eq!(groups.delete("$default"), Err(Refused::DefaultIsPermanent));
        assert_eq!(groups.delete("Migration"), Ok(()));
        assert_eq!(groups.delete("migration"), Err(Refused::NotFound));
        for i in 1..MAX_GROUPS {
            groups.create(&format!("g{i}")).unwrap();
        }
        assert_eq!(groups.create("one-too-many"), Err(Refused::TooMany));
        assert_eq!(ConsumerGroups::restored(vec![]).list()[0].name, "$Default");
    }

    #[test]
    fn names_follow_event_hubs_rules() {
        assert!(valid_name("a") && valid_name("app-1.reader_2") && !valid_name("-a") && !valid_name("a b") && !valid_name(&"a".repeat(51)) && !valid_name(""));
    }
}
