//! Which keys a migration has already met: a wizard that must delete from a target what its state
//! lacks (Hub state's Replace) asks the journal a page of keys at a time, so the state's million
//! device IDs stay on disk rather than in memory.

use super::{sql, Journal, JournalError};
use rusqlite::params;
use std::collections::HashSet;

impl Journal {
    /// The `keys` the migration has an item of `kind` for.
    pub fn known_items(&self, id: &str, kind: &str, keys: &[String]) -> Result<HashSet<String>, JournalError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached("SELECT 1 FROM items WHERE migration_id = ?1 AND kind = ?2 AND key = ?3").map_err(sql)?;
        let mut known = HashSet::new();
        for key in keys {
            if statement.exists(params![id, kind, key]).map_err(sql)? {
                known.insert(key.clone());
            }
        }
        Ok(known)
    }
}
