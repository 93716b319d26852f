//! Starting degraded instead of not at all. Release builds abort on a panic, so a saved file that
//! cannot be read must never stop the app at setup: the accounts and saved-connections files are
//! moved aside (kept beside the original, never deleted) and the app starts without them, and the
//! start-up checks say what was lost and where the copy is. The journal is the exception: it is
//! the record of what migrations did in the cloud, so it is never moved or replaced — the app opens
//! without it, and the Jobs page and every run command say why (a coded [`JournalUnavailable`]).

use crate::accounts::{Accounts, ACCOUNTS_FILE};
use crate::connections::CONNECTIONS_FILE;
use crate::journal::{Journal, JournalError};
use crate::runtime::Migrations;
use crate::secrets::SecretStore;
use crate::session::Session;
use crate::Coded;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A saved file that could not be used this start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The loader's code (`accounts.corrupt`, `connections.corrupt`, `io.failed`).
    pub code: &'static str,
    /// Why it could not be read.
    pub problem: String,
    /// What the app starts without.
    pub lost: &'static str,
    /// Where the unreadable file was kept; `None` when it could not be moved either.
    pub moved_to: Option<PathBuf>,
}

impl Recovered {
    /// One sentence for the start-up checks and the log.
    pub fn describe(&self) -> String {
        // The parser's own words end without a stop; the sentences after it need one between.
        let problem = self.problem.trim_end();
        let stop = if problem.ends_with(['.', '!', '?']) { "" } else { "." };
        match &self.moved_to {
            Some(copy) => format!("{problem}{stop} {} It was kept as {}.", self.lost, copy.display()),
            None => format!("{problem}{stop} {} It could not be moved aside either: sign-ins and connections made now last until the app closes.", self.lost),
        }
    }
}

/// `<file>.corrupt-<unix seconds>` beside `path`, as settings are kept: the person (or support)
/// can still read what was in it.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let moved_to = path.with_file_name(format!("{name}.corrupt-{seconds}"));
    std::fs::rename(path, &moved_to)?;
    Ok(moved_to)
}

const LOST_ACCOUNTS: &str = "The list of signed-in accounts starts empty: sign in again (your tokens stay in the system keyring).";
const LOST_SESSION: &str = "Accounts and saved connections cannot be read.";
const LOST_CONNECTIONS: &str = "The saved connection strings and API tokens are not listed: add them again (their secrets stay in the system keyring).";

