//! The sixteen DTMF keys and their frequency pairs (ITU-T Q.23).

use std::fmt;

/// Low-group (row) frequencies, Hz.
pub const ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies, Hz.
pub const COL_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

const KEYPAD: [[Key; 4]; 4] = [
    [Key::D1, Key::D2, Key::D3, Key::A],
    [Key::D4, Key::D5, Key::D6, Key::B],
    [Key::D7, Key::D8, Key::D9, Key::C],
    [Key::Star, Key::D0, Key::Hash, Key::D],
];

/// A DTMF key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    Star,
    Hash,
    A,
    B,
    C,
    D,
}

impl Key {
    /// All sixteen keys, in keypad order `1 2 3 A 4 5 6 B 7 8 9 C * 0 # D`.
    pub const ALL: [Key; 16] = [
        Key::D1,
        Key::D2,
        Key::D3,
        Key::A,
        Key::D4,
        Key::D5,
        Key::D6,
        Key::B,
        Key::D7,
        Key::D8,
        Key::D9,
        Key::C,
        Key::Star,
        Key::D0,
        Key::Hash,
        Key::D,
    ];

    /// The key at a keypad row and column (each 0..4).
    pub fn from_row_col(row: usize, col: usize) -> Key {
        KEYPAD[row][col]
    }

    /// Keypad row and column (each 0..4).
    pub fn row_col(self) -> (usize, usize) {
        let index = Key::ALL.iter().position(|&k| k == self).unwrap_or(0);
        (index / 4, index % 4)
    }

    /// The nominal (low, high) frequency pair, Hz.
    pub fn frequencies(self) -> (f32, f32) {
        let (row, col) = self.row_col();
        (ROW_HZ[row], COL_HZ[col])
    }

    /// The character on the key: `0`-`9`, `*`, `#`, `A`-`D`.
    pub fn as_char(self) -> char {
        match self {
            Key::D0 => '0',
            Key::D1 => '1',
            Key::D2 => '2',
            Key::D3 => '3',
            Key::D4 => '4',
            Key::D5 => '5',
            Key::D6 => '6',
            Key::D7 => '7',
            Key::D8 => '8',
            Key::D9 => '9',
            Key::Star => '*',
            Key::Hash => '#',
            Key::A => 'A',
            Key::B => 'B',
            Key::C => 'C',
            Key::D => 'D',
        }
    }

    /// Parse a key character (`a`-`d` accepted in either case).
    pub fn from_char(c: char) -> Option<Key> {
        Some(match c.to_ascii_uppercase() {
            '0' => Key::D0,
            '1' => Key::D1,
            '2' => Key::D2,
            '3' => Key::D3,
            '4' => Key::D4,
            '5' => Key::D5,
            '6' => Key::D6,
            '7' => Key::D7,
            '8' => Key::D8,
            '9' => Key::D9,
            '*' => Key::Star,
            '#' => Key::Hash,
            'A' => Key::A,
            'B' => Key::B,
            'C' => Key::C,
            'D' => Key::D,
            _ => return None,
        })
    }

    /// Parse a string of key characters, e.g. `"123#"`.
    pub fn parse_sequence(s: &str) -> Option<Vec<Key>> {
        s.chars().map(Key::from_char).collect()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypad_layout_round_trips() {
        for key in Key::ALL {
            let (r, c) = key.row_col();
            assert_eq!(Key::from_row_col(r, c), key);
            assert_eq!(Key::from_char(key.as_char()), Some(key));
        }
        assert_eq!(Key::D5.frequencies(), (770.0, 1336.0));
        assert_eq!(Key::Hash.frequencies(), (941.0, 1477.0));
        assert_eq!(Key::from_char('x'), None);
    }
}
