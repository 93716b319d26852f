//! Key rotation for the policy a DPS link uses, with no moment in which the link names a key that
//! no longer works: move the link to the policy's secondary key, prove it with a throwaway device
//! registering through DPS, renew the primary, move the link back to the new primary, prove again,
//! and (if asked) renew the secondary. Each step is journaled; a rotation cut off anywhere resumes,
//! and every step is safe to run again (each reads the keys as they are now).

use super::edit::{write, Change, DpsRef};
use super::enrollments::service_client;
use super::error::LinkedHubsError;
use super::link::HubRef;
use crate::runtime::RunContext;
use iotm_azure::arm::{new_shared_access_key, ArmClient, KeySlot};
use iotm_azure::dps::{AttestationMechanism, GroupKeys, IndividualEnrollment};
use iotm_azure::{ConnectionString, Pipeline};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationPlan {
    pub dps: DpsRef,
    pub hub: HubRef,
    /// The policy the link uses (`iothubowner`).
    pub policy: String,
    pub renew_secondary: bool,
}

/// The steps in order (their journal keys).
pub const STEPS: [&str; 6] = ["use-secondary", "prove-secondary", "renew-primary", "use-primary", "prove-primary", "renew-secondary"];

pub struct Rotation<'a> {
    pub arm: &'a ArmClient,
    pub pipeline: &'a Pipeline,
    /// The cloud's hub host suffix (`azure-devices.net`).
    pub suffix: &'a str,
    pub plan: &'a RotationPlan,
}

