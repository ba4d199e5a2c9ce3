//! Inbound frame accounting: how many of the provider's media frames arrived, how many are
//! missing (gaps in the chunk numbers), and how many came late (behind their own timestamps
//! by more than an allowance, relative to the earliest-arriving frame of the stream).
//!
//! Pure: arrival times are given in milliseconds on any monotonic clock.

/// A frame this much later than the stream's best arrival is counted late.
pub const LATE_AFTER_MS: u64 = 60;

/// One stream's inbound frame counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub frames: u64,
    pub missing: u64,
    pub late: u64,
    /// The chunk number expected next (0 before the first frame).
    next_chunk: u64,
    /// Smallest (arrival − media timestamp) seen: the stream's no-delay reference.
    best_offset: Option<i64>,
}

impl Arrival {
    /// Count one frame: its chunk number, media timestamp and arrival time (ms).
    pub fn frame(&mut self, chunk: u64, timestamp_ms: u64, arrival_ms: u64) {
        self.frames += 1;
        if self.next_chunk != 0 && chunk > self.next_chunk {
            self.missing += chunk - self.next_chunk;
        }
        self.next_chunk = self.next_chunk.max(chunk + 1);
        let offset = arrival_ms as i64 - timestamp_ms as i64;
        let best = *self.best_offset.get_or_insert(offset);
        if offset < best {
            self.best_offset = Some(offset);
        } else if (offset - best) as u64 > LATE_AFTER_MS {
            self.late += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps_and_lateness() {
        let mut a = Arrival::default();
        // Frames 1..=5 on time, 20 ms apart, arriving 3 ms after their timestamps.
        for chunk in 1..=5 {
            a.frame(chunk, (chunk - 1) * 20, (chunk - 1) * 20 + 3);
        }
        assert_eq!((a.frames, a.missing, a.late), (5, 0, 0));
        // 6 and 7 lost; 8 arrives 50 ms behind: within the allowance.
        a.frame(8, 140, 193);
        assert_eq!((a.frames, a.missing, a.late), (6, 2, 0));
        // 9 arrives 80 ms behind: late.
        a.frame(9, 160, 243);
        assert_eq!(a.late, 1);
        // A duplicate or reordered chunk is neither missing nor a new gap.
        a.frame(4, 60, 250);
        assert_eq!(a.missing, 2);
        // An earlier-than-ever frame resets the reference rather than counting.
        let mut b = Arrival::default();
        b.frame(1, 0, 100);
        b.frame(2, 20, 30);
        b.frame(3, 40, 200);
        assert_eq!(b.late, 1);
    }
}
