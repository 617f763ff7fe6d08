//! What the activity rules (pipeline executions, project builds) mean by an anomaly, with the
//! defaults of the SEC11-BP07 guidance: the window and baseline parameters, the failure rate and
//! the frequency spike.

use ipnet::IpNet;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer};

use crate::common::business_hours::BusinessHours;
use crate::common::params::{bounded, bounded_decimal, business_hours, cidr_list, principal_list};

/// The window when `windowHours` is not set.
pub const DEFAULT_WINDOW_HOURS: u32 = 24;
/// The largest window: a week.
pub const MAX_WINDOW_HOURS: u32 = 168;
/// `maxFailureRate` when not set.
pub const DEFAULT_MAX_FAILURE_RATE: f64 = 0.3;
/// Finished runs needed before the failure rate means anything: one failure out of two is not
/// an anomaly.
pub const MIN_FINISHED_FOR_RATE: usize = 5;
/// A spike is more than this many times the baseline (`spikeFactor`)...
pub const DEFAULT_SPIKE_FACTOR: f64 = 2.0;
/// ...and at least this many runs in the window.
pub const MIN_SPIKE_RUNS: usize = 10;
/// The days before the window that make the baseline (`baselineDays`).
pub const DEFAULT_BASELINE_DAYS: u32 = 30;
/// CloudTrail's event history holds 90 days: the longest baseline plus the longest window.
pub const MAX_BASELINE_DAYS: u32 = 83;
/// Business hours when `businessHours` is not set: every day, 06:00–22:00 UTC.
pub const DEFAULT_BUSINESS_HOURS: &str = "Mon-Sun 06:00-22:00 UTC";

/// The window, baseline, failure-rate, spike, business-hours and allow-list parameters of the
/// activity rules: one struct, so both rules take the same names with the same bounds.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActivityParams {
    #[serde(rename = "windowHours", deserialize_with = "window_hours")]
    pub window_hours: Option<u32>,
    #[serde(rename = "maxFailureRate", deserialize_with = "failure_rate")]
    pub max_failure_rate: Option<f64>,
    #[serde(rename = "spikeFactor", deserialize_with = "spike_factor")]
    pub spike_factor: Option<f64>,
    #[serde(rename = "baselineDays", deserialize_with = "baseline_days")]
    pub baseline_days: Option<u32>,
    #[serde(rename = "businessHours", deserialize_with = "business_hours")]
    pub business_hours: Option<BusinessHours>,
    #[serde(rename = "allowedCidrs", deserialize_with = "cidr_list")]
    pub allowed_cidrs: Vec<IpNet>,
    #[serde(rename = "allowedPrincipals", deserialize_with = "principal_list")]
    pub allowed_principals: Vec<String>,
}

impl ActivityParams {
    pub fn span(&self) -> Span {
        Span::new(self.window_hours, self.baseline_days)
    }

    /// `businessHours`, or the default.
    ///
    /// # Panics
    ///
    /// Never: the default is a valid constant, parsed by every test that leaves `businessHours` unset.
    pub fn business_hours(&self) -> BusinessHours {
        self.business_hours.clone().unwrap_or_else(|| DEFAULT_BUSINESS_HOURS.parse().expect("valid default"))
    }
}

pub fn window_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    bounded(deserializer, 1..=MAX_WINDOW_HOURS, "hours")
}

pub fn baseline_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    bounded(deserializer, 1..=MAX_BASELINE_DAYS, "days")
}

pub fn failure_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    bounded_decimal(deserializer, 0.0..=1.0, "0.3")
}

pub fn spike_factor<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    bounded_decimal(deserializer, 1.0..=100.0, "2")
}

/// The window and baseline of one evaluation, from the parameters (defaults filled in).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub window_hours: u32,
    pub baseline_days: u32,
}

impl Span {
    pub fn new(window_hours: Option<u32>, baseline_days: Option<u32>) -> Self {
        Span {
            window_hours: window_hours.unwrap_or(DEFAULT_WINDOW_HOURS),
            baseline_days: baseline_days.unwrap_or(DEFAULT_BASELINE_DAYS),
        }
    }

    pub fn window(self) -> SignedDuration {
        SignedDuration::from_hours(i64::from(self.window_hours))
    }

    pub fn baseline(self) -> SignedDuration {
        SignedDuration::from_hours(24 * i64::from(self.baseline_days))
    }

    /// `24 h`.
    pub fn window_text(self) -> String {
        format!("{} h", self.window_hours)
    }

    /// `30 days`.
    pub fn baseline_text(self) -> String {
        format!("{} days", self.baseline_days)
    }

    /// The window's start for a window ending at `end`.
    pub fn window_start(self, end: Timestamp) -> Timestamp {
        before(end, self.window())
    }

    /// The baseline's start for a window ending at `end`.
    pub fn baseline_start(self, end: Timestamp) -> Timestamp {
        before(self.window_start(end), self.baseline())
    }
}

fn before(end: Timestamp, duration: SignedDuration) -> Timestamp {
    end.checked_sub(duration).unwrap_or(Timestamp::MIN)
}

/// `failure rate 40% (4 of 10 finished executions) above 30%` when `failed` of `finished` is
/// above `max_rate` and enough runs finished; otherwise `None`.
pub fn failure_rate_finding(failed: usize, finished: usize, max_rate: f64, runs: &str) -> Option<String> {
    #[allow(clippy::cast_precision_loss)] // run counts are far below 2^52
    let rate = if finished == 0 { 0.0 } else { failed as f64 / finished as f64 };
    (finished >= MIN_FINISHED_FOR_RATE && rate > max_rate).then(|| {
        format!(
            "failure rate {:.0}% ({failed} of {finished} finished {runs}) above {:.0}%",
            rate * 100.0,
            max_rate * 100.0
        )
    })
}

/// The baseline (runs per window) when `in_window` runs are a spike against the runs `started`
/// in the baseline before `window_start`. The baseline starts at the first run seen when that is
/// more recent, so a new pipeline or project is not measured against empty days; with no earlier
/// run there is no baseline and no spike.
pub fn spike(started: &[Timestamp], in_window: usize, window_end: Timestamp, span: Span, factor: f64) -> Option<f64> {
    let window_start = span.window_start(window_end);
    let baseline_start = span.baseline_start(window_end);
    let history: Vec<Timestamp> =
        started.iter().copied().filter(|time| *time >= baseline_start && *time < window_start).collect();
    let first = history.iter().min()?;
    // Whole windows from the first run seen to the window's start, at least one, at most the
    // baseline's.
    let window = span.window().as_secs_f64();
    let windows = (window_start.duration_since(*first).as_secs_f64() / window)
        .ceil()
        .min(span.baseline().as_secs_f64() / window)
        .max(1.0);
    #[allow(clippy::cast_precision_loss)] // run counts are far below 2^52
    let baseline = history.len() as f64 / windows;
    #[allow(clippy::cast_precision_loss)]
    let spiked = in_window >= MIN_SPIKE_RUNS && in_window as f64 > factor * baseline;
    spiked.then_some(baseline)
}
