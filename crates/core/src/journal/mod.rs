//! The durable journal every wizard writes (SQLite, WAL, in the app's data folder): a migration is
//! its plan plus steps. Each side effect is journaled before (its intent) and after (its outcome),
//! so after a crash the engine knows what was done, what was not, and what was under way; the
//! identifiers of things a migration creates (job IDs, group names) are minted once and kept here,
//! so repeating a step never creates a duplicate. Items of any kind (devices, modules, import lines,
//! ARM resources) keep their states and reasons; checkpoints keep where long work is.

mod lookup;
pub mod schema;

use crate::runtime::ItemRow;
use crate::wizards::WizardId;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use ts_rs::TS;

pub const JOURNAL_FILE: &str = "journal.db";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("The journal {path} could not be opened: {message}")]
    Open { path: PathBuf, message: String },
    #[error("The journal {path}: {source}")]
    Schema { path: PathBuf, source: schema::SchemaError },
    #[error("The journal refused a write: {0}")]
    Sql(String),
    #[error("No migration {0} in the journal.")]
    NotFound(String),
    #[error("The plan holds a secret (a key, token or signature); plans are kept in clear, so secrets must stay out of them.")]
    SecretInPlan,
    #[error("The migration {id} was made by a wizard this version does not know ({wizard}); update IoT Migrator to open it.")]
    UnknownWizard { id: String, wizard: String },
}

impl JournalError {
    pub fn code(&self) -> &'static str {
        match self {
            JournalError::Open { .. } => "journal.open_failed",
            JournalError::Schema { source: schema::SchemaError::TooNew { .. }, .. } => "journal.too_new",
            JournalError::Schema { .. } => "journal.migration_failed",
            JournalError::Sql(_) => "journal.write_failed",
            JournalError::NotFound(_) => "journal.not_found",
            JournalError::SecretInPlan => "journal.secret_in_plan",
            JournalError::UnknownWizard { .. } => "journal.unknown_wizard",
        }
    }

    pub const CODES: &'static [&'static str] = &[
        "journal.open_failed",
        "journal.too_new",
        "journal.migration_failed",
        "journal.write_failed",
        "journal.not_found",
        "journal.secret_in_plan",
        "journal.unknown_wizard",
    ];
}

fn sql(e: rusqlite::Error) -> JournalError {
    JournalError::Sql(e.to_string())
}

