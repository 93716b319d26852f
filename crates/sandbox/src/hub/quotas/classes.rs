//! Which throttle a request to a hub's service or device HTTPS API spends, by method and path
//! alone, so routes added to the hub are throttled without their handlers knowing.

use super::limits::Throttle;
use axum::http::Method;

/// What a call costs from its throttle's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    One,
    /// One per element of the JSON array in the body (bulk registry: one per device).
    Items,
    /// One per started 4 KB of payload (direct methods' throttling meter).
    Meters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// For messages: "identity registry operations", "twin reads"…
    pub name: &'static str,
    /// None: no documented throttle applies (statistics, unknown routes).
    pub throttle: Option<Throttle>,
    /// Absent from the basic tier (twins, methods, modules, C2D, jobs, configurations).
    pub standard_only: bool,
    pub cost: Cost,
    /// Creates device identities (PUT without If-Match, bulk): counted against the device cap.
    pub creates_devices: bool,
    /// Device-to-cloud messages: counted against the daily message quota.
    pub d2c_message: bool,
}

const fn op(name: &'static str, throttle: Throttle, standard_only: bool) -> Operation {
    Operation { name, throttle: Some(throttle), standard_only, cost: Cost::One, creates_devices: false, d2c_message: false }
}

const UNMETERED: Operation = Operation { name: "unmetered", throttle: None, standard_only: false, cost: Cost::One, creates_devices: false, d2c_message: false };

