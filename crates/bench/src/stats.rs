//! Summaries of timings.

use std::time::Duration;

/// Sorted samples.
#[derive(Debug, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// From unsorted durations.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The q-quantile (0.0..=1.0), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }

    /// Arithmetic mean.
    pub fn mean(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// One line: n, mean, p50, p95, p99, max, in milliseconds.
    pub fn line(&self) -> String {
        format!(
            "n={} mean={:.2}ms p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
            self.len(),
            ms(self.mean()),
            ms(self.quantile(0.5)),
            ms(self.quantile(0.95)),
            ms(self.quantile(0.99)),
            ms(self.quantile(1.0)),
        )
    }
}

/// Milliseconds as a float.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