/// A write about migration `id`: a foreign-key refusal means there is no such migration.
fn sql_of(id: &str, e: rusqlite::Error) -> JournalError {
    match e {
        rusqlite::Error::SqliteFailure(ref f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => JournalError::NotFound(id.into()),
        e => sql(e),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum MigrationState {
    Planned,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl MigrationState {
    fn as_str(self) -> &'static str {
        match self {
            MigrationState::Planned => "planned",
            MigrationState::Running => "running",
            MigrationState::Completed => "completed",
            MigrationState::Failed => "failed",
            MigrationState::Cancelled => "cancelled",
        }
    }
    fn parse(text: &str) -> MigrationState {
        match text {
            "running" => MigrationState::Running,
            "completed" => MigrationState::Completed,
            "failed" => MigrationState::Failed,
            "cancelled" => MigrationState::Cancelled,
            _ => MigrationState::Planned,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSummary {
    pub id: String,
    pub wizard: WizardId,
    pub title: String,
    pub state: MigrationState,
    pub created_at: String,
    pub updated_at: String,
    pub steps_done: u32,
    pub steps_failed: u32,
}

/// What `begin_step` found for a step key.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStart {
    /// Never started: do it.
    Fresh,
    /// Started before and never finished (the app stopped mid-way): the side effect may or may
    /// not have happened — check before doing it again. The intent recorded then is given back.
    Unfinished { intent: Value },
    /// Done before: skip it, here is its outcome.
    Done { outcome: Value },
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub key: String,
    #[ts(type = "unknown")]
    pub intent: Value,
    #[ts(type = "unknown")]
    pub outcome: Option<Value>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

pub struct Journal {
    conn: Mutex<Connection>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

impl Journal {
    /// Opens (or creates) the journal at `path`: WAL, foreign keys, schema brought up to date.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let open = |e: rusqlite::Error| JournalError::Open { path: path.to_path_buf(), message: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| JournalError::Open { path: path.to_path_buf(), message: e.to_string() })?;
        }
        // A journal a newer app wrote belongs to it: refuse it before anything below writes to it
        // (switching to WAL rewrites the header and makes -wal/-shm files beside it).
        let known = schema::MIGRATIONS.len() as i64;
        if let Some(found) = schema::version_on_disk(path).filter(|&found| found > known) {
            return Err(JournalError::Schema { path: path.to_path_buf(), source: schema::SchemaError::TooNew { found, known } });
        }
        let mut conn = Connection::open(path).map_err(open)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(open)?;
        // A kill must not lose a journaled step: every commit reaches the disk.
        conn.pragma_update(None, "synchronous", "FULL").map_err(open)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open)?;
        schema::migrate(&mut conn, schema::MIGRATIONS).map_err(|source| JournalError::Schema { path: path.to_path_buf(), source })?;
        Ok(Journal { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("journal lock")
    }

    /// Records a planned migration; its plan must hold no secret.
    pub fn create(&self, wizard: WizardId, title: &str, plan: &Value) -> Result<String, JournalError> {
        let text = plan.to_string();
        if crate::redact::redact(&text) != text {
            return Err(JournalError::SecretInPlan);
        }
        let wizard = wizard.as_str();
        let id = format!("{}-{:08x}", chrono::Utc::now().timestamp(), rand::random::<u32>());
        let stamp = now();
        self.conn()
            .execute(
                "INSERT INTO migrations (id, wizard, title, plan, state, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'planned', ?5, ?5)",
                params![id, wizard, title, text, stamp],
            )
            .map_err(sql)?;
        Ok(id)
    }

    pub fn plan(&self, id: &str) -> Result<Value, JournalError> {
        let text: Option<String> = self.conn().query_row("SELECT plan FROM migrations WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(sql)?;
        let text = text.ok_or_else(|| JournalError::NotFound(id.into()))?;
        serde_json::from_str(&text).map_err(|e| JournalError::Sql(e.to_string()))
    }

    /// The wizard that made the migration `id`.
    pub fn wizard_of(&self, id: &str) -> Result<WizardId, JournalError> {
        let text: Option<String> = self.conn().query_row("SELECT wizard FROM migrations WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(sql)?;
        let text = text.ok_or_else(|| JournalError::NotFound(id.into()))?;
        WizardId::parse(&text).ok_or(JournalError::UnknownWizard { id: id.into(), wizard: text })
    }

    pub fn set_state(&self, id: &str, state: MigrationState) -> Result<(), JournalError> {
        let changed =
            self.conn().execute("UPDATE migrations SET state = ?2, updated_at = ?3 WHERE id = ?1", params![id, state.as_str(), now()]).map_err(sql)?;
        if changed == 0 {
            return Err(JournalError::NotFound(id.into()));
        }
        Ok(())
    }

    /// Every migration, newest first, with how many steps are done and failed. Migrations of a
    /// wizard this version does not know (a newer app wrote them) are left out, and logged.
    pub fn list(&self) -> Result<Vec<MigrationSummary>, JournalError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT m.id, m.wizard, m.title, m.state, m.created_at, m.updated_at,
                        COUNT(s.key) FILTER (WHERE s.outcome IS NOT NULL), COUNT(s.key) FILTER (WHERE s.error_code IS NOT NULL)
                 FROM migrations m LEFT JOIN steps s ON s.migration_id = m.id
                 GROUP BY m.id ORDER BY m.created_at DESC, m.id DESC",
            )
            .map_err(sql)?;
        let rows = statement
            .query_map([], |r| {
                let wizard: String = r.get(1)?;
                let Some(wizard) = WizardId::parse(&wizard) else {
                    tracing::warn!(migration = %r.get::<_, String>(0)?, wizard, "a migration of a wizard this version does not know is not listed");
                    return Ok(None);
                };
                Ok(Some(MigrationSummary {
                    id: r.get(0)?,
                    wizard,
                    title: r.get(2)?,
                    state: MigrationState::parse(&r.get::<_, String>(3)?),
                    created_at: r.get(4)?,
                    updated_at: r.get(5)?,
                    steps_done: r.get(6)?,
                    steps_failed: r.get(7)?,
                }))
            })
            .map_err(sql)?;
        let rows: Vec<Option<MigrationSummary>> = rows.collect::<Result<_, _>>().map_err(sql)?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Migrations that were running when the app last stopped: the Jobs page offers Resume.
    pub fn resumable(&self) -> Result<Vec<MigrationSummary>, JournalError> {
        Ok(self.list()?.into_iter().filter(|m| m.state == MigrationState::Running).collect())
    }

    /// Journals the intent of a step before its side effect; tells the engine what it found.
    pub fn begin_step(&self, id: &str, key: &str, intent: &Value) -> Result<StepStart, JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        let existing: Option<(String, Option<String>)> = tx
            .query_row("SELECT intent, outcome FROM steps WHERE migration_id = ?1 AND key = ?2", params![id, key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(sql)?;
        let parse = |text: &str| serde_json::from_str(text).unwrap_or(Value::Null);
        let start = match existing {
            Some((_, Some(outcome))) => StepStart::Done { outcome: parse(&outcome) },
            Some((intent, None)) => {
                tx.execute(
                    "UPDATE steps SET error_code = NULL, error_message = NULL, started_at = ?3 WHERE migration_id = ?1 AND key = ?2",
                    params![id, key, now()],
                )
                .map_err(sql)?;
                StepStart::Unfinished { intent: parse(&intent) }
            }
            None => {
                let seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE migration_id = ?1", [id], |r| r.get(0)).map_err(sql)?;
                tx.execute(
                    "INSERT INTO steps (migration_id, seq, key, intent, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, seq, key, intent.to_string(), now()],
                )
                .map_err(|e| sql_of(id, e))?;
                StepStart::Fresh
            }
        };
        tx.commit().map_err(sql)?;
        Ok(start)
    }

    /// Journals a step's outcome after its side effect.
    pub fn finish_step(&self, id: &str, key: &str, outcome: Result<&Value, (&str, &str)>) -> Result<(), JournalError> {
        let stamp = now();
        let changed = match outcome {
            Ok(value) => self.conn().execute(
                "UPDATE steps SET outcome = ?3, error_code = NULL, error_message = NULL, finished_at = ?4 WHERE migration_id = ?1 AND key = ?2",
                params![id, key, value.to_string(), stamp],
            ),
            Err((code, message)) => self.conn().execute(
                "UPDATE steps SET error_code = ?3, error_message = ?4, finished_at = ?5 WHERE migration_id = ?1 AND key = ?2",
                params![id, key, code, crate::redact::redact(message).as_ref(), stamp],
            ),
        }
        .map_err(sql)?;
        if changed == 0 {
            return Err(JournalError::NotFound(format!("{id} (step {key} was never begun)")));
        }
        Ok(())
    }

    pub fn steps(&self, id: &str) -> Result<Vec<StepRecord>, JournalError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare("SELECT key, intent, outcome, error_code, error_message, started_at, finished_at FROM steps WHERE migration_id = ?1 ORDER BY seq")
            .map_err(sql)?;
        let parse = |t: String| serde_json::from_str(&t).unwrap_or(Value::Null);
        let rows = statement
            .query_map([id], |r| {
                Ok(StepRecord {
                    key: r.get(0)?,
                    intent: parse(r.get(1)?),
                    outcome: r.get::<_, Option<String>>(2)?.map(parse),
                    error_code: r.get(3)?,
                    error_message: r.get(4)?,
                    started_at: r.get(5)?,
                    finished_at: r.get(6)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)
    }

    /// The identifier this migration uses for `purpose` (a job ID, a group name): minted by `mint`
    /// the first time and the same ever after, so a repeated step addresses the same thing.
    pub fn identifier(&self, id: &str, purpose: &str, mint: impl FnOnce() -> String) -> Result<String, JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        let existing: Option<String> = tx
            .query_row("SELECT value FROM identifiers WHERE migration_id = ?1 AND purpose = ?2", params![id, purpose], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        let value = match existing {
            Some(value) => value,
            None => {
                let value = mint();
                tx.execute("INSERT INTO identifiers (migration_id, purpose, value) VALUES (?1, ?2, ?3)", params![id, purpose, value]).map_err(sql)?;
                value
            }
        };
        tx.commit().map_err(sql)?;
        Ok(value)
    }

    /// Records items' states in one transaction (a monitor tick may carry thousands).
    pub fn record_items<'a>(
        &self,
        id: &str,
        kind: &str,
        updates: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
    ) -> Result<usize, JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql)?;
        let stamp = now();
        let mut count = 0;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO items (migration_id, kind, key, state, reason, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (migration_id, kind, key) DO UPDATE SET state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at
                     WHERE items.state != excluded.state OR items.reason IS NOT excluded.reason",
                )
                .map_err(sql)?;
            for (key, state, reason) in updates {
                upsert.execute(params![id, kind, key, state, reason, stamp]).map_err(sql)?;
                count += 1;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(count)
    }

    /// How many items of `kind` are in each state.
    pub fn item_counts(&self, id: &str, kind: &str) -> Result<BTreeMap<String, u64>, JournalError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached("SELECT state, COUNT(*) FROM items WHERE migration_id = ?1 AND kind = ?2 GROUP BY state").map_err(sql)?;
        let rows = statement.query_map(params![id, kind], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))).map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)
    }

    /// Counts by state of every kind of item the migration has.
    pub fn item_kinds(&self, id: &str) -> Result<BTreeMap<String, BTreeMap<String, u64>>, JournalError> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT kind, state, COUNT(*) FROM items WHERE migration_id = ?1 GROUP BY kind, state").map_err(sql)?;
        let rows = statement.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, u64>(2)?))).map_err(sql)?;
        let mut kinds: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for row in rows {
            let (kind, state, count) = row.map_err(sql)?;
            kinds.entry(kind).or_default().insert(state, count);
        }
        Ok(kinds)
    }

    /// A page of items of `kind` in one state (or all), by key.
    pub fn items(&self, id: &str, kind: &str, state: Option<&str>, offset: u32, limit: u32) -> Result<Vec<ItemRow>, JournalError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached(
                "SELECT key, state, reason FROM items WHERE migration_id = ?1 AND kind = ?2 AND (?3 IS NULL OR state = ?3) ORDER BY key LIMIT ?4 OFFSET ?5",
            )
            .map_err(sql)?;
        let rows = statement
            .query_map(params![id, kind, state, limit, offset], |r| Ok(ItemRow { kind: kind.to_string(), key: r.get(0)?, state: r.get(1)?, reason: r.get(2)? }))
            .map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)
    }

    /// Keeps a small state under `key` (a pager's continuation, a blob offset), replacing the last.
    pub fn checkpoint(&self, id: &str, key: &str, value: &Value) -> Result<(), JournalError> {
        self.conn()
            .execute(
                "INSERT INTO checkpoints (migration_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (migration_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![id, key, value.to_string(), now()],
            )
            .map_err(|e| sql_of(id, e))?;
        Ok(())
    }

    pub fn load_checkpoint(&self, id: &str, key: &str) -> Result<Option<Value>, JournalError> {
        let text: Option<String> = self
            .conn()
            .query_row("SELECT value FROM checkpoints WHERE migration_id = ?1 AND key = ?2", params![id, key], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| JournalError::Sql(e.to_string()))).transpose()
    }

    /// Every checkpoint whose key starts with `prefix`, by key (a retry's attempts, one a key).
    pub fn checkpoints(&self, id: &str, prefix: &str) -> Result<Vec<(String, Value)>, JournalError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached("SELECT key, value FROM checkpoints WHERE migration_id = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key").map_err(sql)?;
        let rows = statement.query_map(params![id, prefix], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(sql)?;
        let rows: Vec<(String, String)> = rows.collect::<Result<_, _>>().map_err(sql)?;
        rows.into_iter().map(|(key, text)| Ok((key, serde_json::from_str(&text).map_err(|e| JournalError::Sql(e.to_string()))?))).collect()
    }
}

#[cfg(test)]
mod tests;
