//! Signing in and out, switching accounts, and what the signed-in account sees in ARM. The sign-in
//! streams its progress over a Channel; the work is `iotm_core::session`.

use crate::error::CommandResult;
use crate::state::AppState;
use iotm_core::accounts::{Account, RegistrationKind};
use iotm_core::connections::ConnectionKind;
use iotm_core::environment::Environment;
use iotm_core::session::{CentralAppSummary, SessionView, SubscriptionSummary};
use iotm_core::signin::flow::SignInOptions;
use iotm_core::signin::SignInProgress;
use iotm_sandbox::scenario::SANDBOX_SPA_CLIENT_ID;
use tauri::ipc::Channel;
use tauri::State;

#[tauri::command]
pub fn session_view(state: State<'_, AppState>) -> SessionView {
    state.session.view()
}

/// Opens the system browser on Entra's sign-in page and waits for the redirect (5 minutes at most).
#[tauri::command]
pub async fn sign_in(state: State<'_, AppState>, on_progress: Channel<SignInProgress>) -> CommandResult<Account> {
    let settings = state.settings();
    let pipeline = state.pipeline()?;
    // The Sandbox environment signs in through its built-in single-page registration unless one is set.
    let (client_id, registration) = match (settings.environment, settings.client_id.trim()) {
        (Environment::Sandbox, "") => (SANDBOX_SPA_CLIENT_ID.to_string(), RegistrationKind::Spa),
        (_, id) => (id.to_string(), settings.registration),
    };
    let options = SignInOptions { environment: settings.environment, tenant: settings.tenant.clone(), client_id, registration, port: settings.redirect_port };
    // Watched for a moment, so the dialog can say when no browser opened (and offer the link instead).
    let open_browser = iotm_core::signin::browser::open_system_browser;
    let progress = |p: SignInProgress| {
        let _ = on_progress.send(p);
    };
    Ok(state.session.sign_in(&pipeline, options, &open_browser, &progress).await?)
}

#[tauri::command]
pub fn cancel_sign_in(state: State<'_, AppState>) {
    state.session.cancel_sign_in();
}

#[tauri::command]
pub fn switch_account(state: State<'_, AppState>, id: String) -> CommandResult<SessionView> {
    Ok(state.session.switch(&id)?)
}

#[tauri::command]
pub fn sign_out(state: State<'_, AppState>, id: String) -> CommandResult<SessionView> {
    Ok(state.session.sign_out(&id)?)
}

#[tauri::command]
pub async fn list_subscriptions(state: State<'_, AppState>) -> CommandResult<Vec<SubscriptionSummary>> {
    let pipeline = state.pipeline()?;
    Ok(state.session.subscriptions(&pipeline).await?)
}

#[tauri::command]
pub async fn list_central_apps(state: State<'_, AppState>) -> CommandResult<Vec<CentralAppSummary>> {
    let pipeline = state.pipeline()?;
    Ok(state.session.central_apps(&pipeline).await?)
}

/// Checks a connection string or Central API token and keeps it (in the keyring when `remember`).
#[tauri::command]
pub async fn add_connection(
    state: State<'_, AppState>,
    kind: ConnectionKind,
    label: String,
    secret: String,
    central_subdomain: Option<String>,
    remember: bool,
) -> CommandResult<SessionView> {
    let pipeline = state.pipeline()?;
    Ok(state.session.add_connection(&pipeline, kind, &label, &secret, central_subdomain.as_deref(), remember).await?)
}

#[tauri::command]
pub fn remove_connection(state: State<'_, AppState>, id: String) -> CommandResult<SessionView> {
    Ok(state.session.remove_connection(&id)?)
}
