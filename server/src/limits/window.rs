//! Time: the injectable clock and calendar-aligned (UTC) windows.

use std::sync::atomic::{AtomicI64, Ordering};

use time::{Date, Month, OffsetDateTime, Time};

use crate::config::Period;

pub trait Clock: Send + Sync {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        crate::store::now_ms()
    }
}

/// A clock tests move by hand.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        Self(AtomicI64::new(now_ms))
    }
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// `[start, end)` of the window of `period` that holds `now_ms`.
pub fn window(period: Period, now_ms: i64) -> (i64, i64) {
    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;
    let floor = |unit: i64| now_ms.div_euclid(unit) * unit;
    match period {
        Period::Minute => (floor(MIN), floor(MIN) + MIN),
        Period::Hour => (floor(HOUR), floor(HOUR) + HOUR),
        Period::Day => (floor(DAY), floor(DAY) + DAY),
        Period::Month => {
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let start = month_start(t.year(), t.month());
            let (ny, nm) = if t.month() == Month::December { (t.year() + 1, Month::January) } else { (t.year(), t.month().next()) };
            (start, month_start(ny, nm))
        }
        Period::Lifetime => (0, i64::MAX),
    }
}

fn month_start(year: i32, month: Month) -> i64 {
    Date::from_calendar_date(year, month, 1)
        .map(|d| (d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

/// Start of the UTC day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(86_400_000) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        (OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn windows_are_calendar_aligned_utc() {
        let now = ms("2026-02-28T23:59:59.500Z");
        assert_eq!(window(Period::Minute, now), (ms("2026-02-28T23:59:00Z"), ms("2026-03-01T00:00:00Z")));
        assert_eq!(window(Period::Hour, now), (ms("2026-02-28T23:00:00Z"), ms("2026-03-01T00:00:00Z")));
        assert_eq!(window(Period::Day, now), (ms("2026-02-28T00:00:00Z"), ms("2026-03-01T00:00:00Z")));
        assert_eq!(window(Period::Month, now), (ms("2026-02-01T00:00:00Z"), ms("2026-03-01T00:00:00Z")));
        let dec = ms("2026-12-31T12:00:00Z");
        assert_eq!(window(Period::Month, dec), (ms("2026-12-01T00:00:00Z"), ms("2027-01-01T00:00:00Z")));
        assert_eq!(window(Period::Lifetime, now), (0, i64::MAX));
        assert_eq!(day_start(now), ms("2026-02-28T00:00:00Z"));
    }

    #[test]
    fn manual_clock_moves() {
        let c = ManualClock::new(1000);
        c.advance(500);
        assert_eq!(c.now_ms(), 1500);
        c.set(7);
        assert_eq!(c.now_ms(), 7);
    }
}
