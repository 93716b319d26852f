//! A token bucket: the per-application request rate Central enforces, answered with 429 and the
//! seconds to wait when empty.

use std::time::Instant;

pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, capacity: f64) -> TokenBucket {
        TokenBucket { rate, capacity, tokens: capacity, last: Instant::now() }
    }

    /// Takes one token, or says how many whole seconds until one is there (at least 1).
    pub fn take(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err((((1.0 - self.tokens) / self.rate).ceil() as u64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_past_the_capacity_is_refused_with_a_wait() {
        let mut bucket = TokenBucket::new(20.0, 20.0);
        let granted = (0..25).filter(|_| bucket.take().is_ok()).count();
        assert_eq!(granted, 20);
        assert_eq!(bucket.take(), Err(1));
    }
}
