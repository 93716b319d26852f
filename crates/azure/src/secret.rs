//! Secrets as a type: keys, tokens, client secrets and connection strings are held in `Secret<T>`,
//! whose `Debug`, `Display` and `Serialize` print `[REDACTED]`, so a log line, an error message or
//! a value sent to the UI can never carry one by accident. Code that needs the value calls
//! `expose()`, which is easy to find in review.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

pub const REDACTED: &str = "[REDACTED]";

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself: for an Authorization header, a signature, a request body.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Secret<String> {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Secret<String> {
        Secret(value.to_string())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Redacted: a model holding keys can be shown to the UI or logged whole without leaking them.
impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// Keys read from a service response go straight into a `Secret`.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret<T>, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// For the one place a secret must be serialised in clear: a request body that carries it to the
/// service (`#[serde(serialize_with = "crate::secret::on_the_wire")]` on the wire model's field).
pub fn on_the_wire<T: Serialize, S: Serializer>(secret: &Secret<T>, serializer: S) -> Result<S::Ok, S::Error> {
    secret.0.serialize(serializer)
}

/// `on_the_wire` for optional secrets.
pub fn on_the_wire_opt<T: Serialize, S: Serializer>(secret: &Option<Secret<T>>, serializer: S) -> Result<S::Ok, S::Error> {
    secret.as_ref().map(|s| &s.0).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_prints_and_serialises_as_redacted_but_reads_in_clear() {
        let key = Secret::from("c2VjcmV0LWtleQ==");
        assert_eq!(format!("{key} {key:?}"), "[REDACTED] [REDACTED]");
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"[REDACTED]\"");
        let read: Secret<String> = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(read.expose(), "abc");
    }

    #[test]
    fn only_a_field_marked_for_the_wire_goes_out_in_clear() {
        #[derive(Serialize)]
        struct Body {
            #[serde(serialize_with = "on_the_wire")]
            key: Secret<String>,
            shown: Secret<String>,
        }
        let body = Body { key: "k1".into(), shown: "k2".into() };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"key":"k1","shown":"[REDACTED]"}"#);
    }
}
