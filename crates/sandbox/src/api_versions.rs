//! Every api-version each service publishes, in one place per service, so an unmodified client of
//! any release is answered as Azure answers it (the az CLI's azure-iot extension sends 2024-03-31
//! on every hub call; older SDKs send older versions). Only a version not listed here is refused,
//! with the service's own error for it.
//!
//! Sources: the api-version folders of Azure/azure-rest-api-specs (stable/ and preview/, per spec
//! file: e.g. `resources.json` for resource groups, `subscriptions.json` for subscriptions); the
//! versions the official SDKs and the az CLI send where a service publishes no spec (the hub's
//! service API); versions newer than the specs snapshot that ARM registers. The test at the
//! bottom checks that the `info.version` of every spec in tests/fixtures/specs is accepted.

/// IoT Hub service API (`{hub}.azure-devices.net`): no spec in azure-rest-api-specs; these are the
/// versions the service SDKs have sent (C#, Java, Node, Python — `service.json` is 2021-04-12 —
/// and the az CLI extension's vendored SDK: 2024-03-31).
pub const HUB_SERVICE: &[&str] = &[
    "2016-02-03",
    "2016-11-14",
    "2017-06-30",
    "2017-11-08-preview",
    "2018-01-26",
    "2018-04-01",
    "2018-06-30",
    "2018-08-30-preview",
    "2019-03-30",
    "2019-07-01-preview",
    "2019-10-01",
    "2020-03-13",
    "2020-05-31-preview",
    "2020-09-30",
    "2021-04-12",
    "2021-11-30",
    "2023-06-30",
    "2024-03-31",
];

/// DPS service API (`{dps}.azure-devices-provisioning.net`): the spec folder (2021-10-01) and the
/// versions the service SDKs sent before it.
pub const DPS_SERVICE: &[&str] = &["2017-11-15", "2018-04-01", "2019-03-31", "2021-06-01", "2021-10-01", "2023-03-01-preview"];

/// DPS device runtime API (`global.azure-devices-provisioning.net`): the spec (2021-10-01) and the
/// versions the device SDKs send (2019-03-31 over MQTT and HTTP, 2021-06-01, 2021-11-01-preview).
pub const DPS_DEVICE: &[&str] = &["2017-11-15", "2018-04-01", "2018-11-01", "2019-03-31", "2021-06-01", "2021-10-01", "2021-11-01-preview"];

/// IoT Central application API: its spec folders (stable and preview), and 2023-07-01-preview.
pub const CENTRAL: &[&str] =
    &["1.0", "1.1-preview", "1.2-preview", "2021-04-30-preview", "2022-05-31", "2022-06-30-preview", "2022-07-31", "2022-10-31-preview", "2023-07-01-preview"];

/// `Microsoft.Devices/IotHubs` (iothub.json).
pub const ARM_IOT_HUBS: &[&str] = &[
    "2016-02-03",
    "2017-01-19",
    "2017-07-01",
    "2018-01-22",
    "2018-04-01",
    "2018-12-01-preview",
    "2019-03-22",
    "2019-03-22-preview",
    "2019-07-01-preview",
    "2019-11-04",
    "2020-03-01",
    "2020-04-01",
    "2020-06-15",
    "2020-07-10-preview",
    "2020-08-01",
    "2020-08-31",
    "2020-08-31-preview",
    "2021-02-01-preview",
    "2021-03-03-preview",
    "2021-03-31",
    "2021-07-01",
    "2021-07-01-preview",
    "2021-07-02",
    "2021-07-02-preview",
    "2022-04-30-preview",
    "2022-11-15-preview",
    "2023-06-30",
    "2023-06-30-preview",
    "2025-08-01-preview",
];

/// `Microsoft.Devices/provisioningServices` (iotdps.json).
pub const ARM_DPS: &[&str] = &[
    "2017-08-21-preview",
    "2017-11-15",
    "2018-01-22",
    "2020-01-01",
    "2020-03-01",
    "2020-09-01-preview",
    "2021-10-15",
    "2022-02-05",
    "2022-12-12",
    "2023-03-01-preview",
    "2025-02-01-preview",
    "2026-11-01",
];

/// `Microsoft.IoTCentral/iotApps` (iotcentral.json).
pub const ARM_CENTRAL: &[&str] = &["2018-09-01", "2021-06-01", "2021-11-01-preview"];

