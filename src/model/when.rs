//! A point in time as people write it, on the command line and in the API's query
//! strings alike (one parser, so `since=2026-11-01` means the same in both).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::Duration;

/// `now`, a duration ago (`30d`, `2h`), a date (`2026-11-01`, midnight UTC) or an
/// RFC 3339 date-time (`2026-11-01T08:00:00+01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    Ago(Duration),
    At(DateTime<Utc>),
}

impl When {
    pub fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            When::Now => now,
            When::Ago(d) => now - d.chrono(),
            When::At(t) => t,
        }
    }
}

/// What a time expression should have looked like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}`: expected now, a duration ago (30d, 2h), a date (2026-11-01) or a date-time (2026-11-01T08:00:00Z)"
)]
pub struct ParseWhenError(String);

impl std::str::FromStr for When {
    type Err = ParseWhenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("now") {
            return Ok(When::Now);
        }
        if let Ok(d) = s.parse::<Duration>() {
            return Ok(When::Ago(d));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(When::At(t.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(When::At(d.and_time(NaiveTime::MIN).and_utc()));
        }
        Err(ParseWhenError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reads_durations_dates_and_date_times() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        let at = |s: &str| s.parse::<When>().unwrap().at(now);
        assert_eq!(at("now"), now);
        assert_eq!(at("7d"), now - chrono::Duration::days(7));
        assert_eq!(
            at("2026-11-01"),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            at("2026-11-01T08:00:00+01:00"),
            Utc.with_ymd_and_hms(2026, 11, 1, 7, 0, 0).unwrap()
        );
        assert!(
            "yesterday"
                .parse::<When>()
                .unwrap_err()
                .to_string()
                .contains("yesterday")
        );
    }
}
