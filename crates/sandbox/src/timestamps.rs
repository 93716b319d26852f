//! The date-times the services write, in the shapes their SDKs parse: RFC 3339 in UTC with `Z`
//! and the fraction of a second without trailing zeros, and RFC 2822 with a two-digit day (the
//! text the `time` crate wrote before the sandbox moved to chrono, kept so no answer changes).
//! One place, so every service writes the same text.

use chrono::{DateTime, Timelike, Utc};

/// `2026-12-02T04:04:49.1234Z`: whole seconds when there is no fraction.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    let whole = t.format("%Y-%m-%dT%H:%M:%S");
    match t.nanosecond() % 1_000_000_000 {
        0 => format!("{whole}Z"),
        nanos => format!("{whole}.{}Z", format!("{nanos:09}").trim_end_matches('0')),
    }
}

pub fn now_rfc3339() -> String {
    rfc3339(Utc::now())
}

/// `Wed, 02 Dec 2026 04:04:49 +0000` (chrono's own RFC 2822 drops the day's leading zero).
pub fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_loses_its_trailing_zeros_and_whole_seconds_have_none() {
        let t = DateTime::from_timestamp(1_796_184_289, 120_000_000).unwrap();
        assert_eq!(rfc3339(t), "2026-12-02T04:04:49.12Z");
        assert_eq!(rfc3339(t.with_nanosecond(0).unwrap()), "2026-12-02T04:04:49Z");
    }

    #[test]
    fn rfc2822_pads_the_day() {
        let t = DateTime::from_timestamp(1_796_184_289, 0).unwrap();
        assert_eq!(rfc2822(t), "Wed, 02 Dec 2026 04:04:49 +0000");
    }
}
