//! The signed-in side of the app: which accounts exist, which one acts, the credential of each
//! (built again from the keyring's refresh token after a restart, so sign-in is silent), and the
//! sign-in that adds one. Also the cloud a call goes to: one pipeline per environment.
//!
//! A credential belongs to the cloud that issued it. An account is one person in one environment,
//! and its credential is handed out only for a pipeline of that environment whose Entra authority
//! is the one the account signed in at; a credential in memory only for the very cloud it was made
//! for. After a switch of environment, a restart on another one, or a custom profile pointing
//! elsewhere, the answer is "sign in on this environment", before anything is sent.

use crate::accounts::{refresh_token_name, Account, Accounts, RegistrationKind};
use crate::environment::Environment;
use crate::error::Coded;
use crate::runtime::StopSignal;
use crate::secrets::{SecretStore, SecretStoreError};
use crate::signin::flow::{sign_in, SignInOptions};
use crate::signin::{SignInError, SignInProgress};
use crate::ErrorPayload;
use iotm_azure::arm::ArmClient;
use iotm_azure::cloud::Service;
use iotm_azure::user::{UserApp, UserCredential};
use iotm_azure::{AzureError, Cloud, Pipeline, PipelineOptions, Secret};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use ts_rs::TS;

/// What the UI shows of the session.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub accounts: Vec<Account>,
    pub current: Option<String>,
    /// False where no keyring answered: sign-ins last for this session only.
    pub keyring_available: bool,
    pub keyring_problem: Option<String>,
    /// Connection strings and API tokens, described (never their secrets).
    pub connections: Vec<crate::connections::SavedConnection>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSummary {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CentralAppSummary {
    pub name: String,
    pub display_name: String,
    pub subdomain: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub application_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("Nobody is signed in. Sign in first.")]
    NotSignedIn,
    #[error("The sign-in of {username} has ended. Sign in again.")]
    SignInAgain { username: String },
    #[error("{username} is signed in to {signed_in_to}, not to {now}. Sign in on {now}, or switch back to {signed_in_to}.")]
    OtherCloud { username: String, signed_in_to: String, now: String },
    #[error(transparent)]
    Secrets(#[from] SecretStoreError),
    #[error(transparent)]
    Core(#[from] crate::Error),
    #[error(transparent)]
    Azure(#[from] AzureError),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Connection(#[from] crate::connections::ConnectionError),
    #[error("No saved connection has the ID {0}.")]
    UnknownConnection(String),
}

impl SessionError {
    pub fn code(&self) -> String {
        match self {
            SessionError::NotSignedIn => "session.not_signed_in".into(),
            SessionError::SignInAgain { .. } => "signin.session_expired".into(),
            SessionError::OtherCloud { .. } => "session.other_cloud".into(),
            SessionError::Secrets(e) => e.code().into(),
            SessionError::Core(e) => e.code().into(),
            SessionError::Azure(e) => e.code().into(),
            SessionError::SignIn(e) => e.code().into(),
            SessionError::Connection(e) => e.code().into(),
            SessionError::UnknownConnection(_) => "connections.unknown".into(),
        }
    }

    pub fn fix(&self) -> Option<String> {
        match self {
            SessionError::SignIn(e) => e.fix(),
            _ => None,
        }
    }

    /// The session's own codes (the rest are its sources': secrets, sign-in, Azure, connections).
    pub const CODES: &'static [&'static str] = &["session.not_signed_in", "session.other_cloud"];
}

/// The cloud an environment means. The sandbox needs its running address and CA.
pub fn cloud_for(environment: Environment, sandbox: Option<(&str, &Path)>, custom_profile: Option<&Path>) -> Result<Cloud, AzureError> {
    match environment {
        Environment::AzurePublic => Ok(Cloud::AzureCloud),
        Environment::AzureUsGov => Ok(Cloud::AzureUSGovernment),
        Environment::AzureChina => Ok(Cloud::AzureChinaCloud),
        Environment::Custom => Cloud::from_file(
            custom_profile
                .ok_or_else(|| AzureError::InvalidInput { what: "The custom cloud".into(), problem: "needs a profile file chosen in Settings".into() })?,
        ),
        Environment::Sandbox => {
            let (url, ca) = sandbox.ok_or_else(|| AzureError::InvalidInput { what: "The sandbox".into(), problem: "is not running".into() })?;
            let pem = std::fs::read_to_string(ca)
                .map_err(|e| AzureError::InvalidInput { what: format!("The sandbox CA {}", ca.display()), problem: e.to_string() })?;
            Cloud::sandbox(url, pem)
        }
    }
}

/// A credential handed out, and the cloud it was made for.
type MadeFor = (Cloud, Arc<UserCredential>);

pub struct Session {
    config_dir: PathBuf,
    secrets: Arc<dyn SecretStore>,
    keyring_problem: Option<String>,
    accounts: Mutex<Accounts>,
    /// By account ID (which names the environment): every credential handed out for it, with the
    /// cloud each was made for — all kept, since a run may still hold an older one, and sign-out
    /// revokes them all.
    credentials: Mutex<HashMap<String, Vec<MadeFor>>>,
    /// By account ID: fired when the account signs out, so the runs using it stop.
    signed_out: Mutex<HashMap<String, StopSignal>>,
    cancel: Mutex<Option<oneshot::Sender<()>>>,
    connections: Mutex<Vec<crate::connections::SavedConnection>>,
    /// Secrets kept for this session only (connections not remembered).
    memory: crate::secrets::SessionStore,
}

impl Session {
    /// `secrets` is the keyring, or the session store with why no keyring answered.
    pub fn open(config_dir: &Path, secrets: Arc<dyn SecretStore>, keyring_problem: Option<String>) -> Result<Session, SessionError> {
        let mut accounts = Accounts::load(config_dir)?;
        let dropped = accounts.forget_unkeyed(secrets.as_ref());
        if !dropped.is_empty() {
            tracing::info!(accounts = dropped.len(), "accounts saved before credentials were kept per environment were removed; they sign in again");
            accounts.save(config_dir)?;
        }
        let connections = crate::connections::load(config_dir)?;
        Ok(Session {
            config_dir: config_dir.to_path_buf(),
            secrets,
            keyring_problem,
            accounts: Mutex::new(accounts),
            credentials: Mutex::default(),
            signed_out: Mutex::default(),
            cancel: Mutex::default(),
            connections: Mutex::new(connections),
            memory: Default::default(),
        })
    }

    pub fn view(&self) -> SessionView {
        let accounts = self.accounts.lock().expect("accounts lock");
        SessionView {
            accounts: accounts.accounts.clone(),
            current: accounts.current.clone(),
            keyring_available: self.secrets.persistent(),
            keyring_problem: self.keyring_problem.clone(),
            connections: self.connections.lock().expect("connections lock").clone(),
        }
    }

    /// Checks and keeps a connection string or API token (in the keyring when `remember`).
    /// Checks a pasted connection (its form, then one authorised call over `pipeline`) and keeps it.
    pub async fn add_connection(
        &self,
        pipeline: &Pipeline,
        kind: crate::connections::ConnectionKind,
        label: &str,
        secret: &str,
        central_subdomain: Option<&str>,
        remember: bool,
    ) -> Result<SessionView, SessionError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let mut connection = crate::connections::describe(kind, label, secret, central_subdomain, now)?;
        crate::connection_check::check(pipeline, kind, secret, central_subdomain).await?;
        crate::connections::store(&mut connection, secret, remember, self.secrets.as_ref(), &self.memory)?;
        let mut all = self.connections.lock().expect("connections lock");
        all.push(connection);
        crate::connections::save(&self.config_dir, &all)?;
        drop(all);
        Ok(self.view())
    }

    /// Forgets a connection and its secret, wherever it was kept.
    pub fn remove_connection(&self, id: &str) -> Result<SessionView, SessionError> {
        let mut all = self.connections.lock().expect("connections lock");
        let index = all.iter().position(|c| c.id == id).ok_or_else(|| SessionError::UnknownConnection(id.to_string()))?;
        let removed = all.remove(index);
        let name = crate::connections::secret_name(id);
        if removed.remembered {
            self.secrets.delete(&name)?
        } else {
            self.memory.delete(&name)?
        }
        crate::connections::save(&self.config_dir, &all)?;
        drop(all);
        Ok(self.view())
    }

    /// Signs a person in and makes them the current account.
    pub async fn sign_in(
        &self,
        pipeline: &Pipeline,
        options: SignInOptions,
        open_browser: &(dyn Fn(&str) -> Result<(), String> + Send + Sync),
        progress: &(dyn Fn(SignInProgress) + Send + Sync),
    ) -> Result<Account, SessionError> {
        let (cancel, cancelled) = oneshot::channel();
        if let Some(previous) = self.cancel.lock().expect("cancel lock").replace(cancel) {
            let _ = previous.send(());
        }
        let signed = sign_in(pipeline, &options, open_browser, progress, cancelled).await?;
        let mut account = signed.account;
        account.session_only = !self.secrets.persistent();
        self.secrets.put(&refresh_token_name(&account.id), signed.refresh_token.expose())?;
        let credential = self.credential_from(pipeline, &account, signed.app, signed.refresh_token);
        if let Ok(audience) = pipeline.cloud().audience(Service::Arm) {
            credential.remember(&audience, &signed.access_token, signed.expires_in).await;
        }
        self.credentials.lock().expect("credentials lock").entry(account.id.clone()).or_default().push((pipeline.cloud().clone(), credential));
        let mut accounts = self.accounts.lock().expect("accounts lock");
        accounts.signed_in(account.clone());
        accounts.save(&self.config_dir)?;
        tracing::info!(account = %account.username, session_only = account.session_only, "signed in");
        Ok(account)
    }

    pub fn cancel_sign_in(&self) {
        if let Some(cancel) = self.cancel.lock().expect("cancel lock").take() {
            let _ = cancel.send(());
        }
    }

    fn credential_from(&self, pipeline: &Pipeline, account: &Account, app: UserApp, refresh_token: Secret<String>) -> Arc<UserCredential> {
        let (secrets, name) = (self.secrets.clone(), refresh_token_name(&account.id));
        let on_rotate = Arc::new(move |token: &Secret<String>| {
            if let Err(e) = secrets.put(&name, token.expose()) {
                tracing::warn!(code = e.code(), "a rotated refresh token could not be stored: {e}");
            }
        });
        Arc::new(UserCredential::new(pipeline.clone(), app, refresh_token, on_rotate))
    }

    /// The current account's credential for `pipeline`: in memory, or rebuilt from the stored
    /// refresh token — only when `pipeline` is a cloud of the account's environment with the
    /// authority that issued its tokens; refused before anything is sent otherwise.
    pub fn credential(&self, pipeline: &Pipeline) -> Result<Arc<UserCredential>, SessionError> {
        let account = self.accounts.lock().expect("accounts lock").current().cloned().ok_or(SessionError::NotSignedIn)?;
        let cloud = pipeline.cloud();
        if Environment::of(cloud) != account.environment {
            return Err(SessionError::OtherCloud {
                username: account.username.clone(),
                signed_in_to: account.environment.label().into(),
                now: Environment::of(cloud).label().into(),
            });
        }
        // The same environment at another authority: the sandbox restarted on another port, a
        // custom profile now names another Entra. For the person the sign-in has simply ended.
        let authority = cloud.endpoints().authority_host;
        if authority.as_str() != account.authority {
            tracing::info!(
                environment = account.environment.label(),
                "the environment's Entra is not the one the account signed in at; its refresh token is not sent"
            );
            return Err(SessionError::SignInAgain { username: account.username.clone() });
        }
        // Same authority but another profile (a custom one edited): a credential's tokens are for
        // its own profile's audiences, so one is made again below from the refresh token.
        let made = self.credentials.lock().expect("credentials lock").get(&account.id).and_then(|all| all.iter().rev().find(|(c, _)| c == cloud).cloned());
        if let Some((_, credential)) = made {
            return Ok(credential);
        }
        let refresh_token =
            self.secrets.get(&refresh_token_name(&account.id))?.ok_or_else(|| SessionError::SignInAgain { username: account.username.clone() })?;
        let spa_origin = (account.registration == RegistrationKind::Spa).then(|| account.redirect_uri.clone());
        let app = UserApp { tenant: account.tenant_id.clone(), client_id: account.client_id.clone(), spa_origin };
        let credential = self.credential_from(pipeline, &account, app, Secret::new(refresh_token));
        self.credentials.lock().expect("credentials lock").entry(account.id.clone()).or_default().push((cloud.clone(), credential.clone()));
        Ok(credential)
    }

    pub fn switch(&self, id: &str) -> Result<SessionView, SessionError> {
        let mut accounts = self.accounts.lock().expect("accounts lock");
        accounts.switch_to(id)?;
        accounts.save(&self.config_dir)?;
        drop(accounts);
        Ok(self.view())
    }

    /// Fired when the account `id` signs out (at once when it is not signed in): what a run using
    /// its credential watches to stop.
    fn signed_out_signal(&self, id: &str) -> StopSignal {
        // Under the accounts lock, as `sign_out` fires: a signal is either made before the account
        // goes (and then fired) or after (and then born stopped, never kept to stop a later run).
        let accounts = self.accounts.lock().expect("accounts lock");
        if !accounts.accounts.iter().any(|a| a.id == id) {
            let gone = StopSignal::default();
            gone.stop();
            return gone;
        }
        self.signed_out.lock().expect("signed-out lock").entry(id.to_string()).or_default().clone()
    }

    /// Forgets the account: its refresh token, its tokens in memory, its entry. Final: every
    /// credential handed out for it is revoked first — a running migration's clients get no token
    /// from it again, and a refresh under way writes nothing back after the keyring entry is gone —
    /// and the runs using it are told to stop at their next safe point (resumable once someone
    /// signs in again).
    pub fn sign_out(&self, id: &str) -> Result<SessionView, SessionError> {
        for (_, credential) in self.credentials.lock().expect("credentials lock").remove(id).unwrap_or_default() {
            credential.revoke();
        }
        let mut accounts = self.accounts.lock().expect("accounts lock");
        let forgotten = accounts.sign_out(id, self.secrets.as_ref());
        // Fired even when the keyring refused: the credential is revoked either way.
        if let Some(signal) = self.signed_out.lock().expect("signed-out lock").remove(id) {
            signal.stop();
        }
        forgotten?;
        accounts.save(&self.config_dir)?;
        drop(accounts);
        tracing::info!("signed out");
        Ok(self.view())
    }

    /// A failed call with an expired sign-in becomes "sign in again"; other errors pass.
    fn expired(&self, error: AzureError) -> SessionError {
        let ended = error
            .service_error()
            .is_some_and(|e| e.service == Service::Entra && (e.code.as_deref() == Some("invalid_grant") || e.code.as_deref() == Some("interaction_required")));
        match (ended, self.accounts.lock().expect("accounts lock").current()) {
            (true, Some(account)) => SessionError::SignInAgain { username: account.username.clone() },
            _ => SessionError::Azure(error),
        }
    }

    pub async fn subscriptions(&self, pipeline: &Pipeline) -> Result<Vec<SubscriptionSummary>, SessionError> {
        let arm = ArmClient::new(pipeline.clone(), self.credential(pipeline)?);
        let all = arm.subscriptions()?.all().await.map_err(|e| self.expired(e))?;
        Ok(all.into_iter().map(|s| SubscriptionSummary { id: s.subscription_id, name: s.display_name, state: s.state }).collect())
    }

    /// Every Central app in every subscription the account sees (every page of each list).
    pub async fn central_apps(&self, pipeline: &Pipeline) -> Result<Vec<CentralAppSummary>, SessionError> {
        let arm = ArmClient::new(pipeline.clone(), self.credential(pipeline)?);
        let mut apps = Vec::new();
        for subscription in arm.subscriptions()?.all().await.map_err(|e| self.expired(e))? {
            for app in arm.central_apps(&subscription.subscription_id)?.all().await.map_err(|e| self.expired(e))? {
                let resource_group = app.id.split('/').skip_while(|s| !s.eq_ignore_ascii_case("resourceGroups")).nth(1).unwrap_or_default().to_string();
                apps.push(CentralAppSummary {
                    display_name: app.properties.display_name.clone().unwrap_or_else(|| app.name.clone()),
                    name: app.name,
                    subdomain: app.properties.subdomain,
                    subscription_id: subscription.subscription_id.clone(),
                    resource_group,
                    location: app.location,
                    application_id: app.properties.application_id,
                });
            }
        }
        Ok(apps)
    }
}

impl Session {
    /// A saved connection's secret, wherever it was kept.
    pub fn connection_secret(&self, id: &str) -> Result<Secret<String>, SessionError> {
        let remembered = self
            .connections
            .lock()
            .expect("connections lock")
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.remembered)
            .ok_or_else(|| SessionError::UnknownConnection(id.to_string()))?;
        let name = crate::connections::secret_name(id);
        let secret = if remembered { self.secrets.get(&name)? } else { self.memory.get(&name)? };
        secret.map(Secret::new).ok_or_else(|| SessionError::UnknownConnection(id.to_string()))
    }

    /// A Central application's client: as the signed-in account, or through a saved API token.
    pub fn central_client(
        &self,
        pipeline: &Pipeline,
        subdomain: &str,
        access: &crate::wizards::CentralAccess,
    ) -> Result<iotm_azure::central::CentralClient, SessionError> {
        use crate::wizards::CentralAccess;
        let credential: Arc<dyn iotm_azure::Credential> = match access {
            CentralAccess::SignedIn => self.credential(pipeline)?,
            CentralAccess::ApiToken { connection_id } => Arc::new(iotm_azure::CentralApiToken::new(self.connection_secret(connection_id)?)),
        };
        Ok(iotm_azure::central::CentralClient::new(pipeline.clone(), credential, subdomain)?)
    }

    pub fn arm(&self, pipeline: &Pipeline) -> Result<ArmClient, SessionError> {
        Ok(ArmClient::new(pipeline.clone(), self.credential(pipeline)?))
    }

    /// Where the runs of this session get their clients: the signed-in account (and saved API
    /// tokens) over `pipeline`.
    pub fn connect(&self, pipeline: Pipeline) -> SignedIn<'_> {
        SignedIn { session: self, pipeline, account: Mutex::default() }
    }
}

