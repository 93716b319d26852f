//! Renewing one key of an IoT hub's shared access policy, the way Azure does it (and `az iot hub
//! policy renew-key`): read the hub and every policy's keys, give the one policy a new key, PUT the
//! hub back with `properties.authorizationPolicies`, guarded by the hub's ETag. The hub refuses the
//! old key from then on. A 412 means someone changed the hub meanwhile: read again and retry.

use super::models::{IotHub, SharedAccessPolicy};
use super::{ArmClient, HUBS, IOT_HUBS};
use crate::error::AzureError;
use crate::secret::Secret;
use serde_json::{json, Value};

/// Which of a policy's two keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeySlot {
    Primary,
    Secondary,
}

/// A new 256-bit key, base64, as Azure mints them.
pub fn new_shared_access_key() -> Secret<String> {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn wire(policy: &SharedAccessPolicy) -> Value {
    let key = |k: &Option<Secret<String>>| k.as_ref().map(|s| json!(s.expose())).unwrap_or(Value::Null);
    json!({"keyName": policy.key_name, "rights": policy.rights, "primaryKey": key(&policy.primary_key), "secondaryKey": key(&policy.secondary_key)})
}

impl ArmClient {
    /// Puts `new_key` in `slot` of policy `key_name` on the hub; the other policies and the other
    /// key are sent back as they were. Waits for the update to finish.
    pub async fn renew_iot_hub_key(
        &self,
        subscription_id: &str,
        group: &str,
        name: &str,
        key_name: &str,
        slot: KeySlot,
        new_key: &Secret<String>,
    ) -> Result<IotHub, AzureError> {
        let hub = self.iot_hub(subscription_id, group, name).await?;
        let mut policies = self.iot_hub_keys(subscription_id, group, name)?.all().await?;
        let policy = policies.iter_mut().find(|p| p.key_name == key_name).ok_or_else(|| AzureError::InvalidInput {
            what: format!("The shared access policy '{key_name}'"),
            problem: format!("is not a policy of the hub {name}"),
        })?;
        match slot {
            KeySlot::Primary => policy.primary_key = Some(new_key.clone()),
            KeySlot::Secondary => policy.secondary_key = Some(new_key.clone()),
        }
        let mut body = serde_json::to_value(&hub).map_err(|e| AzureError::InvalidInput { what: "The hub".into(), problem: e.to_string() })?;
        body["properties"]["authorizationPolicies"] = Value::Array(policies.iter().map(wire).collect());
        self.put_and_watch::<Value, IotHub>(
            "IotHubResource_CreateOrUpdate",
            &Self::in_group(subscription_id, group, HUBS, name),
            IOT_HUBS,
            &body,
            hub.etag.as_deref(),
        )
        .await?
        .wait()
        .await
    }
}
