//! Deadline arithmetic for CCPA requests. Pure: every function takes the dates it needs.
//!
//! # Conventions
//! - **Day 0 is the day of receipt** ([`receipt_date`]: the calendar date in California, US
//!   Pacific time, of the moment the request was received). Calendar-day deadlines count from
//!   the next day: received 2026-01-10 → day 45 is 2026-02-24.
//! - **Business days** are Monday to Friday except the US federal holidays of 5 U.S.C. 6103 on
//!   their observed dates ([`federal_holidays`]). Business-day deadlines count from the next
//!   business day after the day of receipt, whether or not the day of receipt is itself a
//!   business day: received Friday 2026-01-09 → business day 1 is Monday 2026-01-12.
//! - A deadline is the last day on which the duty can still be met ("by" that date, inclusive):
//!   a request is overdue from the day after.
//!
//! | deadline | rule | function |
//! | --- | --- | --- |
//! | confirm receipt (know, delete, correct) | 10 business days (§7021(a)); met orally on the call | [`confirm_receipt_due`] |
//! | respond (know, delete, correct) | 45 calendar days (§7021(b)) | [`response_due`] |
//! | respond, extended once | 90 calendar days in total (§7021(b)) | [`extended_due`] |
//! | honour an opt-out or a request to limit | 15 business days (§7026(f), §7027) | [`honor_due`] |
//!
//! # Holidays
//! New Year's Day (Jan 1), Birthday of Martin Luther King Jr. (3rd Monday of January),
//! Washington's Birthday (3rd Monday of February), Memorial Day (last Monday of May), Juneteenth
//! (Jun 19, from 2021), Independence Day (Jul 4), Labor Day (1st Monday of September), Columbus
//! Day (2nd Monday of October), Veterans Day (Nov 11), Thanksgiving (4th Thursday of November),
//! Christmas (Dec 25). A fixed-date holiday on a Saturday is observed the Friday before, on a
//! Sunday the Monday after; New Year's Day on a Saturday is therefore observed on Dec 31 of the
//! year before (2022-01-01 → 2021-12-31). Historic changes before the current list (the Monday
//! holidays before 1971, MLK Day before 1986) are not modelled; one-off closures declared by
//! executive order are not holidays here.

use time::{Date, Duration, Month, OffsetDateTime, UtcOffset, Weekday};

/// Calendar days to respond to a request to know, delete or correct (§7021(b)).
pub const RESPONSE_DAYS: i64 = 45;
/// Calendar days in total when the response is extended once (§7021(b)).
pub const EXTENDED_DAYS: i64 = 90;
/// Business days to honour an opt-out of sale/sharing or a request to limit (§7026(f), §7027).
pub const HONOR_BUSINESS_DAYS: u32 = 15;
/// Business days to confirm receipt of a request to know, delete or correct (§7021(a)).
pub const CONFIRM_RECEIPT_BUSINESS_DAYS: u32 = 10;

fn date(year: i32, month: Month, day: u8) -> Date {
    // Only called with valid month days and years well inside time's range.
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
}

/// The `n`th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Date {
    let first = date(year, month, 1);
    let offset = (7 + weekday.number_days_from_monday() as i64
        - first.weekday().number_days_from_monday() as i64)
        % 7;
    first + Duration::days(offset + 7 * (i64::from(n) - 1))
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Date {
    let last = date(year, month, month.length(year));
    let back = (7 + last.weekday().number_days_from_monday() as i64
        - weekday.number_days_from_monday() as i64)
        % 7;
    last - Duration::days(back)
}

/// The observed date of a fixed-date holiday: Saturday → Friday before, Sunday → Monday after.
pub fn observed(actual: Date) -> Date {
    match actual.weekday() {
        Weekday::Saturday => actual - Duration::days(1),
        Weekday::Sunday => actual + Duration::days(1),
        _ => actual,
    }
}

/// Every federal holiday of `year` (by the year of the holiday itself), as
/// `(observed date, name)`, in date order. New Year's Day of `year` can be observed in
/// `year - 1`; see [`holidays_observed_in`] for the holidays that fall within a calendar year.
pub fn federal_holidays(year: i32) -> Vec<(Date, &'static str)> {
    let mut out = vec![
        (observed(date(year, Month::January, 1)), "New Year's Day"),
        (
            nth_weekday(year, Month::January, Weekday::Monday, 3),
            "Birthday of Martin Luther King, Jr.",
        ),
        (
            nth_weekday(year, Month::February, Weekday::Monday, 3),
            "Washington's Birthday",
        ),
        (
            last_weekday(year, Month::May, Weekday::Monday),
            "Memorial Day",
        ),
    ];
    if year >= 2021 {
        out.push((
            observed(date(year, Month::June, 19)),
            "Juneteenth National Independence Day",
        ));
    }
    out.extend([
        (observed(date(year, Month::July, 4)), "Independence Day"),
        (
            nth_weekday(year, Month::September, Weekday::Monday, 1),
            "Labor Day",
        ),
        (
            nth_weekday(year, Month::October, Weekday::Monday, 2),
            "Columbus Day",
        ),
        (observed(date(year, Month::November, 11)), "Veterans Day"),
        (
            nth_weekday(year, Month::November, Weekday::Thursday, 4),
            "Thanksgiving Day",
        ),
        (observed(date(year, Month::December, 25)), "Christmas Day"),
    ]);
    out
}

