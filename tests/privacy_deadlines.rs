//! Deadline arithmetic, the 12-month do-not-contact rule and confirmation numbers
//! (`consentline::privacy`, pure). Expected dates were worked out by hand from a calendar.

use consentline::privacy::deadline::{
    add_business_days, confirm_receipt_due, extended_due, federal_holidays, holiday,
    holidays_observed_in, honor_due, is_business_day, receipt_date, response_due,
};
use consentline::privacy::{
    may_ask_opt_in, twelve_months_after, ConfirmationError, ConfirmationNumber, RequestType, Status,
};
use proptest::prelude::*;
use time::macros::{date, datetime};
use time::{Date, Duration, Weekday};

fn dates(list: &[(Date, &str)]) -> Vec<Date> {
    list.iter().map(|(d, _)| *d).collect()
}

#[test]
fn federal_holidays_2026_with_observed_dates() {
    assert_eq!(
        dates(&federal_holidays(2026)),
        vec![
            date!(2026 - 01 - 01),
            date!(2026 - 01 - 19), // MLK, 3rd Monday
            date!(2026 - 02 - 16), // Washington's Birthday, 3rd Monday
            date!(2026 - 05 - 25), // Memorial Day, last Monday
            date!(2026 - 06 - 19), // Juneteenth, a Friday
            date!(2026 - 07 - 03), // Jul 4 is a Saturday: observed Friday
            date!(2026 - 09 - 07), // Labor Day
            date!(2026 - 10 - 12), // Columbus Day
            date!(2026 - 11 - 11),
            date!(2026 - 11 - 26), // Thanksgiving
            date!(2026 - 12 - 25),
        ]
    );
}

#[test]
fn federal_holidays_2027_saturdays_and_sundays() {
    let h = dates(&holidays_observed_in(2027));
    assert_eq!(
        h,
        vec![
            date!(2027 - 01 - 01),
            date!(2027 - 01 - 18),
            date!(2027 - 02 - 15),
            date!(2027 - 05 - 31),
            date!(2027 - 06 - 18), // Jun 19 Saturday
            date!(2027 - 07 - 05), // Jul 4 Sunday: observed Monday
            date!(2027 - 09 - 06),
            date!(2027 - 10 - 11),
            date!(2027 - 11 - 11),
            date!(2027 - 11 - 25),
            date!(2027 - 12 - 24), // Christmas Saturday
            date!(2027 - 12 - 31), // New Year's Day 2028 is a Saturday
        ]
    );
    // ...so 2028 has no New Year's holiday of its own.
    let h2028 = holidays_observed_in(2028);
    assert_eq!(h2028.len(), 10);
    assert_eq!(h2028[0].0, date!(2028 - 01 - 17));
    assert_eq!(holiday(date!(2027 - 12 - 31)), Some("New Year's Day"));
    assert_eq!(holiday(date!(2028 - 01 - 01)), None); // the Saturday itself is not one
}

#[test]
fn juneteenth_from_2021_only() {
    assert!(is_business_day(date!(2020 - 06 - 19))); // a Friday, before the holiday existed
    assert!(!is_business_day(date!(2021 - 06 - 18))); // Jun 19 2021 Saturday → Friday
    assert_eq!(federal_holidays(2020).len(), 10);
    assert_eq!(federal_holidays(2021).len(), 11);
}

#[test]
fn every_observed_holiday_is_a_weekday_and_not_a_business_day() {
    for year in 1990..2100 {
        for (d, name) in holidays_observed_in(year) {
            assert!(
                !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
                "{name} {d}"
            );
            assert!(!is_business_day(d), "{name} {d}");
            assert_eq!(d.year(), year);
        }
    }
}

