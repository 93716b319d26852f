//! What the CLI prints of a run, for every wizard: steps as they go, item counts when they change
//! (at most once a second, with the wizard's own note — Central → Hub: its jobs), and how it ended.

use iotm_core::runtime::{Event, Progress, StepState};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Printer {
    last: Mutex<Option<(Instant, BTreeMap<String, u64>)>>,
}

fn counts_line(counts: &BTreeMap<String, u64>) -> String {
    counts.iter().map(|(state, n)| format!("{state} {n}")).collect::<Vec<_>>().join(" · ")
}

impl Printer {
    pub fn show(&self, event: &Event) {
        match &event.progress {
            Progress::Step { title, state, detail, .. } => {
                let mark = match state {
                    StepState::Started => "…",
                    StepState::Done => "✓",
                    StepState::AlreadyDone => "✓ (done before)",
                    StepState::Failed => "✗",
                };
                println!("{mark} {title}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default());
            }
            Progress::Tick { elapsed_ms, counts, .. } => {
                let mut last = self.last.lock().unwrap();
                let due = last.as_ref().is_none_or(|(at, seen)| seen != counts && at.elapsed() >= Duration::from_secs(1));
                if due {
                    let note = event.note.as_deref().map(|n| format!(" | {n}")).unwrap_or_default();
                    println!("[{:>6.1} s] {}{note}", *elapsed_ms as f64 / 1000.0, counts_line(counts));
                    *last = Some((Instant::now(), counts.clone()));
                }
            }
            Progress::Finished { ok, code, message, request_id, counts } => {
                if *ok {
                    println!("done: {}", counts_line(counts));
                } else {
                    let request = request_id.as_deref().map(|r| format!(" request ID {r}")).unwrap_or_default();
                    println!("stopped: {} ({}){request}", message.as_deref().unwrap_or(""), code.as_deref().unwrap_or(""));
                    println!("items: {}", counts_line(counts));
                }
            }
        }
    }
}
