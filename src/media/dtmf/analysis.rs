//! Per-segment spectral analysis: the hot loop of the receiver.
//!
//! Input arrives in 40-sample (5 ms) segments. For each segment and each of the eight DTMF
//! frequencies we correlate with a complex exponential twice: once plainly and once weighted
//! by the rising half of an 80-sample periodic Hann window. Because that window's two halves
//! sum to one, the falling half is "plain minus rising", so every 80-sample Hann window at a
//! 40-sample hop is assembled from two segments without touching a sample twice. The same
//! pass accumulates the segment's energy and sum (plain and rising-weighted) so that the
//! decision stage can measure total power over exactly the same weighting, with DC removed.
//!
//! The loop is a dense multiply-add over a 5 KiB coefficient table with no dependency chain
//! longer than one multiply-add per two samples, which the compiler vectorizes; on x86-64 an
//! AVX2+FMA build of the same code is selected at run time. Every build produces
//! bit-identical results (fused multiply-adds throughout, fixed summation order).

use super::key::{COL_HZ, ROW_HZ};
use crate::media::SAMPLE_RATE;
use std::sync::OnceLock;

/// Samples per segment (the decision hop), 5 ms.
pub const SEGMENT: usize = 40;
/// Hann window length, two segments.
pub const WINDOW: usize = 2 * SEGMENT;
/// Number of tones analysed.
pub const TONES: usize = 8;
/// Correlation coefficients per sample: rising-weighted (re, im) for 8 tones, then plain.
const CORR_LANES: usize = 4 * TONES;
/// Plus eight energy lanes: [1, w, 0, ...], so sums of x and x·w (and, fed x², of x² and
/// x²·w) come out of the same vector multiply-adds as the correlations.
const LANES: usize = CORR_LANES + 8;

/// Nominal frequencies: rows then columns.
pub const TONE_HZ: [f32; TONES] = [
    ROW_HZ[0], ROW_HZ[1], ROW_HZ[2], ROW_HZ[3], COL_HZ[0], COL_HZ[1], COL_HZ[2], COL_HZ[3],
];

/// Results of one segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentSums {
    /// Rising-weighted correlation per tone, (re, im).
    pub rise: [[f32; 2]; TONES],
    /// Plain correlation per tone, (re, im).
    pub plain: [[f32; 2]; TONES],
    /// Σx², Σx²·w, Σx, Σx·w over the segment, w the rising half-window.
    pub energy: [f32; 4],
}

/// Tables shared by every receiver in the process, built once.
pub struct Tables {
    /// Per sample: [w·cos, −w·sin] for 8 tones, [cos, −sin] for 8 tones, then [1, w, 0 ×6].
    coef: [[f32; LANES]; SEGMENT],
    /// Rising half of the Hann window.
    pub rise: [f32; SEGMENT],
    /// e^{−jω·SEGMENT} per tone: the phase a nominal tone advances over one hop, conjugated.
    pub hop_rotation: [[f32; 2]; TONES],
    /// Hann response magnitude against frequency offset, normalised to 1 at 0 Hz, sampled
    /// every `RESPONSE_STEP_HZ` from −`RESPONSE_SPAN_HZ` to +`RESPONSE_SPAN_HZ`.
    response: Vec<f32>,
}

const RESPONSE_SPAN_HZ: f32 = 100.0;
const RESPONSE_STEP_HZ: f32 = 0.25;

impl Tables {
    /// The process-wide tables.
    pub fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(Tables::build)
    }

    fn build() -> Tables {
        let fs = f64::from(SAMPLE_RATE);
        let hann = |n: usize| 0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / WINDOW as f64).cos();
        let mut coef = [[0f32; LANES]; SEGMENT];
        let mut rise = [0f32; SEGMENT];
        for (n, row) in coef.iter_mut().enumerate() {
            let w = hann(n);
            rise[n] = w as f32;
            for (t, &hz) in TONE_HZ.iter().enumerate() {
                let phase = std::f64::consts::TAU * f64::from(hz) * n as f64 / fs;
                let (s, c) = phase.sin_cos();
                row[2 * t] = (w * c) as f32;
                row[2 * t + 1] = (-w * s) as f32;
                row[2 * TONES + 2 * t] = c as f32;
                row[2 * TONES + 2 * t + 1] = -s as f32;
            }
            row[CORR_LANES] = 1.0;
            row[CORR_LANES + 1] = w as f32;
        }
        let mut hop_rotation = [[0f32; 2]; TONES];
        for (t, &hz) in TONE_HZ.iter().enumerate() {
            let phase = std::f64::consts::TAU * f64::from(hz) * SEGMENT as f64 / fs;
            hop_rotation[t] = [phase.cos() as f32, -phase.sin() as f32];
        }
        let steps = (2.0 * RESPONSE_SPAN_HZ / RESPONSE_STEP_HZ) as usize + 1;
        let sum_w: f64 = (0..WINDOW).map(hann).sum();
        let response = (0..steps)
            .map(|i| {
                let offset = -f64::from(RESPONSE_SPAN_HZ) + i as f64 * f64::from(RESPONSE_STEP_HZ);
                let d = std::f64::consts::TAU * offset / fs;
                let (mut re, mut im) = (0.0, 0.0);
                for n in 0..WINDOW {
                    let (s, c) = (d * n as f64).sin_cos();
                    re += hann(n) * c;
                    im += hann(n) * s;
                }
                ((re * re + im * im).sqrt() / sum_w) as f32
            })
            .collect();
        Tables {
            coef,
            rise,
            hop_rotation,
            response,
        }
    }

    /// Magnitude response of the analysis window to a tone `offset_hz` from its bin centre.
    pub fn response(&self, offset_hz: f32) -> f32 {
        // Non-negative, so adding a half and truncating rounds (without a libm call).
        let pos = ((offset_hz.clamp(-RESPONSE_SPAN_HZ, RESPONSE_SPAN_HZ) + RESPONSE_SPAN_HZ)
            / RESPONSE_STEP_HZ
            + 0.5) as usize;
        self.response[pos.min(self.response.len() - 1)]
    }
}

