//! IoT Hub and DPS connection strings (`HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`),
//! read with an error that names the part that is wrong, and the shared access signatures minted
//! from them: `SharedAccessSignature sr=<url-encoded resource>&sig=<signature>&se=<expiry>&skn=<policy>`
//! where signature = base64(HMAC-SHA256(key, url-encoded resource + "\n" + expiry)).

use crate::auth::{BoxFuture, Credential};
use crate::error::AzureError;
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What `encodeURIComponent` / Python's `quote(safe="")` leave alone: the SDKs sign the resource
/// encoded this way, and the services check the signature over `sr` exactly as sent.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A service (policy) or device connection string of an IoT hub or a DPS.
#[derive(Clone, Debug)]
pub struct ConnectionString {
    pub host_name: String,
    /// The shared access policy (service connection strings).
    pub key_name: Option<String>,
    /// The device (device connection strings).
    pub device_id: Option<String>,
    pub module_id: Option<String>,
    pub key: Secret<String>,
}

fn part_error(part: &str, problem: impl Into<String>) -> AzureError {
    AzureError::ConnectionString { part: part.to_string(), problem: problem.into() }
}

impl ConnectionString {
    /// Reads a connection string; every mistake names its part.
    pub fn parse(text: &str) -> Result<ConnectionString, AzureError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(part_error("text", "is empty: paste the whole connection string (HostName=…;SharedAccessKeyName=…;SharedAccessKey=…)"));
        }
        let (mut host, mut key_name, mut key, mut device, mut module) = (None, None, None, None, None);
        // A part we cannot name is shown by its place, never by its text: what is pasted where a
        // connection string belongs is often a bare key (`abc…=` reads as a part named `abc…`), and
        // this message reaches the UI, the warn log and the diagnostics bundle. Known parts are
        // named by their canonical name, never by what was typed.
        for (index, part) in text.split(';').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let place = format!("part {}", index + 1);
            let Some((name, value)) = part.split_once('=') else {
                return Err(part_error(&place, "has no '=': parts are Name=value, separated by ';' (paste the whole connection string, not only the key)"));
            };
            let (name, value) = (name.trim(), value.trim());
            let (canonical, slot) = match name.to_ascii_lowercase().as_str() {
                "hostname" => ("HostName", &mut host),
                "sharedaccesskeyname" => ("SharedAccessKeyName", &mut key_name),
                "sharedaccesskey" => ("SharedAccessKey", &mut key),
                "deviceid" => ("DeviceId", &mut device),
                "moduleid" => ("ModuleId", &mut module),
                // Device connection strings through an IoT Edge gateway carry it; the cloud ignores it.
                "gatewayhostname" => continue,
                _ => {
                    return Err(part_error(
                        &place,
                        "is not a part of an IoT Hub or DPS connection string (HostName, SharedAccessKeyName, SharedAccessKey, DeviceId, ModuleId)",
                    ))
                }
            };
            if value.is_empty() {
                return Err(part_error(canonical, "is empty"));
            }
            if slot.replace(value.to_string()).is_some() {
                return Err(part_error(canonical, "appears twice"));
            }
        }
        let host = host.ok_or_else(|| part_error("HostName", "is missing (e.g. HostName=my-hub.azure-devices.net)"))?;
        // Not quoted back either: a value with spaces may run on into the parts after it.
        if host.contains("://") || host.contains('/') || host.contains(char::is_whitespace) {
            return Err(part_error("HostName", "must be a host name like my-hub.azure-devices.net (no https://, path or spaces)"));
        }
        if key_name.is_none() && device.is_none() {
            return Err(part_error(
                "SharedAccessKeyName",
                "is missing: a service connection string names its shared access policy (e.g. SharedAccessKeyName=iothubowner)",
            ));
        }
        let key = key.ok_or_else(|| part_error("SharedAccessKey", "is missing"))?;
        if key == "****" {
            return Err(part_error("SharedAccessKey", "is masked (****), as DPS shows linked hubs; use the hub's own connection string"));
        }
        if B64.decode(&key).map_or(true, |k| k.is_empty()) {
            return Err(part_error("SharedAccessKey", "is not a base64 key"));
        }
        Ok(ConnectionString { host_name: host.to_ascii_lowercase(), key_name, device_id: device, module_id: module, key: Secret::new(key) })
    }

    /// The service connection string for `policy` on `host` (what the portal shows).
    pub fn for_policy(host: &str, key_name: &str, key: &Secret<String>) -> ConnectionString {
        ConnectionString { host_name: host.to_ascii_lowercase(), key_name: Some(key_name.to_string()), device_id: None, module_id: None, key: key.clone() }
    }

    /// Back to text; a secret, since it holds the key.
    pub fn to_secret_string(&self) -> Secret<String> {
        let mut parts = vec![format!("HostName={}", self.host_name)];
        if let Some(name) = &self.key_name {
            parts.push(format!("SharedAccessKeyName={name}"));
        }
        if let Some(device) = &self.device_id {
            parts.push(format!("DeviceId={device}"));
        }
        if let Some(module) = &self.module_id {
            parts.push(format!("ModuleId={module}"));
        }
        parts.push(format!("SharedAccessKey={}", self.key.expose()));
        Secret::new(parts.join(";"))
    }

    /// The resource a token from this string is for: the host, or the device's path on it.
    pub fn resource(&self) -> String {
        match (&self.key_name, &self.device_id, &self.module_id) {
            (None, Some(device), Some(module)) => format!("{}/devices/{device}/modules/{module}", self.host_name),
            (None, Some(device), None) => format!("{}/devices/{device}", self.host_name),
            _ => self.host_name.clone(),
        }
    }
}

