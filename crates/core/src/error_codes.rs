//! Every error code a person or a script may meet, gathered from each error type's list: the
//! TypeScript union `ErrorCode` is made of it, so the UI can only branch on codes that exist.

/// Codes the shell and the UI give themselves (a command's bad argument, a folder that cannot be
/// opened, a call that never reached the shell).
pub const SHELL: &[&str] = &[
    "os.open_failed",
    "report.bad_format",
    "report.bad_path",
    "hubState.bad_path",
    "sandbox.not_running",
    "sandbox.migration_running",
    "sandbox.reset_failed",
    "startup.interrupted",
    "ipc.failed",
];

pub fn all() -> Vec<&'static str> {
    let lists: &[&[&str]] = &[
        crate::Error::CODES,
        crate::journal::JournalError::CODES,
        crate::runtime::RunError::CODES,
        crate::wizards::central_to_hub::WizardError::CODES,
        crate::wizards::hub_state::HubStateError::CODES,
        crate::wizards::hub_state::state_file::StateFileError::CODES,
        crate::wizards::dps_linked_hubs::LinkedHubsError::CODES,
        crate::wizards::bulk_identities::BulkError::CODES,
        iotm_azure::AzureError::CODES,
        crate::signin::SignInError::CODES,
        crate::session::SessionError::CODES,
        crate::secrets::SecretStoreError::CODES,
        crate::connections::ConnectionError::CODES,
        SHELL,
    ];
    let mut codes: Vec<&str> = lists.concat();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// `export type ErrorCode = "a" | "b" | …;`
pub fn typescript() -> String {
    let union = all().iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" | ");
    format!("export type ErrorCode = {union};")
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_dotted_names() {
        for code in super::all() {
            let (area, name) = code.split_once('.').unwrap_or_else(|| panic!("{code} has no area"));
            assert!(!area.is_empty() && !name.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'), "{code}");
        }
    }
}