/// Moves aside whichever of `accounts.json` and `connections.json` in `config_dir` cannot be read
/// (as their own loaders judge it), so the session opens without them.
pub fn recover_session_files(config_dir: &Path) -> Vec<Recovered> {
    let checks: [(&str, &'static str, Option<crate::Error>); 2] =
        [(ACCOUNTS_FILE, LOST_ACCOUNTS, Accounts::load(config_dir).err()), (CONNECTIONS_FILE, LOST_CONNECTIONS, crate::connections::load(config_dir).err())];
    checks
        .into_iter()
        .filter_map(|(file, lost, error)| {
            let error = error?;
            let moved_to = move_aside(&config_dir.join(file)).ok();
            Some(Recovered { code: error.code(), problem: error.to_string(), lost, moved_to })
        })
        .collect()
}

/// The session, whatever state its files are in, with what had to be set aside to open it. When
/// an unreadable file cannot even be moved, the session keeps its files in a folder of this run
/// only, so signing in still works (and is reported as not kept).
pub fn open_session(config_dir: &Path, secrets: Arc<dyn SecretStore>, keyring_problem: Option<String>) -> (Session, Vec<Recovered>) {
    let recovered = recover_session_files(config_dir);
    match Session::open(config_dir, secrets.clone(), keyring_problem.clone()) {
        Ok(session) => (session, recovered),
        Err(error) => {
            // A folder no one has made yet: nothing in it to misread, so opening cannot fail.
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let scratch = std::env::temp_dir().join(format!("iot-migrator-session-{}-{nanos}", std::process::id()));
            let session = Session::open(&scratch, secrets, keyring_problem).expect("a folder that does not exist holds no file to misread");
            let mut recovered = recovered;
            if recovered.iter().all(|r| r.moved_to.is_some()) {
                recovered.push(Recovered { code: "io.failed", problem: error.to_string(), lost: LOST_SESSION, moved_to: None });
            }
            (session, recovered)
        }
    }
}

/// The journal could not be used this start, so no migration can be listed, started, resumed or
/// retried. It carries the journal's own code (`journal.open_failed`, `journal.too_new`,
/// `journal.migration_failed`), which the UI already branches on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JournalUnavailable {
    code: &'static str,
    message: String,
    detail: String,
}

impl JournalUnavailable {
    fn new(error: &JournalError) -> JournalUnavailable {
        let detail = match error.code() {
            // It belongs to the newer app that wrote it; this one must not change it.
            "journal.too_new" => "The journal was left exactly as it is. Open it with the newer IoT Migrator that wrote it.",
            _ => "The journal was left where it is, unchanged, so no migration's record is lost. Close any other IoT Migrator (or iotm) using it, check the data folder's permissions and disk, then restart the app.",
        };
        JournalUnavailable {
            code: error.code(),
            message: format!("{error} Until it can be used, migrations cannot be listed, started, resumed or retried."),
            detail: detail.to_string(),
        }
    }
}

impl Coded for JournalUnavailable {
    fn code(&self) -> String {
        self.code.into()
    }
    fn detail(&self) -> Option<String> {
        Some(self.detail.clone())
    }
}

/// Every wizard's migrations over the journal at `path`, or why the journal cannot be used.
pub fn open_migrations(path: &Path) -> Result<Migrations, JournalUnavailable> {
    Journal::open(path).map(|journal| Migrations::new(Arc::new(journal))).map_err(|e| JournalUnavailable::new(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SessionStore;

    fn session_over(dir: &Path) -> (Session, Vec<Recovered>) {
        open_session(dir, Arc::new(SessionStore::default()), None)
    }

    #[test]
    fn a_corrupt_accounts_file_is_moved_aside_and_the_session_opens_without_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ACCOUNTS_FILE), "{\"accounts\": [ {\"id\": ").unwrap();
        let (session, recovered) = session_over(dir.path());
        assert!(session.view().accounts.is_empty(), "a usable session, with no accounts");
        let [report] = recovered.as_slice() else { panic!("one report: {recovered:?}") };
        let copy = report.moved_to.clone().expect("moved aside");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "{\"accounts\": [ {\"id\": ", "kept as it was");
        assert!(!dir.path().join(ACCOUNTS_FILE).exists());
        let said = report.describe();
        assert!(said.contains("accounts file") && said.contains("line 1") && said.contains("sign in again"), "{said}");
        assert!(said.contains(&copy.display().to_string()), "says where the copy is: {said}");
        assert!(said.contains(". The list of signed-in accounts starts empty"), "one sentence after another: {said}");
    }

    #[test]
    fn a_corrupt_connections_file_is_moved_aside_and_good_accounts_stay() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ACCOUNTS_FILE), r#"{"accounts": [], "current": null}"#).unwrap();
        std::fs::write(dir.path().join(CONNECTIONS_FILE), "[{\"id\": 3}]").unwrap();
        let (session, recovered) = session_over(dir.path());
        assert!(session.view().connections.is_empty());
        assert!(dir.path().join(ACCOUNTS_FILE).exists(), "a good file is left alone");
        let [report] = recovered.as_slice() else { panic!("one report: {recovered:?}") };
        assert!(report.describe().contains("saved connection"), "{}", report.describe());
        assert!(report.moved_to.as_ref().is_some_and(|p| p.exists()));
    }

    #[test]
    fn good_or_missing_files_are_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (_, recovered) = session_over(dir.path());
        assert!(recovered.is_empty(), "{recovered:?}");
    }

    #[test]
    fn a_journal_that_cannot_be_opened_is_a_coded_refusal_and_is_left_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::journal::JOURNAL_FILE);
        std::fs::write(&path, b"this is not a database, but a record someone may need").unwrap();
        let refusal = open_migrations(&path).err().expect("refused");
        let payload = refusal.to_payload();
        assert_eq!(payload.code, "journal.open_failed");
        assert!(payload.message.contains("cannot be listed, started, resumed or retried"), "{}", payload.message);
        assert!(payload.detail.is_some_and(|d| d.contains("left where it is")));
        assert_eq!(std::fs::read(&path).unwrap(), b"this is not a database, but a record someone may need");
    }

    #[test]
    fn a_journal_from_a_newer_app_is_refused_with_its_code_and_never_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::journal::JOURNAL_FILE);
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE from_the_future (x); INSERT INTO from_the_future VALUES (1);").unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let files = |d: &Path| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect::<std::collections::BTreeSet<_>>();
        let listed = files(dir.path());
        let refusal = open_migrations(&path).err().expect("refused");
        assert_eq!(refusal.code(), "journal.too_new");
        assert!(refusal.to_string().contains("newer IoT Migrator"), "{refusal}");
        assert!(refusal.detail().is_some_and(|d| d.contains("left exactly as it is")));
        assert!(std::fs::read(&path).unwrap() == before, "not a byte of it changed");
        assert_eq!(files(dir.path()), listed, "nothing made or moved beside it");
    }
}
