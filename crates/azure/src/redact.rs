//! What may be written about a request: its URL with every secret-bearing query value replaced,
//! and service messages scrubbed of anything shaped like a key or a token. The pipeline logs
//! nothing else (never headers, never bodies), so these two are the whole of what reaches a log.
//! The list of secret shapes lives here, the lowest crate that needs it, and is the one
//! `iotm-core`'s redaction uses for every log line, report and error.

use crate::secret::REDACTED;
use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;
use url::Url;

/// Query parameters whose values are credentials or signatures (SAS `sig`/`se`/`skn`/`sr` ride
/// together; OAuth codes and tokens sometimes travel in a query too).
const SECRET_PARAMS: &[&str] = &[
    "sig",
    "se",
    "skn",
    "sr",
    "st",
    "sv",
    "code",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "key",
    "api-key",
    "password",
    "secret",
];

/// The URL as it may be logged: no user info, no fragment, secret query values redacted.
pub fn url_for_log(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_fragment(None);
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
                (k.into_owned(), if secret { REDACTED.to_string() } else { v.into_owned() })
            })
            .collect();
        clean.query_pairs_mut().clear().extend_pairs(pairs);
    }
    clean.to_string()
}

/// True when a query value of `url` is a credential or signature (what `url_for_log` hides): such
/// a URL is never written down (a pager's saved place, a checkpoint).
pub fn carries_secret(url: &Url) -> bool {
    url.query_pairs().any(|(k, _)| SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)))
}

struct Rule {
    pattern: Regex,
    /// Replacement; `${keep}` re-inserts the non-secret prefix captured by the pattern.
    replacement: &'static str,
}

/// A quote as it appears around a JSON name or value, JSON-escaped any number of times (`"`, `\"`,
/// `\\\"`) or single.
const QUOTE: &str = r#"(?:\\*["'])?"#;

