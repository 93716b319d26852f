fn main() {
    // App commands get permissions of their own so capabilities/ can grant exactly these.
    let commands = &[
        "app_info",
        "list_wizards",
        "list_environments",
        "get_settings",
        "save_settings",
        "run_startup_checks",
        "ui_ready",
        "open_log_folder",
        "save_diagnostics_bundle",
        "session_view",
        "sign_in",
        "cancel_sign_in",
        "switch_account",
        "sign_out",
        "list_subscriptions",
        "list_central_apps",
        "add_connection",
        "remove_connection",
        "c2h_source_options",
        "c2h_target_options",
        "c2h_create_dps",
        "c2h_dry_run",
        "c2h_start",
        "c2h_resume",
        "c2h_retry",
        "c2h_stop",
        "c2h_stop_jobs",
        "c2h_resume_jobs",
        "c2h_devices",
        "c2h_report",
        "c2h_export_report",
        "list_migrations",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build script");
}
