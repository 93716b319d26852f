//! The journal's schema, as an ordered list of migrations: a database records the last one applied
//! in `PRAGMA user_version`, and opening it applies the rest, each in a transaction. A database
//! written by a newer IoT Migrator is refused rather than guessed at.

use rusqlite::Connection;

/// Every migration, in order; never edit one that has shipped — add the next.
pub const MIGRATIONS: &[&str] = &[
    // 1: migrations, their steps (intent before, outcome after), identifiers they created, devices.
    "CREATE TABLE migrations (
        id TEXT PRIMARY KEY,
        wizard TEXT NOT NULL,
        title TEXT NOT NULL,
        plan TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE steps (
        migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        key TEXT NOT NULL,
        intent TEXT NOT NULL,
        outcome TEXT,
        error_code TEXT,
        error_message TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        PRIMARY KEY (migration_id, key)
    );
    CREATE TABLE identifiers (
        migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (migration_id, purpose)
    );
    CREATE TABLE devices (
        migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (migration_id, device_id)
    );
    CREATE INDEX devices_by_state ON devices (migration_id, state);",
    // 2: items of any kind (devices, modules, configurations, import lines, ARM resources), the
    // devices of version 1 becoming items of kind `device`; checkpoints (a pager's continuation,
    // a blob offset, an import job's ID) so long work resumes where it was.
    "CREATE TABLE items (
        migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (migration_id, kind, key)
    );
    INSERT INTO items (migration_id, kind, key, state, reason, updated_at)
        SELECT migration_id, 'device', device_id, state, reason, updated_at FROM devices;
    DROP TABLE devices;
    CREATE INDEX items_by_state ON items (migration_id, kind, state);
    CREATE TABLE checkpoints (
        migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (migration_id, key)
    );",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaError {
    #[error("the journal was written by a newer IoT Migrator (schema {found}; this version knows up to {known}). Update the app, or move the journal aside.")]
    TooNew { found: i64, known: i64 },
    #[error("schema migration {version} failed: {message}")]
    Failed { version: i64, message: String },
}

/// The schema version in the database file's header (`user_version`, 4 bytes big-endian at offset
/// 60), read without opening it through SQLite, which may write; `None` for no file or no SQLite
/// header. A version committed only to a WAL file is not seen here; `migrate` still refuses it.
pub fn version_on_disk(path: &std::path::Path) -> Option<i64> {
    use std::io::Read;
    let mut header = [0u8; 64];
    std::fs::File::open(path).ok()?.read_exact(&mut header).ok()?;
    header.starts_with(b"SQLite format 3\0").then(|| i64::from(i32::from_be_bytes([header[60], header[61], header[62], header[63]])))
}

/// Brings the database up to the last of `migrations`.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<i64, SchemaError> {
    let failed = |version: i64| move |e: rusqlite::Error| SchemaError::Failed { version, message: e.to_string() };
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(failed(0))?;
    let known = migrations.len() as i64;
    if current > known {
        return Err(SchemaError::TooNew { found: current, known });
    }
    for (index, sql) in migrations.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction().map_err(failed(version))?;
        tx.execute_batch(sql).map_err(failed(version))?;
        tx.pragma_update(None, "user_version", version).map_err(failed(version))?;
        tx.commit().map_err(failed(version))?;
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_of_an_older_schema_is_upgraded_with_its_data_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, &MIGRATIONS[..1]).unwrap(), 1);
        conn.execute("INSERT INTO migrations VALUES ('m1','centralToHub','t','{}','planned','x','x')", []).unwrap();
        conn.execute("INSERT INTO devices VALUES ('m1','thermostat-1','failed','noAnswer','x')", []).unwrap();
        drop(conn);
        let mut next = MIGRATIONS.to_vec();
        next.push("ALTER TABLE migrations ADD COLUMN notes TEXT NOT NULL DEFAULT ''");
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, &next).unwrap(), 3);
        let (id, notes): (String, String) = conn.query_row("SELECT id, notes FROM migrations", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((id.as_str(), notes.as_str()), ("m1", ""));
        let item: (String, String, String, String) =
            conn.query_row("SELECT kind, key, state, reason FROM items", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
        assert_eq!(item, ("device".into(), "thermostat-1".into(), "failed".into(), "noAnswer".into()));
        assert_eq!(migrate(&mut conn, MIGRATIONS), Err(SchemaError::TooNew { found: 3, known: 2 }));
    }
}
