//! Every change to a DPS's linked hubs is one read-modify-write of the whole resource, the only way
//! ARM allows: read it (with its ETag), apply the change to `properties.iotHubs`, PUT it back with
//! that ETag. A 412 means someone else wrote first: read again and apply the change again to what
//! they wrote, so no one's edit is lost. The dry run is the same change applied to a read, shown as
//! the exact JSON of `properties.iotHubs` before and after (keys masked).

use super::error::LinkedHubsError;
use iotm_azure::arm::models::{LinkedHub, ProvisioningService};
use iotm_azure::arm::ArmClient;
use iotm_azure::{ConnectionString, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How many times a change is re-applied after a 412 before giving up.
pub const WRITE_ATTEMPTS: u32 = 8;

/// Which DPS, as ARM names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DpsRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

/// One change to the linked hubs. Weights are 1–1000; `None` leaves the DPS default (1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Change {
    Link { connection_string: Secret<String>, location: String, allocation_weight: Option<i64>, apply_allocation_policy: Option<bool> },
    Update { host: String, allocation_weight: Option<i64>, apply_allocation_policy: Option<bool>, connection_string: Option<Secret<String>> },
    Unlink { hosts: Vec<String> },
}

pub fn check_weight(weight: Option<i64>) -> Result<(), LinkedHubsError> {
    match weight {
        Some(w) if !(1..=1000).contains(&w) => Err(LinkedHubsError::WeightOutOfRange { weight: w }),
        _ => Ok(()),
    }
}

/// The host a connection string names, refused when it is not a hub of this cloud (`suffix`:
/// `azure-devices.net`, or `localhost` for the sandbox).
pub fn hub_host(connection_string: &Secret<String>, suffix: &str) -> Result<String, LinkedHubsError> {
    let parsed = ConnectionString::parse(connection_string.expose()).map_err(|e| LinkedHubsError::BadConnectionString { problem: e.to_string() })?;
    if parsed.key_name.is_none() {
        return Err(LinkedHubsError::BadConnectionString {
            problem: "it has no SharedAccessKeyName: DPS needs a hub policy's connection string, not a device's.".into(),
        });
    }
    let host = parsed.host_name.to_ascii_lowercase();
    let bare = host.split(':').next().unwrap_or_default();
    if bare != suffix && !bare.ends_with(&format!(".{suffix}")) {
        return Err(LinkedHubsError::OtherCloud { host, suffix: suffix.into() });
    }
    Ok(host)
}

fn linked_host(hub: &LinkedHub) -> String {
    hub.name.clone().unwrap_or_else(|| ConnectionString::parse(hub.connection_string.expose()).map(|c| c.host_name).unwrap_or_default()).to_ascii_lowercase()
}

/// The change applied to `hubs` (as read), or why it cannot be.
pub fn apply(change: &Change, hubs: &mut Vec<LinkedHub>, dps: &str, suffix: &str) -> Result<(), LinkedHubsError> {
    match change {
        Change::Link { connection_string, location, allocation_weight, apply_allocation_policy } => {
            check_weight(*allocation_weight)?;
            let host = hub_host(connection_string, suffix)?;
            if hubs.iter().any(|h| linked_host(h) == host) {
                return Err(LinkedHubsError::AlreadyLinked { hub: host, dps: dps.into() });
            }
            hubs.push(LinkedHub {
                connection_string: connection_string.clone(),
                location: location.clone(),
                allocation_weight: *allocation_weight,
                apply_allocation_policy: *apply_allocation_policy,
                name: Some(host),
            });
        }
        Change::Update { host, allocation_weight, apply_allocation_policy, connection_string } => {
            check_weight(*allocation_weight)?;
            let wanted = host.to_ascii_lowercase();
            let hub = hubs.iter_mut().find(|h| linked_host(h) == wanted).ok_or_else(|| LinkedHubsError::NotLinked { hub: host.clone(), dps: dps.into() })?;
            if let Some(cs) = connection_string {
                if hub_host(cs, suffix)? != wanted {
                    return Err(LinkedHubsError::BadConnectionString { problem: format!("it is for another hub than {host}.") });
                }
                hub.connection_string = cs.clone();
            }
            if allocation_weight.is_some() {
                hub.allocation_weight = *allocation_weight;
            }
            if apply_allocation_policy.is_some() {
                hub.apply_allocation_policy = *apply_allocation_policy;
            }
        }
        Change::Unlink { hosts } => {
            for host in hosts {
                let wanted = host.to_ascii_lowercase();
                let before = hubs.len();
                hubs.retain(|h| linked_host(h) != wanted);
                if hubs.len() == before {
                    return Err(LinkedHubsError::NotLinked { hub: host.clone(), dps: dps.into() });
                }
            }
        }
    }
    Ok(())
}

/// `properties.iotHubs` as the PUT would send it, every key masked as DPS masks it.
pub fn masked_json(hubs: &[LinkedHub]) -> Value {
    Value::Array(
        hubs.iter()
            .map(|h| {
                let cs: Vec<String> = h
                    .connection_string
                    .expose()
                    .split(';')
                    .map(|p| if p.starts_with("SharedAccessKey=") { "SharedAccessKey=****".to_string() } else { p.to_string() })
                    .collect();
                let mut v = json!({"connectionString": cs.join(";"), "location": h.location, "name": linked_host(h)});
                if let Some(w) = h.allocation_weight {
                    v["allocationWeight"] = json!(w);
                }
                if let Some(a) = h.apply_allocation_policy {
                    v["applyAllocationPolicy"] = json!(a);
                }
                v
            })
            .collect(),
    )
}

