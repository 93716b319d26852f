//! Runs the sandbox cloud inside the app while the Sandbox environment is chosen, so a new user can
//! rehearse with no subscription. Started in the background (the window does not wait for it) and
//! stopped when the user switches to a real cloud.

use iotm_sandbox::scenario::Scenario;
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

enum Slot {
    Off,
    Starting,
    Running(Sandbox),
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
            // With Azurite as blob storage (import/export jobs) when IOTM_AZURITE_BIN names its
            // launcher by an absolute path (a debug build also takes the repository's tests/azurite).
            // Never searched for: the app may run from a folder other users can write to.
            let started = Sandbox::start(SandboxConfig::new(state_dir, Scenario::builtin()).with_azurite()).await;
            let mut slot = slot.lock().unwrap();
            match started {
                // Switched away while starting: do not leave it running.
                Ok(sandbox) if !matches!(*slot, Slot::Starting) => sandbox.stop(),
                Ok(sandbox) => {
                    tracing::info!(url = %sandbox.base_url, "sandbox cloud started");
                    *slot = Slot::Running(sandbox);
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
