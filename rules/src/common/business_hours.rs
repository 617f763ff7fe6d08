//! Business hours in a named time zone: `Mon-Fri 08:00-18:00 Europe/Berlin`.
//!
//! The format is three parts separated by spaces:
//!
//! - **days**: three-letter day names (`Mon` … `Sun`, any case), as a comma-separated list of days
//!   and ranges: `Mon-Fri`, `Mon,Wed,Fri`, `Sun-Thu`, `Mon-Thu,Sat`. A range may wrap around the
//!   week (`Fri-Mon`).
//! - **hours**: `HH:MM-HH:MM`, 24-hour clock, the start included and the end excluded; the end
//!   must be later than the start (`24:00` is the end of the day). Hours across midnight are not
//!   supported.
//! - **time zone**: an IANA name (`Europe/Berlin`, `America/New_York`, `UTC`). Daylight saving
//!   time is followed. The time-zone database is compiled into the binary (Lambda's
//!   `provided.al2023` has no `/usr/share/zoneinfo`), so results are the same everywhere.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// When work is expected to happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Monday first.
    days: [bool; 7],
    /// Minutes after midnight, start included, end excluded.
    start: u16,
    end: u16,
    zone: TimeZone,
    /// As given, for annotations.
    text: String,
}

impl BusinessHours {
    /// Whether `at` falls within business hours.
    pub fn contains(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.zone.clone());
        let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or_default();
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or_default();
        self.days[day] && (self.start..self.end).contains(&minute)
    }

    /// `at` in the business hours' time zone, to the minute: `Sat 2026-11-21 23:14`.
    pub fn local_time(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone.clone()).strftime("%a %Y-%m-%d %H:%M").to_string()
    }
}

impl fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for BusinessHours {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, hours, zone] = parts[..] else {
            return Err(format!(
                "expected `<days> <HH:MM-HH:MM> <time zone>`, e.g. `Mon-Fri 08:00-18:00 Europe/Berlin`, not `{text}`"
            ));
        };
        let days = parse_days(days)?;
        let (start, end) = hours.split_once('-').ok_or_else(|| format!("`{hours}` is not `HH:MM-HH:MM`"))?;
        let (start, end) = (parse_time(start)?, parse_time(end)?);
        if start >= end {
            return Err(format!("`{hours}` ends before it starts (hours across midnight are not supported)"));
        }
        let zone = TimeZone::get(zone).map_err(|_| format!("`{zone}` is not an IANA time zone name"))?;
        Ok(BusinessHours { days, start, end, zone, text: parts.join(" ") })
    }
}

fn parse_day(name: &str) -> Result<usize, String> {
    DAY_NAMES
        .iter()
        .position(|day| day.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("`{name}` is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for entry in text.split(',') {
        match entry.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (parse_day(first)?, parse_day(last)?);
                let mut day = first;
                loop {
                    days[day] = true;
                    if day == last {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days[parse_day(entry)?] = true,
        }
    }
    Ok(days)
}

/// `HH:MM` as minutes after midnight; `24:00` is the end of the day.
fn parse_time(text: &str) -> Result<u16, String> {
    let invalid = || format!("`{text}` is not a time of day (HH:MM)");
    let (hour, minute) = text.split_once(':').ok_or_else(invalid)?;
    if hour.len() != 2 || minute.len() != 2 {
        return Err(invalid());
    }
    let (hour, minute): (u16, u16) = (hour.parse().map_err(|_| invalid())?, minute.parse().map_err(|_| invalid())?);
    let total = hour * 60 + minute;
    if minute >= 60 || total > MINUTES_PER_DAY {
        return Err(invalid());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[rstest]
    // Berlin is UTC+1 in winter (CET) and UTC+2 in summer (CEST).
    #[case::weekday_morning("Mon-Fri 08:00-18:00 Europe/Berlin", "2026-11-20T07:30:00Z", true)]
    #[case::before_opening("Mon-Fri 08:00-18:00 Europe/Berlin", "2026-11-20T06:59:00Z", false)]
    #[case::end_excluded("Mon-Fri 08:00-18:00 Europe/Berlin", "2026-11-20T17:00:00Z", false)]
    #[case::summer_time("Mon-Fri 08:00-18:00 Europe/Berlin", "2026-07-10T06:30:00Z", true)]
    #[case::saturday("Mon-Fri 08:00-18:00 Europe/Berlin", "2026-11-21T10:00:00Z", false)]
    #[case::local_day_differs_from_utc("Mon-Fri 08:00-18:00 Asia/Tokyo", "2026-11-20T23:30:00Z", false)]
    #[case::wrapping_days("Sun-Thu 09:00-17:00 Asia/Dubai", "2026-11-22T06:00:00Z", true)]
    #[case::whole_day("Sat 00:00-24:00 UTC", "2026-11-21T23:59:00Z", true)]
    #[case::listed_days("mon,WED 09:00-10:00 UTC", "2026-11-18T09:15:00Z", true)]
    fn contains(#[case] hours: &str, #[case] time: &str, #[case] expected: bool) {
        let hours: BusinessHours = hours.parse().unwrap();
        assert_eq!(hours.contains(at(time)), expected, "{hours} at {time}");
    }

    #[rstest]
    #[case::two_parts("Mon-Fri 08:00-18:00", "expected `<days>")]
    #[case::bad_day("Mon-Fry 08:00-18:00 UTC", "`Fry` is not a day")]
    #[case::bad_time("Mon-Fri 8:00-18:00 UTC", "`8:00` is not a time")]
    #[case::minutes("Mon-Fri 08:60-18:00 UTC", "`08:60` is not a time")]
    #[case::past_midnight("Mon-Fri 08:00-24:01 UTC", "`24:01` is not a time")]
    #[case::overnight("Mon-Fri 22:00-06:00 UTC", "ends before it starts")]
    #[case::unknown_zone("Mon-Fri 08:00-18:00 Mars/Olympus", "`Mars/Olympus` is not an IANA time zone")]
    fn invalid(#[case] text: &str, #[case] message: &str) {
        let err = text.parse::<BusinessHours>().unwrap_err();
        assert!(err.contains(message), "{err}");
    }

    #[test]
    fn local_time_is_in_the_zone() {
        let hours: BusinessHours = "Mon-Fri 08:00-18:00 Europe/Berlin".parse().unwrap();
        assert_eq!(hours.local_time(at("2026-11-21T22:14:00Z")), "Sat 2026-11-21 23:14");
    }
}