pub fn classify(method: &Method, path: &str) -> Operation {
    use Throttle::*;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (get, put, post, patch, delete) =
        (method == Method::GET, method == Method::PUT, method == Method::POST, method == Method::PATCH, method == Method::DELETE);
    let registry = op("identity registry operations", IdentityRegistry, false);
    let module_registry = op("identity registry operations (modules)", IdentityRegistry, true);
    let twin_read = op("twin reads", TwinReads, true);
    let twin_update = op("twin updates", TwinUpdates, true);
    let methods = Operation { cost: Cost::Meters, ..op("direct methods", DirectMethods, true) };
    match segments.as_slice() {
        ["devices"] if get => registry,
        // Bulk registry update: the same throttle, one operation per device.
        ["devices"] if post => Operation { cost: Cost::Items, creates_devices: true, ..registry },
        ["devices", "query"] if post => op("queries", Queries, false),
        ["devices", _] if put => Operation { creates_devices: true, ..registry },
        ["devices", _] if get || delete => registry,
        ["devices", _, "modules"] if get => module_registry,
        ["devices", _, "modules", _] if get || put || delete => module_registry,
        ["devices", _, "messages", "events"] if post => Operation { d2c_message: true, ..op("device-to-cloud sends", DeviceToCloudSends, false) },
        ["devices", _, "messages", "deviceBound", ..] => op("cloud-to-device receives", CloudToDeviceReceives, true),
        // Purging a device's queue stands in the cloud-to-device sends' budget.
        ["devices", _, "commands"] if delete => op("cloud-to-device sends", CloudToDeviceSends, true),
        ["devices", _, "files"] if post => op("file upload initiations", FileUploads, false),
        ["devices", _, "applyConfigurationContent"] if post => op("configurations and edge deployments", Configurations, true),
        ["twins", _] | ["twins", _, "modules", _] if get => twin_read,
        ["twins", _] | ["twins", _, "modules", _] if put || patch => twin_update,
        ["twins", _, "methods"] | ["twins", _, "modules", _, "methods"] if post => methods,
        ["digitaltwins", _] if get => twin_read,
        ["digitaltwins", _] if patch => twin_update,
        ["digitaltwins", _, "commands", ..] | ["digitaltwins", _, "components", _, "commands", ..] if post => methods,
        ["configurations", ..] => op("configurations and edge deployments", Configurations, true),
        // Scheduled jobs (twin updates, direct methods across devices): standard tier only.
        ["jobs", "v2", ..] => op("jobs operations", Jobs, true),
        // Import and export jobs exist on every tier; they spend the jobs operations' budget.
        ["jobs", ..] => op("jobs operations (import/export)", Jobs, false),
        // The table lists no throttle for registry and service statistics.
        _ => UNMETERED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Throttle::*;

    /// Every route the hub serves or is getting (bulk registry, twins, modules, configurations,
    /// methods, import/export and scheduled jobs), and the device HTTPS API.
    #[test]
    fn every_hub_route_has_its_class() {
        let m = |s: &str| Method::from_bytes(s.as_bytes()).unwrap();
        let table: &[(&str, &str, Option<Throttle>, bool, Cost)] = &[
            ("GET", "/devices", Some(IdentityRegistry), false, Cost::One),
            ("POST", "/devices", Some(IdentityRegistry), false, Cost::Items),
            ("POST", "/devices/query", Some(Queries), false, Cost::One),
            ("GET", "/devices/d1", Some(IdentityRegistry), false, Cost::One),
            ("PUT", "/devices/d1", Some(IdentityRegistry), false, Cost::One),
            ("DELETE", "/devices/d1", Some(IdentityRegistry), false, Cost::One),
            ("GET", "/devices/d1/modules", Some(IdentityRegistry), true, Cost::One),
            ("GET", "/devices/d1/modules/m1", Some(IdentityRegistry), true, Cost::One),
            ("PUT", "/devices/d1/modules/m1", Some(IdentityRegistry), true, Cost::One),
            ("DELETE", "/devices/d1/modules/m1", Some(IdentityRegistry), true, Cost::One),
            ("POST", "/devices/d1/messages/events", Some(DeviceToCloudSends), false, Cost::One),
            ("GET", "/devices/d1/messages/deviceBound", Some(CloudToDeviceReceives), true, Cost::One),
            ("DELETE", "/devices/d1/messages/deviceBound/etag1", Some(CloudToDeviceReceives), true, Cost::One),
            ("DELETE", "/devices/d1/commands", Some(CloudToDeviceSends), true, Cost::One),
            ("POST", "/devices/d1/files", Some(FileUploads), false, Cost::One),
            ("POST", "/devices/d1/applyConfigurationContent", Some(Configurations), true, Cost::One),
            ("GET", "/twins/d1", Some(TwinReads), true, Cost::One),
            ("PATCH", "/twins/d1", Some(TwinUpdates), true, Cost::One),
            ("PUT", "/twins/d1", Some(TwinUpdates), true, Cost::One),
            ("GET", "/twins/d1/modules/m1", Some(TwinReads), true, Cost::One),
            ("PATCH", "/twins/d1/modules/m1", Some(TwinUpdates), true, Cost::One),
            ("PUT", "/twins/d1/modules/m1", Some(TwinUpdates), true, Cost::One),
            ("POST", "/twins/d1/methods", Some(DirectMethods), true, Cost::Meters),
            ("POST", "/twins/d1/modules/m1/methods", Some(DirectMethods), true, Cost::Meters),
            ("GET", "/digitaltwins/d1", Some(TwinReads), true, Cost::One),
            ("PATCH", "/digitaltwins/d1", Some(TwinUpdates), true, Cost::One),
            ("POST", "/digitaltwins/d1/commands/reboot", Some(DirectMethods), true, Cost::Meters),
            ("GET", "/configurations", Some(Configurations), true, Cost::One),
            ("GET", "/configurations/c1", Some(Configurations), true, Cost::One),
            ("PUT", "/configurations/c1", Some(Configurations), true, Cost::One),
            ("DELETE", "/configurations/c1", Some(Configurations), true, Cost::One),
            ("POST", "/configurations/testQueries", Some(Configurations), true, Cost::One),
            ("POST", "/jobs/create", Some(Jobs), false, Cost::One),
            ("GET", "/jobs", Some(Jobs), false, Cost::One),
            ("GET", "/jobs/j1", Some(Jobs), false, Cost::One),
            ("DELETE", "/jobs/j1", Some(Jobs), false, Cost::One),
            ("PUT", "/jobs/v2/j1", Some(Jobs), true, Cost::One),
            ("GET", "/jobs/v2/j1", Some(Jobs), true, Cost::One),
            ("POST", "/jobs/v2/j1/cancel", Some(Jobs), true, Cost::One),
            ("GET", "/jobs/v2/query", Some(Jobs), true, Cost::One),
            ("GET", "/statistics/devices", None, false, Cost::One),
            ("GET", "/statistics/service", None, false, Cost::One),
            ("GET", "/no/such/route", None, false, Cost::One),
        ];
        for &(method, path, throttle, standard_only, cost) in table {
            let got = classify(&m(method), path);
            assert_eq!((got.throttle, got.standard_only, got.cost), (throttle, standard_only, cost), "{method} {path}");
        }
        assert!(classify(&Method::PUT, "/devices/d1").creates_devices && classify(&Method::POST, "/devices").creates_devices);
        assert!(!classify(&Method::GET, "/devices/d1").creates_devices);
        assert!(classify(&Method::POST, "/devices/d1/messages/events").d2c_message);
    }
}
