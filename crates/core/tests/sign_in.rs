//! The interactive sign-in against the sandbox cloud's Entra ID, with a scripted browser doing
//! what a person does on its sign-in page: a SPA registration (Origin sent), a desktop one, a SPA
//! registration redeemed without the Origin (AADSTS9002327 explained), and a declined consent.
//! Then the signed-in person's credential lists their subscriptions through ARM, and is never used
//! against another cloud than the one that issued it (after a switch, a restart, or from an entry
//! saved before accounts were kept per cloud).

use iotm_azure::arm::ArmClient;
use iotm_azure::user::UserCredential;
use iotm_azure::{Cloud, Pipeline, PipelineOptions};
use iotm_core::accounts::RegistrationKind;
use iotm_core::environment::Environment;
use iotm_core::signin::flow::{sign_in, SignInOptions, SignedIn};
use iotm_core::signin::SignInError;
use iotm_sandbox::scenario::{Scenario, SANDBOX_DESKTOP_CLIENT_ID, SANDBOX_SPA_CLIENT_ID};
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::sync::Arc;

struct World {
    sandbox: Sandbox,
    _state: tempfile::TempDir,
    pipeline: Pipeline,
    /// A port the SPA registration lists (Entra checks the redirect URI exactly).
    spa_port: u16,
    browser: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

async fn world() -> World {
    // Held while the sandbox binds its own port, so the kernel cannot hand it the same one.
    let reserved = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let spa_port = reserved.local_addr().unwrap().port();
    let mut scenario = Scenario::builtin();
    let spa = scenario.tenants[0].app_registrations.iter_mut().find(|a| a.client_id == SANDBOX_SPA_CLIENT_ID).unwrap();
    spa.redirect_uris.push(format!("http://localhost:{spa_port}"));
    let state = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxConfig::new(state.path().to_path_buf(), scenario)).await.unwrap();
    drop(reserved);
    let ca = std::fs::read_to_string(&sandbox.ca_cert_path).unwrap();
    let pipeline = Pipeline::new(Cloud::sandbox(&sandbox.base_url, ca.clone()).unwrap(), PipelineOptions::default()).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let browser = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World { sandbox, _state: state, pipeline, spa_port, browser }
}

