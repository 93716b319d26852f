//! The state file: written whole to a temporary file, synced and renamed over the last one (a
//! crash leaves the old state or the new, never half of one), readable by this user alone (it
//! holds the sandbox's keys); read back, checked and turned into live services on start.

use super::{fingerprint, hosts, Loaded, Ports, Restored, Snapshot, FORMAT};
use crate::central::app::LiveCentralApp;
use crate::cloud::Cloud;
use crate::dps::state::Dps;
use crate::hub::state::Hub;
use crate::scenario::Scenario;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The state file's name in the sandbox's state folder.
pub const STATE_FILE: &str = "sandbox-state.json";

/// Deletes the saved state ("Reset the sandbox"): true when there was one.
pub fn forget(state_dir: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(state_dir.join(STATE_FILE)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Where one sandbox's state is kept, for the scenario it was configured with.
pub struct Store {
    path: PathBuf,
    fingerprint: String,
    /// SHA-256 of the bytes last written (or read): an unchanged state is not written again.
    last: Mutex<Option<[u8; 32]>>,
}

/// Why a saved state was not used.
struct SetAside(String);

impl Store {
    pub fn new(state_dir: &Path, configured: &Scenario) -> Store {
        Store { path: state_dir.join(STATE_FILE), fingerprint: fingerprint(configured), last: Mutex::new(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the cloud's state if it changed since the last write. Returns the bytes written
    /// (0 when unchanged).
    pub fn save(&self, cloud: &Cloud, ports: Ports) -> std::io::Result<usize> {
        use sha2::Digest;
        let bytes = serde_json::to_vec(&Snapshot::of(cloud, &self.fingerprint, ports)).map_err(std::io::Error::other)?;
        let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        let mut last = self.last.lock().unwrap();
        if *last == Some(digest) {
            return Ok(0);
        }
        write_atomically(&self.path, &bytes)?;
        *last = Some(digest);
        Ok(bytes.len())
    }

    /// The saved state as live services, or None: none saved, or set aside (logged) because it
    /// cannot be used.
    pub fn load(&self) -> Option<Loaded> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.set_aside(SetAside(format!("it could not be read: {e}")));
                return None;
            }
        };
        match self.parse(&bytes) {
            Ok(loaded) => {
                use sha2::Digest;
                *self.last.lock().unwrap() = Some(sha2::Sha256::digest(&bytes).into());
                Some(loaded)
            }
            Err(why) => {
                self.set_aside(why);
                None
            }
        }
    }

    fn parse(&self, bytes: &[u8]) -> Result<Loaded, SetAside> {
        let mut value: Value = serde_json::from_slice(bytes).map_err(|e| SetAside(format!("it is not valid JSON ({e})")))?;
        match value["format"].as_u64() {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(f) => return Err(SetAside(format!("it is in format {f}, and this sandbox reads format {FORMAT}"))),
            None => return Err(SetAside("it names no format".into())),
        }
        if value["scenario_fingerprint"] != self.fingerprint.as_str() {
            return Err(SetAside("it was saved for another scenario than the one configured".into()));
        }
        // Each hub and DPS takes its port again, or another one, before the hosts are read.
        let mut renames = Vec::new();
        let mut reserve = |list: &str| -> Result<Vec<std::net::TcpListener>, SetAside> {
            let hosts: Vec<String> = value[list].as_array().into_iter().flatten().filter_map(|r| r["host"].as_str().map(str::to_string)).collect();
            let mut listeners = Vec::new();
            for host in hosts {
                let (listener, new) = hosts::reserve(&host).map_err(|e| SetAside(format!("no port could be reserved for {host}: {e}")))?;
                if new != host {
                    renames.push((host, new));
                }
                listeners.push(listener);
            }
            Ok(listeners)
        };
        let hub_listeners = reserve("hubs")?;
        let dps_listeners = reserve("provisioning_services")?;
        hosts::rewrite(&mut value, &renames);
        let snapshot: Snapshot = serde_json::from_value(value).map_err(|e| SetAside(format!("it does not have the shape of format {FORMAT} ({e})")))?;
        if snapshot.hubs.len() != hub_listeners.len() || snapshot.provisioning_services.len() != dps_listeners.len() {
            return Err(SetAside("a hub or DPS has no host".into()));
        }
        let hubs = snapshot.hubs.into_iter().map(|r| Arc::new(Hub::from_record(r))).zip(hub_listeners).collect();
        let dps = snapshot.provisioning_services.into_iter().map(|r| Arc::new(Dps::from_record(r))).zip(dps_listeners).collect();
        let central = snapshot
            .central_apps
            .into_iter()
            .map(|r| LiveCentralApp::from_record(r).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SetAside(format!("a Central app's state is not valid: {e}")))?;
        let restored =
            Restored { scenario: snapshot.scenario, clock_offset: snapshot.clock_offset, quotas: snapshot.quotas, hubs, dps, central, arm: snapshot.arm };
        Ok(Loaded { restored, ports: snapshot.ports })
    }

    /// Renames an unusable state file out of the way (kept, for a bug report) and says why.
    fn set_aside(&self, why: SetAside) {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let aside = self.path.with_extension(format!("json.set-aside-{stamp}"));
        match std::fs::rename(&self.path, &aside) {
            Ok(()) => tracing::warn!(
                file = %self.path.display(), kept_as = %aside.display(),
                "the sandbox's saved state was set aside because {}; the sandbox starts afresh from its scenario", why.0
            ),
            Err(e) => tracing::warn!(
                file = %self.path.display(),
                "the sandbox's saved state cannot be used because {} (and could not be set aside: {e}); the sandbox starts afresh from its scenario", why.0
            ),
        }
    }
}

/// Temp file beside the target (same file system), synced, renamed over it, folder synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("the state file has no folder"))?;
    std::fs::create_dir_all(dir)?;
    let temp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
