//! Blob storage is Microsoft's Azurite (npm `azurite`), the real emulator, run as a child process:
//! blob service only, over HTTPS on a certificate the sandbox CA issues, on a free loopback port,
//! its data in the state folder. Azurite itself checks every SAS (signature, permissions, expiry),
//! which is the point: the sandbox never re-implements Storage's authorisation.
//!
//! Node and the package are needed: IOTM_AZURITE_BIN naming an `azurite-blob` launcher by its
//! absolute path, or, in a debug build only, this repository's `npm ci` in tests/azurite; without
//! them the blob-backed features say why they cannot work. Never searched for (see `find_launcher`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::storage::accounts::{AccountKeys, DEV_ACCOUNT as ACCOUNT, WELL_KNOWN_KEY};
/// Names the `azurite-blob` launcher, by an absolute path: the only way a release build runs Azurite.
pub const BIN_ENV: &str = "IOTM_AZURITE_BIN";
/// How long a blob-backed call waits for a freshly started Azurite to listen.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// Whether `Sandbox::start` runs Azurite. Off for sandboxes embedded in Rust tests (dozens run in
/// parallel and none of them needs storage); the binary and the in-app sandbox ask for it.
#[derive(Debug, Clone, Default)]
pub enum Launch {
    #[default]
    Off,
    /// Start the configured launcher (IOTM_AZURITE_BIN; in a debug build, else the repository's
    /// tests/azurite).
    Auto,
}

/// A running Azurite, or why there is none.
pub enum Storage {
    Running(Arc<Azurite>),
    Unavailable(String),
}

impl Storage {
    /// The running emulator, or the reason the blob-backed features cannot work.
    pub fn running(&self) -> Result<Arc<Azurite>, String> {
        match self {
            Storage::Running(a) => Ok(a.clone()),
            Storage::Unavailable(why) => Err(why.clone()),
        }
    }
}

pub struct Azurite {
    /// `https://127.0.0.1:<port>`: path-style, the account is the first path segment.
    pub url: String,
    port: u16,
    /// Every account Azurite serves and its two keys (handed to it through AZURITE_ACCOUNTS),
    /// so both keys ARM lists for an account really work.
    accounts: Mutex<AccountKeys>,
    /// Trusts the sandbox CA only: the sandbox reaches no storage but its own.
    pub tls: Arc<rustls::ClientConfig>,
    /// How to start Azurite again when a scenario brings accounts it does not serve yet.
    start: Mutex<Command>,
    state_dir: PathBuf,
    child: Mutex<Option<Child>>,
    ready: Mutex<bool>,
}

impl Azurite {
    /// An account's blob endpoint, as ARM reports it (`https://127.0.0.1:<port>/<account>`).
    pub fn account_url(&self, account: &str) -> String {
        format!("{}/{account}", self.url)
    }

    /// The account's keys (key1, key2), or None for an account Azurite does not serve.
    pub fn keys(&self, account: &str) -> Option<[String; 2]> {
        self.accounts.lock().unwrap().get(account).cloned()
    }

    /// Makes Azurite serve `names` too: new keys are minted and kept, and Azurite, which reads
    /// its accounts only when it starts, is started again on the same port and data (a scenario
    /// loaded later may place accounts the first one did not).
    pub fn serve_accounts(&self, names: &[String]) -> Result<(), String> {
        let mut accounts = self.accounts.lock().unwrap();
        if accounts.knows(names) {
            return Ok(());
        }
        accounts.add(names);
        accounts.save(&self.state_dir).map_err(|e| format!("saving the storage account keys in {}: {e}", self.state_dir.display()))?;
        self.stop();
        let mut command = self.start.lock().unwrap();
        command.env("AZURITE_ACCOUNTS", accounts.azurite_accounts());
        let child = command.spawn().map_err(|e| format!("Azurite did not start again: {e}"))?;
        *self.ready.lock().unwrap() = false;
        *self.child.lock().unwrap() = Some(child);
        Ok(())
    }

