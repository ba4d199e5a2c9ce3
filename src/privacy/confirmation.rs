//! Confirmation numbers: 10 digits read to the caller, the last a Luhn check digit so that a
//! number mistyped or misheard by one digit (or two adjacent digits swapped, except 09/90) is
//! rejected rather than matched to someone else's request. Never starts with 0 (a leading zero
//! is easily dropped when written down or typed into a spreadsheet).

use rand::Rng;
use std::fmt;

/// Digits in a confirmation number, check digit included.
pub const LEN: usize = 10;

/// A valid confirmation number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfirmationNumber([u8; LEN]);

/// Why a text is not a confirmation number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmationError {
    #[error("a confirmation number has 10 digits, got {0}")]
    Length(usize),
    #[error("a confirmation number holds only digits (spaces and dashes allowed), got {0:?}")]
    Character(char),
    #[error("a confirmation number never starts with 0")]
    LeadingZero,
    #[error("check digit does not match: the confirmation number is mistyped")]
    CheckDigit,
}

/// The Luhn check digit for `payload` (the digits before the check digit).
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    // Doubling starts with the rightmost payload digit (it sits next to the check digit).
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// True when `digits` (check digit last) pass the Luhn check.
pub fn luhn_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&check, payload)) => luhn_check_digit(payload) == check,
        None => false,
    }
}

impl ConfirmationNumber {
    /// A fresh random number: first digit 1–9, eight random digits, the check digit.
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> ConfirmationNumber {
        let mut d = [0u8; LEN];
        d[0] = rng.gen_range(1..=9);
        for x in &mut d[1..LEN - 1] {
            *x = rng.gen_range(0..=9);
        }
        d[LEN - 1] = luhn_check_digit(&d[..LEN - 1]);
        ConfirmationNumber(d)
    }

    /// Parse a number as read back or typed: digits with any spaces or dashes
    /// (`"4821-5573 906"`). Checks the length, the leading digit and the check digit.
    pub fn parse(s: &str) -> Result<ConfirmationNumber, ConfirmationError> {
        let mut d = Vec::with_capacity(LEN);
        for c in s.trim().chars() {
            match c {
                '0'..='9' => d.push(c as u8 - b'0'),
                ' ' | '-' => {}
                other => return Err(ConfirmationError::Character(other)),
            }
        }
        let digits: [u8; LEN] = d
            .as_slice()
            .try_into()
            .map_err(|_| ConfirmationError::Length(d.len()))?;
        if digits[0] == 0 {
            return Err(ConfirmationError::LeadingZero);
        }
        if !luhn_valid(&digits) {
            return Err(ConfirmationError::CheckDigit);
        }
        Ok(ConfirmationNumber(digits))
    }

    /// The ten digits, each 0–9 (to read back one by one).
    pub fn digits(&self) -> [u8; LEN] {
        self.0
    }

    /// The number as ten ASCII digits (the stored form).
    pub fn as_string(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// Grouped 3-3-4 for printing: `482-155-7390` ([`ConfirmationNumber::parse`] accepts it).
    pub fn grouped(&self) -> String {
        let s = self.as_string();
        format!("{}-{}-{}", &s[..3], &s[3..6], &s[6..])
    }
}

impl fmt::Display for ConfirmationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl fmt::Debug for ConfirmationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfirmationNumber({self})")
    }
}

impl std::str::FromStr for ConfirmationNumber {
    type Err = ConfirmationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConfirmationNumber::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn luhn_known_values() {
        // The classic example: 7992739871 + check digit 3.
        assert_eq!(luhn_check_digit(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1]), 3);
        assert!(luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(!luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
    }

    #[test]
    fn generated_numbers_parse_and_catch_single_digit_errors() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let c = ConfirmationNumber::generate(&mut rng);
            assert_ne!(c.digits()[0], 0);
            assert_eq!(ConfirmationNumber::parse(&c.to_string()), Ok(c));
            assert_eq!(ConfirmationNumber::parse(&c.grouped()), Ok(c));
            let mut d = c.digits();
            let i = rng.gen_range(0..LEN);
            d[i] = (d[i] + rng.gen_range(1..=9)) % 10;
            let typo: String = d.iter().map(|x| char::from(b'0' + x)).collect();
            assert!(ConfirmationNumber::parse(&typo).is_err(), "{typo}");
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            ConfirmationNumber::parse("123"),
            Err(ConfirmationError::Length(3))
        );
        assert_eq!(
            ConfirmationNumber::parse("12345x7890"),
            Err(ConfirmationError::Character('x'))
        );
        // 0 + 8 digits + valid check digit: still refused.
        let mut d = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        d[9] = luhn_check_digit(&d[..9]);
        let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        assert_eq!(
            ConfirmationNumber::parse(&s),
            Err(ConfirmationError::LeadingZero)
        );
    }
}
