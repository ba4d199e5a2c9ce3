//! CCPA privacy requests taken by phone: request types, statuses, deadlines, the
//! do-not-contact rule and confirmation numbers. Pure: no I/O and no clock; today's date is
//! always a parameter.
//!
//! The durable side (request records in the consent chain, the `requests` and `dnc` tables)
//! is [`crate::store::requests`].

pub mod confirmation;
pub mod deadline;

pub use confirmation::{ConfirmationError, ConfirmationNumber};

use std::fmt;
use time::{Date, Month};

/// How requests taken by this service were made (§7101(b) "manner in which the request was
/// made").
pub const MANNER_PHONE: &str = "toll_free_phone";

/// What the consumer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestType {
    /// Request to know what personal information is collected, including a portable copy
    /// (§1798.110, §1798.115).
    Know,
    /// Request to delete (§1798.105).
    Delete,
    /// Opt out of the sale or sharing of personal information (§1798.120, 11 CCR §7026).
    OptOut,
    /// Request to correct inaccurate personal information (§1798.106).
    Correct,
    /// Limit the use and disclosure of sensitive personal information (§1798.121, §7027).
    Limit,
}

impl RequestType {
    pub const ALL: [RequestType; 5] = [
        RequestType::Know,
        RequestType::Delete,
        RequestType::OptOut,
        RequestType::Correct,
        RequestType::Limit,
    ];

    /// The stored name: `know`, `delete`, `opt_out`, `correct`, `limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Know => "know",
            RequestType::Delete => "delete",
            RequestType::OptOut => "opt_out",
            RequestType::Correct => "correct",
            RequestType::Limit => "limit",
        }
    }

    /// The type with this stored name (`opt-out` is accepted for `opt_out`).
    pub fn parse(s: &str) -> Option<RequestType> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        RequestType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Know, delete and correct need the requester verified (§7060(a)); opt-out and limit
    /// must not require it (§7060(b)).
    pub fn needs_verification(self) -> bool {
        matches!(
            self,
            RequestType::Know | RequestType::Delete | RequestType::Correct
        )
    }

    /// Human text for staff output.
    pub fn describe(self) -> &'static str {
        match self {
            RequestType::Know => {
                "request to know what personal information is collected (including a portable copy)"
            }
            RequestType::Delete => "request to delete personal information",
            RequestType::OptOut => "opt-out of the sale or sharing of personal information",
            RequestType::Correct => "request to correct inaccurate personal information",
            RequestType::Limit => "request to limit the use of sensitive personal information",
        }
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requester {
    /// The consumer the request is about.
    Consumer,
    /// An authorized agent acting for the consumer (§7063).
    Agent,
}

impl Requester {
    pub const ALL: [Requester; 2] = [Requester::Consumer, Requester::Agent];

    /// `consumer` or `agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Requester::Consumer => "consumer",
            Requester::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Requester> {
        let s = s.trim().to_ascii_lowercase();
        Requester::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request stands.
///
/// `received` (opt-out, limit) and `awaiting_verification` (know, delete, correct) are the
/// states a filed request starts in; `abandoned` is a call that ended before the request was
/// complete. Staff move a request to `verifying`, `fulfilled` or `denied` (a denial always
/// carries its basis, §7101(b)). `fulfilled`, `denied` and `abandoned` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Received,
    AwaitingVerification,
    Verifying,
    Fulfilled,
    Denied,
    Abandoned,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Received,
        Status::AwaitingVerification,
        Status::Verifying,
        Status::Fulfilled,
        Status::Denied,
        Status::Abandoned,
    ];

    /// The stored name (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::AwaitingVerification => "awaiting_verification",
            Status::Verifying => "verifying",
            Status::Fulfilled => "fulfilled",
            Status::Denied => "denied",
            Status::Abandoned => "abandoned",
        }
    }

    /// The status with this name (`-` accepted for `_`).
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Status::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// No further change is possible.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Fulfilled | Status::Denied | Status::Abandoned)
    }

    /// A denial must record its basis.
    pub fn requires_basis(self) -> bool {
        self == Status::Denied
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the request is already {0}: it cannot change")]
    Final(Status),
    #[error("staff cannot set a request to {0}")]
    NotSettable(Status),
    #[error("a denial needs its basis (--basis TEXT)")]
    BasisRequired,
    #[error("a basis is recorded only with a denial")]
    BasisNotAllowed,
    #[error(
        "{0} requests need no identity verification (§7060(b)): they cannot be set to verifying"
    )]
    NoVerification(RequestType),
    #[error("the request is already {0}")]
    Unchanged(Status),
}

/// Check a staff status change: from `from` to `to` for a request of `kind` (unknown for an
/// abandoned call), with an optional basis. Staff may set `verifying` (know, delete, correct
/// only), `fulfilled` or `denied` (with a non-empty basis); final statuses never change.
pub fn check_transition(
    kind: Option<RequestType>,
    from: Status,
    to: Status,
    basis: Option<&str>,
) -> Result<(), TransitionError> {
    if from.is_final() {
        return Err(TransitionError::Final(from));
    }
    if !matches!(to, Status::Verifying | Status::Fulfilled | Status::Denied) {
        return Err(TransitionError::NotSettable(to));
    }
    if from == to {
        return Err(TransitionError::Unchanged(to));
    }
    if to == Status::Verifying {
        if let Some(k) = kind.filter(|k| !k.needs_verification()) {
            return Err(TransitionError::NoVerification(k));
        }
    }
    let has_basis = basis.is_some_and(|b| !b.trim().is_empty());
    if to.requires_basis() && !has_basis {
        return Err(TransitionError::BasisRequired);
    }
    if !to.requires_basis() && basis.is_some() {
        return Err(TransitionError::BasisNotAllowed);
    }
    Ok(())
}

