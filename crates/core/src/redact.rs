//! Removes secrets from any text before it reaches a log file, a diagnostics bundle or the UI.
//!
//! Patterns cover every credential shape the app handles: OAuth bearer / refresh / access / id tokens
//! and bare JWTs, client secrets and PKCE verifiers, IoT Hub / DPS `SharedAccessKey=` and
//! `SharedAccessSignature` tokens, storage `AccountKey=` and SAS `sig=` query parameters, and the
//! `primaryKey` / `secondaryKey` fields of ARM and Central responses.

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

pub const REDACTED: &str = "[REDACTED]";

struct Rule {
    pattern: Regex,
    /// Replacement; `${keep}` re-inserts the non-secret prefix captured by the pattern.
    replacement: &'static str,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |pattern: &str, replacement: &'static str| Rule {
            pattern: Regex::new(pattern).expect("redaction pattern compiles"),
            replacement,
        };
        vec![
            // A SAS token as a whole: `SharedAccessSignature sr=…&sig=…&se=…&skn=…`.
            rule(r"(?i)(?P<keep>SharedAccessSignature(?:\s*=\s*|\s+))(?:SharedAccessSignature\s+)?[^\s;,'`]+", "${keep}[REDACTED]"),
            rule(r"(?i)(?P<keep>\b(?:SharedAccessKey|AccountKey|ClientSecret)\s*=\s*)[^;\s'`]+", "${keep}[REDACTED]"),
            // Storage and service SAS URLs: the signature is the secret part.
            rule(r"(?i)(?P<keep>[?&;\s]sig=)[^&\s'`]+", "${keep}[REDACTED]"),
            rule(r"(?i)(?P<keep>\bBearer\s+)[A-Za-z0-9\-_.~+/]+=*", "${keep}[REDACTED]"),
            // key=value, key: value and "key": "value" forms of named secrets (form bodies, JSON, headers).
            rule(
                r#"(?i)(?P<keep>"?\b(?:access_token|refresh_token|id_token|client_secret|clientSecret|client_assertion|code_verifier|primaryKey|secondaryKey|password|apiToken)"?\s*[:=]\s*"?)[^"&\s,;}]+"#,
                "${keep}[REDACTED]",
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each secret kind, embedded the way it shows up in real traffic, must not survive.
    #[test]
    fn every_kind_of_secret_is_redacted() {
        let cases: &[(&str, &str, &str)] = &[
            ("bearer token", "Authorization: Bearer eyJ0eXAiOiJKV1Qi.eyJhdWQiOiJodHRwczovL21h.c2lnbmF0dXJl", "eyJhdWQiOiJodHRwczovL21h"),
            ("opaque bearer", "authorization=Bearer AbC123opaque/token+value==", "AbC123opaque"),
            ("refresh token (form)", "grant_type=refresh_token&refresh_token=0.ARoAv4j5cvGGr0GRqy180BHbR&scope=x", "0.ARoAv4j5cvGGr0GRqy180BHbR"),
            ("refresh token (json)", r#"{"refresh_token": "0.AAAA-fake-value", "expires_in": 3600}"#, "0.AAAA-fake-value"),
            ("access token (json)", r#"{"access_token":"ya29.opaque-access-value"}"#, "ya29.opaque-access-value"),
            ("id token", "id_token=eyJhbGciOiJSUzI1NiJ9.eyJub25jZSI6Im4ifQ.sig", "eyJub25jZSI6Im4ifQ"),
            (
                "hub connection string",
                "HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=q1w2e3r4t5y6u7i8o9p0-test-key=",
                "q1w2e3r4t5y6u7i8o9p0",
            ),
            ("sas token", "SharedAccessSignature sr=h.azure-devices.net&sig=abcDEF123%2B%3D&se=1700000000&skn=iothubowner", "abcDEF123"),
            (
                "sas in connection string",
                "HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h%2Fdevices%2Fd&sig=zzzSECRETzzz&se=1",
                "zzzSECRETzzz",
            ),
            ("blob sas url", "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=rwdl&se=2026-01-01&sig=Zm9vYmFyU0VDUkVU%3D", "Zm9vYmFyU0VDUkVU"),
            (
                "storage account key",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c3VwZXJzZWNyZXRrZXk=;EndpointSuffix=core.windows.net",
                "c3VwZXJzZWNyZXRrZXk",
            ),
            ("client secret (form)", "client_id=abc&client_secret=Xy7~secret.value-1&grant_type=client_credentials", "Xy7~secret.value-1"),
            ("client secret (json)", r#"{"clientSecret":"my-client-secret-9"}"#, "my-client-secret-9"),
            ("pkce verifier", "code=abc&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "dBjftJeZ4CVP"),
            ("policy keys (json)", r#"{"keyName":"owner","primaryKey":"cHJpbWFyeWtleQ==","secondaryKey":"c2Vjb25kYXJ5a2V5"}"#, "cHJpbWFyeWtleQ"),
        ];
        for (kind, input, secret) in cases {
            let out = redact(input);
            assert!(!out.contains(secret), "{kind}: secret survived in {out:?}");
            assert!(out.contains("REDACTED"), "{kind}: no redaction marker in {out:?}");
        }
    }

    #[test]
    fn text_without_secrets_is_left_alone() {
        let line = "GET /subscriptions?api-version=2022-12-01 200 in 35 ms (x-ms-client-request-id=1f2e)";
        assert!(matches!(redact(line), Cow::Borrowed(_)));
    }

    #[test]
    fn non_secret_parts_of_a_connection_string_stay_readable() {
        let out = redact("HostName=contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=abc=");
        assert_eq!(out, "HostName=contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=[REDACTED]");
    }
}
