//! Client-side rate limits, one token bucket per service and partition (a Central application, an
//! IoT hub, ARM reads vs writes), so a wizard touching thousands of devices stays under the
//! service's published limits instead of learning them from 429s. The defaults are the services'
//! documented limits for their smallest tier; a wizard that knows the tier can raise them.

use crate::cloud::Service;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sustained rate and the burst a full bucket allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub fn per_second(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst: burst.max(1.0) }
    }

    pub fn per_hour(per_hour: f64, burst: f64) -> Rate {
        Rate::per_second(per_hour / 3600.0, burst)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// ARM reads per subscription and principal: 12,000 an hour.
    pub arm_reads: Rate,
    /// ARM writes (PUT, PATCH, DELETE, POST actions): 1,200 an hour.
    pub arm_writes: Rate,
    /// IoT Central: 20 requests a second per application.
    pub central: Rate,
    /// IoT Hub registry operations, per hub: S1 allows 100 a minute per unit.
    pub hub: Rate,
    /// DPS service operations, per instance: 100 a minute per unit.
    pub dps: Rate,
    pub entra: Rate,
    pub storage: Rate,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            arm_reads: Rate::per_hour(12_000.0, 100.0),
            arm_writes: Rate::per_hour(1_200.0, 20.0),
            central: Rate::per_second(20.0, 20.0),
            hub: Rate::per_second(100.0 / 60.0, 10.0),
            dps: Rate::per_second(100.0 / 60.0, 10.0),
            entra: Rate::per_second(20.0, 20.0),
            storage: Rate::per_second(100.0, 100.0),
        }
    }
}

impl RateLimits {
    /// No client-side limit at all (tests of the service's own throttling).
    pub fn unlimited() -> RateLimits {
        let none = Rate::per_second(1e9, 1e9);
        RateLimits { arm_reads: none, arm_writes: none, central: none, hub: none, dps: none, entra: none, storage: none }
    }

    fn rate(&self, service: Service, write: bool) -> Rate {
        match service {
            Service::Arm if write => self.arm_writes,
            Service::Arm => self.arm_reads,
            Service::Central => self.central,
            Service::Hub => self.hub,
            Service::Dps => self.dps,
            Service::Entra => self.entra,
            Service::Storage => self.storage,
        }
    }
}

struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Takes a token now, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Option<Duration> {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate.per_second).min(self.rate.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        Some(Duration::from_secs_f64((1.0 - self.tokens) / self.rate.per_second))
    }
}

/// IoT Hub's identity-registry throttle for a tier and unit count, from the service's quota
/// table: 100 a minute per unit up to S2 (and B2, F1), 5,000 a minute per unit on S3 and B3. The
/// service lets a minute's worth through at once ("applied in minute ranges"), so an idle hub's
/// first hundred S1 operations need not wait; past 500 the in-flight limit paces anyway.
pub fn hub_registry_rate(sku: &str, units: u32) -> Rate {
    let per_unit = if matches!(sku.to_ascii_uppercase().as_str(), "S3" | "B3") { 5_000.0 } else { 100.0 };
    let per_minute = per_unit * units.max(1) as f64;
    Rate::per_second(per_minute / 60.0, per_minute.clamp(10.0, 500.0))
}

/// IoT Hub's query throttle: 20 a minute per unit up to S2 (and B2, F1), 1,000 on S3 and B3.
pub fn hub_query_rate(sku: &str, units: u32) -> Rate {
    let per_unit = if matches!(sku.to_ascii_uppercase().as_str(), "S3" | "B3") { 1_000.0 } else { 20.0 };
    let per_minute = per_unit * units.max(1) as f64;
    Rate::per_second(per_minute / 60.0, (per_minute / 4.0).clamp(2.0, 250.0))
}

/// IoT Hub's twin throttles, reads or updates (device and module twins alike): S1 100 and 50 a
/// second, S2 10 and 5 a second per unit (at least S1's), S3 500 and 250 a second per unit.
pub fn hub_twin_rate(sku: &str, units: u32, write: bool) -> Rate {
    let u = units.max(1) as f64;
    let sku = sku.to_ascii_uppercase();
    let reads = match sku.as_str() {
        "S3" | "B3" => 500.0 * u,
        "S2" | "B2" => (10.0 * u).max(100.0),
        _ => 100.0,
    };
    let per_second = if write { reads / 2.0 } else { reads };
    Rate::per_second(per_second, per_second)
}

/// The rate-limit partition of a hub's twin reads or updates: paced apart from its registry operations.
pub fn hub_twin_partition(host: &str, write: bool) -> String {
    format!("{}/twin-{}", host.to_ascii_lowercase(), if write { "updates" } else { "reads" })
}

