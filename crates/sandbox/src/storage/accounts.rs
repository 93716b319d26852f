//! The storage accounts Azurite serves, with their keys: Azurite's own `devstoreaccount1` (its
//! well-known key first, so tools that know it keep working) and every account the scenario
//! places in ARM, so a client that follows ARM (endpoint, `listKeys`, `ListServiceSas`) gets in.
//! Keys are minted once per state folder and kept there (0600), so SAS URLs a journal holds stay
//! valid across restarts; Azurite learns them through `AZURITE_ACCOUNTS`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Azurite's well-known development account (public, in Azurite's own source).
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
pub const WELL_KNOWN_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const FILE: &str = "azurite-accounts.json";

/// Account name → its two keys (key1, key2), as `listKeys` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountKeys(BTreeMap<String, [String; 2]>);

impl AccountKeys {
    fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// The keys kept in the state folder (a missing or unreadable file is a fresh start).
    pub fn load(state_dir: &Path) -> AccountKeys {
        let saved: BTreeMap<String, [String; 2]> =
            std::fs::read(Self::path(state_dir)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
        let mut keys = AccountKeys(saved);
        keys.0.entry(DEV_ACCOUNT.into()).or_insert_with(|| [WELL_KNOWN_KEY.into(), crate::live::new_key()]);
        keys
    }

    /// Adds keys for the accounts not known yet; true when any was added.
    pub fn add(&mut self, names: &[String]) -> bool {
        let mut added = false;
        for name in names {
            if !self.0.contains_key(name) {
                self.0.insert(name.clone(), [crate::live::new_key(), crate::live::new_key()]);
                added = true;
            }
        }
        added
    }

    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        let path = Self::path(state_dir);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&path)?, &serde_json::to_vec(&self.0).map_err(std::io::Error::other)?)
    }

    pub fn get(&self, name: &str) -> Option<&[String; 2]> {
        self.0.get(name)
    }

    pub fn knows(&self, names: &[String]) -> bool {
        names.iter().all(|n| self.0.contains_key(n))
    }

    /// `name:key1:key2;…`, the form Azurite reads from AZURITE_ACCOUNTS.
    pub fn azurite_accounts(&self) -> String {
        self.0.iter().map(|(name, [k1, k2])| format!("{name}:{k1}:{k2}")).collect::<Vec<_>>().join(";")
    }
}

/// The storage accounts a scenario places in ARM.
pub fn scenario_accounts(scenario: &crate::scenario::Scenario) -> Vec<String> {
    scenario.subscriptions.iter().flat_map(|s| &s.resource_groups).flat_map(|rg| &rg.storage_accounts).map(|a| a.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_gets_two_keys_of_its_own_kept_in_the_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = AccountKeys::load(dir.path());
        assert_eq!(keys.get(DEV_ACCOUNT).unwrap()[0], WELL_KNOWN_KEY);
        assert!(keys.add(&["contosomigration".into()]));
        assert!(!keys.add(&["contosomigration".into()]), "an account known already keeps its keys");
        let [k1, k2] = keys.get("contosomigration").unwrap().clone();
        assert_ne!(k1, k2);
        assert_ne!(k1, WELL_KNOWN_KEY);
        keys.save(dir.path()).unwrap();
        assert_eq!(AccountKeys::load(dir.path()), keys, "a restart finds the same keys");
        let env = keys.azurite_accounts();
        assert!(env.contains(&format!("contosomigration:{k1}:{k2}")) && env.contains(&format!("{DEV_ACCOUNT}:{WELL_KNOWN_KEY}:")), "{env}");
    }
}
