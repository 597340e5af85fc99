//! Forum dates: machine-readable attributes (RFC 3339, Unix time, ISO without zone) and
//! the text boards print, in English and French, absolute or relative: "Sun May 26, 2019
//! 4:34 pm", "dim. 8 mars 2026 18:05", "Today at 10:32", "Hier, 18h05", "il y a 3
//! heures", "05-26-2019, 04:34 PM". Times without an offset are in the board's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How a date value is written.
#[derive(Debug, Clone, PartialEq)]
pub enum DateFormat {
    Rfc3339,
    /// A chrono format such as "%Y-%m-%dT%H:%M:%S%z" (without offset: the board's zone).
    Chrono(String),
    /// ISO 8601 without offset, in the board's time zone (vBulletin 5).
    Naive,
    /// Seconds (or milliseconds) since 1970 (XenForo 1 `data-time`, NodeBB).
    Unix,
    /// What a person reads: month names, "Today", "il y a 3 heures"…
    Localized,
}

impl DateFormat {
    /// The format named in a config file.
    pub fn parse(name: &str) -> Option<DateFormat> {
        Some(match name {
            "rfc3339" => DateFormat::Rfc3339,
            "naive" => DateFormat::Naive,
            "unix" => DateFormat::Unix,
            "localized" => DateFormat::Localized,
            f if f.contains('%') => DateFormat::Chrono(f.to_string()),
            _ => return None,
        })
    }
}

/// The board's conventions for dates written without offset or in words.
#[derive(Debug, Clone, Copy)]
pub struct Board {
    pub tz: Tz,
    /// "08/03/2026" is the 8th of March (French boards), not August 3rd.
    pub day_first: bool,
}

/// Parses a forum date; `now` anchors relative dates ("Aujourd'hui", "3 hours ago").
pub fn parse(
    raw: &str,
    format: &DateFormat,
    board: Board,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let raw = raw.replace(['\u{a0}', '\u{202f}'], " ");
    let raw = raw.trim();
    let local = |n: NaiveDateTime| local(board.tz, n);
    match format {
        DateFormat::Rfc3339 => DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|d| d.with_timezone(&Utc)),
        DateFormat::Chrono(f) => DateTime::parse_from_str(raw, f)
            .ok()
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| NaiveDateTime::parse_from_str(raw, f).ok().and_then(local)),
        DateFormat::Naive => DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| {
                [
                    "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%dT%H:%M:%S%.f",
                    "%Y-%m-%d %H:%M:%S",
                ]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
                .and_then(local)
            }),
        DateFormat::Unix => {
            let n: i64 = raw.parse().ok()?;
            // Milliseconds (NodeBB) are told from seconds by their size.
            let secs = if n.abs() > 100_000_000_000 {
                n / 1000
            } else {
                n
            };
            Utc.timestamp_opt(secs, 0).single()
        }
        DateFormat::Localized => localized(raw, board, now),
    }
}

fn local(tz: Tz, n: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&n)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

/// Words and numbers, lower case, accents kept: "dim. 8 mars 2026 18:05" → ["dim", "8",
/// "mars", "2026", "18:05"].
fn tokens(s: &str) -> Vec<String> {
    s.to_lowercase()
        .replace('’', "'")
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '«' | '»' | '(' | ')' | '|'))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | '-' | '/' | '\'')))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn localized(s: &str, board: Board, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let lower = s.to_lowercase().replace('’', "'");
    if let Some(ago) = relative_ago(&lower) {
        return Some(now - ago);
    }
    let today = now.with_timezone(&board.tz).date_naive();
    let words = tokens(&lower);
    let day = if lower.contains("aujourd'hui") || words.iter().any(|w| w == "today") {
        today
    } else if words.iter().any(|w| w == "hier" || w == "yesterday") {
        today.pred_opt()?
    } else if let Some(d) = worded_date(&words, today, board.day_first) {
        d
    } else {
        numeric_date(&words, today, board.day_first)?
    };
    let time = clock_time(&lower).unwrap_or(NaiveTime::MIN);
    local(board.tz, day.and_time(time))
}