/// Every throttle of a hub set on the pipeline from its tier: registry operations (the hub's own
/// partition), queries, twin reads and twin updates, each a bucket of its own as the service keeps them.
pub fn pace_hub(pipeline: &crate::Pipeline, host: &str, sku: &str, units: u32) {
    pipeline.set_rate(Service::Hub, host, hub_registry_rate(sku, units));
    pipeline.set_rate(Service::Hub, &hub_query_partition(host), hub_query_rate(sku, units));
    for write in [false, true] {
        pipeline.set_rate(Service::Hub, &hub_twin_partition(host, write), hub_twin_rate(sku, units, write));
    }
}

/// The rate-limit partition of a hub's queries: paced apart from its registry operations.
pub fn hub_query_partition(host: &str) -> String {
    format!("{}/query", host.to_ascii_lowercase())
}

pub(crate) struct RateLimiter {
    limits: RateLimits,
    /// Rates known for one instance (a hub's, from its tier), over the service's default.
    overrides: Mutex<HashMap<(Service, String), Rate>>,
    buckets: Mutex<HashMap<(Service, bool, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter { limits, overrides: Mutex::default(), buckets: Mutex::default() }
    }

    /// The rate of one instance (`partition`: a hub's host), once its tier is known.
    pub fn set_rate(&self, service: Service, partition: &str, rate: Rate) {
        self.overrides.lock().unwrap_or_else(|p| p.into_inner()).insert((service, partition.to_ascii_lowercase()), rate);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.retain(|(s, _, p), _| !(*s == service && p.eq_ignore_ascii_case(partition)));
    }

    /// Waits until the bucket of `service` / `partition` has a token for this call.
    pub async fn acquire(&self, service: Service, write: bool, partition: &str) {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                let known = self.overrides.lock().unwrap_or_else(|p| p.into_inner()).get(&(service, partition.to_ascii_lowercase())).copied();
                let rate = known.unwrap_or_else(|| self.limits.rate(service, write));
                let now = Instant::now();
                let bucket =
                    buckets.entry((service, write && service == Service::Arm, partition.to_string())).or_insert(Bucket { rate, tokens: rate.burst, last: now });
                bucket.take(now)
            };
            match wait {
                None => return,
                Some(wait) => {
                    tracing::debug!(service = service.as_str(), partition, wait_ms = wait.as_millis() as u64, "waiting for the client-side rate limit");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_grants_its_burst_then_paces_at_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket { rate: Rate::per_second(20.0, 5.0), tokens: 5.0, last: start };
        assert_eq!((0..5).filter(|_| bucket.take(start).is_none()).count(), 5);
        let wait = bucket.take(start).expect("empty");
        assert!((wait.as_secs_f64() - 0.05).abs() < 1e-6, "{wait:?}");
        assert!(bucket.take(start + Duration::from_millis(50)).is_none());
    }

    #[test]
    fn hub_queries_are_paced_at_their_own_tier_rate() {
        assert!((hub_query_rate("S1", 1).per_second - 20.0 / 60.0).abs() < 1e-9);
        assert!((hub_query_rate("S3", 1).per_second - 1_000.0 / 60.0).abs() < 1e-9);
        assert_eq!(hub_query_partition("Hub.Azure-Devices.net"), "hub.azure-devices.net/query");
    }

    #[test]
    fn hub_twin_rates_follow_the_tier_and_are_paced_apart() {
        assert_eq!(hub_twin_rate("S1", 4, true).per_second, 50.0);
        assert_eq!(hub_twin_rate("S2", 20, false).per_second, 200.0);
        assert_eq!(hub_twin_rate("S3", 2, true).per_second, 500.0);
        assert_ne!(hub_twin_partition("Hub.azure-devices.net", true), hub_twin_partition("hub.azure-devices.net", false));
    }

    #[test]
    fn hub_rates_follow_the_tier_and_units() {
        assert!((hub_registry_rate("S1", 1).per_second - 100.0 / 60.0).abs() < 1e-9);
        assert!((hub_registry_rate("S1", 3).per_second - 5.0).abs() < 1e-9);
        assert!((hub_registry_rate("S3", 2).per_second - 10_000.0 / 60.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn an_instance_rate_overrides_the_default_for_that_instance_only() {
        let limiter = RateLimiter::new(RateLimits { hub: Rate::per_second(1.0, 1.0), ..RateLimits::default() });
        limiter.set_rate(Service::Hub, "big.azure-devices.net", Rate::per_second(1000.0, 100.0));
        let start = Instant::now();
        for _ in 0..50 {
            limiter.acquire(Service::Hub, false, "big.azure-devices.net").await;
        }
        assert!(start.elapsed() < Duration::from_millis(50), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn central_apps_are_limited_separately() {
        let limiter = RateLimiter::new(RateLimits { central: Rate::per_second(1.0, 1.0), ..RateLimits::default() });
        let start = Instant::now();
        limiter.acquire(Service::Central, false, "app-a").await;
        limiter.acquire(Service::Central, false, "app-b").await;
        assert!(start.elapsed() < Duration::from_millis(10));
    }
}
