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
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build script");
}