/// What a change does to `properties.iotHubs`: the exact JSON before and after.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct IotHubsDiff {
    #[ts(type = "unknown[]")]
    pub before: Value,
    #[ts(type = "unknown[]")]
    pub after: Value,
}

fn forbidden(dps: &DpsRef, e: &iotm_azure::AzureError) -> Option<LinkedHubsError> {
    matches!(e.status(), Some(401 | 403)).then(|| LinkedHubsError::ReadOnlyDps { dps: dps.name.clone(), detail: e.to_string() })
}

/// The dry run: the change applied to a fresh read, nothing written.
pub async fn preview(arm: &ArmClient, dps: &DpsRef, change: &Change, suffix: &str) -> Result<IotHubsDiff, LinkedHubsError> {
    let read = arm.provisioning_service(&dps.subscription_id, &dps.resource_group, &dps.name).await?;
    let mut hubs = read.properties.iot_hubs.clone();
    apply(change, &mut hubs, &dps.name, suffix)?;
    Ok(IotHubsDiff { before: masked_json(&read.properties.iot_hubs), after: masked_json(&hubs) })
}

/// Applies `change` with ETag-safe read-modify-write, re-applied on every 412.
pub async fn write(arm: &ArmClient, dps: &DpsRef, change: &Change, suffix: &str) -> Result<(IotHubsDiff, ProvisioningService), LinkedHubsError> {
    for _ in 0..WRITE_ATTEMPTS {
        let read = arm.provisioning_service(&dps.subscription_id, &dps.resource_group, &dps.name).await?;
        let mut next = read.clone();
        apply(change, &mut next.properties.iot_hubs, &dps.name, suffix)?;
        let put = arm.create_or_update_provisioning_service(&dps.subscription_id, &dps.resource_group, &dps.name, &next).await;
        let written = match put {
            Ok(poller) => poller.wait().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(done) => return Ok((IotHubsDiff { before: masked_json(&read.properties.iot_hubs), after: masked_json(&done.properties.iot_hubs) }, done)),
            Err(e) if e.status() == Some(412) => continue,
            Err(e) => return Err(forbidden(dps, &e).unwrap_or(LinkedHubsError::Azure(e))),
        }
    }
    Err(LinkedHubsError::TooManyConflicts { dps: dps.name.clone(), attempts: WRITE_ATTEMPTS })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(host: &str, weight: Option<i64>) -> LinkedHub {
        LinkedHub {
            connection_string: Secret::new(format!("HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey=****")),
            location: "westeurope".into(),
            allocation_weight: weight,
            apply_allocation_policy: Some(true),
            name: Some(host.into()),
        }
    }

    #[test]
    fn weights_outside_one_to_a_thousand_are_refused() {
        let mut hubs = vec![linked("a.azure-devices.net", None)];
        for w in [0, 1001, -3] {
            let change =
                Change::Update { host: "a.azure-devices.net".into(), allocation_weight: Some(w), apply_allocation_policy: None, connection_string: None };
            assert_eq!(apply(&change, &mut hubs, "d", "azure-devices.net").unwrap_err().code(), "dpsLinkedHubs.weight_out_of_range");
        }
        let ok =
            Change::Update { host: "A.azure-devices.net".into(), allocation_weight: Some(1000), apply_allocation_policy: Some(false), connection_string: None };
        apply(&ok, &mut hubs, "d", "azure-devices.net").unwrap();
        assert_eq!((hubs[0].allocation_weight, hubs[0].apply_allocation_policy), (Some(1000), Some(false)));
    }

    #[test]
    fn a_connection_string_for_another_cloud_or_a_device_is_refused() {
        let other = Secret::new("HostName=h.azure-devices.cn;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5".to_string());
        assert_eq!(hub_host(&other, "azure-devices.net").unwrap_err().code(), "dpsLinkedHubs.other_cloud");
        let device = Secret::new("HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey=a2V5".to_string());
        assert_eq!(hub_host(&device, "azure-devices.net").unwrap_err().code(), "dpsLinkedHubs.bad_connection_string");
        let good = Secret::new("HostName=H.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5".to_string());
        assert_eq!(hub_host(&good, "azure-devices.net").unwrap(), "h.azure-devices.net");
    }

    #[test]
    fn the_diff_masks_keys_and_shows_the_exact_entries() {
        let mut hubs = vec![linked("a.azure-devices.net", None)];
        let before = masked_json(&hubs);
        let change = Change::Link {
            connection_string: Secret::new("HostName=b.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=c2VjcmV0".to_string()),
            location: "northeurope".into(),
            allocation_weight: Some(5),
            apply_allocation_policy: Some(true),
        };
        apply(&change, &mut hubs, "d", "azure-devices.net").unwrap();
        let after = masked_json(&hubs);
        assert_eq!(before.as_array().unwrap().len(), 1);
        assert_eq!(
            after[1],
            json!({"connectionString": "HostName=b.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=****", "location": "northeurope", "name": "b.azure-devices.net", "allocationWeight": 5, "applyAllocationPolicy": true})
        );
        assert!(!after.to_string().contains("c2VjcmV0"));
        assert_eq!(apply(&change, &mut hubs, "d", "azure-devices.net").unwrap_err().code(), "dpsLinkedHubs.already_linked");
        let unlink = Change::Unlink { hosts: vec!["zz.azure-devices.net".into()] };
        assert_eq!(apply(&unlink, &mut hubs, "d", "azure-devices.net").unwrap_err().code(), "dpsLinkedHubs.not_linked");
    }
}
