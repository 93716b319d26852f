//! The OS keyring for real on Linux, not the keyring crate's mock: a refresh token stored through
//! `KeyringStore` at sign-in is read back, read again by a new process (an app restart) and is gone
//! after sign-out — in GNOME Keyring's Secret Service, on a session bus the test brings up itself.
//!
//! The keyring crate connects to the session bus it finds in the environment, so the bus must exist
//! before the process starts: the test runs this binary again under `dbus-run-session` (the
//! `session` step), which starts `gnome-keyring-daemon --unlock` with a password on stdin and runs
//! each app start as a process of its own. Everything lives in a private HOME and XDG_RUNTIME_DIR,
//! so a developer's own keyring is never touched. Missing packages or a daemon that does not start
//! fail the test with the reason; it never skips.
#![cfg(target_os = "linux")]

use iotm_core::accounts::{refresh_token_name, Account, Accounts, RegistrationKind};
use iotm_core::environment::Environment;
use iotm_core::secrets::{KeyringStore, SecretStore};
use iotm_core::session::Session;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// This test's name, for running this binary again on exactly this test.
const TEST_NAME: &str = "a_refresh_token_in_gnome_keyring_outlives_an_app_restart_and_is_gone_after_sign_out";
/// Which step a process of this binary is (unset: the test as the runner started it).
const STEP: &str = "IOTM_KEYRING_TEST_STEP";
const REFRESH_TOKEN: &str = "0.AQ-refresh-token-kept-by-gnome-keyring";
/// The whole run, daemon start included, takes about a second; a hang (a keyring prompt no one
/// answers) is cut off here.
const DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn a_refresh_token_in_gnome_keyring_outlives_an_app_restart_and_is_gone_after_sign_out() {
    match std::env::var(STEP).as_deref() {
        Err(_) => in_a_session_bus_of_its_own(),
        Ok("session") => with_an_unlocked_keyring(),
        Ok("first-run") => first_run_signs_in(),
        Ok("after-restart") => after_restart_the_token_is_there_and_sign_out_removes_it(),
        Ok("after-sign-out") => after_sign_out_nothing_is_left(),
        Ok(other) => panic!("unknown {STEP} {other}"),
    }
}

/// The runner's process: a private home, then this binary again under `dbus-run-session`.
fn in_a_session_bus_of_its_own() {
    for (tool, package) in [("dbus-run-session", "dbus-daemon"), ("dbus-send", "dbus-bin"), ("gnome-keyring-daemon", "gnome-keyring")] {
        assert!(on_path(tool), "`{tool}` is not installed: install the Debian package {package} (`./x test` does)");
    }
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut bus = Command::new("dbus-run-session");
    bus.arg("--").arg(std::env::current_exe().unwrap()).args(["--exact", TEST_NAME, "--nocapture"]);
    bus.env(STEP, "session")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("XDG_RUNTIME_DIR", &runtime)
        // Never the developer's own daemon, whichever way it would be found.
        .env_remove("GNOME_KEYRING_CONTROL")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    // Its own process group, so a hang is ended with everything it started.
    bus.process_group(0);
    run_to_the_end(bus, "the session bus with the steps");
    assert!(home.path().join("data/keyrings").read_dir().unwrap().next().is_some(), "GNOME Keyring wrote no keyring file in the private home");
}

/// Inside the bus: GNOME Keyring unlocked, then three app starts, each a process of its own.
fn with_an_unlocked_keyring() {
    let mut daemon = Daemon(
        Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("gnome-keyring-daemon starts"),
    );
    // With --unlock the daemon reads the login keyring's password from stdin (a new keyring is
    // created with it) until the pipe closes.
    daemon.0.stdin.take().unwrap().write_all(b"iotm-test-keyring-password").unwrap();
    let started = Instant::now();
    while !secret_service_on_the_bus() {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            panic!("gnome-keyring-daemon --foreground --unlock --components=secrets exited ({status}) before it served org.freedesktop.secrets");
        }
        assert!(started.elapsed() < Duration::from_secs(20), "gnome-keyring-daemon did not take the name org.freedesktop.secrets on the session bus in 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("GNOME Keyring serves org.freedesktop.secrets after {:?}", started.elapsed());
    for step in ["first-run", "after-restart", "after-sign-out"] {
        let mut app = Command::new(std::env::current_exe().unwrap());
        app.args(["--exact", TEST_NAME, "--nocapture"]).env(STEP, step);
        run_to_the_end(app, step);
        eprintln!("app run `{step}` passed");
    }
}

/// The keyring daemon this test started, ended with the test whether it passes or not.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sign-in keeps the refresh token under the account's name, as `Session::sign_in` does.
fn first_run_signs_in() {
    let store = keyring_as_the_app_opens_it();
    let mut accounts = Accounts::default();
    accounts.signed_in(grace());
    accounts.save(&config_dir()).unwrap();
    store.put(&grace_token_name(), REFRESH_TOKEN).unwrap();
    assert_eq!(store.get(&grace_token_name()).unwrap().as_deref(), Some(REFRESH_TOKEN));
}

fn after_restart_the_token_is_there_and_sign_out_removes_it() {
    let store = keyring_as_the_app_opens_it();
    assert_eq!(store.get(&grace_token_name()).unwrap().as_deref(), Some(REFRESH_TOKEN), "the refresh token stored before the restart is not in the keyring");
    let session = Session::open(&config_dir(), Arc::new(store), None).unwrap();
    session.sign_out(&grace().id).unwrap();
    assert_eq!(KeyringStore.get(&grace_token_name()).unwrap(), None, "sign-out left the refresh token in the keyring");
}

fn after_sign_out_nothing_is_left() {
    let store = keyring_as_the_app_opens_it();
    assert_eq!(store.get(&grace_token_name()).unwrap(), None, "the signed-out account's refresh token came back after a restart");
    assert!(Accounts::load(&config_dir()).unwrap().accounts.is_empty());
}

/// What the app does at start: a keyring only if it answers a write, read and delete.
fn keyring_as_the_app_opens_it() -> KeyringStore {
    let store = KeyringStore::probe().unwrap_or_else(|e| panic!("GNOME Keyring did not answer the probe: {e}"));
    assert!(store.persistent());
    store
}

fn grace() -> Account {
    Account {
        id: Account::id_for(Environment::Sandbox, "grace-oid", "contoso-tenant"),
        username: "grace@contoso.example".into(),
        display_name: "Grace".into(),
        tenant_id: "contoso-tenant".into(),
        environment: Environment::Sandbox,
        client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
        registration: RegistrationKind::Desktop,
        redirect_uri: "http://localhost:3000".into(),
        session_only: false,
        authority: "https://localhost:8443/".into(),
    }
}

fn grace_token_name() -> String {
    refresh_token_name(&grace().id)
}

fn config_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("XDG_CONFIG_HOME").expect("XDG_CONFIG_HOME set by the test")).join("com.iotmigrator.desktop")
}

fn secret_service_on_the_bus() -> bool {
    let reply = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .output()
        .expect("dbus-send runs");
    assert!(reply.status.success(), "dbus-send could not reach the session bus: {}", String::from_utf8_lossy(&reply.stderr));
    String::from_utf8_lossy(&reply.stdout).contains("boolean true")
}

/// Runs a step to its end (its output goes to this test's), failing on its failure or a hang.
fn run_to_the_end(mut command: Command, what: &str) {
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what} failed ({status}); its output is above");
            return;
        }
        if started.elapsed() > DEADLINE {
            // The bus has a process group of its own (see above): end the group, then the child.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish in {DEADLINE:?}; its output is above");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| Path::new(&dir).join(tool).is_file()))
}