/// Signature of a segment analyser.
pub type AnalyseFn = fn(&[f32; SEGMENT], &Tables, &mut SegmentSums);

/// The fastest analyser this CPU supports. All variants give identical results.
pub fn select() -> AnalyseFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return analyse_avx2;
        }
    }
    analyse_portable
}

#[inline(always)]
fn analyse_body(segment: &[f32; SEGMENT], tables: &Tables, out: &mut SegmentSums) {
    // Two accumulator sets (even and odd samples) halve the loop-carried chain. `mul_add` is
    // a fused multiply-add everywhere (an instruction with FMA, a correctly rounded library
    // call without), and the summation order is fixed here, so every build gives the same
    // bits.
    let mut even = [0f32; LANES];
    let mut odd = [0f32; LANES];
    let mut even_sq = [0f32; 8];
    let mut odd_sq = [0f32; 8];
    for pair in 0..SEGMENT / 2 {
        let (n0, n1) = (2 * pair, 2 * pair + 1);
        let (x0, x1) = (segment[n0], segment[n1]);
        let (r0, r1) = (&tables.coef[n0], &tables.coef[n1]);
        for lane in 0..LANES {
            even[lane] = x0.mul_add(r0[lane], even[lane]);
            odd[lane] = x1.mul_add(r1[lane], odd[lane]);
        }
        let (q0, q1) = (x0 * x0, x1 * x1);
        for lane in 0..8 {
            even_sq[lane] = q0.mul_add(r0[CORR_LANES + lane], even_sq[lane]);
            odd_sq[lane] = q1.mul_add(r1[CORR_LANES + lane], odd_sq[lane]);
        }
    }
    for t in 0..TONES {
        out.rise[t] = [even[2 * t] + odd[2 * t], even[2 * t + 1] + odd[2 * t + 1]];
        let p = 2 * TONES + 2 * t;
        out.plain[t] = [even[p] + odd[p], even[p + 1] + odd[p + 1]];
    }
    out.energy = [
        even_sq[0] + odd_sq[0],
        even_sq[1] + odd_sq[1],
        even[CORR_LANES] + odd[CORR_LANES],
        even[CORR_LANES + 1] + odd[CORR_LANES + 1],
    ];
}

/// Baseline build (SSE2 on x86-64).
pub fn analyse_portable(segment: &[f32; SEGMENT], tables: &Tables, out: &mut SegmentSums) {
    analyse_body(segment, tables, out);
}

#[cfg(target_arch = "x86_64")]
fn analyse_avx2(segment: &[f32; SEGMENT], tables: &Tables, out: &mut SegmentSums) {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn inner(segment: &[f32; SEGMENT], tables: &Tables, out: &mut SegmentSums) {
        analyse_body(segment, tables, out);
    }
    // SAFETY: `select` returns this function only after detecting AVX2 and FMA on this CPU.
    unsafe { inner(segment, tables, out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_windows_sum_to_one_and_response_is_normalised() {
        let t = Tables::get();
        for n in 0..SEGMENT {
            let fall = 0.5 + 0.5 * (std::f64::consts::TAU * n as f64 / WINDOW as f64).cos();
            assert!((f64::from(t.rise[n]) + fall - 1.0).abs() < 1e-6);
        }
        assert!((t.response(0.0) - 1.0).abs() < 1e-6);
        assert!(t.response(50.0) < t.response(10.0));
        assert!((t.response(-30.0) - t.response(30.0)).abs() < 1e-6);
    }

    #[test]
    fn all_builds_agree_bit_for_bit() {
        let t = Tables::get();
        let mut seg = [0f32; SEGMENT];
        for (i, s) in seg.iter_mut().enumerate() {
            *s = ((i * 7919) % 2003) as f32 - 1000.0;
        }
        let (mut a, mut b) = (SegmentSums::default(), SegmentSums::default());
        analyse_portable(&seg, t, &mut a);
        select()(&seg, t, &mut b);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
