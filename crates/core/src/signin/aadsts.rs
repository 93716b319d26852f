//! What Entra's errors mean and what to do about them. A sign-in error reaches a person as a sentence
//! and a fix ("add http://localhost:3000 as a redirect URI"), never as a raw `AADSTS…` dump; the
//! raw description stays available (redacted) for support.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    /// The app's stable code, e.g. `signin.redirect_uri_mismatch`.
    #[ts(type = "string")]
    pub code: &'static str,
    /// The OAuth error (`invalid_grant`, `access_denied`…).
    pub error: String,
    pub aadsts: Option<u32>,
    pub meaning: String,
    pub fix: Option<String>,
    /// Entra's own description, secrets removed.
    pub description: String,
}

/// The AADSTS number at the start of a description (`AADSTS50011: …`).
pub fn aadsts_number(description: &str) -> Option<u32> {
    let rest = &description[description.find("AADSTS")? + 6..];
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

/// Explains an error from the redirect (`error`, `error_description`) or the token endpoint.
pub fn explain(error: &str, description: &str, redirect_uri: &str) -> Explained {
    let number = aadsts_number(description);
    let (code, meaning, fix): (&'static str, String, Option<String>) = match (number, error) {
        (Some(9002327), _) => (
            "signin.spa_origin_required",
            "The app registration is a single-page application, and Entra only redeems its sign-ins for a browser-style request carrying an Origin header.".into(),
            Some("In Settings, set the registration type to \"Single-page application\" so the app sends the Origin header — or add the \"Mobile and desktop applications\" platform to the registration.".into()),
        ),
        (Some(50011), _) => (
            "signin.redirect_uri_mismatch",
            format!("The app registration does not list {redirect_uri} as a redirect URI."),
            Some(format!("In the Azure portal, open the app registration → Authentication, and add {redirect_uri} under \"Single-page application\" (or \"Mobile and desktop applications\"). Or change the redirect port in Settings to one the registration lists.")),
        ),
        (Some(65001), _) => (
            "signin.consent_required",
            "Nobody has consented yet to this app reading Azure on your behalf.".into(),
            Some("Ask an administrator to grant tenant-wide consent to the app registration (API permissions → Grant admin consent), or sign in with an account allowed to consent.".into()),
        ),
        (Some(65004), _) | (None, "access_denied") => (
            "signin.access_denied",
            "The sign-in was declined in the browser.".into(),
            Some("Start the sign-in again and accept the permissions the app asks for.".into()),
        ),
        (Some(700054), _) => (
            "signin.response_type_not_enabled",
            "The app registration does not allow this way of signing in.".into(),
            Some("Register the redirect URI under \"Single-page application\" or \"Mobile and desktop applications\" (not \"Web\"); the app uses the authorization code flow with PKCE.".into()),
        ),
        (Some(700016), _) => (
            "signin.app_not_found",
            "No app registration with this client ID exists in the tenant.".into(),
            Some("Check the client ID and the tenant in Settings; a single-tenant registration needs its own tenant ID rather than \"organizations\".".into()),
        ),
        (Some(50020 | 90072), _) => (
            "signin.wrong_tenant",
            "This account does not belong to the tenant the app signs in to.".into(),
            Some("Set the tenant in Settings to \"organizations\" or to the account's own tenant, or ask to be invited as a guest.".into()),
        ),
        (Some(50076 | 50079), _) => ("signin.mfa_required", "Your organisation requires multi-factor authentication.".into(), Some("Complete the second step in the browser and try again.".into())),
        (Some(53003), _) => ("signin.blocked_by_policy", "A Conditional Access policy of your organisation blocked this sign-in.".into(), Some("Ask your administrator which device or location the policy requires.".into())),
        (Some(700084 | 700082 | 50173), _) => (
            "signin.session_expired",
            if number == Some(700084) { "Your sign-in has expired: single-page app registrations must sign in again every 24 hours.".into() } else { "Your sign-in has expired.".into() },
            Some("Sign in again.".into()),
        ),
        (Some(70008), _) => ("signin.code_expired", "The sign-in took too long and its code expired.".into(), Some("Start the sign-in again.".into())),
        (Some(50148), _) => ("signin.pkce_mismatch", "The sign-in did not match the one this app started (PKCE check failed).".into(), Some("Start the sign-in again from the app.".into())),
        (_, "interaction_required" | "login_required") => ("signin.interaction_required", "Entra needs you to sign in again in the browser.".into(), Some("Sign in again.".into())),
        _ => ("signin.entra_error", format!("Entra refused the sign-in ({error})."), None),
    };
    Explained { code, error: error.to_string(), aadsts: number, meaning, fix, description: crate::redact::redact(description).into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_known_error_gets_its_meaning_and_fix() {
        let cases = [
            (
                "invalid_request",
                "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
                "signin.spa_origin_required",
            ),
            (
                "invalid_request",
                "AADSTS50011: The redirect URI 'http://localhost:3000' specified in the request does not match",
                "signin.redirect_uri_mismatch",
            ),
            ("consent_required", "AADSTS65001: The user or administrator has not consented", "signin.consent_required"),
            ("unsupported_response_type", "AADSTS700054: response_type 'id_token' is not enabled for the application.", "signin.response_type_not_enabled"),
            ("access_denied", "the user canceled the authentication", "signin.access_denied"),
            (
                "invalid_grant",
                "AADSTS700084: The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00",
                "signin.session_expired",
            ),
            (
                "invalid_grant",
                "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
                "signin.pkce_mismatch",
            ),
            ("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", "signin.code_expired"),
        ];
        for (error, description, code) in cases {
            let e = explain(error, description, "http://localhost:3000");
            assert_eq!(e.code, code, "{description}");
            assert!(super::super::SignInError::CODES.contains(&e.code), "{} is not in SignInError::CODES", e.code);
            assert!(e.fix.is_some(), "{code} needs a fix");
        }
        let mismatch = explain("invalid_request", "AADSTS50011: …", "http://localhost:3000");
        assert!(mismatch.fix.unwrap().contains("add http://localhost:3000"));
        assert_eq!(
            explain("invalid_grant", "AADSTS700084: …", "x").meaning,
            "Your sign-in has expired: single-page app registrations must sign in again every 24 hours."
        );
    }

    #[test]
    fn an_unknown_error_keeps_entras_words_without_secrets() {
        let e = explain("server_error", "AADSTS12345: odd. refresh_token=0.AAAAsecret", "x");
        assert_eq!((e.code, e.aadsts), ("signin.entra_error", Some(12345)));
        assert!(!e.description.contains("0.AAAAsecret"), "{}", e.description);
    }
}
