//! Runs the sandbox cloud inside the app while the Sandbox environment is chosen, so a new user can
//! rehearse with no subscription. Started in the background (the window does not wait for it) and
//! stopped when the user switches to a real cloud. Its state is kept in its state folder across
//! restarts, so a rehearsal interrupted by closing the app resumes against the same cloud;
//! "Reset the sandbox" in Settings forgets it.

use iotm_sandbox::scenario::Scenario;
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The in-app sandbox: with Azurite as blob storage (import/export jobs) when IOTM_AZURITE_BIN
/// names its launcher by an absolute path (a debug build also takes the repository's
/// tests/azurite; never searched for: the app may run from a folder other users can write to).
/// The control API (minted secrets, faults, scenario loads) only in a debug build, where the
/// end-to-end tests drive it: a released app has no use for it, so it does not serve it at all.
fn config(state_dir: PathBuf) -> SandboxConfig {
    let config = SandboxConfig::new(state_dir, Scenario::builtin()).with_azurite().persistent();
    if cfg!(debug_assertions) {
        config.with_control_api()
    } else {
        config
    }
}

/// The control token, for the end-to-end tests (debug builds only), in `control-token` of the
/// sandbox's state folder, readable by this user alone; never in the log.
fn write_control_token(state_dir: &std::path::Path, token: Option<&str>) {
    let Some(token) = token else { return };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(state_dir.join(CONTROL_TOKEN_FILE)).and_then(|mut f| std::io::Write::write_all(&mut f, token.as_bytes()));
    if let Err(e) = written {
        tracing::warn!("the sandbox's control token was not written: {e}");
    }
}

const CONTROL_TOKEN_FILE: &str = "control-token";

enum Slot {
    Off,
    Starting,
    Running(Box<Sandbox>),
    Failed(String),
}

#[derive(Clone)]
pub struct SandboxHost {
    state_dir: PathBuf,
    slot: Arc<Mutex<Slot>>,
}

impl SandboxHost {
    pub fn new(state_dir: PathBuf) -> SandboxHost {
        SandboxHost { state_dir, slot: Arc::new(Mutex::new(Slot::Off)) }
    }

    pub fn start(&self) {
        {
            let mut slot = self.slot.lock().unwrap();
            if matches!(*slot, Slot::Starting | Slot::Running(_)) {
                return;
            }
            *slot = Slot::Starting;
        }
        let (slot, state_dir) = (self.slot.clone(), self.state_dir.clone());
        tauri::async_runtime::spawn(async move {
            let started = Sandbox::start(config(state_dir.clone())).await;
            let mut slot = slot.lock().unwrap();
            match started {
                // Switched away while starting: do not leave it running.
                Ok(sandbox) if !matches!(*slot, Slot::Starting) => sandbox.stop(),
                Ok(sandbox) => {
                    write_control_token(&state_dir, sandbox.control_token.as_deref());
                    tracing::info!(url = %sandbox.base_url, "sandbox cloud started");
                    *slot = Slot::Running(Box::new(sandbox));
                }
                Err(e) => {
                    tracing::error!("sandbox cloud did not start: {e}");
                    *slot = Slot::Failed(e.to_string());
                }
            }
        });
    }

    pub fn stop(&self) {
        if let Slot::Running(sandbox) = std::mem::replace(&mut *self.slot.lock().unwrap(), Slot::Off) {
            tracing::info!("sandbox cloud stopped");
            sandbox.stop();
        }
    }

    /// Forgets the saved state: a running sandbox stops without saving (the caller starts it
    /// again, from the built-in scenario); one not running starts fresh next time. A start under
    /// way is waited for first, so it cannot write the old state back.
    pub fn reset(&self) -> Result<(), String> {
        let _ = self.wait_url(Duration::from_secs(30));
        let previous = std::mem::replace(&mut *self.slot.lock().unwrap(), Slot::Off);
        let forgotten = match previous {
            Slot::Running(sandbox) => sandbox.reset(&self.state_dir),
            _ => iotm_sandbox::persist::forget(&self.state_dir).map(|_| ()),
        };
        forgotten.map_err(|e| format!("its saved state in {} could not be deleted: {e}", self.state_dir.display()))?;
        tracing::info!("sandbox cloud reset: its saved state is forgotten");
        Ok(())
    }

    /// Its URL and CA certificate file, once running (waiting up to `timeout` while it starts).
    pub fn wait_profile(&self, timeout: Duration) -> Result<(String, PathBuf), String> {
        let url = self.wait_url(timeout)?;
        match &*self.slot.lock().unwrap() {
            Slot::Running(sandbox) => Ok((url, sandbox.ca_cert_path.clone())),
            _ => Err("the sandbox cloud stopped".into()),
        }
    }

    /// Blocks (up to `timeout`) while it is starting; then its URL, or why it is not running.
    pub fn wait_url(&self, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match &*self.slot.lock().unwrap() {
                Slot::Running(sandbox) => return Ok(sandbox.base_url.clone()),
                Slot::Failed(e) => return Err(e.clone()),
                Slot::Off => return Err("the sandbox cloud is not running".into()),
                Slot::Starting if Instant::now() >= deadline => return Err("the sandbox cloud is still starting".into()),
                Slot::Starting => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_build_of_the_app_does_not_serve_the_control_api() {
        // The debug build serves it (the end-to-end tests drive the in-app sandbox through it).
        assert_eq!(config(PathBuf::from("state")).control_api, cfg!(debug_assertions));
    }

    #[test]
    fn the_in_app_sandbox_keeps_its_state_across_restarts() {
        assert!(config(PathBuf::from("state")).persistent);
    }
}