/// `SharedAccessSignature …` for `resource`, valid until `expiry` (seconds since 1970).
pub fn sas_token(resource: &str, key: &Secret<String>, key_name: Option<&str>, expiry: u64) -> Result<Secret<String>, AzureError> {
    let key = B64.decode(key.expose()).map_err(|_| part_error("SharedAccessKey", "is not a base64 key"))?;
    let sr = utf8_percent_encode(resource, COMPONENT).to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| part_error("SharedAccessKey", "cannot key HMAC-SHA256"))?;
    mac.update(format!("{sr}\n{expiry}").as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    let sig = utf8_percent_encode(&signature, COMPONENT);
    let mut token = format!("SharedAccessSignature sr={sr}&sig={sig}&se={expiry}");
    if let Some(name) = key_name {
        token.push_str(&format!("&skn={}", utf8_percent_encode(name, COMPONENT)));
    }
    Ok(Secret::new(token))
}

/// The key a device enrolled through a symmetric-key group signs with: HMAC-SHA256 of its
/// registration ID under the group's key, as DPS derives it. `None` when the group key is not base64.
pub fn derive_device_key(group_key: &Secret<String>, registration_id: &str) -> Option<Secret<String>> {
    let key = B64.decode(group_key.expose()).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(registration_id.as_bytes());
    Some(Secret::new(B64.encode(mac.finalize().into_bytes())))
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Signs calls with a connection string's key: a token valid for `lifetime`, minted again once
/// less than a tenth of it is left.
pub struct SasCredential {
    connection: ConnectionString,
    lifetime: Duration,
    cached: std::sync::Mutex<Option<(Secret<String>, u64)>>,
}

impl SasCredential {
    pub fn new(connection: ConnectionString) -> SasCredential {
        SasCredential::with_lifetime(connection, Duration::from_secs(3600))
    }

    pub fn with_lifetime(connection: ConnectionString, lifetime: Duration) -> SasCredential {
        SasCredential { connection, lifetime: lifetime.max(Duration::from_secs(60)), cached: Default::default() }
    }

    pub fn host_name(&self) -> &str {
        &self.connection.host_name
    }

    fn token(&self) -> Result<Secret<String>, AzureError> {
        let now = now_seconds();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        let margin = self.lifetime.as_secs() / 10;
        if let Some((token, _)) = cached.as_ref().filter(|(_, expiry)| now + margin < *expiry) {
            return Ok(token.clone());
        }
        let expiry = now + self.lifetime.as_secs();
        let token = sas_token(&self.connection.resource(), &self.connection.key, self.connection.key_name.as_deref(), expiry)?;
        *cached = Some((token.clone(), expiry));
        Ok(token)
    }
}

impl Credential for SasCredential {
    fn authorization<'a>(&'a self, _audience: &'a str) -> BoxFuture<'a, Result<Secret<String>, AzureError>> {
        Box::pin(async move { self.token() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFi";

    #[test]
    fn a_service_connection_string_reads_back_whole() {
        let cs = ConnectionString::parse(&format!("HostName=Contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}")).unwrap();
        assert_eq!((cs.host_name.as_str(), cs.key_name.as_deref()), ("contoso.azure-devices.net", Some("iothubowner")));
        assert_eq!(cs.key.expose(), KEY);
        assert!(!format!("{cs:?}").contains(KEY));
        assert_eq!(ConnectionString::parse(cs.to_secret_string().expose()).unwrap().resource(), "contoso.azure-devices.net");
    }

    #[test]
    fn a_sas_token_is_signed_over_the_encoded_resource_and_expiry() {
        let token = sas_token("localhost:8443", &Secret::from(KEY), Some("iothubowner"), 1_700_000_000).unwrap();
        let token = token.expose();
        assert!(token.starts_with("SharedAccessSignature sr=localhost%3A8443&sig="), "{token}");
        assert!(token.ends_with("&se=1700000000&skn=iothubowner"), "{token}");
        // The signature as the services compute it, over `sr` as sent.
        let mut mac = Hmac::<Sha256>::new_from_slice(&B64.decode(KEY).unwrap()).unwrap();
        mac.update(b"localhost%3A8443\n1700000000");
        let expected = utf8_percent_encode(&B64.encode(mac.finalize().into_bytes()), COMPONENT).to_string();
        assert!(token.contains(&format!("&sig={expected}&")), "{token}");
    }

    /// True when `message` quotes any 8 characters of `key` in a row.
    fn quotes_part_of(message: &str, key: &str) -> bool {
        let key: Vec<char> = key.chars().collect();
        key.windows(8).any(|w| message.contains(&w.iter().collect::<String>()))
    }

    #[test]
    fn a_bare_key_pasted_as_a_connection_string_is_never_echoed() {
        // A 32-byte key encodes to 44 characters ending in one '='; strip the padding as a user might.
        let unpadded = "q7ZpR2vX9kLmN4tWb8YcJ1sFh6GdE3aUo0iKxVzQyTg";
        let padded = format!("{unpadded}=");
        let pasted = [
            unpadded.to_string(),
            padded.clone(),
            format!("{unpadded}=="),
            format!("HostName=h.azure-devices.net;SharedAccessKeyName=owner;{padded}"),
            format!("HostName=h.azure-devices.net;SharedAccessKeyName=owner;{unpadded}"),
        ];
        for text in pasted {
            let message = ConnectionString::parse(&text).unwrap_err().to_string();
            assert!(!quotes_part_of(&message, unpadded), "the key is echoed in {message:?}");
            assert!(message.contains("part"), "the message still says what is wrong: {message:?}");
        }
    }

    #[test]
    fn a_device_connection_string_signs_for_its_device() {
        let cs = ConnectionString::parse(&format!("HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey={KEY}")).unwrap();
        assert_eq!(cs.resource(), "h.azure-devices.net/devices/d1");
        let token = SasCredential::new(cs).token().unwrap();
        assert!(token.expose().contains("sr=h.azure-devices.net%2Fdevices%2Fd1") && !token.expose().contains("skn="));
    }
}
