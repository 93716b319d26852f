//! IoT Hub's operation throttles and quotas per tier, as "IoT Hub quotas and throttling" lists them
//! (learn.microsoft.com/azure/iot-hub/iot-hub-devguide-quotas-throttling). Rates are per hub, in
//! operations a second; "per unit" rows multiply by the hub's units, "higher of" rows keep a floor.

/// One row of the throttle table: the operations that share a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Throttle {
    /// Identity registry operations: create, retrieve, list, update, delete (bulk: per device).
    IdentityRegistry,
    DeviceToCloudSends,
    CloudToDeviceSends,
    /// Cloud-to-device receives, only when the device uses HTTPS.
    CloudToDeviceReceives,
    /// File upload initiations.
    FileUploads,
    /// Direct methods, metered by payload in 4 KB steps.
    DirectMethods,
    Queries,
    TwinReads,
    TwinUpdates,
    /// Jobs operations: create, update, list, delete.
    Jobs,
    /// Configurations and edge deployments: create, update, list, delete.
    Configurations,
}

/// The table's three columns: Free, B1 and S1 | B2 and S2 | B3 and S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    One,
    Two,
    Three,
}

fn column(sku: &str) -> Column {
    match sku.as_bytes().last() {
        Some(b'2') => Column::Two,
        Some(b'3') => Column::Three,
        _ => Column::One,
    }
}

const MINUTE: f64 = 60.0;

/// The throttle's rate in operations (or 4 KB meters, for direct methods) a second.
pub fn per_second(throttle: Throttle, sku: &str, units: u32) -> f64 {
    use Column::*;
    use Throttle::*;
    let u = f64::from(units.max(1));
    match (throttle, column(sku)) {
        (IdentityRegistry | CloudToDeviceSends | FileUploads | Jobs, One | Two) => 100.0 / MINUTE * u,
        (IdentityRegistry | CloudToDeviceSends | FileUploads | Jobs, Three) => 5_000.0 / MINUTE * u,
        (DeviceToCloudSends, One) => (12.0 * u).max(100.0),
        (DeviceToCloudSends, Two) => 120.0 * u,
        (DeviceToCloudSends, Three) => 6_000.0 * u,
        (CloudToDeviceReceives, One | Two) => 1_000.0 / MINUTE * u,
        (CloudToDeviceReceives, Three) => 50_000.0 / MINUTE * u,
        // 160 KB, 480 KB and 24 MB a second a unit, in 4 KB meters.
        (DirectMethods, One) => 40.0 * u,
        (DirectMethods, Two) => 120.0 * u,
        (DirectMethods, Three) => 6_144.0 * u,
        (Queries, One | Two) => 20.0 / MINUTE * u,
        (Queries, Three) => 1_000.0 / MINUTE * u,
        (TwinReads, One) => 100.0,
        (TwinReads, Two) => (10.0 * u).max(100.0),
        (TwinReads, Three) => 500.0 * u,
        (TwinUpdates, One) => 50.0,
        (TwinUpdates, Two) => (5.0 * u).max(50.0),
        (TwinUpdates, Three) => 250.0 * u,
        (Configurations, _) => 20.0 / MINUTE * u,
    }
}

/// How much traffic above the rate is let through at once. The service applies its throttles
/// "in minute ranges" and gives an example: on an S1 hub with one unit, two bulk creates of 50
/// devices are accepted in a minute and a third in that minute is refused. So the bucket holds a
/// minute's worth and refills continuously; an idle hub takes a minute's allowance at once, a busy
/// one is held to the rate. (The service also queues some excess before refusing — "traffic
/// shaping" — which only adds latency; the sandbox refuses at once instead.)
pub fn burst(rate_per_second: f64) -> f64 {
    rate_per_second * MINUTE
}

/// Device-to-cloud messages a UTC day (the daily quota) and the size one message counts for.
pub fn daily_messages(sku: &str, units: u32) -> (u64, usize) {
    let u = u64::from(units.max(1));
    match (sku, column(sku)) {
        ("F1", _) => (8_000, 512),
        (_, Column::One) => (400_000 * u, 4096),
        (_, Column::Two) => (6_000_000 * u, 4096),
        (_, Column::Three) => (300_000_000 * u, 4096),
    }
}

/// Devices a hub may register: 500 on the free tier ("allows 500 devices"), else the 1,000,000
/// cap on devices plus modules.
pub fn max_devices(sku: &str) -> usize {
    if sku == "F1" {
        500
    } else {
        1_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Throttle::*;

    fn per_minute(t: Throttle, sku: &str, units: u32) -> f64 {
        (per_second(t, sku, units) * MINUTE * 100.0).round() / 100.0
    }

    #[test]
    fn the_documented_rows() {
        for sku in ["F1", "B1", "S1", "B2", "S2"] {
            assert_eq!(per_minute(IdentityRegistry, sku, 1), 100.0, "{sku}");
            assert_eq!(per_minute(Queries, sku, 1), 20.0, "{sku}");
        }
        assert_eq!(per_minute(IdentityRegistry, "S1", 4), 400.0);
        assert_eq!(per_minute(IdentityRegistry, "B3", 1), 5_000.0);
        assert_eq!(per_minute(IdentityRegistry, "S3", 2), 10_000.0);
        assert_eq!(per_minute(Jobs, "S2", 1), 100.0);
        assert_eq!(per_minute(Jobs, "S3", 1), 5_000.0);
        assert_eq!(per_minute(Configurations, "S3", 1), 20.0);
        // "Higher of" rows: nine S1 units send 108 a second, two send the floor of 100.
        assert_eq!(per_second(DeviceToCloudSends, "S1", 9), 108.0);
        assert_eq!(per_second(DeviceToCloudSends, "S1", 2), 100.0);
        assert_eq!(per_second(TwinReads, "S1", 5), 100.0);
        assert_eq!(per_second(TwinReads, "S2", 20), 200.0);
        assert_eq!(per_second(TwinReads, "S3", 2), 1_000.0);
        assert_eq!(per_second(TwinUpdates, "S2", 1), 50.0);
        assert_eq!(per_second(TwinUpdates, "S3", 1), 250.0);
        assert_eq!(per_second(DirectMethods, "S1", 1), 40.0);
        assert_eq!(daily_messages("F1", 1), (8_000, 512));
        assert_eq!(daily_messages("S1", 2), (800_000, 4096));
        assert_eq!(max_devices("F1"), 500);
    }
}
