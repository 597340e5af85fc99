//! Durations as users write them: "90s", "10m", "1h", "7d" (and combinations like "1h30m").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A configured duration. Parsed from "90s", "10m", "1h", "7d", "1h30m", "500ms".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    pub fn std(self) -> std::time::Duration {
        self.0
    }
    pub fn chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration `{0}`: expected a number followed by ms, s, m, h, d or w, like \"90s\", \"10m\", \"1h\" or \"7d\""
)]
pub struct ParseDurationError(String);

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDurationError(s.to_string());
        let t = s.trim();
        if t.is_empty() {
            return Err(err());
        }
        if t == "0" {
            return Ok(Duration::default());
        }
        let mut total = std::time::Duration::ZERO;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return Err(err());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| err())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            rest = rest[unit_len..].trim_start();
            let part = match unit {
                "ms" => std::time::Duration::from_millis(n),
                "s" => std::time::Duration::from_secs(n),
                "m" | "min" => std::time::Duration::from_secs(n.checked_mul(60).ok_or_else(err)?),
                "h" => std::time::Duration::from_secs(n.checked_mul(3600).ok_or_else(err)?),
                "d" => std::time::Duration::from_secs(n.checked_mul(86_400).ok_or_else(err)?),
                "w" => std::time::Duration::from_secs(n.checked_mul(604_800).ok_or_else(err)?),
                _ => return Err(err()),
            };
            total = total.checked_add(part).ok_or_else(err)?;
        }
        // Nothing veille waits for is longer; beyond, date arithmetic would overflow.
        if total > std::time::Duration::from_secs(100 * 365 * 86_400) {
            return Err(err());
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return write!(f, "0s");
        }
        if !ms.is_multiple_of(1000) {
            return write!(f, "{ms}ms");
        }
        let mut s = self.0.as_secs();
        for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if s >= len {
                write!(f, "{}{unit}", s / len)?;
                s %= len;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_forms() {
        assert_eq!("90s".parse::<Duration>().unwrap().as_secs(), 90);
        assert_eq!("10m".parse::<Duration>().unwrap().as_secs(), 600);
        assert_eq!("1h".parse::<Duration>().unwrap().as_secs(), 3600);
        assert_eq!("7d".parse::<Duration>().unwrap().as_secs(), 7 * 86_400);
        assert_eq!("1h30m".parse::<Duration>().unwrap().as_secs(), 5400);
        assert_eq!("250ms".parse::<Duration>().unwrap().0.as_millis(), 250);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "10",
            "1x",
            "h",
            "-5m",
            "1.5h",
            "18446744073709551615s",
            "36501d",
        ] {
            assert!(s.parse::<Duration>().is_err(), "{s}");
        }
    }

    #[test]
    fn displays_compactly() {
        assert_eq!("90m".parse::<Duration>().unwrap().to_string(), "1h30m");
        assert_eq!("7d".parse::<Duration>().unwrap().to_string(), "7d");
    }
}