/// The observed federal holidays whose observed date falls within calendar year `year`
/// (including Dec 31 when the next New Year's Day is a Saturday), in date order.
pub fn holidays_observed_in(year: i32) -> Vec<(Date, &'static str)> {
    let mut out: Vec<_> = federal_holidays(year)
        .into_iter()
        .chain(federal_holidays(year + 1).into_iter().take(1))
        .filter(|(d, _)| d.year() == year)
        .collect();
    out.sort_by_key(|(d, _)| *d);
    out
}

/// The federal holiday observed on `day`, if any.
pub fn holiday(day: Date) -> Option<&'static str> {
    // Only New Year's Day crosses a year boundary (Jan 1 on a Saturday → Dec 31).
    federal_holidays(day.year())
        .into_iter()
        .chain(federal_holidays(day.year() + 1).into_iter().take(1))
        .find(|(d, _)| *d == day)
        .map(|(_, name)| name)
}

/// Monday to Friday and not an observed federal holiday.
pub fn is_business_day(day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && holiday(day).is_none()
}

/// The `n`th business day after `from` (`from` itself never counts; `n = 0` gives `from`).
pub fn add_business_days(from: Date, n: u32) -> Date {
    let mut day = from;
    let mut left = n;
    while left > 0 {
        day = day.next_day().unwrap_or(Date::MAX);
        if day == Date::MAX {
            return day;
        }
        if is_business_day(day) {
            left -= 1;
        }
    }
    day
}

/// Respond to a request to know, delete or correct by this date: receipt + 45 calendar days.
pub fn response_due(received: Date) -> Date {
    received.saturating_add(Duration::days(RESPONSE_DAYS))
}

/// The response deadline after the one permitted extension: receipt + 90 calendar days.
pub fn extended_due(received: Date) -> Date {
    received.saturating_add(Duration::days(EXTENDED_DAYS))
}

/// Honour an opt-out or a request to limit by this date: 15 business days after receipt.
pub fn honor_due(received: Date) -> Date {
    add_business_days(received, HONOR_BUSINESS_DAYS)
}

/// Confirm receipt of a request to know, delete or correct by this date: 10 business days
/// after receipt. The phone line meets it on the call (§7021(a)); it is recorded anyway.
pub fn confirm_receipt_due(received: Date) -> Date {
    add_business_days(received, CONFIRM_RECEIPT_BUSINESS_DAYS)
}

/// The UTC offset of US Pacific time (California) at instant `t`: −7 h from the second
/// Sunday of March 10:00 UTC (2:00 PST) to the first Sunday of November 09:00 UTC (2:00 PDT),
/// −8 h otherwise (the rules in force since 2007).
pub fn pacific_offset(t: OffsetDateTime) -> UtcOffset {
    let utc = t.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let start = nth_weekday(year, Month::March, Weekday::Sunday, 2)
        .with_hms(10, 0, 0)
        .map(|d| d.assume_utc());
    let end = nth_weekday(year, Month::November, Weekday::Sunday, 1)
        .with_hms(9, 0, 0)
        .map(|d| d.assume_utc());
    let dst = matches!((start, end), (Ok(s), Ok(e)) if utc >= s && utc < e);
    let hours = if dst { -7 } else { -8 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// The date in California (US Pacific time) of instant `t`: the day of receipt (day 0) of a
/// request received at `t`, and "today" for overdue checks.
pub fn receipt_date(t: OffsetDateTime) -> Date {
    t.to_offset(pacific_offset(t)).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn weekday_helpers() {
        assert_eq!(
            nth_weekday(2026, Month::January, Weekday::Monday, 3),
            date!(2026 - 01 - 19)
        );
        assert_eq!(
            last_weekday(2026, Month::May, Weekday::Monday),
            date!(2026 - 05 - 25)
        );
        assert_eq!(
            nth_weekday(2026, Month::November, Weekday::Thursday, 4),
            date!(2026 - 11 - 26)
        );
    }

    #[test]
    fn pacific_time() {
        assert_eq!(
            receipt_date(datetime!(2026-01-10 07:59 UTC)),
            date!(2026 - 01 - 09)
        );
        assert_eq!(
            receipt_date(datetime!(2026-01-10 08:00 UTC)),
            date!(2026 - 01 - 10)
        );
        // DST (2026-03-08 to 2026-11-01): UTC−7.
        assert_eq!(
            receipt_date(datetime!(2026-07-01 06:59 UTC)),
            date!(2026 - 06 - 30)
        );
        assert_eq!(
            receipt_date(datetime!(2026-07-01 07:00 UTC)),
            date!(2026 - 07 - 01)
        );
        assert_eq!(
            pacific_offset(datetime!(2026-03-08 09:59 UTC)).whole_hours(),
            -8
        );
        assert_eq!(
            pacific_offset(datetime!(2026-03-08 10:00 UTC)).whole_hours(),
            -7
        );
        assert_eq!(
            pacific_offset(datetime!(2026-11-01 08:59 UTC)).whole_hours(),
            -7
        );
        assert_eq!(
            pacific_offset(datetime!(2026-11-01 09:00 UTC)).whole_hours(),
            -8
        );
    }
}
