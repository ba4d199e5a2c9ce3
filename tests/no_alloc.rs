//! The receiver and the codecs allocate nothing while streaming: a counting global allocator
//! watches a minute of audio go through.

use consentline::media::dtmf::{Key, Receiver};
use consentline::media::g711;
use consentline::media::tone::{to_i16, DtmfTone};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn streaming_allocates_nothing() {
    // A minute of keys, as μ-law frames.
    let mut buf = vec![0f32; 8000 * 60];
    for (i, start) in (400..buf.len() - 800).step_by(800).enumerate() {
        DtmfTone::new(Key::ALL[i % 16], -12.0).add_to(&mut buf, start, 400, (0.0, 1.0));
    }
    let mut codes = vec![0u8; buf.len()];
    g711::ulaw_encode_slice(&to_i16(&buf), &mut codes);
    let mut frame = [0i16; 160];
    let mut rx = Receiver::default();
    rx.push(&[0; 400], |_| {}); // first use builds the shared tables

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let mut keys = 0;
    for chunk in codes.chunks(160) {
        g711::ulaw_decode_slice(chunk, &mut frame);
        rx.push(&frame[..chunk.len()], |_| keys += 1);
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(keys, 2 * 599, "every key started and ended");
    assert_eq!(after - before, 0, "allocations while streaming");
}
