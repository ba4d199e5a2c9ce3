//! DSP throughput on one core: the DTMF receiver and the G.711 codecs.
//!
//! `cargo bench --bench dsp`. Figures are samples per second (criterion's "elem/s").

use consentline::media::dtmf::{Key, Receiver};
use consentline::media::g711;
use consentline::media::tone::{to_i16, DtmfTone};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// Ten seconds of line audio: a key every 200 ms over pseudo-random noise at -40 dBm0, with
/// louder broadband bursts standing in for speech. Deterministic (xorshift).
fn line_audio() -> Vec<i16> {
    let len = 80_000;
    let mut buf = vec![0f32; len];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for (i, s) in buf.iter_mut().enumerate() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let loud = if (i / 4000) % 3 == 0 { 3000.0 } else { 60.0 };
        *s = r * loud;
    }
    for (n, start) in (800..len - 800).step_by(1600).enumerate() {
        DtmfTone::new(Key::ALL[n % 16], -10.0).add_to(&mut buf, start, 480, (0.0, 0.0));
    }
    to_i16(&buf)
}

fn dtmf(c: &mut Criterion) {
    let audio = line_audio();
    let mut group = c.benchmark_group("dtmf_receiver");
    group.throughput(Throughput::Elements(audio.len() as u64));
    group.bench_function("line_audio_160_sample_frames", |b| {
        let mut rx = Receiver::default();
        b.iter(|| {
            let mut count = 0u32;
            for frame in audio.chunks(160) {
                rx.push(black_box(frame), |_| count += 1);
            }
            black_box(count)
        })
    });
    let silence = vec![0i16; audio.len()];
    group.bench_function("silence_160_sample_frames", |b| {
        let mut rx = Receiver::default();
        b.iter(|| {
            for frame in silence.chunks(160) {
                rx.push(black_box(frame), |_| {});
            }
        })
    });
    let mut keys = vec![0f32; audio.len()];
    DtmfTone::new(Key::D5, -10.0).add_to(&mut keys, 0, audio.len(), (0.0, 0.0));
    let keys = to_i16(&keys);
    group.bench_function("continuous_key_160_sample_frames", |b| {
        let mut rx = Receiver::default();
        b.iter(|| {
            for frame in keys.chunks(160) {
                rx.push(black_box(frame), |_| {});
            }
        })
    });
    group.finish();
}

fn codecs(c: &mut Criterion) {
    let audio = line_audio();
    let mut codes = vec![0u8; audio.len()];
    g711::ulaw_encode_slice(&audio, &mut codes);
    let mut out = vec![0i16; audio.len()];
    let mut group = c.benchmark_group("g711");
    group.throughput(Throughput::Elements(audio.len() as u64));
    group.bench_function("ulaw_decode", |b| {
        b.iter(|| g711::ulaw_decode_slice(black_box(&codes), &mut out))
    });
    group.bench_function("ulaw_encode", |b| {
        b.iter(|| g711::ulaw_encode_slice(black_box(&audio), &mut codes))
    });
    group.bench_function("alaw_decode", |b| {
        b.iter(|| g711::alaw_decode_slice(black_box(&codes), &mut out))
    });
    group.bench_function("alaw_encode", |b| {
        b.iter(|| g711::alaw_encode_slice(black_box(&audio), &mut codes))
    });
    group.finish();
}

criterion_group!(benches, dtmf, codecs);
criterion_main!(benches, analysis);

fn analysis_only(c: &mut Criterion) {
    use consentline::media::dtmf::analysis::{select, SegmentSums, Tables, SEGMENT};
    let tables = Tables::get();
    let f = select();
    let seg: [f32; SEGMENT] = std::array::from_fn(|i| (i as f32 * 37.0) % 200.0 - 100.0);
    let mut out = SegmentSums::default();
    let mut group = c.benchmark_group("dtmf_analysis");
    group.throughput(Throughput::Elements(SEGMENT as u64));
    group.bench_function("one_segment", |b| {
        b.iter(|| f(black_box(&seg), tables, &mut out))
    });
    group.finish();
}
criterion_group!(analysis, analysis_only);
