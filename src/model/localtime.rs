//! Times as a person reads them: in the installation's zone (`[daemon] timezone`), with
//! the zone's abbreviation, e.g. "2026-12-02 03:22 CET". JSON and the API stay RFC 3339
//! UTC; only what a person reads goes through here.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// "2026-12-02 03:22 CET": `ts` in `tz`, minutes, with the zone's abbreviation.
pub fn display(ts: DateTime<Utc>, tz: &Tz) -> String {
    display_with(ts, tz, "%Y-%m-%d %H:%M")
}

/// `ts` in `tz` written with a chrono `format` (a locale's date order), then the zone's
/// abbreviation: "02/12/2026 03:22 CET".
pub fn display_with(ts: DateTime<Utc>, tz: &Tz, format: &str) -> String {
    let local = ts.with_timezone(tz);
    format!("{} {}", local.format(format), local.format("%Z"))
}

/// The zone named by an IANA name ("Europe/Paris"); the error says what was expected.
pub fn parse(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!(
            "unknown time zone `{name}`: expected an IANA name such as \"Europe/Paris\" or \"UTC\""
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn shows_local_time_with_the_zone_abbreviation() {
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 2, 22, 0).unwrap();
        assert_eq!(
            display(t, &chrono_tz::Europe::Paris),
            "2026-12-02 03:22 CET"
        );
        let summer = Utc.with_ymd_and_hms(2026, 7, 2, 2, 22, 0).unwrap();
        assert_eq!(
            display(summer, &chrono_tz::Europe::Paris),
            "2026-07-02 04:22 CEST"
        );
        assert_eq!(display(t, &Tz::UTC), "2026-12-02 02:22 UTC");
        assert_eq!(
            display_with(t, &chrono_tz::Europe::Paris, "%d/%m/%Y %H:%M"),
            "02/12/2026 03:22 CET"
        );
    }

    #[test]
    fn an_unknown_zone_is_an_error_naming_it() {
        assert!(
            parse("Europe/Pariss")
                .unwrap_err()
                .contains("Europe/Pariss")
        );
        assert_eq!(parse("Europe/Paris"), Ok(chrono_tz::Europe::Paris));
    }
}
