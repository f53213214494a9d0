//! Virtual time: durations as scenario files write them, and each node's own clock.
//!
//! The simulation has one global virtual clock in nanoseconds (`u64`), advanced only by
//! the event loop. Nodes never read it directly: they read their *local* clock, which is
//! virtual time scaled by a drift and shifted by an offset, because real servers disagree
//! about the time and lease-based protocols break exactly there.

use serde::de::{self, Deserialize, Deserializer};
use std::fmt;

pub const NS_PER_US: u64 = 1_000;
pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_S: u64 = 1_000_000_000;

/// Parses "150ms", "2s", "1.5s", "10us", "250ns", "2m", "0" into signed nanoseconds.
///
/// Integer arithmetic only, so "0.1s" is exactly 100,000,000 ns on every machine.
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let s = text;
    if s.trim() != s || s.is_empty() {
        return Err(format!(
            "duration `{text}` has spaces around it or is empty: write it like \"150ms\""
        ));
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if body == "0" {
        return if negative {
            Err(format!("duration `{text}` is minus zero: write \"0\""))
        } else {
            Ok(0)
        };
    }
    let unit_start = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .ok_or_else(|| {
            format!("duration `{text}` has no unit: write it like \"150ms\", \"2s\" or \"10us\"")
        })?;
    let (number, unit) = body.split_at(unit_start);
    let unit_ns: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => NS_PER_US,
        "ms" => NS_PER_MS,
        "s" => NS_PER_S,
        "m" | "min" => 60 * NS_PER_S,
        "h" => 3600 * NS_PER_S,
        _ => {
            return Err(format!(
                "duration `{text}` has unknown unit `{unit}`; expected one of ns, us, ms, s, m, h"
            ))
        }
    };
    let number = number.replace('_', "");
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number.as_str(), ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("duration `{text}` has no number before its unit"));
    }
    let overflow = || format!("duration `{text}` is too large");
    let whole_v: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("duration `{text}` is not a number followed by a unit"))?
    };
    let mut total = whole_v.checked_mul(unit_ns).ok_or_else(overflow)?;
    // Fractional part: each digit is worth unit/10^k; digits below 1 ns are rejected
    // rather than rounded, so a duration always means exactly what it says.
    let mut scale = unit_ns;
    for digit in frac.chars() {
        let d = digit
            .to_digit(10)
            .ok_or_else(|| format!("duration `{text}` is not a number followed by a unit"))?
            as u64;
        if scale % 10 != 0 {
            if d != 0 {
                return Err(format!("duration `{text}` is finer than one nanosecond"));
            }
            continue;
        }
        scale /= 10;
        total = total.checked_add(d * scale).ok_or_else(overflow)?;
    }
    let total = i64::try_from(total).map_err(|_| overflow())?;
    if negative && total == 0 {
        return Err(format!("duration `{text}` is minus zero: write \"0\""));
    }
    Ok(if negative { -total } else { total })
}

/// Formats nanoseconds compactly for people: "1.250s", "3.5ms", "800ns".
pub fn format_ns(ns: u64) -> String {
    if ns >= NS_PER_S {
        format!("{:.3}s", ns as f64 / NS_PER_S as f64)
    } else if ns >= NS_PER_MS {
        format!("{}ms", trim_float(ns as f64 / NS_PER_MS as f64))
    } else if ns >= NS_PER_US {
        format!("{}us", trim_float(ns as f64 / NS_PER_US as f64))
    } else {
        format!("{ns}ns")
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A non-negative duration written as text in a scenario ("150ms").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub u64);

impl Duration {
    pub fn ns(self) -> u64 {
        self.0
    }
    pub fn from_ms(ms: u64) -> Self {
        Duration(ms * NS_PER_MS)
    }
    pub fn from_secs(s: u64) -> Self {
        Duration(s * NS_PER_S)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_ns(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let ns = parse_duration_ns(&text).map_err(de::Error::custom)?;
        if ns < 0 {
            return Err(de::Error::custom(format!(
                "duration `{text}` is negative; a duration here must be zero or more"
            )));
        }
        Ok(Duration(ns as u64))
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&exact_text(self.0 as i128))
    }
}

/// A duration in the largest unit that states it exactly ("1500ms", "2s", "250ns"), so
/// that written scenarios read back to the same nanosecond.
pub fn exact_text(ns: i128) -> String {
    if ns == 0 {
        return "0".to_string();
    }
    let units = [(NS_PER_S, "s"), (NS_PER_MS, "ms"), (NS_PER_US, "us")];
    for (per, unit) in units {
        if ns % per as i128 == 0 {
            return format!("{}{unit}", ns / per as i128);
        }
    }
    format!("{ns}ns")
}

/// A signed duration, for clock offsets and jumps ("-200ms").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct SignedDuration(pub i64);

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration_ns(&text)
            .map(SignedDuration)
            .map_err(de::Error::custom)
    }
}

