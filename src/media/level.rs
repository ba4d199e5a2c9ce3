//! Signal levels in dBm0, the unit telephony specifications use.
//!
//! By the G.711 convention (ITU-T G.711 Table 5/6, spandsp's `DBM0_MAX_SINE_POWER`) a sine at
//! full scale is +3.14 dBm0, so 0 dBm0 is a sine whose peak is 3.14 dB below full scale. With
//! 16-bit samples full scale is 32767.

/// Level of a full-scale sine, dBm0. (Not π: G.711's 3.14 dB happens to share its digits.)
#[allow(clippy::approx_constant)]
pub const FULL_SCALE_SINE_DBM0: f32 = 3.14;

const FULL_SCALE: f32 = 32767.0;

/// Peak amplitude (16-bit units) of a sine at `dbm0`.
pub fn sine_amplitude(dbm0: f32) -> f32 {
    FULL_SCALE * db_to_amplitude(dbm0 - FULL_SCALE_SINE_DBM0)
}

/// Mean-square power (16-bit units squared) of a signal at `dbm0`.
pub fn dbm0_to_power(dbm0: f32) -> f32 {
    let a = sine_amplitude(dbm0);
    a * a / 2.0
}

/// Level in dBm0 of a signal with the given mean-square power (16-bit units squared).
pub fn power_to_dbm0(power: f32) -> f32 {
    let zero = dbm0_to_power(0.0);
    10.0 * (power.max(f32::MIN_POSITIVE) / zero).log10()
}

/// Level in dBm0 of a block of samples (its mean-square power).
pub fn samples_dbm0(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return f32::NEG_INFINITY;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    power_to_dbm0((sum / samples.len() as f64) as f32)
}

/// Amplitude ratio for a level difference in dB.
pub fn db_to_amplitude(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_is_plus_3_14_dbm0() {
        assert!((sine_amplitude(FULL_SCALE_SINE_DBM0) - 32767.0).abs() < 0.5);
        assert!((power_to_dbm0(dbm0_to_power(-25.0)) + 25.0).abs() < 1e-3);
        // A sine at 0 dBm0 peaks at about 22 826.
        assert!((sine_amplitude(0.0) - 22_826.0).abs() < 1.0);
    }
}
