//! The sandbox's sign-in and consent page: pick a sandbox user, see what the app asks for, accept
//! or cancel. Plain HTML with no scripts, so any browser (or a test) can drive it.

use super::authorize::AuthorizeRequest;
use crate::scenario::{AppRegistration, Tenant, User};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{font:15px system-ui,sans-serif;background:#f3f4f6;margin:0;display:grid;place-items:center;min-height:100vh;color:#1b1f24}\
main{background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.12);padding:28px 32px;width:440px}\
h1{font-size:20px;margin:0 0 4px}p{color:#5b6570;margin:4px 0 16px}label.user{display:flex;gap:10px;align-items:center;border:1px solid #dfe3e8;border-radius:8px;padding:10px 12px;margin:8px 0;cursor:pointer}\
ul{margin:6px 0 18px;padding-left:20px}.actions{display:flex;gap:10px;justify-content:flex-end}button{font:inherit;padding:8px 18px;border-radius:6px;border:1px solid #dfe3e8;background:#fff;cursor:pointer}\
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff;font-weight:600}.badge{font-size:12px;background:#fff8c5;border:1px solid #9a6700;border-radius:99px;padding:1px 8px;color:#9a6700}.error{color:#cf222e}";

pub fn sign_in(tenant: &str, app: &AppRegistration, users: &[(&Tenant, &User)], scope: &str, req: &AuthorizeRequest) -> String {
    let hidden: String = [
        ("client_id", &req.client_id),
        ("response_type", &req.response_type),
        ("redirect_uri", &req.redirect_uri),
        ("response_mode", &req.response_mode),
        ("scope", &req.scope),
        ("state", &req.state),
        ("nonce", &req.nonce),
        ("code_challenge", &req.code_challenge),
        ("code_challenge_method", &req.code_challenge_method),
    ]
    .iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!(r#"<input type="hidden" name="{name}" value="{}">"#, esc(v))))
    .collect();
    let hint = req.login_hint.as_deref().unwrap_or_default();
    let choices: String = users
        .iter()
        .enumerate()
        .map(|(i, (t, u))| {
            let checked = if u.user_principal_name.eq_ignore_ascii_case(hint) || (hint.is_empty() && i == 0) { " checked" } else { "" };
            format!(
                r#"<label class="user"><input type="radio" name="user" value="{id}" data-upn="{upn}"{checked}><span><strong>{name}</strong><br>{upn} · {tenant}</span></label>"#,
                id = esc(&u.id),
                upn = esc(&u.user_principal_name),
                name = esc(&u.display_name),
                tenant = esc(&t.display_name)
            )
        })
        .collect();
    let asks: String = scope
        .split_whitespace()
        .map(|s| {
            format!(
                "<li>{}</li>",
                esc(match s {
                    "openid" => "Sign you in",
                    "profile" => "View your basic profile",
                    "offline_access" => "Maintain access to data you have given it access to",
                    other => other,
                })
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to the sandbox cloud</title><style>{STYLE}</style></head>
<body><main><span class="badge">Sandbox cloud — no real Azure</span>
<h1>Sign in</h1><p>to continue to <strong>{app}</strong></p>
<form method="post" action="/{tenant}/oauth2/v2.0/authorize">{hidden}
{choices}
<p>{app} is asking to:</p><ul>{asks}</ul>
<div class="actions"><button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
<button type="submit" name="decision" value="accept" id="accept" class="primary">Accept</button></div>
</form></main></body></html>"#,
        app = esc(&app.display_name),
        tenant = esc(tenant),
    )
}

pub fn error(description: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in error</title><style>{STYLE}</style></head>
<body><main><span class="badge">Sandbox cloud — no real Azure</span><h1>Sorry, but we’re having trouble signing you in.</h1>
<p class="error" id="error">{}</p></main></body></html>"#,
        esc(description)
    )
}