impl serde::Serialize for SignedDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&exact_text(self.0 as i128))
    }
}

/// Parts per million of drift, bounded so a clock always moves forward.
pub const DRIFT_PPM_MAX: i64 = 500_000;

/// A node's local clock: `local = base_local + elapsed + elapsed * drift_ppm / 10^6`,
/// where `elapsed` is virtual time since the last change of offset or drift.
///
/// Re-basing on every change keeps the clock continuous when drift changes, and lets a
/// jump move it by exactly the amount asked for, forwards or backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeClock {
    base_virtual_ns: u64,
    base_local_ns: i128,
    drift_ppm: i64,
}

impl NodeClock {
    pub fn new(offset_ns: i64, drift_ppm: i64) -> Self {
        NodeClock {
            base_virtual_ns: 0,
            base_local_ns: offset_ns as i128,
            drift_ppm,
        }
    }

    /// The local time at virtual time `now_ns`, saturating at zero: a clock set far
    /// into the past reads as the epoch rather than wrapping around.
    pub fn local_ns(&self, now_ns: u64) -> u64 {
        self.unclamped(now_ns).clamp(0, u64::MAX as i128) as u64
    }

    /// Steps the clock by `by_ns` at virtual time `now_ns` (NTP step, VM migration, operator).
    pub fn jump(&mut self, now_ns: u64, by_ns: i64) {
        let local = self.unclamped(now_ns);
        self.base_virtual_ns = now_ns;
        self.base_local_ns = local + by_ns as i128;
    }

    /// Changes the drift from `now_ns` on, keeping the clock continuous.
    pub fn set_drift(&mut self, now_ns: u64, drift_ppm: i64) {
        let local = self.unclamped(now_ns);
        self.base_virtual_ns = now_ns;
        self.base_local_ns = local;
        self.drift_ppm = drift_ppm;
    }

    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// How much virtual time passes while this clock advances by `local_ns`: a timer set
    /// for 100ms on a clock running 10% fast fires after about 90.9ms of virtual time.
    pub fn virtual_delay_ns(&self, local_ns: u64) -> u64 {
        // A clock without drift (most of them) needs no 128-bit division: the same result.
        if self.drift_ppm == 0 {
            return local_ns;
        }
        let num = local_ns as u128 * 1_000_000;
        let den = (1_000_000 + self.drift_ppm) as u128;
        (num.div_ceil(den)).min(u64::MAX as u128) as u64
    }

    fn unclamped(&self, now_ns: u64) -> i128 {
        let elapsed = (now_ns - self.base_virtual_ns) as i128;
        if self.drift_ppm == 0 {
            return self.base_local_ns + elapsed;
        }
        self.base_local_ns + elapsed + elapsed * self.drift_ppm as i128 / 1_000_000
    }
}

impl Default for NodeClock {
    fn default() -> Self {
        NodeClock::new(0, 0)
    }
}

/// Clock drift in parts per million, within ±500,000 (a clock at half or 1.5 times speed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Ppm(pub i64);

