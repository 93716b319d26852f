//! Logging: `tracing` into a daily rolling file in the OS log folder (and stderr), with every line
//! passed through [`redact`](crate::redact::redact) before it is written anywhere.

use crate::error::{Error, Result};
use crate::settings::LogLevel;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

pub const LOG_FILE_PREFIX: &str = "iot-migrator";
/// Days of logs kept; older files are deleted by the appender.
const KEPT_LOG_FILES: usize = 14;

/// Wraps any writer so what reaches it has been redacted. The fmt layer writes each event in one
/// `write_all`, so redacting per call sees whole lines.
#[derive(Clone)]
pub struct RedactingWriter<W>(pub W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(crate::redact::redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[derive(Clone)]
pub struct RedactingMakeWriter<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// Keeps the background log writer alive and lets the Settings page change the level at run time.
pub struct LogControl {
    dir: PathBuf,
    reload: reload::Handle<EnvFilter, Registry>,
    _guard: WorkerGuard,
}

impl LogControl {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn set_level(&self, level: LogLevel) -> Result<()> {
        self.reload.modify(|filter| *filter = filter_for(level)).map_err(|e| Error::Logging(e.to_string()))
    }
}

/// The filter for `level`: our crates at it — the client crate (`iotm_azure`) too, whose retry and
/// throttle lines carry the request IDs support asks for; chatty dependencies only from warn up
/// unless tracing them. The CLI builds its filter here as well.
pub fn filter_for(level: LogLevel) -> EnvFilter {
    let deps = if level == LogLevel::Trace { "debug" } else { "warn" };
    EnvFilter::new(format!("{deps},iotm_core={l},iotm_azure={l},iot_migrator={l},iot_migrator_lib={l}", l = level.as_filter()))
}

/// Installs the global subscriber. Call once, early in `main`.
pub fn init(dir: &Path, level: LogLevel) -> Result<LogControl> {
    std::fs::create_dir_all(dir).map_err(Error::io("create the log folder", dir))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(KEPT_LOG_FILES)
        .build(dir)
        .map_err(|e| Error::Logging(format!("{}: {e}", dir.display())))?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let (filter, reload) = reload::Layer::new(filter_for(level));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(RedactingMakeWriter(file_writer)))
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(RedactingMakeWriter(io::stderr)))
        .try_init()
        .map_err(|e| Error::Logging(e.to_string()))?;
    Ok(LogControl { dir: dir.to_path_buf(), reload, _guard: guard })
}

/// The log files in `dir`, oldest first.
pub fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(LOG_FILE_PREFIX)))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Logs through the same layer stack the app installs and checks no secret reaches the output.
    #[test]
    fn secrets_logged_through_tracing_are_redacted_in_the_output() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(RedactingMakeWriter(move || sink.clone())));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(authorization = "Bearer abc.def-ghi", "calling ARM");
            tracing::info!("hub: HostName=h;SharedAccessKeyName=owner;SharedAccessKey=s3cr3tKey=");
            tracing::warn!(token = "SharedAccessSignature sr=h&sig=SIGSECRET&se=1&skn=owner", "minted");
            tracing::info!(url = "https://a.blob.core.windows.net/c?sp=r&sig=BLOBSIG%3D", "export");
            tracing::info!("storage: AccountName=a;AccountKey=ACCOUNTKEY==;");
            tracing::debug!(body = "grant_type=refresh_token&refresh_token=RTSECRET&client_secret=CSSECRET", "token request");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        for secret in ["abc.def-ghi", "s3cr3tKey", "SIGSECRET", "BLOBSIG", "ACCOUNTKEY", "RTSECRET", "CSSECRET"] {
            assert!(!out.contains(secret), "{secret} reached the log:\n{out}");
        }
        assert!(out.contains("calling ARM") && out.contains("export"), "the non-secret text is kept:\n{out}");
        assert_eq!(out.matches("[REDACTED]").count(), 7, "{out}");
    }

    /// The client crate's retry and throttle lines (with their request IDs) reach the log file,
    /// and so the diagnostics bundle, at the level the user chose, like our other crates'.
    #[test]
    fn the_client_crates_retry_lines_are_logged_at_the_chosen_level() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(filter_for(LogLevel::Info))
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(RedactingMakeWriter(move || sink.clone())));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "iotm_azure::pipeline", request_id = "req-7f3a", "retrying after 429 Too Many Requests");
            tracing::debug!(target: "iotm_azure::pipeline", "answered 200");
            tracing::info!(target: "hyper_util::client", "a dependency's chatter");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("retrying after 429") && out.contains("req-7f3a"), "the retry line is missing:\n{out}");
        assert!(!out.contains("answered 200") && !out.contains("chatter"), "below the chosen level, or a dependency:\n{out}");
    }

    #[test]
    fn log_files_lists_only_our_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["iot-migrator.2026-11-02.log", "other.txt", "iot-migrator.2026-11-01.log"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let names: Vec<String> = log_files(dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["iot-migrator.2026-11-01.log", "iot-migrator.2026-11-02.log"]);
    }
}