/// "3 hours ago", "il y a 5 minutes", "an hour ago", "à l'instant", "just now".
fn relative_ago(s: &str) -> Option<Duration> {
    if s.contains("just now") || s.contains("à l'instant") || s.contains("a l'instant") {
        return Some(Duration::zero());
    }
    let (words, ago) = if let Some(i) = s.find("il y a") {
        (&s[i + 6..], true)
    } else if let Some(i) = s.find(" ago") {
        (&s[..i], true)
    } else {
        (s, false)
    };
    if !ago {
        return None;
    }
    let w = tokens(words);
    // The last number-and-unit pair before "ago" (after "il y a").
    let pairs: Vec<(i64, &str)> = w
        .windows(2)
        .filter_map(|p| {
            let n = match p[0].as_str() {
                "a" | "an" | "un" | "une" => 1,
                n => n.parse().ok()?,
            };
            Some((n, p[1].as_str()))
        })
        .collect();
    let (n, unit) = if s.contains("il y a") {
        *pairs.first()?
    } else {
        *pairs.last()?
    };
    if !(0..100_000).contains(&n) {
        return None;
    }
    let unit = unit.trim_end_matches('s');
    Some(match unit {
        "second" | "seconde" | "sec" => Duration::seconds(n),
        "minute" | "min" => Duration::minutes(n),
        "hour" | "heure" | "hr" | "h" => Duration::hours(n),
        "day" | "jour" | "j" => Duration::days(n),
        "week" | "semaine" => Duration::weeks(n),
        _ => return None,
    })
}

/// Month of a word ("mai", "May", "janv", "September"); "mar" is March in English and
/// Tuesday ("mar.") in French, so a French board only takes "mars".
fn month(word: &str, day_first: bool) -> Option<u32> {
    const NAMES: &[(&str, u32)] = &[
        ("january", 1),
        ("jan", 1),
        ("janvier", 1),
        ("janv", 1),
        ("february", 2),
        ("feb", 2),
        ("février", 2),
        ("fevrier", 2),
        ("févr", 2),
        ("fevr", 2),
        ("fév", 2),
        ("march", 3),
        ("mars", 3),
        ("april", 4),
        ("apr", 4),
        ("avril", 4),
        ("avr", 4),
        ("may", 5),
        ("mai", 5),
        ("june", 6),
        ("jun", 6),
        ("juin", 6),
        ("july", 7),
        ("jul", 7),
        ("juillet", 7),
        ("juil", 7),
        ("august", 8),
        ("aug", 8),
        ("août", 8),
        ("aout", 8),
        ("september", 9),
        ("sep", 9),
        ("sept", 9),
        ("septembre", 9),
        ("october", 10),
        ("oct", 10),
        ("octobre", 10),
        ("november", 11),
        ("nov", 11),
        ("novembre", 11),
        ("december", 12),
        ("dec", 12),
        ("décembre", 12),
        ("decembre", 12),
        ("déc", 12),
    ];
    if word == "mar" {
        return (!day_first).then_some(3);
    }
    NAMES.iter().find(|(n, _)| *n == word).map(|(_, m)| *m)
}

/// "May 26, 2019", "26 mai 2019", "Sun May 26th 2019", "8 mars" (this year).
fn worded_date(words: &[String], today: NaiveDate, day_first: bool) -> Option<NaiveDate> {
    let at = words.iter().position(|w| month(w, day_first).is_some())?;
    let m = month(&words[at], day_first)?;
    let number = |w: &String| -> Option<u32> {
        let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        (!digits.is_empty() && digits.len() <= 2)
            .then(|| digits.parse().ok())
            .flatten()
    };
    // The day is next to the month: before it in French, after it in English.
    let day = at
        .checked_sub(1)
        .and_then(|i| number(&words[i]))
        .filter(|_| day_first)
        .or_else(|| words.get(at + 1).and_then(number))
        .or_else(|| at.checked_sub(1).and_then(|i| number(&words[i])))?;
    let year = words
        .iter()
        .skip(at.saturating_sub(1))
        .find_map(|w| (w.len() == 4).then(|| w.parse::<i32>().ok()).flatten());
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, m, day),
        // No year: the latest such date not after today.
        None => NaiveDate::from_ymd_opt(today.year(), m, day)
            .filter(|d| *d <= today)
            .or_else(|| NaiveDate::from_ymd_opt(today.year() - 1, m, day)),
    }
}