#[test]
fn weekends_and_business_day_counting() {
    assert!(!is_business_day(date!(2026 - 01 - 10))); // Saturday
    assert!(!is_business_day(date!(2026 - 01 - 11))); // Sunday
    assert!(is_business_day(date!(2026 - 01 - 12)));
    // Day 0 never counts: Friday + 1 business day is Monday.
    assert_eq!(
        add_business_days(date!(2026 - 01 - 09), 1),
        date!(2026 - 01 - 12)
    );
    assert_eq!(
        add_business_days(date!(2026 - 01 - 09), 0),
        date!(2026 - 01 - 09)
    );
    // Received Friday, Saturday or Sunday: the same 15th business day (MLK Day skipped).
    for received in [
        date!(2026 - 01 - 09),
        date!(2026 - 01 - 10),
        date!(2026 - 01 - 11),
    ] {
        assert_eq!(honor_due(received), date!(2026 - 02 - 02), "{received}");
    }
    assert_eq!(honor_due(date!(2026 - 01 - 12)), date!(2026 - 02 - 03));
    // The day after Thanksgiving is a business day.
    assert_eq!(
        add_business_days(date!(2026 - 11 - 25), 1),
        date!(2026 - 11 - 27)
    );
    // Independence Day 2027 observed on Monday Jul 5.
    assert_eq!(
        add_business_days(date!(2027 - 07 - 02), 1),
        date!(2027 - 07 - 06)
    );
}

#[test]
fn year_end_2026_12_23() {
    let r = date!(2026 - 12 - 23);
    // Dec 24 (1), Christmas Fri, weekend, Dec 28-31 (2-5), New Year Fri, Jan 4-8 (6-10).
    assert_eq!(confirm_receipt_due(r), date!(2027 - 01 - 08));
    assert_eq!(honor_due(r), date!(2027 - 01 - 15));
    assert_eq!(response_due(r), date!(2027 - 02 - 06));
    assert_eq!(extended_due(r), date!(2027 - 03 - 23));
}

#[test]
fn year_end_2027_12_30() {
    let r = date!(2027 - 12 - 30);
    // Dec 31 is New Year's Day 2028 observed; Jan 3 is business day 1; MLK Jan 17 skipped.
    assert!(!is_business_day(date!(2027 - 12 - 31)));
    assert_eq!(confirm_receipt_due(r), date!(2028 - 01 - 14));
    assert_eq!(honor_due(r), date!(2028 - 01 - 24));
    // Calendar days do not move off a weekend: day 45 is a Sunday.
    assert_eq!(response_due(r), date!(2028 - 02 - 13));
    assert_eq!(extended_due(r), date!(2028 - 03 - 29));
}

#[test]
fn received_on_an_observed_holiday_2021_12_31() {
    let r = date!(2021 - 12 - 31); // New Year's Day 2022 (Saturday) observed
    assert!(!is_business_day(r));
    assert_eq!(holiday(r), Some("New Year's Day"));
    assert_eq!(add_business_days(r, 1), date!(2022 - 01 - 03));
    assert_eq!(confirm_receipt_due(r), date!(2022 - 01 - 14));
    assert_eq!(honor_due(r), date!(2022 - 01 - 24)); // MLK Jan 17 skipped
    assert_eq!(response_due(r), date!(2022 - 02 - 14));
}

#[test]
fn day_zero_is_the_california_date() {
    // 23:30 in Los Angeles on Dec 23 is already Dec 24 in UTC: day 0 is Dec 23.
    let t = datetime!(2026-12-24 07:30 UTC);
    assert_eq!(receipt_date(t), date!(2026 - 12 - 23));
    assert_eq!(response_due(receipt_date(t)), date!(2027 - 02 - 06));
    assert_eq!(
        receipt_date(datetime!(2026-12-23 23:30 -08:00)),
        date!(2026 - 12 - 23)
    );
}