/// The one list of secret shapes: this crate scrubs service messages with it and `iotm-core`
/// redacts every log line, report, IPC error and diagnostics file with it. Each shape is in
/// `tests/fixtures/secret-shapes.json`, which the end-to-end scan of what the app wrote is held
/// to as well. A value ends at a quote or a backslash (the start of `\"` or `\u0026`), so a
/// secret inside escaped JSON goes and the text around it stays.
fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |pattern: &str, replacement: &'static str| Rule { pattern: Regex::new(pattern).expect("redaction pattern compiles"), replacement };
        let named = [
            "access_token",
            "accessToken",
            "refresh_token",
            "refreshToken",
            "id_token",
            "idToken",
            "client_secret",
            "clientSecret",
            "client_assertion",
            "code_verifier",
            "primaryKey",
            "primary_key",
            "secondaryKey",
            "secondary_key",
            "SharedAccessKey",
            "shared_access_key",
            "accountKey",
            "account_key",
            "password",
            "apiToken",
            "api_token",
        ]
        .join("|");
        vec![
            // Private keys in PEM, to their END line (or to the end of the text when cut short).
            rule(r"(?s)(?P<keep>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----).*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)", "${keep}[REDACTED]"),
            // A SAS token as a whole: `SharedAccessSignature sr=…&sig=…&se=…&skn=…`.
            rule(r#"(?i)(?P<keep>SharedAccessSignature(?:\s*=\s*|\s+))(?:SharedAccessSignature\s+)?[^\s;,'"`]+"#, "${keep}[REDACTED]"),
            rule(r#"(?i)(?P<keep>\b(?:SharedAccessKey|AccountKey|ClientSecret)\s*=\s*)[^;\s'"`\\]+"#, "${keep}[REDACTED]"),
            // SAS signatures wherever a query can start: after `?`, `&`, `;`, a space, a quote, a
            // line start, or a JSON-escaped `&` (`\u0026`).
            rule(r#"(?im)(?P<keep>(?:^|[?&;,(\s"']|\\u0026)sig=)[^&\s'"`\\]+"#, "${keep}[REDACTED]"),
            // The same URL-encoded (once or twice), as a SAS URL or token inside another URL's
            // query: the value runs to the encoded `&` (`%26`), over every other escape.
            rule(
                r#"(?im)(?P<keep>(?:^|[?&;(\s"']|%26|%2526|%3F|%253F|%20|%2520)sig(?:%3D|%253D))(?:[A-Za-z0-9+/=_.~-]|%(?:[013-9A-Fa-f][0-9A-Fa-f]|2[0-57-9A-Fa-f]))+"#,
                "${keep}[REDACTED]",
            ),
            rule(r"(?i)(?P<keep>\bBearer\s+)[A-Za-z0-9\-_.~+/]+=*", "${keep}[REDACTED]"),
            rule(
                &format!(r#"(?i)(?P<keep>\bAuthorization{QUOTE}\s*[:=]\s*{QUOTE}(?:Basic|Negotiate|NTLM)\s+)[^\s"'`\\,;]+"#),
                "${keep}[REDACTED]",
            ),
            // key=value, key: value, "key": "value", \"key\":\"value\" and Rust Debug `key: "value"`
            // forms of named secrets (form bodies, JSON, escaped JSON, headers, debug output).
            rule(&format!(r#"(?i)(?P<keep>\b(?:{named}){QUOTE}\s*[:=]\s*{QUOTE})[^"'\\&\s,;}}]+"#), "${keep}[REDACTED]"),
            // An OAuth authorization code in a redirect URL (query or fragment).
            rule(r#"(?i)(?P<keep>(?:[?&#]|\\u0026)code=)[^&\s'"`#\\]+"#, "${keep}[REDACTED]"),
            // Any JWT that slipped through without a label.
            rule(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", "[REDACTED-JWT]"),
        ]
    })
}

/// Returns `text` with every secret replaced by `[REDACTED]`; borrows when nothing matched.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for rule in rules() {
        if rule.pattern.is_match(&out) {
            out = Cow::Owned(rule.pattern.replace_all(&out, rule.replacement).into_owned());
        }
    }
    out
}

/// `text` with every secret removed, for messages that quote a service's own words.
pub fn scrub(text: &str) -> String {
    redact(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sas_url_keeps_its_shape_but_not_its_signature() {
        let url = Url::parse("https://acct.blob.core.windows.net/c/devices.txt?sv=2024-08-04&sr=c&sig=abc%2Bdef&se=2030-01-01&comp=list").unwrap();
        let logged = url_for_log(&url);
        assert!(!logged.contains("abc"), "{logged}");
        assert!(logged.contains("comp=list") && logged.contains("sig=%5BREDACTED%5D"), "{logged}");
    }

    #[test]
    fn a_signed_link_carries_a_secret_and_a_skiptoken_does_not() {
        assert!(carries_secret(&Url::parse("https://acct.blob.core.windows.net/c?comp=list&sig=abc").unwrap()));
        assert!(!carries_secret(&Url::parse("https://management.azure.com/subscriptions?api-version=2022-12-01&$skiptoken=abc").unwrap()));
    }

    /// Every shape in `tests/fixtures/secret-shapes.json` (which the end-to-end scan of what the app
    /// wrote is held to as well) loses its secret — no 12 characters of it in a row survive — and
    /// reads as the list says, the form the scan is checked not to flag.
    #[test]
    fn every_shape_of_secret_in_the_shared_list_is_removed() {
        let shapes: serde_json::Value = serde_json::from_str(include_str!("../../../tests/fixtures/secret-shapes.json")).unwrap();
        let shapes = shapes["shapes"].as_array().unwrap();
        assert!(shapes.len() >= 25, "the list is read whole");
        let mut leaks = Vec::new();
        for shape in shapes {
            let (kind, text, secret) = (shape["kind"].as_str().unwrap(), shape["text"].as_str().unwrap(), shape["secret"].as_str().unwrap());
            let out = scrub(text);
            let secret: Vec<char> = secret.chars().collect();
            if secret.windows(12).any(|w| out.contains(&w.iter().collect::<String>())) || !out.contains("REDACTED") {
                leaks.push(format!("{kind}: {out}"));
            } else if out != shape["redacted"].as_str().unwrap() {
                // The scan checks this form: it must be exactly what is written.
                leaks.push(format!("{kind}: {out:?} is not the listed {}", shape["redacted"]));
            }
        }
        assert!(leaks.is_empty(), "secrets survived:\n{}", leaks.join("\n"));
    }

    #[test]
    fn keys_and_tokens_inside_a_message_are_scrubbed() {
        let text = "bad HostName=h;SharedAccessKeyName=owner;SharedAccessKey=S3cr3t== and SharedAccessSignature sr=h&sig=x%2B&se=1 then Bearer eyJabc.def";
        let clean = scrub(text);
        for secret in ["S3cr3t", "sig=x", "eyJabc"] {
            assert!(!clean.contains(secret), "{clean}");
        }
        assert!(clean.contains("SharedAccessKeyName=owner"), "{clean}");
    }
}
