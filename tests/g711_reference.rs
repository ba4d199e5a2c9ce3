//! G.711 against sox, an independent implementation: every code decoded, and every 16-bit
//! sample encoded, for both laws. Fixtures: `tests/fixtures/g711/make.sh`.

use consentline::media::g711;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/g711/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn s16le(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

#[test]
fn ulaw_decodes_all_256_codes_like_sox() {
    let expected = s16le(&fixture("sox-s16le-from-every-ulaw-code.raw"));
    assert_eq!(expected.len(), 256);
    for code in 0..=255u8 {
        assert_eq!(
            g711::ulaw_decode(code),
            expected[code as usize],
            "code {code:#04x}"
        );
    }
}

#[test]
fn alaw_decodes_all_256_codes_like_sox() {
    let expected = s16le(&fixture("sox-s16le-from-every-alaw-code.raw"));
    assert_eq!(expected.len(), 256);
    for code in 0..=255u8 {
        assert_eq!(
            g711::alaw_decode(code),
            expected[code as usize],
            "code {code:#04x}"
        );
    }
}

#[test]
fn ulaw_encodes_every_16_bit_sample_like_sox() {
    let expected = fixture("sox-ulaw-from-every-s16.raw");
    assert_eq!(expected.len(), 65536);
    let mut mismatches = Vec::new();
    for (i, &want) in expected.iter().enumerate() {
        let sample = (i as i32 - 32768) as i16;
        if g711::ulaw_encode(sample) != want {
            mismatches.push(sample);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(8)]
    );
}

#[test]
fn alaw_encodes_every_16_bit_sample_like_sox() {
    let expected = fixture("sox-alaw-from-every-s16.raw");
    assert_eq!(expected.len(), 65536);
    let mut mismatches = Vec::new();
    for (i, &want) in expected.iter().enumerate() {
        let sample = (i as i32 - 32768) as i16;
        if g711::alaw_encode(sample) != want {
            mismatches.push(sample);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(8)]
    );
}

#[test]
fn slice_helpers_match_scalar_codecs() {
    let samples: Vec<i16> = (-32768..32768).step_by(7).map(|v| v as i16).collect();
    let mut codes = vec![0u8; samples.len()];
    let mut back = vec![0i16; samples.len()];
    g711::ulaw_encode_slice(&samples, &mut codes);
    g711::ulaw_decode_slice(&codes, &mut back);
    for ((&s, &c), &b) in samples.iter().zip(&codes).zip(&back) {
        assert_eq!(c, g711::ulaw_encode(s));
        assert_eq!(b, g711::ulaw_decode(c));
    }
    g711::alaw_encode_slice(&samples, &mut codes);
    g711::alaw_decode_slice(&codes, &mut back);
    for ((&s, &c), &b) in samples.iter().zip(&codes).zip(&back) {
        assert_eq!(c, g711::alaw_encode(s));
        assert_eq!(b, g711::alaw_decode(c));
    }
}
