//! How numbers, money and times read in the console.

/// `1234567` → `1,234,567`.
pub fn int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars, with cents for amounts of a dollar or more and four decimals below.
pub fn cost(usd: Option<f64>) -> String {
    // `+ 0.0` turns a -0.0 (an empty sum) into 0.
    match usd.map(|v| v + 0.0) {
        None => String::new(),
        Some(v) if v.abs() >= 1.0 => {
            let cents = (v * 100.0).round() as i64;
            format!("${}.{:02}", int(cents / 100), (cents % 100).abs())
        }
        Some(v) if v.abs() >= 0.01 => format!("${v:.4}"),
        Some(v) => format!("${v:.6}"),
    }
}

/// Milliseconds, to a useful precision.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => String::new(),
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) if v >= 10.0 => format!("{v:.0} ms"),
        Some(v) => format!("{v:.1} ms"),
    }
}

thread_local! {
    /// The offset from UTC, in minutes, times are shown in while a page renders.
    static OFFSET: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Runs `f` (which renders a page) with times shown `minutes` east of UTC.
pub fn with_offset<T>(minutes: i32, f: impl FnOnce() -> T) -> T {
    let old = OFFSET.with(|o| o.replace(minutes));
    let out = f();
    OFFSET.with(|o| o.set(old));
    out
}

/// The offset times are shown in now, minutes east of UTC.
pub fn offset() -> i32 {
    OFFSET.with(std::cell::Cell::get)
}

/// `UTC`, or `UTC+02:00`.
pub fn zone_label() -> String {
    zone_name(offset())
}

pub fn zone_name(minutes: i32) -> String {
    if minutes == 0 {
        return "UTC".into();
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60)
}

/// Unix milliseconds as a date and time in the page's time zone (its fields read as local).
pub fn local(ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos((i128::from(ms) + i128::from(offset()) * 60_000) * 1_000_000).ok()
}

/// Unix milliseconds as `2026-11-25 12:00:01`, in the page's time zone.
pub fn time(ms: i64) -> String {
    let Some(t) = local(ms) else { return ms.to_string() };
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.format(&f).unwrap_or_else(|_| ms.to_string())
}

/// The time of day as `14:00`, in the page's time zone; with the date (`2026-12-01 00:00`) when
/// it is not within the next or last 20 hours.
pub fn clock(ms: i64) -> String {
    let Some(t) = local(ms) else { return ms.to_string() };
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let out = if (ms - now).abs() < 20 * 3_600_000 {
        t.format(time::macros::format_description!("[hour]:[minute]"))
    } else {
        t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]"))
    };
    out.unwrap_or_else(|_| ms.to_string())
}

/// Percent-encodes a query value.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_numbers_money_and_times() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(-1234567), "-1,234,567");
        assert_eq!(cost(Some(1234.5)), "$1,234.50");
        assert_eq!(cost(Some(0.042)), "$0.0420");
        assert_eq!(cost(Some(0.000012)), "$0.000012");
        assert_eq!(cost(None), "");
        assert_eq!(cost(Some(std::iter::empty::<f64>().sum())), "$0.000000", "an empty sum is no cost, not a negative one");
        assert_eq!(ms(Some(0.25)), "0.2 ms");
        assert_eq!(ms(Some(1530.0)), "1.53 s");
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(query_escape("a b&c"), "a%20b%26c");
        assert_eq!(with_offset(90, || time(0)), "1970-01-01 01:30:00");
        assert_eq!(with_offset(-300, zone_label), "UTC-05:00");
        assert_eq!(time(0), "1970-01-01 00:00:00", "the offset ends with the page");
    }
}
