//! A token bucket: the per-application request rate Central enforces, answered with 429 and the
//! seconds to wait when empty. IoT Hub's per-tier throttles use it too, with a cost per call (a
//! bulk registry call spends one token per device) and a rate that follows the hub's scale.

use std::time::Instant;

pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, capacity: f64) -> TokenBucket {
        TokenBucket::new_at(rate, capacity, Instant::now())
    }

    /// A full bucket as of `now` (tests drive the clock themselves).
    pub fn new_at(rate: f64, capacity: f64, now: Instant) -> TokenBucket {
        TokenBucket { rate, capacity, tokens: capacity, last: now }
    }

    /// Takes one token, or says how many whole seconds until one is there (at least 1).
    pub fn take(&mut self) -> Result<(), u64> {
        self.take_at(1.0, Instant::now())
    }

    /// Takes `cost` tokens at `now`, or says how many whole seconds until they are there (at
    /// least 1). A cost above the capacity could never be met, so it is charged as a full bucket.
    pub fn take_at(&mut self, cost: f64, now: Instant) -> Result<(), u64> {
        self.refill(now);
        let cost = cost.min(self.capacity);
        if self.tokens >= cost {
            self.tokens -= cost;
            return Ok(());
        }
        Err((((cost - self.tokens) / self.rate).ceil() as u64).max(1))
    }

    /// A new rate and capacity from `now` on (a hub rescaled): tokens earned so far are kept, up
    /// to the new capacity, so a rescale neither grants a fresh burst nor takes one away.
    pub fn set_limits(&mut self, rate: f64, capacity: f64, now: Instant) {
        self.refill(now);
        self.rate = rate;
        self.capacity = capacity;
        self.tokens = self.tokens.min(capacity);
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn refill(&mut self, now: Instant) {
        self.tokens = (self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.rate).min(self.capacity);
        self.last = self.last.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_past_the_capacity_is_refused_with_a_wait() {
        let mut bucket = TokenBucket::new(20.0, 20.0);
        let granted = (0..25).filter(|_| bucket.take().is_ok()).count();
        assert_eq!(granted, 20);
        assert_eq!(bucket.take(), Err(1));
    }

    #[test]
    fn an_emptied_bucket_paces_calls_at_its_rate() {
        // IoT Hub S1 x1 identity registry: 100 a minute, a minute's worth of burst.
        let start = Instant::now();
        let mut bucket = TokenBucket::new_at(100.0 / 60.0, 100.0, start);
        assert_eq!((0..150).filter(|_| bucket.take_at(1.0, start).is_ok()).count(), 100);
        // Ten minutes of callers trying every 10 ms: granted at the rate, to within one call.
        let mut granted = 0;
        for tick in 1..=60_000u64 {
            if bucket.take_at(1.0, start + Duration::from_millis(tick * 10)).is_ok() {
                granted += 1;
            }
        }
        assert!((999..=1001).contains(&granted), "{granted} granted in 600 s at 1.67/s");
    }

    #[test]
    fn a_cost_is_charged_whole_and_waits_for_enough_tokens() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new_at(100.0 / 60.0, 100.0, start);
        assert!(bucket.take_at(50.0, start).is_ok());
        assert!(bucket.take_at(50.0, start).is_ok());
        // The third bulk of 50 in the same minute is refused: 50 tokens take 30 s to earn.
        assert_eq!(bucket.take_at(50.0, start), Err(30));
        assert!(bucket.take_at(50.0, start + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn a_new_rate_applies_from_the_change_on_keeping_earned_tokens() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new_at(1.0, 60.0, start);
        assert!(bucket.take_at(60.0, start).is_ok());
        bucket.set_limits(10.0, 600.0, start + Duration::from_secs(1));
        // One token earned at the old rate, then ten a second.
        assert!(bucket.take_at(11.0, start + Duration::from_secs(2)).is_ok());
        assert_eq!(bucket.take_at(1.0, start + Duration::from_secs(2)), Err(1));
        assert_eq!(bucket.rate(), 10.0);
    }
}
