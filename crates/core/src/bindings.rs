//! The TypeScript side of the IPC types, generated from the Rust types with ts-rs into one file the
//! UI imports. `cargo test` fails when the committed file differs from what the types generate;
//! `./x bindings` rewrites it.

use ts_rs::TS;

/// Where the UI keeps the generated file, relative to the workspace root.
pub const BINDINGS_PATH: &str = "ui/src/lib/bindings.ts";

macro_rules! declarations {
    ($cfg:expr; $($ty:ty),* $(,)?) => {
        vec![$(format!("export {}", <$ty as TS>::decl($cfg))),*]
    };
}

/// Every type that crosses the IPC boundary, in one TypeScript module.
pub fn typescript() -> String {
    use crate::{accounts, connections, diagnostics, environment, error, journal, runtime, session, settings, signin, startup, wizards};
    let cfg = &ts_rs::Config::default();
    let decls = declarations![cfg;
        error::ErrorPayload,
        environment::Environment,
        environment::EnvironmentOption,
        settings::Theme,
        settings::LogLevel,
        settings::Settings,
        diagnostics::Versions,
        diagnostics::BundleSaved,
        startup::CheckStatus,
        startup::CheckId,
        startup::PlannedCheck,
        startup::StartupEvent,
        wizards::WizardId,
        wizards::WizardStep,
        wizards::Wizard,
        crate::AppInfo,
        accounts::RegistrationKind,
        accounts::Account,
        accounts::Accounts,
        connections::ConnectionKind,
        connections::SavedConnection,
        session::SessionView,
        session::SubscriptionSummary,
        session::CentralAppSummary,
        signin::SignInProgress,
        signin::BrowserLaunch,
        journal::MigrationState,
        journal::MigrationSummary,
        journal::StepRecord,
        runtime::StepState,
        runtime::ItemRow,
        runtime::Progress<runtime::Checked>,
        runtime::Checked,
        runtime::PlanProblem,
        runtime::RunOutcome,
        runtime::MigrationEntry,
        runtime::ItemPage,
        runtime::ActionDone,
        runtime::attempts::RetryRound,
        runtime::ReportFormat,
        runtime::MigrationPlan,
        runtime::MigrationReport,
        wizards::bulk_identities::plan::Plan,
        wizards::bulk_identities::plan::HubTarget,
        wizards::bulk_identities::plan::StorageTarget,
        wizards::bulk_identities::plan::Operation,
        wizards::bulk_identities::modes::ImportMode,
        wizards::bulk_identities::validate::LineProblem,
        wizards::bulk_identities::validate::FileSummary,
        wizards::bulk_identities::import_errors::ImportError,
        wizards::bulk_identities::dry_run::DryRun,
        wizards::bulk_identities::report::Report,
        wizards::bulk_identities::progress::BulkTick,
        wizards::bulk_identities::options::StorageOption,
        wizards::bulk_identities::options::Targets,
        wizards::bulk_identities::view::InputLine,
        wizards::bulk_identities::view::FileCheck,
        wizards::bulk_identities::view::DeviceRow,
        wizards::bulk_identities::view::ExportedDevices,
        wizards::central_to_hub::template::PayloadShape,
        wizards::central_to_hub::template::DeviceMoveCommand,
        wizards::central_to_hub::plan::Plan,
        wizards::central_to_hub::plan::Source,
        wizards::CentralAccess,
        wizards::central_to_hub::plan::Target,
        wizards::central_to_hub::plan::Enrollment,
        wizards::central_to_hub::plan::PayloadStyle,
        wizards::central_to_hub::plan::JobOptions,
        wizards::central_to_hub::plan::VerifyOptions,
        wizards::central_to_hub::options::TemplateOption,
        wizards::central_to_hub::options::GroupOption,
        wizards::central_to_hub::options::EnrollmentGroupOption,
        wizards::central_to_hub::options::SourceOptions,
        wizards::central_to_hub::options::DpsOption,
        wizards::central_to_hub::options::HubOption,
        wizards::central_to_hub::options::ResourceGroupOption,
        wizards::central_to_hub::options::RegionOption,
        wizards::central_to_hub::options::TargetOptions,
        wizards::central_to_hub::readiness::AttestationKind,
        wizards::central_to_hub::readiness::Expected,
        wizards::central_to_hub::readiness::ReadinessRow,
        wizards::central_to_hub::readiness::GroupSelection,
        wizards::central_to_hub::readiness::Readiness,
        wizards::central_to_hub::target::DpsView,
        wizards::central_to_hub::dry_run::Change,
        wizards::central_to_hub::dry_run::Estimate,
        wizards::central_to_hub::dry_run::DryRun,
        wizards::central_to_hub::progress::DeviceState,
        wizards::central_to_hub::progress::CentralToHubTick,
        wizards::central_to_hub::report::ReportRow,
        wizards::central_to_hub::report::Report,
        wizards::hub_state::plan::Action,
        wizards::hub_state::plan::Aspect,
        wizards::hub_state::plan::HubRef,
        wizards::hub_state::plan::Plan,
        wizards::hub_state::state_file::Variant,
        wizards::hub_state::to_hub::Change,
        wizards::hub_state::dry_run::PlannedChange,
        wizards::hub_state::dry_run::DryRun,
        wizards::hub_state::engine::HubStateTick,
        wizards::hub_state::report::Report,
    ];
    let mut out = String::from("// Generated from the Rust types by `./x bindings` (crates/core/src/bindings.rs). Do not edit.\n\n");
    out.push_str(&crate::error_codes::typescript());
    out.push_str("\n\n");
    // Each wizard's own tick news, by wizard: what `Progress<TickOf[W]>` carries for wizard W.
    out.push_str("export type TickOf = { centralToHub: CentralToHubTick; hubState: HubStateTick; bulkIdentities: BulkTick };\n\n");
    for decl in decls {
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(super::BINDINGS_PATH)
    }

    /// Fails when a Rust type changed and the UI's copy was not regenerated.
    #[test]
    fn typescript_bindings_are_up_to_date() {
        let generated = super::typescript();
        let path = committed_path();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "{} is stale: run `./x bindings` and commit the result.", super::BINDINGS_PATH);
    }
}