/// The status a request filed on the call starts in.
pub fn initial_status(kind: RequestType) -> Status {
    if kind.needs_verification() {
        Status::AwaitingVerification
    } else {
        Status::Received
    }
}

/// The same month and day a year later; Feb 29 → Mar 1 when the next year has no Feb 29.
pub fn twelve_months_after(day: Date) -> Date {
    let next = day.year().saturating_add(1);
    Date::from_calendar_date(next, day.month(), day.day())
        .or_else(|_| Date::from_calendar_date(next, Month::March, 1))
        .unwrap_or(Date::MAX)
}

/// THE do-not-contact rule, called by every flow before asking a caller to opt in to anything
/// (e.g. to authorize the sale of their personal information): a consumer who opted out must
/// not be asked for at least 12 months (Civ. Code §1798.135). `last_opt_out` is the date of
/// the latest opt-out on file (see `Store::dnc_check`).
///
/// Allowed only from the same calendar date a year later (opted out 2025-11-22: not on
/// 2026-11-21, allowed on 2026-11-22; opted out 2024-02-29: allowed from 2025-03-01). An
/// opt-out dated after `today` (a clock set wrong) also forbids asking.
pub fn may_ask_opt_in(last_opt_out: Option<Date>, today: Date) -> bool {
    match last_opt_out {
        None => true,
        Some(d) => today >= twelve_months_after(d),
    }
}

/// Why a phone number is not usable for a request or the do-not-contact list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error(
        "a phone number needs 10 digits (US), or 11 to 15 with its country code, got {0} digits"
    )]
    Digits(usize),
    #[error("a phone number holds only digits, spaces, dashes, dots, parentheses and a leading +")]
    Character,
}

/// A phone number in E.164 form, so that the same line always gets the same pseudonym whether
/// it came as caller ID or keyed in: 10 digits are a US number (`4155550100` →
/// `+14155550100`), 11 digits starting with 1 likewise (`14155550100`); other numbers of 11 to
/// 15 digits, and any written with `+` (8 to 15 digits), are taken as E.164 with their country
/// code. Spaces, dashes, dots and parentheses are ignored.
pub fn normalize_phone(s: &str) -> Result<String, NumberError> {
    let t = s.trim();
    let plus = t.starts_with('+');
    let body = if plus { &t[1..] } else { t };
    let mut digits = String::with_capacity(16);
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(NumberError::Character),
        }
    }
    let n = digits.len();
    if plus {
        if (8..=15).contains(&n) && !digits.starts_with('0') {
            return Ok(format!("+{digits}"));
        }
        return Err(NumberError::Digits(n));
    }
    match n {
        10 => Ok(format!("+1{digits}")),
        11..=15 if !digits.starts_with('0') => Ok(format!("+{digits}")),
        _ => Err(NumberError::Digits(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in RequestType::ALL {
            assert_eq!(RequestType::parse(t.as_str()), Some(t));
        }
        assert_eq!(RequestType::parse("opt-out"), Some(RequestType::OptOut));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for r in Requester::ALL {
            assert_eq!(Requester::parse(r.as_str()), Some(r));
        }
        assert_eq!(Status::parse("done"), None);
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(normalize_phone("(415) 555-0100").unwrap(), "+14155550100");
        assert_eq!(normalize_phone("1 415 555 0100").unwrap(), "+14155550100");
        assert_eq!(normalize_phone("+1 415.555.0100").unwrap(), "+14155550100");
        assert_eq!(normalize_phone("+442079460000").unwrap(), "+442079460000");
        assert_eq!(normalize_phone("442079460000").unwrap(), "+442079460000");
        assert_eq!(normalize_phone("14155550100").unwrap(), "+14155550100");
        assert!(normalize_phone("555-0100").is_err());
        assert!(normalize_phone("anonymous").is_err());
        assert!(normalize_phone("+1415555010x").is_err());
    }

    #[test]
    fn transitions() {
        use RequestType::*;
        use Status::*;
        assert!(check_transition(Some(Know), AwaitingVerification, Verifying, None).is_ok());
        assert!(check_transition(Some(Know), Verifying, Fulfilled, None).is_ok());
        assert_eq!(
            check_transition(Some(Know), Verifying, Denied, None),
            Err(TransitionError::BasisRequired)
        );
        assert_eq!(
            check_transition(Some(Know), Verifying, Denied, Some("  ")),
            Err(TransitionError::BasisRequired)
        );
        assert!(check_transition(Some(Know), Verifying, Denied, Some("not verified")).is_ok());
        assert_eq!(
            check_transition(Some(OptOut), Received, Verifying, None),
            Err(TransitionError::NoVerification(OptOut))
        );
        assert_eq!(
            check_transition(Some(Delete), Fulfilled, Denied, Some("x")),
            Err(TransitionError::Final(Fulfilled))
        );
        assert_eq!(
            check_transition(Some(Delete), Verifying, Received, None),
            Err(TransitionError::NotSettable(Received))
        );
        assert_eq!(
            check_transition(Some(Delete), Verifying, Fulfilled, Some("x")),
            Err(TransitionError::BasisNotAllowed)
        );
        assert_eq!(
            check_transition(None, Abandoned, Fulfilled, None),
            Err(TransitionError::Final(Abandoned))
        );
    }
}