impl<'de> serde::Deserialize<'de> for Ppm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = <i64 as serde::Deserialize>::deserialize(d)?;
        let max = DRIFT_PPM_MAX;
        if v.abs() > max {
            return Err(serde::de::Error::custom(format!(
                "drift of {v} ppm is out of range; expected between -{max} and {max}"
            )));
        }
        Ok(Ppm(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_without_drift_converts_as_the_general_formula_does() {
        let mut rng = crate::random::Random::new(5, crate::random::Stream::Workload);
        for _ in 0..10_000 {
            let offset = rng.below(1 << 40) as i64 - (1 << 39);
            let c = NodeClock::new(offset, 0);
            let now = rng.below(1 << 50);
            let general = (c.base_local_ns + (now - c.base_virtual_ns) as i128)
                .clamp(0, u64::MAX as i128) as u64;
            assert_eq!(c.local_ns(now), general);
            let local = rng.below(1 << 50);
            assert_eq!(
                c.virtual_delay_ns(local),
                ((local as u128 * 1_000_000).div_ceil(1_000_000)) as u64
            );
        }
    }

    #[test]
    fn written_durations_use_the_largest_exact_unit_and_read_back() {
        let cases = [
            (0, "0"),
            (2_000_000_000, "2s"),
            (1_500_000_000, "1500ms"),
            (-1_500_000, "-1500us"),
            (250, "250ns"),
            (1_000_001, "1000001ns"),
        ];
        for (ns, text) in cases {
            assert_eq!(exact_text(ns), text);
            assert_eq!(parse_duration_ns(text), Ok(ns as i64));
        }
    }

    #[test]
    fn parses_units_and_fractions_exactly() {
        assert_eq!(parse_duration_ns("150ms"), Ok(150 * NS_PER_MS as i64));
        assert_eq!(parse_duration_ns("2s"), Ok(2 * NS_PER_S as i64));
        assert_eq!(parse_duration_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("0.1s"), Ok(100_000_000));
        assert_eq!(parse_duration_ns("10us"), Ok(10_000));
        assert_eq!(parse_duration_ns("250ns"), Ok(250));
        assert_eq!(parse_duration_ns("2m"), Ok(120 * NS_PER_S as i64));
        assert_eq!(parse_duration_ns("0"), Ok(0));
        assert_eq!(parse_duration_ns("-200ms"), Ok(-200 * NS_PER_MS as i64));
        assert_eq!(parse_duration_ns("1_000ms"), Ok(NS_PER_S as i64));
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        assert!(parse_duration_ns("150").unwrap_err().contains("no unit"));
        assert!(parse_duration_ns("5 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration_ns("ms").unwrap_err().contains("no number"));
        assert!(parse_duration_ns("1.5ns").unwrap_err().contains("finer"));
        assert!(parse_duration_ns(" 1s").unwrap_err().contains("spaces"));
        assert!(parse_duration_ns("1s ").unwrap_err().contains("spaces"));
        assert!(parse_duration_ns("").unwrap_err().contains("empty"));
        assert!(parse_duration_ns("-0s").unwrap_err().contains("minus zero"));
        assert!(parse_duration_ns("-0").unwrap_err().contains("minus zero"));
        assert!(parse_duration_ns("99999999999999h")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn clock_offset_drift_and_jumps() {
        let mut c = NodeClock::new(5 * NS_PER_MS as i64, 100_000); // +5ms, 10% fast
        assert_eq!(c.local_ns(0), 5 * NS_PER_MS);
        assert_eq!(c.local_ns(NS_PER_S), 5 * NS_PER_MS + 1_100 * NS_PER_MS);
        c.jump(NS_PER_S, -(2 * NS_PER_S as i64));
        assert_eq!(c.local_ns(NS_PER_S), 0, "a jump before the epoch saturates");
        c.set_drift(2 * NS_PER_S, 0);
        let at2 = c.local_ns(2 * NS_PER_S);
        assert_eq!(c.local_ns(3 * NS_PER_S), at2 + NS_PER_S);
    }

    #[test]
    fn timers_on_fast_clocks_fire_early_in_virtual_time() {
        let fast = NodeClock::new(0, 100_000);
        assert_eq!(fast.virtual_delay_ns(110), 100);
        let slow = NodeClock::new(0, -500_000);
        assert_eq!(slow.virtual_delay_ns(100), 200);
        assert_eq!(NodeClock::default().virtual_delay_ns(42), 42);
    }
}