#[test]
fn twelve_month_rule_boundaries() {
    let opted = date!(2025 - 11 - 22);
    assert!(!may_ask_opt_in(Some(opted), opted));
    assert!(!may_ask_opt_in(Some(opted), date!(2026 - 11 - 21)));
    assert!(may_ask_opt_in(Some(opted), date!(2026 - 11 - 22)));
    assert!(may_ask_opt_in(Some(opted), date!(2027 - 01 - 01)));
    assert!(may_ask_opt_in(None, date!(2026 - 11 - 21)));
    // Feb 29: allowed from Mar 1 of the next (non-leap) year.
    let leap = date!(2024 - 02 - 29);
    assert_eq!(twelve_months_after(leap), date!(2025 - 03 - 01));
    assert!(!may_ask_opt_in(Some(leap), date!(2025 - 02 - 28)));
    assert!(may_ask_opt_in(Some(leap), date!(2025 - 03 - 01)));
    assert_eq!(
        twelve_months_after(date!(2028 - 02 - 29)),
        date!(2029 - 03 - 01)
    );
    // Year end.
    assert!(!may_ask_opt_in(
        Some(date!(2025 - 12 - 31)),
        date!(2026 - 12 - 30)
    ));
    assert!(may_ask_opt_in(
        Some(date!(2025 - 12 - 31)),
        date!(2026 - 12 - 31)
    ));
    // An opt-out dated in the future (a wrong clock) also forbids asking.
    assert!(!may_ask_opt_in(
        Some(date!(2027 - 01 - 01)),
        date!(2026 - 06 - 01)
    ));
}

#[test]
fn request_types_and_statuses() {
    let names: Vec<_> = RequestType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(names, ["know", "delete", "opt_out", "correct", "limit"]);
    let verify: Vec<_> = RequestType::ALL
        .iter()
        .map(|t| t.needs_verification())
        .collect();
    assert_eq!(verify, [true, true, false, true, false]);
    assert!(RequestType::Know.describe().contains("know"));
    let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "received",
            "awaiting_verification",
            "verifying",
            "fulfilled",
            "denied",
            "abandoned"
        ]
    );
    assert!(Status::Denied.requires_basis());
}

#[test]
fn confirmation_numbers() {
    // Luhn over 799273987, doubling every second digit from the right: 7→14→5, 8, 9→18→9,
    // 3, 7→14→5, 2, 9→18→9, 9, 7→14→5: sum 55, check digit 5.
    let n = ConfirmationNumber::parse("7992739875").unwrap();
    assert_eq!(n.digits(), [7, 9, 9, 2, 7, 3, 9, 8, 7, 5]);
    assert_eq!(n.to_string(), "7992739875");
    assert_eq!(
        ConfirmationNumber::parse("7992739871"),
        Err(ConfirmationError::CheckDigit)
    );
    let check = 5;
    assert_eq!(ConfirmationNumber::parse(&n.grouped()), Ok(n));
    assert_eq!(
        ConfirmationNumber::parse(&format!("7992 7398-7{check}")),
        Ok(n)
    );
    // Two adjacent digits swapped: caught.
    let swapped = format!("979273987{check}");
    assert!(ConfirmationNumber::parse(&swapped).is_err());
    assert!(matches!(
        ConfirmationNumber::parse("12345"),
        Err(ConfirmationError::Length(5))
    ));
}

proptest! {
    #[test]
    fn business_days_count_exactly(days in 0i64..40_000, n in 0u32..60) {
        let from = date!(2000 - 01 - 01) + Duration::days(days);
        let to = add_business_days(from, n);
        let mut count = 0;
        let mut d = from;
        while d < to {
            d = d.next_day().unwrap();
            if is_business_day(d) {
                count += 1;
            }
        }
        prop_assert_eq!(count, n);
        if n > 0 {
            prop_assert!(is_business_day(to));
        }
        // 15 business days take 19 (from a Sunday) to 27 calendar days.
        let h = honor_due(from);
        prop_assert!((19..=27).contains(&(h - from).whole_days()), "{} -> {}", from, h);
    }

    #[test]
    fn opt_in_rule_is_monotonic(days in 0i64..20_000, wait in 0i64..800) {
        let opted = date!(2000 - 01 - 01) + Duration::days(days);
        let today = opted + Duration::days(wait);
        let allowed = may_ask_opt_in(Some(opted), today);
        prop_assert_eq!(allowed, wait >= (twelve_months_after(opted) - opted).whole_days());
        prop_assert!((365..=366).contains(&(twelve_months_after(opted) - opted).whole_days()));
    }

    #[test]
    fn generated_confirmations_round_trip(seed in any::<u64>()) {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let c = ConfirmationNumber::generate(&mut rng);
        prop_assert!(c.digits()[0] != 0);
        prop_assert_eq!(ConfirmationNumber::parse(&c.to_string()), Ok(c));
    }
}
