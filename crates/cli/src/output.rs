//! What the CLI prints: steps as they go, device counts when they change (at most once a second),
//! the dry run's changes and expectations, and the report's totals.

use iotm_core::wizards::central_to_hub::dry_run::DryRun;
use iotm_core::wizards::central_to_hub::progress::StepState;
use iotm_core::wizards::central_to_hub::report::Report;
use iotm_core::wizards::central_to_hub::Progress;
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
    pub fn show(&self, progress: &Progress) {
        match progress {
            Progress::Step { title, state, detail, .. } => {
                let mark = match state {
                    StepState::Started => "…",
                    StepState::Done => "✓",
                    StepState::AlreadyDone => "✓ (done before)",
                    StepState::Failed => "✗",
                };
                println!("{mark} {title}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default());
            }
            Progress::Tick { elapsed_ms, counts, jobs, .. } => {
                let mut last = self.last.lock().unwrap();
                let due = last.as_ref().is_none_or(|(at, seen)| seen != counts && at.elapsed() >= Duration::from_secs(1));
                if due {
                    let jobs = jobs.iter().map(|(id, s)| format!("{id} {s}")).collect::<Vec<_>>().join(", ");
                    println!("[{:>6.1} s] {} | {jobs}", *elapsed_ms as f64 / 1000.0, counts_line(counts));
                    *last = Some((Instant::now(), counts.clone()));
                }
            }
            Progress::Finished { ok, code, message, request_id, counts } => {
                if *ok {
                    println!("done: {}", counts_line(counts));
                } else {
                    println!(
                        "stopped: {} ({}){}",
                        message.as_deref().unwrap_or(""),
                        code.as_deref().unwrap_or(""),
                        request_id.as_deref().map(|r| format!(" request ID {r}")).unwrap_or_default()
                    );
                    println!("devices: {}", counts_line(counts));
                }
            }
        }
    }
}

pub fn print_dry_run(dry: &DryRun) {
    println!("DeviceMove at {} with payload {}", dry.command.path, dry.payload);
    println!("Target DPS {} (ID scope {}, {} allocation), hub {}", dry.dps.name, dry.dps.id_scope, dry.dps.allocation_policy, dry.hub_host);
    println!("Changes:");
    for change in &dry.changes {
        println!("  - {}", change.description);
    }
    let r = &dry.readiness;
    println!(
        "Devices: {} ready, {} expected to fail{}",
        r.ready,
        r.expected_to_fail,
        if r.attestation_checked { "" } else { " (attestations not checked: too many devices; checked for failing ones)" }
    );
    for (code, n) in &r.by_reason {
        println!("  {n} × {code}");
    }
    println!("Estimate: {}–{} s ({})", dry.estimate.low_seconds, dry.estimate.high_seconds, dry.estimate.assumptions);
}

pub fn print_report(report: &Report) {
    println!("{} — {:?}", report.title, report.state);
    println!("{} devices: {} verified, {} failed, {} unfinished", report.total, report.verified, report.failed, report.unfinished);
    for (code, n) in &report.by_reason {
        println!("  {n} × {code}");
    }
}
