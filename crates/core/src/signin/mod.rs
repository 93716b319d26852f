//! Signing in the MSAL way from a desktop app: authorization code with PKCE (S256), `state` and
//! `nonce`, in the system browser, with the redirect caught by a one-shot listener on
//! `http://localhost:<port>` (3000 by default, the redirect URI the Node migrator's single-page
//! registrations already carry). This module holds what needs no HTTP client: the PKCE pair, the
//! authorize URL, the listener, the page the browser tab shows, and what Entra's errors mean.
//! The PKCE pair and the authorize URL are `oauth2`'s; redeeming the code and refreshing tokens are
//! `oauth2`'s exchanges sent through the Azure client pipeline (`iotm_azure::oauth`).

pub mod aadsts;
pub mod authorize;
pub mod browser;
pub mod flow;
pub mod page;
pub mod port_holder;
pub mod redirect;

use serde::Serialize;
use ts_rs::TS;

/// Why a sign-in did not complete, with a stable code the UI branches on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignInError {
    #[error("Port {port} on this computer is already in use{}, so the sign-in redirect cannot be received. Change the redirect port in Settings (and add http://localhost:<port> as a redirect URI on the app registration), or close that program.", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    PortBusy { port: u16, holder: Option<String> },
    #[error("The sign-in listener could not start on port {port}: {message}")]
    ListenerFailed { port: u16, message: String },
    #[error("The browser could not be opened: {0}. Open the sign-in link by hand.")]
    BrowserFailed(String),
    #[error("No sign-in arrived within {minutes} minutes. Start again when you are ready.")]
    TimedOut { minutes: u64 },
    #[error("Sign-in was cancelled.")]
    Cancelled,
    #[error("{}", .0.meaning)]
    Entra(aadsts::Explained),
    /// The token endpoint could not be reached or answered oddly (not an Entra refusal).
    #[error("{message}")]
    Service { code: String, message: String },
}

impl SignInError {
    pub fn code(&self) -> &'static str {
        match self {
            SignInError::PortBusy { .. } => "signin.port_busy",
            SignInError::ListenerFailed { .. } => "signin.listener_failed",
            SignInError::BrowserFailed(_) => "signin.browser_failed",
            SignInError::TimedOut { .. } => "signin.timed_out",
            SignInError::Cancelled => "signin.cancelled",
            SignInError::Entra(e) => e.code,
            SignInError::Service { .. } => "signin.service_failed",
        }
    }

    /// Every code `code` gives, Entra's refusals as `aadsts` explains them included.
    pub const CODES: &'static [&'static str] = &[
        "signin.port_busy",
        "signin.listener_failed",
        "signin.browser_failed",
        "signin.timed_out",
        "signin.cancelled",
        "signin.service_failed",
        "signin.spa_origin_required",
        "signin.redirect_uri_mismatch",
        "signin.consent_required",
        "signin.access_denied",
        "signin.response_type_not_enabled",
        "signin.app_not_found",
        "signin.wrong_tenant",
        "signin.mfa_required",
        "signin.blocked_by_policy",
        "signin.session_expired",
        "signin.code_expired",
        "signin.pkce_mismatch",
        "signin.interaction_required",
        "signin.entra_error",
    ];

    /// What the person can do about it, when there is something.
    pub fn fix(&self) -> Option<String> {
        match self {
            SignInError::Entra(e) => e.fix.clone(),
            _ => None,
        }
    }
}

/// How a sign-in is going, streamed to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum SignInProgress {
    /// Waiting for the sign-in page to come back; the link is shown too, and is the way in when
    /// the browser did not open. Sent as the browser is asked to open, and again with the outcome.
    WaitingForBrowser { authorize_url: String, redirect_uri: String, expires_in_seconds: u32, browser: BrowserLaunch },
    /// The browser came back with a code; tokens are being fetched.
    Redeeming,
}

/// Whether the system browser opened on the sign-in page: the dialog says "your browser has
/// opened" only when it did, and otherwise makes copying the link the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum BrowserLaunch {
    Opening,
    Opened,
    /// No opener ran or it failed (no default browser, `xdg-open` missing): why, in words.
    NotOpened {
        reason: String,
    },
}