/// "08/03/2026" (day first, French boards), "03-08-2026" (month first, English boards),
/// "2026-03-08", "26.05.2019"; when the usual order gives no valid date, the other one.
fn numeric_date(words: &[String], today: NaiveDate, day_first: bool) -> Option<NaiveDate> {
    let token = words.iter().find(|t| {
        t.chars().filter(|c| c.is_ascii_digit()).count() >= 4
            && t.chars().any(|c| matches!(c, '/' | '-' | '.'))
    })?;
    let parts: Vec<u32> = token
        .split(['/', '-', '.'])
        .filter_map(|p| p.parse().ok())
        .collect();
    let [a, b, c] = parts[..] else { return None };
    let year = |y: u32| if y < 100 { 2000 + y as i32 } else { y as i32 };
    if a > 999 {
        return NaiveDate::from_ymd_opt(a as i32, b, c);
    }
    if day_first {
        NaiveDate::from_ymd_opt(year(c), b, a).or_else(|| NaiveDate::from_ymd_opt(year(c), a, b))
    } else {
        NaiveDate::from_ymd_opt(year(c), a, b).or_else(|| NaiveDate::from_ymd_opt(year(c), b, a))
    }
    .filter(|d| d.year() <= today.year() + 1)
}

/// "09h41", "09:41", "6:05 PM", "04:34:12 pm"; the first time in the text.
fn clock_time(s: &str) -> Option<NaiveTime> {
    let chars: Vec<char> = s.chars().collect();
    for i in 1..chars.len() {
        if !matches!(chars[i], 'h' | ':') || !chars[i - 1].is_ascii_digit() {
            continue;
        }
        let start = (0..i)
            .rev()
            .take_while(|&j| chars[j].is_ascii_digit())
            .last()?;
        let h: u32 = chars[start..i].iter().collect::<String>().parse().ok()?;
        let m: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if m.len() != 2 {
            continue;
        }
        let m: u32 = m.parse().ok()?;
        // AM/PM, if any, follows the time closely ("4:34 pm", "04:34:12 PM").
        let rest: String = chars[i + 1..].iter().take(12).collect();
        let rest = rest.replace('.', "");
        let h = if rest.contains("pm") && h < 12 {
            h + 12
        } else if rest.contains("am") && h == 12 {
            0
        } else {
            h
        };
        return NaiveTime::from_hms_opt(h, m, 0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    fn paris(day_first: bool) -> Board {
        Board {
            tz: "Europe/Paris".parse().unwrap(),
            day_first,
        }
    }

    fn loc(s: &str, day_first: bool) -> String {
        parse(s, &DateFormat::Localized, paris(day_first), now())
            .unwrap_or_else(|| panic!("{s:?} not parsed"))
            .to_rfc3339()
    }

    #[test]
    fn relative_french_and_english_dates_in_the_board_time_zone() {
        assert_eq!(
            loc("Aujourd'hui,\u{a0}09h41", true),
            "2026-03-10T08:41:00+00:00"
        );
        assert_eq!(loc("Hier, 18h05", true), "2026-03-09T17:05:00+00:00");
        assert_eq!(loc("Hier à 18:05", true), "2026-03-09T17:05:00+00:00");
        assert_eq!(loc("08/03/2026, 18h05", true), "2026-03-08T17:05:00+00:00");
        assert_eq!(loc("Today, 09:41 AM", false), "2026-03-10T08:41:00+00:00");
        assert_eq!(loc("Today at 10:32", false), "2026-03-10T09:32:00+00:00");
        assert_eq!(
            loc("Yesterday, 06:05 PM", false),
            "2026-03-09T17:05:00+00:00"
        );
        assert_eq!(
            loc("03-08-2026, 06:05 PM", false),
            "2026-03-08T17:05:00+00:00"
        );
        assert_eq!(
            loc("03/25/2026, 06:05 PM", false),
            "2026-03-25T17:05:00+00:00"
        );
    }

    #[test]
    fn ago_in_both_languages() {
        assert_eq!(loc("il y a 3 heures", true), "2026-03-10T09:00:00+00:00");
        assert_eq!(loc("3 hours ago", false), "2026-03-10T09:00:00+00:00");
        assert_eq!(loc("an hour ago", false), "2026-03-10T11:00:00+00:00");
        assert_eq!(loc("Il y a 5 minutes", true), "2026-03-10T11:55:00+00:00");
        assert_eq!(loc("il y a 2 jours", true), "2026-03-08T12:00:00+00:00");
        assert_eq!(loc("Just now", false), "2026-03-10T12:00:00+00:00");
    }

    #[test]
    fn month_names_after_a_name_or_a_weekday() {
        // phpBB 3.0 prosilver: "by Jakob » Sun May 26, 2019 4:34 pm" once the name is cut.
        assert_eq!(
            loc("Sun May 26, 2019 4:34 pm", false),
            "2019-05-26T14:34:00+00:00"
        );
        assert_eq!(
            loc("dim. 8 mars 2026 18:05", true),
            "2026-03-08T17:05:00+00:00"
        );
        // "mar." is Tuesday on a French board, not March.
        assert_eq!(
            loc("mar. 7 avril 2026 09:00", true),
            "2026-04-07T07:00:00+00:00"
        );
        assert_eq!(
            loc("Mar 7, 2026 at 9:00 AM", false),
            "2026-03-07T08:00:00+00:00"
        );
        assert_eq!(
            loc("26 mai 2019 à 16:34:12", true),
            "2019-05-26T14:34:00+00:00"
        );
        assert_eq!(
            loc("May 26th, 2019, 04:34:12 PM", false),
            "2019-05-26T14:34:00+00:00"
        );
        assert_eq!(loc("8 févr. 2026", true), "2026-02-07T23:00:00+00:00");
        // Without a year: the latest such day, not in the future.
        assert_eq!(loc("Mar 9 at 10:00 AM", false), "2026-03-09T09:00:00+00:00");
        assert_eq!(loc("Dec 24", false), "2025-12-23T23:00:00+00:00");
    }

    #[test]
    fn machine_formats() {
        let utc = Board {
            tz: Tz::UTC,
            day_first: true,
        };
        let f = DateFormat::Chrono("%Y-%m-%dT%H:%M:%S%z".into());
        assert_eq!(
            parse("2026-03-10T09:41:07+0100", &f, utc, now())
                .unwrap()
                .to_rfc3339(),
            "2026-03-10T08:41:07+00:00"
        );
        assert_eq!(
            parse(
                "2026-03-10T09:41:07",
                &DateFormat::Naive,
                paris(true),
                now()
            )
            .unwrap()
            .to_rfc3339(),
            "2026-03-10T08:41:07+00:00"
        );
        assert_eq!(
            parse("1521411362", &DateFormat::Unix, utc, now())
                .unwrap()
                .to_rfc3339(),
            "2018-03-18T22:16:02+00:00"
        );
        assert_eq!(
            parse("1521411362000", &DateFormat::Unix, utc, now())
                .unwrap()
                .to_rfc3339(),
            "2018-03-18T22:16:02+00:00"
        );
        assert!(parse("soon", &DateFormat::Localized, utc, now()).is_none());
        assert!(parse("99999999999999999999", &DateFormat::Unix, utc, now()).is_none());
    }
}
