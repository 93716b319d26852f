//! When to try a call again, and how long to wait first. Throttling (429) is always retried: the
//! service did nothing with the request. Outages (500, 502, 503, 504, 408), timeouts and
//! connections that broke after the request went out are retried only when the request is safe to
//! repeat. A connection that never opened is retried too: nothing was sent. The wait is the
//! service's own `retry-after-ms` / `x-ms-retry-after-ms` / `Retry-After` (seconds or an HTTP date)
//! when given, else exponential backoff with jitter; both capped.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// Why a try did not finish the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The service answered with this status.
    Status(u16),
    /// No connection could be made; the request never left.
    Connect(String),
    /// No complete answer within the request timeout.
    Timeout,
    /// The connection broke after the request was (maybe) sent.
    Broken(String),
}

impl Failure {
    pub fn describe(&self) -> String {
        match self {
            Failure::Status(s) => format!("status {s}"),
            Failure::Connect(why) => format!("could not connect: {why}"),
            Failure::Timeout => "timed out".into(),
            Failure::Broken(why) => format!("connection broke: {why}"),
        }
    }

    /// Worth another try at all, given whether the request may be repeated.
    pub fn retryable(&self, retry_safe: bool) -> bool {
        match self {
            Failure::Status(429) | Failure::Connect(_) => true,
            Failure::Status(408 | 500 | 502 | 503 | 504) | Failure::Timeout | Failure::Broken(_) => retry_safe,
            Failure::Status(_) => false,
        }
    }
}

/// The longest wait a service's header is read as. A header is the service's text, so it can say
/// `1e20` (past what a `Duration` holds: `from_secs_f64` panics, and a panic aborts the app) or
/// a date in year 9999. A day is far above every caller's own cap (the pipeline's
/// `max_retry_delay`, 60 s by default, also caps the poller), so that cap still decides; the
/// clamp only keeps the value representable, and `Instant + wait` from overflowing.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// `seconds` as a wait no longer than `MAX_RETRY_AFTER`; nothing for NaN, infinities and negatives.
fn clamped_seconds(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())))
}

/// The wait the service asked for, from the first header present, at most `MAX_RETRY_AFTER`.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(wait) = header(name).and_then(|v| v.parse::<f64>().ok()).and_then(|ms| clamped_seconds(ms / 1000.0)) {
            return Some(wait);
        }
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return clamped_seconds(seconds);
    }
    // An HTTP date (IMF-fixdate is RFC 2822 with the GMT zone).
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(at.timestamp()).ok()?))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

/// Exponential backoff for try `attempt` (1 = the first retry), ±20 % jitter, capped at `max`.
pub(crate) fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponential = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let jitter = 0.8 + rand::random::<f64>() * 0.4;
    exponential.min(max).mul_f64(jitter).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn every_retry_after_form_is_read() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after(&headers(&[("retry-after", "3")]), now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "9")]), now), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(&headers(&[("x-ms-retry-after-ms", "1500")]), now), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:47 GMT")]), now), Some(Duration::from_secs(10)));
        assert_eq!(retry_after(&headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:07 GMT")]), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn a_retry_after_no_duration_can_hold_is_clamped_not_a_panic() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        for (name, value) in [("retry-after", "1e20"), ("retry-after", "1e308"), ("retry-after-ms", "1e30"), ("x-ms-retry-after-ms", "9e25")] {
            assert_eq!(retry_after(&headers(&[(name, value)]), now), Some(MAX_RETRY_AFTER), "{name}: {value}");
        }
        assert_eq!(retry_after(&headers(&[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]), now), Some(MAX_RETRY_AFTER));
        for value in ["NaN", "-5", "-inf", "inf"] {
            assert_eq!(retry_after(&headers(&[("retry-after", value)]), now), None, "{value}");
        }
        // A nonsense millisecond header falls through to the next one.
        assert_eq!(retry_after(&headers(&[("retry-after-ms", "NaN"), ("retry-after", "2")]), now), Some(Duration::from_secs(2)));
    }

    #[test]
    fn backoff_grows_and_stops_at_the_cap() {
        let (base, max) = (Duration::from_millis(800), Duration::from_secs(10));
        let first = backoff(1, base, max);
        assert!(first >= Duration::from_millis(640) && first <= Duration::from_millis(960), "{first:?}");
        let third = backoff(3, base, max);
        assert!(third >= Duration::from_millis(2560) && third <= Duration::from_millis(3840), "{third:?}");
        let capped = backoff(30, base, max);
        assert!(capped <= max && capped >= max.mul_f64(0.8), "{capped:?}");
    }

    #[test]
    fn a_post_is_retried_only_when_nothing_happened_to_it() {
        assert!(Failure::Status(429).retryable(false));
        assert!(Failure::Connect("refused".into()).retryable(false));
        assert!(!Failure::Broken("reset".into()).retryable(false));
        assert!(!Failure::Status(503).retryable(false));
        assert!(Failure::Status(503).retryable(true));
        assert!(!Failure::Status(404).retryable(true));
    }
}