/// What a person does: open the page, pick the user, accept or cancel; then the browser follows
/// Entra's redirect to the app's loopback listener.
async fn person(browser: reqwest::Client, authorize_url: String, upn: &'static str, decision: &'static str) {
    let page = browser.get(&authorize_url).send().await.unwrap().text().await.unwrap();
    let field = regex::Regex::new(r#"<input type="hidden" name="([^"]+)" value="([^"]*)">"#).unwrap();
    let mut form: Vec<(String, String)> = field.captures_iter(&page).map(|c| (c[1].to_string(), c[2].replace("&amp;", "&").replace("&quot;", "\""))).collect();
    let user = regex::Regex::new(&format!(r#"name="user" value="([^"]+)" data-upn="{}""#, regex::escape(upn))).unwrap();
    form.push(("user".into(), user.captures(&page).expect("the user is offered")[1].to_string()));
    form.push(("decision".into(), decision.into()));
    let action = regex::Regex::new(r#"<form method="post" action="([^"]+)">"#).unwrap().captures(&page).unwrap()[1].to_string();
    let origin = authorize_url.split("/").take(3).collect::<Vec<_>>().join("/");
    let back = browser.post(format!("{origin}{action}")).form(&form).send().await.unwrap();
    let location = back.headers()["location"].to_str().unwrap().to_string();
    let _ = browser.get(location).send().await;
}

async fn run(world: &World, client_id: &str, registration: RegistrationKind, port: u16, decision: &'static str) -> Result<SignedIn, SignInError> {
    let options = SignInOptions { environment: Environment::Sandbox, tenant: "organizations".into(), client_id: client_id.into(), registration, port };
    let browser = world.browser.clone();
    let open = move |url: &str| -> Result<(), String> {
        tokio::spawn(person(browser.clone(), url.to_string(), "ada@contoso-sandbox.onmicrosoft.com", decision));
        Ok(())
    };
    let (_cancel, cancelled) = tokio::sync::oneshot::channel();
    sign_in(&world.pipeline, &options, &open, &|_| {}, cancelled).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spa_registration_signs_in_and_its_credential_lists_the_subscriptions() {
    let world = world().await;
    let signed = run(&world, SANDBOX_SPA_CLIENT_ID, RegistrationKind::Spa, world.spa_port, "accept").await.unwrap();
    assert_eq!(signed.account.username, "ada@contoso-sandbox.onmicrosoft.com");
    assert_eq!(signed.account.tenant_id, Scenario::builtin().tenants[0].id);
    assert!(signed.expires_in > 0);
    let rotated = Arc::new(std::sync::Mutex::new(0));
    let seen = rotated.clone();
    let credential =
        Arc::new(UserCredential::new(world.pipeline.clone(), signed.app.clone(), signed.refresh_token, Arc::new(move |_| *seen.lock().unwrap() += 1)));
    let subscriptions = ArmClient::new(world.pipeline.clone(), credential).subscriptions().unwrap().all().await.unwrap();
    assert_eq!(subscriptions.len(), 2, "Ada sees the production and the lab subscriptions");
    assert_eq!(*rotated.lock().unwrap(), 1, "the refresh token Entra rotated was handed back to be stored");
    drop(world.sandbox);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_desktop_registration_signs_in_on_any_loopback_port() {
    let world = world().await;
    let signed = run(&world, SANDBOX_DESKTOP_CLIENT_ID, RegistrationKind::Desktop, free_port(), "accept").await.unwrap();
    assert_eq!(signed.account.registration, RegistrationKind::Desktop);
    assert!(signed.app.spa_origin.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spa_registration_redeemed_without_origin_is_explained() {
    let world = world().await;
    let err = run(&world, SANDBOX_SPA_CLIENT_ID, RegistrationKind::Desktop, world.spa_port, "accept").await.err().expect("Entra refuses");
    assert_eq!(err.code(), "signin.spa_origin_required", "{err}");
    assert!(err.fix().unwrap().contains("Single-page application"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_consent_ends_the_sign_in_with_access_denied() {
    let world = world().await;
    let err = run(&world, SANDBOX_SPA_CLIENT_ID, RegistrationKind::Spa, world.spa_port, "cancel").await.err().expect("declined");
    assert_eq!(err.code(), "signin.access_denied", "{err}");
}

/// A session over the world's pipeline with Ada signed in through the SPA registration.
async fn signed_in_session(world: &World) -> (iotm_core::session::Session, tempfile::TempDir) {
    let config = tempfile::tempdir().unwrap();
    let session =
        iotm_core::session::Session::open(config.path(), Arc::new(iotm_core::secrets::SessionStore::default()), Some("no keyring in tests".into())).unwrap();
    let account = sign_in_again(world, &session).await;
    assert!(account.session_only, "without a keyring the sign-in is for this session only");
    (session, config)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_only_sign_in_does_not_outlive_the_app() {
    let world = world().await;
    let (session, _config) = signed_in_session(&world).await;
    assert_eq!(session.subscriptions(&world.pipeline).await.unwrap().len(), 2);
    // The app restarts: its accounts file never held the session-only account.
    let session = iotm_core::session::Session::open(_config.path(), Arc::new(iotm_core::secrets::SessionStore::default()), None).unwrap();
    let err = session.subscriptions(&world.pipeline).await.unwrap_err();
    assert_eq!(err.code(), "session.not_signed_in", "a session-only account does not survive a restart: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_or_revoked_refresh_token_becomes_sign_in_again() {
    let world = world().await;
    let (session, _config) = signed_in_session(&world).await;
    world.sandbox.cloud.advance_clock(25 * 3600);
    let err = session.subscriptions(&world.pipeline).await.unwrap_err();
    assert_eq!(err.code(), "signin.session_expired", "{err}");
    assert!(err.to_string().contains("Sign in again"), "{err}");
    // A revoked grant (the sandbox forgets every grant on reload) reads the same.
    let world = self::world().await;
    let (session, _config) = signed_in_session(&world).await;
    world.sandbox.cloud.grants().revoke_refresh_tokens();
    world.sandbox.cloud.advance_clock(2 * 3600);
    let err = session.subscriptions(&world.pipeline).await.unwrap_err();
    assert_eq!(err.code(), "signin.session_expired", "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entra_refusal_of_the_code_exchange_reaches_its_explanation() {
    let world = world().await;
    let redirect_uri = format!("http://localhost:{}", world.spa_port);
    let app = iotm_azure::user::UserApp { tenant: "organizations".into(), client_id: "0e0e0e0e-0000-4000-8000-00000000dead".into(), spa_origin: None };
    let code = iotm_azure::Secret::new("0.AXoAforged-code".to_string());
    let verifier = iotm_azure::Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string());
    let refused = iotm_azure::user::redeem_code(&world.pipeline, &app, &code, &verifier, &redirect_uri, &[], "n1").await.err().expect("Entra refuses");
    let SignInError::Entra(explained) = iotm_core::signin::flow::token_endpoint_error(refused, &redirect_uri) else { panic!("not explained as Entra's") };
    assert_eq!((explained.code, explained.aadsts, explained.error.as_str()), ("signin.app_not_found", Some(700016), "unauthorized_client"));
    assert!(explained.description.starts_with("AADSTS700016:"), "{}", explained.description);
    assert!(explained.fix.unwrap().contains("client ID"));
}

#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One thread, so the test's own subscriber sees the whole sign-in (browser, listener, exchanges).
#[tokio::test(flavor = "current_thread")]
async fn a_whole_sign_in_and_a_refresh_log_their_calls_but_no_token() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber =
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).with_env_filter("iotm_azure=trace,iotm_core=trace").finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let world = world().await;
    let signed = run(&world, SANDBOX_SPA_CLIENT_ID, RegistrationKind::Spa, world.spa_port, "accept").await.unwrap();
    let mut secrets = vec![signed.refresh_token.expose().clone(), signed.access_token.expose().clone()];
    let rotated = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = rotated.clone();
    let credential =
        UserCredential::new(world.pipeline.clone(), signed.app.clone(), signed.refresh_token, Arc::new(move |t| keep.lock().unwrap().push(t.expose().clone())));
    let header = iotm_azure::Credential::authorization(&credential, "https://iothubs.azure.net").await.unwrap();
    secrets.push(header.expose().trim_start_matches("Bearer ").to_string());
    secrets.extend(rotated.lock().unwrap().iter().cloned());
    assert_eq!(secrets.len(), 4, "the refresh rotated the refresh token");

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("Token_AuthorizationCode") && text.contains("Token_RefreshToken"), "both exchanges are logged:\n{text}");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a token reached the log:\n{text}");
    }
}

/// A keyring for tests: persistent (so accounts are saved and survive a "restart"), shared by the
/// sessions a test opens one after the other.
#[derive(Clone, Default)]
struct TestKeyring(Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>);

impl iotm_core::secrets::SecretStore for TestKeyring {
    fn put(&self, name: &str, secret: &str) -> Result<(), iotm_core::secrets::SecretStoreError> {
        self.0.lock().unwrap().insert(name.into(), secret.into());
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Option<String>, iotm_core::secrets::SecretStoreError> {
        Ok(self.0.lock().unwrap().get(name).cloned())
    }
    fn delete(&self, name: &str) -> Result<(), iotm_core::secrets::SecretStoreError> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
    fn persistent(&self) -> bool {
        true
    }
}

/// Calls a sandbox saw, by service (`entra`, `arm`…).
fn calls_to(sandbox: &Sandbox, service: &str) -> u64 {
    sandbox.cloud.faults().counters().iter().filter(|(k, _)| k.starts_with(&format!("{service} "))).map(|(_, n)| n).sum()
}

/// Ada signed in on `world` into a session kept in `config` with `keyring`.
async fn sign_in_ada(world: &World, config: &std::path::Path, keyring: &TestKeyring) -> iotm_core::session::Session {
    let session = iotm_core::session::Session::open(config, Arc::new(keyring.clone()), None).unwrap();
    sign_in_again(world, &session).await;
    session
}

/// Ada signs in (again) into `session`; the account she is signed in as.
async fn sign_in_again(world: &World, session: &iotm_core::session::Session) -> iotm_core::accounts::Account {
    let options = SignInOptions {
        environment: Environment::Sandbox,
        tenant: "organizations".into(),
        client_id: SANDBOX_SPA_CLIENT_ID.into(),
        registration: RegistrationKind::Spa,
        port: world.spa_port,
    };
    let browser = world.browser.clone();
    let open = move |url: &str| -> Result<(), String> {
        tokio::spawn(person(browser.clone(), url.to_string(), "ada@contoso-sandbox.onmicrosoft.com", "accept"));
        Ok(())
    };
    session.sign_in(&world.pipeline, options, &open, &|_| {}).await.unwrap()
}

/// A pipeline for Azure's public cloud: the credential check refuses before anything is sent, so
/// no test reaches it (were one sent, it would fail with `azure.connection`, not the code asserted).
fn azure_public() -> Pipeline {
    Pipeline::new(Cloud::AzureCloud, PipelineOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_switch_of_cloud_the_credential_in_memory_is_not_used_against_the_new_one() {
    let (home, elsewhere) = (world().await, world().await);
    let (config, keyring) = (tempfile::tempdir().unwrap(), TestKeyring::default());
    let session = sign_in_ada(&home, config.path(), &keyring).await;
    assert_eq!(session.subscriptions(&home.pipeline).await.unwrap().len(), 2);
    // The person switches to another environment.
    let refused = session.subscriptions(&azure_public()).await.unwrap_err();
    assert_eq!(refused.code(), "session.other_cloud", "{refused}");
    // Or to the same environment at another authority (here: another sandbox).
    let refused = session.subscriptions(&elsewhere.pipeline).await.unwrap_err();
    assert_eq!(refused.code(), "signin.session_expired", "{refused}");
    assert_eq!((calls_to(&elsewhere.sandbox, "entra"), calls_to(&elsewhere.sandbox, "arm")), (0, 0), "no token reached the other cloud");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_the_refresh_token_goes_only_to_the_authority_that_issued_it() {
    let (home, elsewhere) = (world().await, world().await);
    let (config, keyring) = (tempfile::tempdir().unwrap(), TestKeyring::default());
    drop(sign_in_ada(&home, config.path(), &keyring).await);
    // The app starts again, on another environment, or on another sandbox.
    let session = iotm_core::session::Session::open(config.path(), Arc::new(keyring.clone()), None).unwrap();
    let refused = session.subscriptions(&azure_public()).await.unwrap_err();
    assert_eq!(refused.code(), "session.other_cloud", "{refused}");
    let refused = session.subscriptions(&elsewhere.pipeline).await.unwrap_err();
    assert_eq!(refused.code(), "signin.session_expired", "{refused}");
    assert_eq!(calls_to(&elsewhere.sandbox, "entra"), 0, "the refresh token was not posted to another token endpoint");
    // Back on the cloud that issued it, the silent sign-in still works.
    assert_eq!(session.subscriptions(&home.pipeline).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_saved_before_accounts_were_kept_per_cloud_is_deleted_never_sent() {
    let world = world().await;
    let (config, keyring) = (tempfile::tempdir().unwrap(), TestKeyring::default());
    let tenant = Scenario::builtin().tenants[0].id.clone();
    let old_id = format!("0a1b2c3d-1111-4000-8000-000000000001.{tenant}");
    let accounts = serde_json::json!({"accounts": [{"id": old_id, "username": "ada@contoso-sandbox.onmicrosoft.com", "displayName": "Ada",
        "tenantId": tenant, "environment": "sandbox", "clientId": SANDBOX_SPA_CLIENT_ID, "registration": "spa",
        "redirectUri": format!("http://localhost:{}", world.spa_port), "sessionOnly": false}], "current": old_id});
    std::fs::write(config.path().join(iotm_core::accounts::ACCOUNTS_FILE), accounts.to_string()).unwrap();
    let name = iotm_core::accounts::refresh_token_name(&old_id);
    iotm_core::secrets::SecretStore::put(&keyring, &name, "a refresh token from who knows which cloud").unwrap();

    let session = iotm_core::session::Session::open(config.path(), Arc::new(keyring.clone()), None).unwrap();
    assert!(session.view().accounts.is_empty(), "the account is dropped: the person signs in again");
    assert_eq!(iotm_core::secrets::SecretStore::get(&keyring, &name).unwrap(), None, "its keyring entry is deleted");
    let refused = session.subscriptions(&world.pipeline).await.unwrap_err();
    assert_eq!(refused.code(), "session.not_signed_in", "{refused}");
    assert_eq!(calls_to(&world.sandbox, "entra"), 0, "the old token went nowhere");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_revokes_the_credential_a_run_still_holds_and_writes_nothing_back() {
    let world = world().await;
    let (config, keyring) = (tempfile::tempdir().unwrap(), TestKeyring::default());
    let session = sign_in_ada(&world, config.path(), &keyring).await;
    let id = session.view().current.unwrap();
    // A running migration's clients hold the credential.
    let held = session.credential(&world.pipeline).unwrap();
    session.sign_out(&id).unwrap();
    let name = iotm_core::accounts::refresh_token_name(&id);
    assert_eq!(iotm_core::secrets::SecretStore::get(&keyring, &name).unwrap(), None);
    let asked_before = calls_to(&world.sandbox, "entra");
    // The run asks for a token for a service it has not called yet: a refresh, which rotates.
    let refused = iotm_azure::Credential::authorization(held.as_ref(), "https://iothubs.azure.net").await.unwrap_err();
    assert_eq!(refused.code(), "azure.signed_out", "{refused}");
    assert_eq!(calls_to(&world.sandbox, "entra"), asked_before, "no refresh after sign-out");
    assert_eq!(iotm_core::secrets::SecretStore::get(&keyring, &name).unwrap(), None, "no refresh token written back for a signed-out account");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_tells_the_runs_using_the_account_to_stop() {
    use iotm_core::runtime::Connect;
    let world = world().await;
    let (config, keyring) = (tempfile::tempdir().unwrap(), TestKeyring::default());
    let session = sign_in_ada(&world, config.path(), &keyring).await;
    let id = session.view().current.unwrap();
    let connect = session.connect(world.pipeline.clone());
    assert!(connect.signed_out().is_none(), "no client handed out yet, so no account to watch");
    connect.arm().unwrap();
    let signal = connect.signed_out().expect("the run watches the account its clients use");
    assert!(!signal.is_stopped());
    session.sign_out(&id).unwrap();
    assert!(signal.is_stopped(), "the sign-out stops the run");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_started_after_signing_in_again_is_not_stopped_by_the_earlier_sign_out() {
    use iotm_core::runtime::Connect;
    let world = world().await;
    let (config, keyring) = (tempfile::tempdir().unwrap(), TestKeyring::default());
    let session = sign_in_ada(&world, config.path(), &keyring).await;
    let id = session.view().current.unwrap();
    let late = session.connect(world.pipeline.clone());
    late.arm().unwrap();
    session.sign_out(&id).unwrap();
    assert!(late.signed_out().unwrap().is_stopped(), "asked after the sign-out: already stopped");
    sign_in_again(&world, &session).await;
    let connect = session.connect(world.pipeline.clone());
    connect.arm().unwrap();
    assert!(!connect.signed_out().unwrap().is_stopped(), "a new sign-in's runs go on");
}