/// The signed-in session as a source of clients for any wizard.
pub struct SignedIn<'a> {
    session: &'a Session,
    pipeline: Pipeline,
    /// The account whose credential the clients were given.
    account: Mutex<Option<String>>,
}

impl SignedIn<'_> {
    fn as_current<T>(&self, client: impl FnOnce() -> Result<T, SessionError>) -> Result<T, ErrorPayload> {
        let current = self.session.accounts.lock().expect("accounts lock").current.clone();
        let client = client().map_err(|e| e.to_payload())?;
        *self.account.lock().expect("account lock") = current;
        Ok(client)
    }
}

impl crate::runtime::Connect for SignedIn<'_> {
    fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn arm(&self) -> Result<ArmClient, ErrorPayload> {
        self.as_current(|| self.session.arm(&self.pipeline))
    }

    fn central(&self, subdomain: &str, access: &crate::wizards::CentralAccess) -> Result<iotm_azure::central::CentralClient, ErrorPayload> {
        self.as_current(|| self.session.central_client(&self.pipeline, subdomain, access))
    }

    fn signed_out(&self) -> Option<StopSignal> {
        let account = self.account.lock().expect("account lock").clone()?;
        Some(self.session.signed_out_signal(&account))
    }
}

impl Coded for SessionError {
    fn code(&self) -> String {
        SessionError::code(self)
    }
    /// The fix, which the UI shows under the message.
    fn detail(&self) -> Option<String> {
        self.fix()
    }
}

/// The pipeline options of the app (the defaults: connect 10 s, request 30 s, retries honouring Retry-After).
pub fn pipeline(cloud: Cloud) -> Result<Pipeline, AzureError> {
    Pipeline::new(cloud, PipelineOptions::default())
}
