//! Removes secrets from any text before it reaches a log file, a diagnostics bundle or the UI.
//!
//! Patterns cover every credential shape the app handles: OAuth bearer / refresh / access / id tokens
//! and bare JWTs, authorization codes in redirect URLs, client secrets and PKCE verifiers, IoT Hub /
//! DPS `SharedAccessKey=` and `SharedAccessSignature` tokens, storage `AccountKey=` and SAS `sig=`
//! (plain, JSON-escaped and URL-encoded), the `primaryKey` / `secondaryKey` / `accountKey` fields of
//! ARM and Central responses (JSON, escaped JSON, Rust Debug), `Authorization: Basic` and PEM private
//! keys. The list itself is `iotm_azure::redact`'s — one list for the client's messages and ours —
//! and every shape is in `tests/fixtures/secret-shapes.json`, which the end-to-end scan also reads.

pub use iotm_azure::redact::redact;

/// What stands where a secret was (the client crate's `Secret` prints the same).
pub use iotm_azure::secret::REDACTED;

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

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

    /// The log, the UI and the bundle are held to the same list of shapes as the client crate's
    /// messages and the end-to-end scan (`tests/fixtures/secret-shapes.json`).
    #[test]
    fn every_shape_of_secret_in_the_shared_list_is_redacted() {
        let shapes: serde_json::Value = serde_json::from_str(include_str!("../../../tests/fixtures/secret-shapes.json")).unwrap();
        let leaks: Vec<String> = shapes["shapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|shape| (shape["kind"].as_str().unwrap(), redact(shape["text"].as_str().unwrap()), shape["secret"].as_str().unwrap()))
            .filter(|(_, out, secret)| out.contains(&secret[..12]) || out.contains(&secret[secret.len() - 12..]) || !out.contains("REDACTED"))
            .map(|(kind, out, _)| format!("{kind}: {out}"))
            .collect();
        assert!(leaks.is_empty(), "secrets survived:\n{}", leaks.join("\n"));
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
