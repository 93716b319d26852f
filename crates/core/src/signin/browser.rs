//! Opening the system browser on the sign-in page, and knowing whether it opened. `open` finds the
//! platform's openers (`xdg-open`, `gio`, … on Linux; `open` on macOS; `start` on Windows); each
//! is started in turn and watched for a moment: an opener that ends in failure (xdg-open's "no
//! method available" when no default browser is set) or is not installed is reported, so the
//! sign-in dialog never claims a browser opened when none did. An opener still running after that
//! moment is taken to have started one (xdg-open runs some browsers in its own foreground) and is
//! left to run. (`open::that_detached_with_timeout` has the same policy, but its error quotes the
//! whole command line and a raw wait status; the dialog needs a sentence.)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an opener is watched before it is taken to have opened a browser.
pub const PATIENCE: Duration = Duration::from_secs(3);

/// Opens `url` in the person's default browser; the error says why none opened, in words.
pub fn open_system_browser(url: &str) -> Result<(), String> {
    open_with(open::commands(url), PATIENCE)
}

/// Tries `openers` in turn until one opens the page.
pub fn open_with(openers: Vec<Command>, patience: Duration) -> Result<(), String> {
    let (mut failed, mut missing) = (Vec::new(), Vec::new());
    for mut opener in openers {
        let name = opener.get_program().to_string_lossy().into_owned();
        let child = opener.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        match child {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(name),
            Err(e) => failed.push(format!("{name} could not start ({e})")),
            Ok(child) => match watch(child, patience) {
                Ok(()) => return Ok(()),
                Err(status) => failed.push(explain(&name, status)),
            },
        }
    }
    // What ran and failed says more than the openers this system does not have.
    match (failed.is_empty(), missing.is_empty()) {
        (false, _) => Err(failed.join("; ")),
        (true, false) => Err(format!("{} is not installed, nor any other program that opens a web browser", missing[0])),
        (true, true) => Err("this system has no program that opens a web browser".into()),
    }
}

/// `Ok` when the opener succeeded or is still running after `patience`; its exit code when it failed.
fn watch(mut child: Child, patience: Duration) -> Result<(), Option<i32>> {
    let until = Instant::now() + patience;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(status.code()),
            Ok(None) if Instant::now() >= until => {
                // Reaped when it ends, so no zombie is left behind.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => return Err(None),
        }
    }
}

/// xdg-open's documented exit codes, in words; others by number.
fn explain(name: &str, code: Option<i32>) -> String {
    match (name.rsplit('/').next().unwrap_or(name), code) {
        ("xdg-open", Some(3)) => "xdg-open found no default web browser".into(),
        ("xdg-open", Some(4)) => "xdg-open could not start the default web browser".into(),
        (_, Some(code)) => format!("{name} failed (exit status {code})"),
        (_, None) => format!("{name} was stopped before it opened anything"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn an_opener_that_fails_or_is_missing_is_reported_and_the_next_one_is_tried() {
        let err = open_with(vec![Command::new("/nonexistent/xdg-open"), sh("exit 3")], Duration::from_secs(2)).unwrap_err();
        assert_eq!(err, "sh failed (exit status 3)");
        let err = open_with(vec![Command::new("/nonexistent/xdg-open"), Command::new("/nonexistent/gio")], Duration::from_secs(2)).unwrap_err();
        assert_eq!(err, "/nonexistent/xdg-open is not installed, nor any other program that opens a web browser");
        assert_eq!(explain("/usr/bin/xdg-open", Some(3)), "xdg-open found no default web browser");
        assert_eq!(open_with(vec![], Duration::from_secs(1)).unwrap_err(), "this system has no program that opens a web browser");
        assert_eq!(open_with(vec![sh("exit 3"), sh("exit 0")], Duration::from_secs(2)), Ok(()), "the second opener worked");
    }

    #[test]
    fn an_opener_still_running_after_the_patience_has_started_a_browser() {
        let started = Instant::now();
        assert_eq!(open_with(vec![sh("sleep 5")], Duration::from_millis(300)), Ok(()));
        assert!(started.elapsed() < Duration::from_secs(2), "it did not wait for the browser to close");
    }
}
