//! What may be written about a request: its URL with every secret-bearing query value replaced,
//! and service messages scrubbed of anything shaped like a key or a token. The pipeline logs
//! nothing else (never headers, never bodies), so these two are the whole of what reaches a log.

use crate::secret::REDACTED;
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

/// Markers after which a secret follows, up to the next delimiter.
const MARKERS: &[&str] = &["sharedaccesssignature ", "sharedaccesskey=", "accountkey=", "sig=", "bearer ", "client_secret="];

/// `text` with whatever follows a secret marker replaced, for messages that quote a service's own words.
pub fn scrub(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match MARKERS.iter().find(|m| lower[i..].starts_with(*m)) {
            Some(marker) => {
                let start = i + marker.len();
                let end = text[start..].find(|c: char| c.is_whitespace() || matches!(c, ';' | '"' | '\'' | ',' | '&')).map_or(text.len(), |n| start + n);
                // A SAS token runs on across its `&`-joined fields.
                let end = if marker.starts_with("sharedaccesssignature") {
                    text[start..].find(|c: char| c.is_whitespace() || matches!(c, ';' | '"' | '\'' | ',')).map_or(text.len(), |n| start + n)
                } else {
                    end
                };
                out.push_str(&text[i..start]);
                if end > start {
                    out.push_str(REDACTED);
                }
                i = end;
            }
            None => {
                let c = text[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
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
