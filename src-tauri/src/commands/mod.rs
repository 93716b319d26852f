//! Every command the window may call, one module per area. Each adapts a core function: read the
//! state, call the core, map the error.

pub mod accounts;
pub mod app;
pub mod bulk_identities;
pub mod central_to_hub;
pub mod diagnostics;
mod file_dialog;
pub mod hub_state;
pub mod migrations;
pub mod settings;
pub mod startup;
pub mod window;

// Keep in step with command_list.rs (the tests below check it).
pub fn handlers() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app::app_info,
        app::list_wizards,
        app::list_environments,
        app::ui_ready,
        settings::get_settings,
        settings::save_settings,
        settings::sandbox_reset,
        window::close_requests,
        window::close_confirmed,
        startup::run_startup_checks,
        diagnostics::open_log_folder,
        diagnostics::save_diagnostics_bundle,
        accounts::session_view,
        accounts::sign_in,
        accounts::cancel_sign_in,
        accounts::switch_account,
        accounts::sign_out,
        accounts::list_subscriptions,
        accounts::list_central_apps,
        accounts::add_connection,
        accounts::remove_connection,
        migrations::migration_start,
        migrations::migration_resume,
        migrations::migration_retry,
        migrations::migration_stop,
        migrations::migration_act,
        migrations::migration_items,
        migrations::migration_report,
        migrations::migration_export,
        migrations::show_in_folder,
        migrations::migration_list,
        migrations::migration_read_plan,
        migrations::migration_save_plan,
        central_to_hub::c2h_source_options,
        central_to_hub::c2h_target_options,
        central_to_hub::c2h_create_dps,
        central_to_hub::c2h_dry_run,
        hub_state::hub_state_hubs,
        hub_state::hub_state_choose_file,
        hub_state::hub_state_dry_run,
        bulk_identities::bulk_targets,
        bulk_identities::bulk_choose_file,
        bulk_identities::bulk_check_file,
        bulk_identities::bulk_dry_run,
        bulk_identities::bulk_input_lines,
        bulk_identities::bulk_exported_devices,
    ]
}

#[cfg(test)]
mod tests;