    /// Waits (once) until Azurite accepts connections, so a job created right after start works.
    pub async fn ready(&self) -> Result<(), String> {
        if *self.ready.lock().unwrap() {
            return Ok(());
        }
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            if let Some(status) = self.child.lock().unwrap().as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return Err(format!("Azurite exited ({status}) before it listened on port {}", self.port));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                *self.ready.lock().unwrap() = true;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("Azurite did not listen on port {} within {}s", self.port, READY_WITHIN.as_secs()))
    }

    /// Asks Azurite to shut down (SIGTERM: it then writes its metadata to disk, so the containers
    /// and blobs made just before a restart are there after it), and kills it if it has not
    /// ended within a few seconds.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            #[cfg(unix)]
            {
                // SAFETY: kill(2) on the PID of a child this process spawned and has not reaped.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `azurite-blob` launcher: the one IOTM_AZURITE_BIN names, else (debug builds only) this
/// repository's tests/azurite install. Nothing is searched for: the sandbox runs in the released
/// app, which may start from a folder other users can write to (an AppImage under /tmp, `C:\`),
/// and a launcher found by walking up from the executable, or relative to the working folder,
/// would run whatever they planted there.
fn find_launcher() -> Result<PathBuf, String> {
    launcher(std::env::var_os(BIN_ENV))
}

fn launcher(configured: Option<std::ffi::OsString>) -> Result<PathBuf, String> {
    if let Some(bin) = configured {
        let bin = PathBuf::from(bin);
        return match bin.is_absolute() {
            false => Err(format!("{BIN_ENV} must name the azurite-blob launcher by an absolute path, not {}", bin.display())),
            true if bin.is_file() => Ok(bin),
            true => Err(format!("{BIN_ENV} names {}, which is not a file", bin.display())),
        };
    }
    installs().into_iter().find(|p| p.is_file()).ok_or_else(|| match cfg!(debug_assertions) {
        true => format!("Azurite is not installed: run `npm ci` in tests/azurite (or set {BIN_ENV} to the absolute path of an azurite-blob launcher)"),
        false => format!("blob storage needs Azurite: set {BIN_ENV} to the absolute path of its azurite-blob launcher"),
    })
}

/// Where an install is looked for when none is configured: in a debug build, the repository's
/// own, by the path fixed when it was compiled (the developer's checkout: `./x run`, the tests);
/// in a release build, nowhere.
fn installs() -> Vec<PathBuf> {
    match cfg!(debug_assertions) {
        true => vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/azurite/node_modules/.bin/azurite-blob")],
        false => vec![],
    }
}

pub(crate) fn client_tls(state_dir: &Path) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(state_dir.join(crate::tls::CA_CERT_FILE)).map_err(|e| format!("the sandbox CA certificate: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Starts Azurite without waiting for it to listen (blob-backed calls wait through `ready`), so
/// the sandbox's own start is not slowed by Node's.
pub fn start(state_dir: &Path, launch: &Launch, accounts: &[String]) -> Storage {
    match launch {
        Launch::Off => Storage::Unavailable("this sandbox was started without blob storage (Azurite)".into()),
        Launch::Auto => match spawn(state_dir, accounts) {
            Ok(azurite) => {
                tracing::info!(url = %azurite.url, "Azurite (blob storage) starting");
                Storage::Running(Arc::new(azurite))
            }
            Err(why) => {
                tracing::warn!("no blob storage: {why}");
                Storage::Unavailable(why)
            }
        },
    }
}

/// The launcher is a Node script (`#!/usr/bin/env node`): without Node on PATH it would start and
/// die at once, so say so up front.
fn node_on_path() -> Result<(), String> {
    let names: &[&str] = if cfg!(windows) { &["node.exe", "node.cmd"] } else { &["node"] };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .any(|dir| names.iter().any(|n| dir.join(n).is_file()))
        .then_some(())
        .ok_or_else(|| "Node.js is not on PATH, and Azurite runs on it".to_string())
}

fn spawn(state_dir: &Path, names: &[String]) -> Result<Azurite, String> {
    let launcher = find_launcher()?;
    node_on_path()?;
    let (cert, key) = crate::tls::issue_localhost_certificate(state_dir, "azurite").map_err(|e| e.to_string())?;
    let tls = client_tls(state_dir)?;
    let data = state_dir.join("azurite");
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let mut accounts = AccountKeys::load(state_dir);
    accounts.add(names);
    accounts.save(state_dir).map_err(|e| format!("saving the storage account keys in {}: {e}", state_dir.display()))?;
    let mut command = Command::new(&launcher);
    command
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--skipApiVersionCheck", "--disableTelemetry", "--loose", "--silent"])
        .arg("--location")
        .arg(&data)
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .env("AZURITE_ACCOUNTS", accounts.azurite_accounts())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    die_with_parent(&mut command);
    let child = command.spawn().map_err(|e| format!("{} did not start (is Node installed?): {e}", launcher.display()))?;
    Ok(Azurite {
        url: format!("https://127.0.0.1:{port}"),
        port,
        accounts: Mutex::new(accounts),
        tls: Arc::new(tls),
        start: Mutex::new(command),
        state_dir: state_dir.to_path_buf(),
        child: Mutex::new(Some(child)),
        ready: Mutex::new(false),
    })
}

/// A sandbox killed outright (SIGKILL, a crashed test run) must not leave Node behind.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's own install, named at build time; never a folder found at run time.
    fn repository_install() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/azurite/node_modules/.bin/azurite-blob")
    }

    #[test]
    fn no_folder_above_the_executable_is_searched_for_azurite() {
        // A release app runs from anywhere (an AppImage from under /tmp): a launcher another user
        // plants in a folder above it must never be run. Only the build-time path of this
        // repository's own install, and only in debug builds, is looked at without configuration.
        let expected: Vec<PathBuf> = if cfg!(debug_assertions) { vec![repository_install()] } else { vec![] };
        assert_eq!(installs(), expected);
    }

    #[test]
    fn a_configured_launcher_must_be_an_absolute_path() {
        // Relative to the working directory, which is whatever folder the app was started from.
        let relative = std::ffi::OsString::from("src/lib.rs");
        assert!(Path::new(&relative).exists(), "the test needs a relative path that exists: run it from crates/sandbox");
        let refused = launcher(Some(relative)).unwrap_err();
        assert!(refused.contains("absolute"), "{refused}");
        let absolute = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
        assert_eq!(launcher(Some(absolute.clone().into_os_string())).unwrap(), absolute);
    }
}
