//! Receiver limits, with presets for the AT&T (default), NTT and ETSI columns of Q.24.

/// A set of limits from a receiver specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// ITU-T Q.24, AT&T column: ±1.5 % operate / ±3.5 % reject, 0 to −25 dBm0, twist 8 dB
    /// normal and 4 dB reverse, tones ≥ 40 ms operate and ≤ 23 ms reject, pauses ≥ 40 ms,
    /// interruptions ≤ 10 ms bridged.
    #[default]
    Att,
    /// ITU-T Q.24, NTT column: ±1.8 % / ±3.0 %, −3 to −24 dBm0 with ≤ −29 dBm0 rejected,
    /// twist 5 dB either way, ≥ 40 ms / ≤ 24 ms, pauses ≥ 30 ms.
    Ntt,
    /// ETSI ES 201 235-3 as Asterisk quotes its timing: > 40 ms recognised, < 20 ms rejected,
    /// drop-outs < 20 ms bridged. Twist 6 dB either way and ±(1.5 % + 2 Hz) are the commonly
    /// cited values; we could not check them against the standard's text.
    Etsi,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "att" | "at&t" | "q24" => Ok(Profile::Att),
            "ntt" => Ok(Profile::Ntt),
            "etsi" => Ok(Profile::Etsi),
            other => Err(format!(
                "unknown DTMF profile {other:?} (expected att, ntt or etsi)"
            )),
        }
    }
}

/// Tunable limits of the receiver. Build one from a [`Profile`] and adjust fields as needed.
///
/// The frequency and twist limits are the specification's *must operate* values; the
/// receiver adds the margins below on top, so that a signal exactly at a limit is still
/// accepted after measurement noise and G.711 quantization, and one clearly beyond it is not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Which preset these limits came from.
    pub profile: Profile,
    /// Accept a tone whose measured frequency is within this fraction of nominal. Set between
    /// the must-operate and must-reject deviations (AT&T: 1.5 % and 3.5 %, so 2.5 %).
    pub frequency_tolerance: f32,
    /// Extra tolerance in Hz on top of the fraction (ETSI's "+2 Hz").
    pub frequency_tolerance_hz: f32,
    /// Normal twist (low group louder) that must be accepted, dB.
    pub normal_twist_db: f32,
    /// Reverse twist (high group louder) that must be accepted, dB.
    pub reverse_twist_db: f32,
    /// Measurement margin added to both twist limits, dB.
    pub twist_margin_db: f32,
    /// Weakest tone accepted, dBm0 per tone. Everything quieter is ignored.
    pub min_level_dbm0: f32,
    /// Share of the signal's power (DC removed) that the two tones must carry. This is the
    /// main guard against speech and music.
    pub min_tone_share: f32,
    /// Weakest-to-strongest power ratio of one tone across the three analysis windows of a
    /// decision. Real keys are steady; speech and tone edges are not.
    pub min_steadiness: f32,
    /// Reject tone pairs in an exact 2:1 or 3:2 frequency ratio (harmonics of one voice or
    /// instrument). Real keys within ±1.5 % can't form one.
    pub harmonic_guard: bool,
    /// Consecutive agreeing 5 ms decisions before a key is reported. Sets the shortest
    /// accepted tone (about 12.5 ms + 5 ms per hit).
    pub hits_to_start: u8,
    /// Consecutive non-agreeing decisions that end a key. Sets the longest bridged drop-out
    /// and the shortest pause that separates two presses of the same key.
    pub misses_to_end: u8,
}

impl Config {
    /// The limits of a profile.
    pub fn for_profile(profile: Profile) -> Self {
        let att = Config {
            profile,
            frequency_tolerance: 0.025,
            frequency_tolerance_hz: 0.0,
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            twist_margin_db: 1.0,
            min_level_dbm0: -38.0,
            min_tone_share: 0.80,
            min_steadiness: 0.5,
            harmonic_guard: true,
            hits_to_start: 4,
            misses_to_end: 7,
        };
        match profile {
            Profile::Att => att,
            Profile::Ntt => Config {
                frequency_tolerance: 0.024,
                normal_twist_db: 5.0,
                reverse_twist_db: 5.0,
                min_level_dbm0: -28.0,
                ..att
            },
            Profile::Etsi => Config {
                frequency_tolerance: 0.025,
                frequency_tolerance_hz: 2.0,
                normal_twist_db: 6.0,
                reverse_twist_db: 6.0,
                misses_to_end: 8,
                ..att
            },
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::for_profile(Profile::Att)
    }
}