/// `Microsoft.Storage/storageAccounts` (storage.json), and the versions released since the snapshot.
pub const ARM_STORAGE: &[&str] = &[
    "2015-05-01-preview",
    "2015-06-15",
    "2016-01-01",
    "2016-05-01",
    "2016-12-01",
    "2017-06-01",
    "2017-10-01",
    "2018-02-01",
    "2018-03-01-preview",
    "2018-07-01",
    "2018-11-01",
    "2019-04-01",
    "2019-06-01",
    "2020-08-01-preview",
    "2021-01-01",
    "2021-02-01",
    "2021-04-01",
    "2021-06-01",
    "2021-08-01",
    "2021-09-01",
    "2022-05-01",
    "2022-09-01",
    "2023-01-01",
    "2023-04-01",
    "2023-05-01",
    "2024-01-01",
    "2025-01-01",
    "2025-06-01",
    "2026-09-01",
];

/// `Microsoft.Resources` resource groups and deployments (resources.json), and the later versions
/// ARM registers: 2024-11-01, and 2025-03-01 / 2025-04-01 (azure-mgmt-resource 23.4 / 24.0).
pub const ARM_RESOURCE_GROUPS: &[&str] = &[
    "2015-11-01",
    "2016-02-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
];

/// `Microsoft.Resources/deployments`: the same spec file, so the same versions.
pub const ARM_DEPLOYMENTS: &[&str] = ARM_RESOURCE_GROUPS;

/// `Microsoft.Resources` subscriptions and locations (subscriptions.json), and 2022-09-01.
pub const ARM_SUBSCRIPTIONS: &[&str] =
    &["2015-11-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01", "2021-01-01", "2022-09-01", "2022-12-01"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Which list serves each spec file of tests/fixtures/specs; `None` for the specs of services
    /// the sandbox does not emulate (Azurite serves blobs).
    fn list_for(path: &str) -> Option<&'static [&'static str]> {
        const SERVED: &[(&str, &[&str])] = &[
            ("azure-iot-hub/service.json", HUB_SERVICE),
            ("deviceprovisioningservices/data-plane/Microsoft.Devices/", DPS_SERVICE),
            ("deviceprovisioningservices/data-plane/DeviceProvisioningServices/", DPS_DEVICE),
            ("iotcentral/data-plane/", CENTRAL),
            ("iothub/resource-manager/", ARM_IOT_HUBS),
            ("deviceprovisioningservices/resource-manager/", ARM_DPS),
            ("iotcentral/resource-manager/", ARM_CENTRAL),
            ("storage/resource-manager/", ARM_STORAGE),
            ("Microsoft.Resources/stable/2024-07-01/resources.json", ARM_RESOURCE_GROUPS),
            ("subscriptions.json", ARM_SUBSCRIPTIONS),
        ];
        const NOT_SERVED: &[&str] = &["common-types/", "iotoperations/", "deviceregistry/", "storage/data-plane/"];
        if let Some((_, list)) = SERVED.iter().find(|(p, _)| path.contains(p)) {
            return Some(list);
        }
        assert!(NOT_SERVED.iter().any(|p| path.contains(p)), "{path}: a spec no list covers; add it to one");
        None
    }

    fn specs(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "examples") {
                specs(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_spec_version_present_is_accepted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/specs");
        let mut files = vec![];
        specs(&root, &mut files);
        let mut checked = 0;
        for file in &files {
            let shown = file.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            let Some(list) = list_for(&shown) else { continue };
            let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            let version = doc["info"]["version"].as_str().unwrap_or_else(|| panic!("{shown} has no info.version"));
            assert!(list.contains(&version), "{shown}: its api-version {version} is refused");
            // The folder a spec sits in names its version too (…/stable/<version>/x.json).
            let folder = file.parent().unwrap().file_name().unwrap().to_string_lossy();
            if folder.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                assert!(list.contains(&&*folder), "{shown}: its folder's api-version {folder} is refused");
            }
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} specs found under {}", root.display());
    }

    #[test]
    fn lists_are_sorted_and_without_repeats() {
        for list in [
            HUB_SERVICE,
            DPS_SERVICE,
            DPS_DEVICE,
            CENTRAL,
            ARM_IOT_HUBS,
            ARM_DPS,
            ARM_CENTRAL,
            ARM_STORAGE,
            ARM_RESOURCE_GROUPS,
            ARM_DEPLOYMENTS,
            ARM_SUBSCRIPTIONS,
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }
}