impl Rotation<'_> {
    async fn host(&self) -> Result<String, LinkedHubsError> {
        let hub = self.arm.iot_hub(&self.plan.hub.subscription_id, &self.plan.hub.resource_group, &self.plan.hub.name).await?;
        Ok(hub.properties.host_name.unwrap_or_default().to_ascii_lowercase())
    }

    /// Points the link at the policy's key in `slot`, as the hub has it now.
    async fn use_key(&self, slot: KeySlot) -> Result<serde_json::Value, LinkedHubsError> {
        let (hub, plan) = (&self.plan.hub, self.plan);
        let keys = self.arm.iot_hub_key(&hub.subscription_id, &hub.resource_group, &hub.name, &plan.policy).await?;
        let key = match slot {
            KeySlot::Primary => keys.primary_key,
            KeySlot::Secondary => keys.secondary_key,
        }
        .ok_or_else(|| LinkedHubsError::BadConnectionString { problem: format!("ARM gave no {slot:?} key for policy {}.", plan.policy) })?;
        let host = self.host().await?;
        let change = Change::Update {
            host: host.clone(),
            allocation_weight: None,
            apply_allocation_policy: None,
            connection_string: Some(ConnectionString::for_policy(&host, &plan.policy, &key).to_secret_string()),
        };
        write(self.arm, &plan.dps, &change, self.suffix).await?;
        Ok(json!({"hub": host, "key": format!("{slot:?}").to_ascii_lowercase()}))
    }

    /// A throwaway individual enrollment pinned to the hub registers through DPS; it and its device
    /// are deleted after, whatever the outcome.
    async fn prove(&self, registration_id: &str) -> Result<serde_json::Value, LinkedHubsError> {
        let (client, dps) = service_client(self.arm, self.pipeline, &self.plan.dps).await?;
        let host = self.host().await?;
        let key = new_shared_access_key();
        let enrollment = IndividualEnrollment {
            registration_id: registration_id.into(),
            attestation: AttestationMechanism {
                kind: "symmetricKey".into(),
                symmetric_key: Some(GroupKeys { primary_key: Some(key.clone()), secondary_key: Some(new_shared_access_key()) }),
                x509: None,
            },
            iot_hubs: vec![host.clone()],
            provisioning_status: Some("enabled".into()),
            ..Default::default()
        };
        client.create_or_update_individual_enrollment(&enrollment, None).await?;
        let device_host = dps.properties.device_provisioning_host_name.clone().unwrap_or_default();
        let scope = dps.properties.id_scope.clone().unwrap_or_default();
        let registered = iotm_azure::dps::device::register_with_key(
            self.pipeline,
            &device_host,
            &scope,
            registration_id,
            &key,
            Duration::from_millis(200),
            Duration::from_secs(30),
        )
        .await;
        let _ = client.delete_individual_enrollment(registration_id, None).await;
        let state = registered?;
        if state.status.as_deref() != Some("assigned") || state.assigned_hub.as_deref().map(str::to_ascii_lowercase) != Some(host.clone()) {
            return Err(LinkedHubsError::ProofFailed {
                dps: self.plan.dps.name.clone(),
                hub: host,
                detail: format!(
                    "DPS answered {} (error {})",
                    state.status.unwrap_or_default(),
                    state.error_code.map(|c| c.to_string()).unwrap_or_else(|| "none".into())
                ),
            });
        }
        self.remove_test_device(&host, state.device_id.as_deref().unwrap_or(registration_id)).await;
        Ok(json!({"hub": host, "registrationId": registration_id, "status": "assigned"}))
    }

    /// The test device leaves no trace in the hub (best effort: the proof already passed).
    async fn remove_test_device(&self, host: &str, device_id: &str) {
        let hub = &self.plan.hub;
        if let Ok(keys) = self.arm.iot_hub_key(&hub.subscription_id, &hub.resource_group, &hub.name, &self.plan.policy).await {
            if let Some(key) = keys.primary_key {
                let client =
                    iotm_azure::hub::HubClient::from_connection_string(self.pipeline.clone(), ConnectionString::for_policy(host, &self.plan.policy, &key));
                let _ = client.delete_device(device_id, Some("*")).await;
            }
        }
    }

    async fn renew(&self, slot: KeySlot) -> Result<serde_json::Value, LinkedHubsError> {
        let hub = &self.plan.hub;
        for _ in 0..super::edit::WRITE_ATTEMPTS {
            match self.arm.renew_iot_hub_key(&hub.subscription_id, &hub.resource_group, &hub.name, &self.plan.policy, slot, &new_shared_access_key()).await {
                Ok(_) => return Ok(json!({"policy": self.plan.policy, "renewed": format!("{slot:?}").to_ascii_lowercase()})),
                Err(e) if e.status() == Some(412) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LinkedHubsError::TooManyConflicts { dps: hub.name.clone(), attempts: super::edit::WRITE_ATTEMPTS })
    }

    /// Runs (or resumes) the rotation to its end.
    pub async fn run<T>(&self, ctx: &RunContext<'_, T>) -> Result<(), LinkedHubsError> {
        let proof_id = |n: u8| ctx.identifier(&format!("proof-{n}"), || format!("iotm-rotation-proof-{:08x}-{n}", rand::random::<u32>()));
        let first = proof_id(1)?;
        let second = proof_id(2)?;
        let policy = self.plan.policy.clone();
        ctx.step("use-secondary", &format!("Point the link at {policy}'s secondary key"), json!({"policy": policy}), |_| self.use_key(KeySlot::Secondary))
            .await?;
        ctx.step("prove-secondary", "Register a test device through DPS", json!({"registrationId": first}), |_| self.prove(&first)).await?;
        ctx.step("renew-primary", &format!("Renew {policy}'s primary key"), json!({"policy": policy}), |_| self.renew(KeySlot::Primary)).await?;
        ctx.step("use-primary", &format!("Point the link at {policy}'s new primary key"), json!({"policy": policy}), |_| self.use_key(KeySlot::Primary))
            .await?;
        ctx.step("prove-primary", "Register a test device through DPS again", json!({"registrationId": second}), |_| self.prove(&second)).await?;
        if self.plan.renew_secondary {
            ctx.step("renew-secondary", &format!("Renew {policy}'s secondary key"), json!({"policy": policy}), |_| self.renew(KeySlot::Secondary)).await?;
        }
        Ok(())
    }
}
