#!/usr/bin/env python3
"""Generate the music pieces of the DTMF talk-off corpus as Standard MIDI Files.

Stdlib only. Deterministic: every piece uses its own fixed random seed.

Usage: make_midi.py OUTDIR
Writes OUTDIR/music-<name>.mid for every piece and OUTDIR/pieces.tsv with
"name<TAB>seconds<TAB>description" lines.

DTMF safety rule (same as for the synthetic tones): no two notes may sound at
the same time (including a release tail after note-off) where one fundamental
lies within +-4.5% of a DTMF low-group frequency (697/770/852/941 Hz) and the
other within +-4.5% of a high-group frequency (1209/1336/1477/1633 Hz). Such
pairs would be genuine DTMF signals, not talk-off material. Offending notes are
moved by an octave (or dropped) deterministically. Near-miss dyads (notes in
the same ranges but more than 4.5% away, e.g. E5+F6, B5+A6) are deliberately
kept: they are the hard cases a detector has to reject.
"""

import os
import random
import struct
import sys

PPQ = 480  # ticks per quarter note
DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
TOL = 0.045  # brief says +-4%; 0.5% margin for instrument tuning and vibrato
RELEASE_TAIL_S = 0.6  # treat a note as still sounding this long after note-off
DRUM_CH = 9

NOTE_BASE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def n(name):
    """'C4' -> 60, 'F#5' -> 78, 'Bb3' -> 58."""
    letter = name[0]
    rest = name[1:]
    acc = 0
    while rest and rest[0] in "#b":
        acc += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + NOTE_BASE[letter] + acc


def freq(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def band(note):
    f = freq(note)
    if any(abs(f - x) <= TOL * x for x in DTMF_LOW):
        return "low"
    if any(abs(f - x) <= TOL * x for x in DTMF_HIGH):
        return "high"
    return None


# --------------------------------------------------------------------------
# Standard MIDI File writer


def vlq(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def track_chunk(events):
    """events: list of (tick, order, bytes). Returns an MTrk chunk."""
    events = sorted(events, key=lambda e: (e[0], e[1]))
    data = bytearray()
    last = 0
    for tick, _order, payload in events:
        data += vlq(tick - last) + payload
        last = tick
    data += vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(data)) + bytes(data)


class Piece:
    def __init__(self, name, tempo, desc, seed, beats_per_bar=4):
        self.name = name
        self.tempo = tempo  # quarter notes per minute
        self.desc = desc
        self.rng = random.Random(seed)
        self.bpb = beats_per_bar
        self.parts = []  # (channel, program, volume, notes)
        self.moved = 0
        self.dropped = 0

    def part(self, channel, program, volume=100):
        notes = []
        self.parts.append((channel, program, volume, notes))
        return notes

    def seconds(self, beats):
        return beats * 60.0 / self.tempo

    def length_beats(self):
        end = 0.0
        for _c, _p, _v, notes in self.parts:
            for start, dur, _pitch, _vel in notes:
                end = max(end, start + dur)
        return end

    def enforce_dtmf_rule(self):
        """Move/drop notes so no low-band and high-band fundamentals overlap."""
        tail = RELEASE_TAIL_S * self.tempo / 60.0  # in beats
        allnotes = []
        for pi, (ch, _p, _v, notes) in enumerate(self.parts):
            if ch == DRUM_CH:
                continue
            for ni, note in enumerate(notes):
                allnotes.append((note[0], pi, ni))
        allnotes.sort()
        accepted = []  # (start, end_with_tail, band)

        def conflicts(start, end, b):
            if b is None:
                return False
            other = "high" if b == "low" else "low"
            return any(ob == other and s < end and start < e for s, e, ob in accepted)

        for _s, pi, ni in allnotes:
            notes = self.parts[pi][3]
            start, dur, pitch, vel = notes[ni]
            end = start + dur + tail
            if not conflicts(start, end, band(pitch)):
                accepted.append((start, end, band(pitch)))
                continue
            for shift in (-12, 12, -24, 24):
                p2 = pitch + shift
                if 24 <= p2 <= 108 and not conflicts(start, end, band(p2)):
                    notes[ni] = (start, dur, p2, vel)
                    accepted.append((start, end, band(p2)))
                    self.moved += 1
                    break
            else:
                notes[ni] = None
                self.dropped += 1
        for _c, _p, _v, notes in self.parts:
            notes[:] = [x for x in notes if x is not None]

    def verify(self):
        tail = RELEASE_TAIL_S * self.tempo / 60.0
        spans = []
        for ch, _p, _v, notes in self.parts:
            if ch == DRUM_CH:
                continue
            for start, dur, pitch, _vel in notes:
                b = band(pitch)
                if b:
                    spans.append((start, start + dur + tail, b, pitch))
        lows = [x for x in spans if x[2] == "low"]
        highs = [x for x in spans if x[2] == "high"]
        for a in lows:
            for b in highs:
                if a[0] < b[1] and b[0] < a[1]:
                    raise SystemExit(
                        "%s: DTMF-like pair %d+%d at beat %.2f" % (self.name, a[3], b[3], max(a[0], b[0]))
                    )

    def smf(self):
        self.enforce_dtmf_rule()
        self.verify()
        tracks = []
        us_per_q = int(round(60_000_000 / self.tempo))
        meta = [
            (0, 0, b"\xff\x51\x03" + us_per_q.to_bytes(3, "big")),
            (0, 1, b"\xff\x58\x04" + bytes([self.bpb, 2, 24, 8])),
        ]
        title = self.name.encode("ascii")
        meta.append((0, 2, b"\xff\x03" + vlq(len(title)) + title))
        tracks.append(track_chunk(meta))
        end_tick = 0
        for ch, prog, vol, notes in self.parts:
            ev = [
                (0, 0, bytes([0xC0 | ch, prog])),
                (0, 1, bytes([0xB0 | ch, 7, vol])),
                (0, 2, bytes([0xB0 | ch, 10, 64])),  # pan centre
                (0, 3, bytes([0xB0 | ch, 91, 30])),  # some reverb
            ]
            for start, dur, pitch, vel in notes:
                t0 = int(round(start * PPQ))
                t1 = max(t0 + 1, int(round((start + dur) * PPQ)))
                # note-offs sort before note-ons at the same tick (order 0 < 5)
                ev.append((t0, 5, bytes([0x90 | ch, pitch, vel])))
                ev.append((t1, 4, bytes([0x80 | ch, pitch, 0])))
                end_tick = max(end_tick, t1)
            tracks.append(track_chunk(ev))
        header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), PPQ)
        return header + b"".join(tracks)


# --------------------------------------------------------------------------
# musical helpers

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def scale_notes(root, mode, lo, hi):
    return [p for p in range(lo, hi + 1) if (p - root) % 12 in mode]


def chord(root, kind):
    shapes = {
        "maj": (0, 4, 7),
        "min": (0, 3, 7),
        "dim": (0, 3, 6),
        "aug": (0, 4, 8),
        "sus4": (0, 5, 7),
        "maj7": (0, 4, 7, 11),
        "7": (0, 4, 7, 10),
        "min7": (0, 3, 7, 10),
        "m7b5": (0, 3, 6, 10),
        "dim7": (0, 3, 6, 9),
        "9": (0, 4, 7, 10, 14),
        "min9": (0, 3, 7, 10, 14),
        "6": (0, 4, 7, 9),
    }
    return [root + i for i in shapes[kind]]


def voice_into(pitches, lo, hi):
    """Move each chord tone by octaves into [lo, hi]."""
    out = []
    for p in pitches:
        while p < lo:
            p += 12
        while p > hi:
            p -= 12
        out.append(p)
    return sorted(set(out))


def random_melody(rng, pool, start_idx, count, rhythms, t0, vel=(80, 110), leap=0.2):
    notes = []
    idx = start_idx
    t = t0
    for _ in range(count):
        dur = rng.choice(rhythms)
        if rng.random() < leap:
            idx += rng.choice((-4, -3, 3, 4, 5))
        else:
            idx += rng.choice((-2, -1, -1, 1, 1, 2, 0))
        idx = max(0, min(len(pool) - 1, idx))
        if rng.random() > 0.08:  # occasional rest
            notes.append((t, dur * 0.95, pool[idx], rng.randint(*vel)))
        t += dur
    return notes, t


# --------------------------------------------------------------------------
# the pieces


def piece_piano_chorale():
    p = Piece("piano-chorale", 66, "acoustic piano, 4-part chorale in C major, triads and sevenths, soprano up to C6", 101)
    pn = p.part(0, 0, 110)
    prog = [
        ("C4", "maj"), ("A3", "min"), ("F3", "maj"), ("G3", "7"), ("C4", "maj"), ("F3", "maj"), ("D3", "min7"),
        ("G3", "7"), ("E3", "min"), ("A3", "min7"), ("D3", "7"), ("G3", "maj"), ("F3", "maj7"), ("G3", "sus4"),
        ("G3", "7"), ("C4", "maj"),
    ]
    t = 0.0
    rng = p.rng
    for rep in range(2):
        for root, kind in prog:
            tones = chord(n(root), kind)
            bass = tones[0] - 12
            upper = voice_into(tones, n("E4") + rng.choice((0, 3, 5, 8)), n("C6"))
            dur = rng.choice((2, 2, 2, 1.5, 3))
            pn.append((t, dur * 0.98, bass, 80))
            for q in upper[:4]:
                pn.append((t, dur * 0.98, q, rng.randint(70, 95)))
            t += dur
    return p


def piece_organ_sustained():
    p = Piece(
        "organ-sustained",
        60,
        "church and Hammond organ, long held chords in octaves 5-6 incl. near-DTMF dyads (E5+F6, B5+F6, E5+A6, B5+A6)",
        102,
    )
    church = p.part(0, 19, 100)
    hammond = p.part(1, 16, 100)
    chords = [
        [n("C5"), n("E5"), n("G5")],
        [n("E5"), n("F6")],
        [n("F4"), n("A4"), n("C5"), n("E5")],
        [n("B5"), n("F6")],
        [n("G4"), n("B4"), n("D5"), n("F5")],
        [n("E5"), n("A6")],
        [n("A4"), n("C5"), n("E5"), n("G5")],
        [n("B5"), n("A6")],
        [n("D5"), n("F#5"), n("A5"), n("C6")],
        [n("C6"), n("E6"), n("G6")],
        [n("E5"), n("B5"), n("F6")],
        [n("G5"), n("B5"), n("D6"), n("F6")],
    ]
    t = 0.0
    for i in range(2):
        tgt = church if i == 0 else hammond
        for c in chords if i == 0 else chords[::2]:
            dur = 4.0 if len(c) > 2 else 5.0
            for q in c:
                tgt.append((t, dur - 0.3, q, 90))
            t += dur
    return p


def piece_flute_melody():
    p = Piece("flute-melody", 96, "flute melody over string-ensemble triads, D major, octaves 5-6", 103)
    flute = p.part(0, 73, 110)
    strings = p.part(1, 48, 80)
    root = n("D4")
    pool = scale_notes(root, MAJOR, n("D5"), n("A6"))
    prog = [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj"), (2, "min"), (7, "7"), (0, "maj"), (4, "min")]
    t = 0.0
    mel_t = 0.0
    idx = 5
    rng = p.rng
    for rep in range(2):
        for off, kind in prog:
            for q in voice_into(chord(root + off, kind), n("D4"), n("D5")):
                strings.append((t, 3.9, q, 70))
            strings.append((t, 3.9, root + off - 12, 70))
            t += 4
        mel, mel_t = random_melody(rng, pool, idx, 48, (0.5, 0.5, 1, 1, 1.5, 2), mel_t)
        flute.extend(n_ for n_ in mel if n_[0] < t)
        mel_t = t
    return p


def piece_harp_arpeggios():
    p = Piece("harp-arpeggios", 100, "harp arpeggios of seventh chords over 3 octaves (A minor) with cello bass", 104)
    harp = p.part(0, 46, 110)
    cello = p.part(1, 42, 90)
    prog = [("A3", "min7"), ("D3", "min7"), ("G3", "7"), ("C4", "maj7"), ("F3", "maj7"), ("B3", "m7b5"), ("E3", "7"), ("A3", "min")]
    t = 0.0
    for rep in range(3):
        for root, kind in prog:
            tones = chord(n(root), kind)
            arp = []
            for octv in (0, 12, 24):
                arp += [x + octv for x in tones]
            up = arp + arp[-2:0:-1]
            for i, q in enumerate(up[:16]):
                harp.append((t + i * 0.25, 0.6, q, 70 + (i % 4) * 8))
            cello.append((t, 3.9, tones[0] - 12, 85))
            t += 4
    return p


def piece_brass_fanfare():
    p = Piece("brass-fanfare", 112, "brass fanfare in Bb major: trumpet, french horn, trombone, tuba, timpani", 105)
    tpt = p.part(0, 56, 110)
    horn = p.part(1, 60, 100)
    tbn = p.part(2, 57, 100)
    tuba = p.part(3, 58, 100)
    timp = p.part(4, 47, 90)
    root = n("Bb3")
    motif = [(0, 0.75), (0, 0.25), (0, 0.5), (4, 0.5), (7, 1.0), (4, 0.5), (7, 0.5), (12, 2.0),
             (11, 0.5), (9, 0.5), (7, 1.0), (5, 1.0), (4, 0.5), (2, 0.5), (0, 2.0)]
    prog = [(0, "maj"), (5, "maj"), (7, "7"), (0, "maj"), (9, "min"), (2, "min7"), (7, "7"), (0, "maj")]
    t = 0.0
    rng = p.rng
    for rep in range(4):
        transpose = (0, 5, 7, 0)[rep]
        tt = t
        for iv, d in motif:
            tpt.append((tt, d * 0.9, root + 12 + transpose + iv, rng.randint(95, 120)))
            tt += d
        for i, (off, kind) in enumerate(prog):
            c = chord(root + transpose + off, kind)
            hv = voice_into(c, n("F4"), n("F5"))
            for q in hv[:2]:
                horn.append((t + i * 2, 1.9, q, 90))
            tbn.append((t + i * 2, 1.9, voice_into([c[1]], n("D3"), n("D4"))[0], 90))
            tuba.append((t + i * 2, 1.9, voice_into([c[0]], n("Bb1"), n("Bb2"))[0], 100))
            timp.append((t + i * 2, 0.4, voice_into([c[0]], n("F2"), n("F3"))[0], 100))
        t += 16
    return p


def piece_jazz_rhodes():
    p = Piece("jazz-rhodes", 132, "Rhodes electric piano sevenths/ninths ii-V-I cycle, alto sax lead, walking bass, ride cymbal", 106)
    ep = p.part(0, 4, 100)
    bass = p.part(1, 33, 110)
    sax = p.part(2, 65, 100)
    drums = p.part(DRUM_CH, 0, 100)
    rng = p.rng
    keys = ["F3", "Bb3", "Eb3", "Ab3", "Db3", "Gb3", "B2", "E3", "A3"]
    t = 0.0
    for k in keys:
        r = n(k)
        for off, kind in ((2, "min9"), (7, "9"), (0, "maj7"), (0, "6")):
            c = voice_into(chord(r + off, kind), n("E4"), n("F5"))
            for q in c:
                ep.append((t + 0.66, 1.2, q, rng.randint(70, 95)))
            walk = [r + off - 12, r + off - 12 + 4, r + off - 12 + 7, r + off - 12 + rng.choice((5, 9, 10))]
            for i, q in enumerate(walk):
                bass.append((t + i, 0.9, voice_into([q], n("E1"), n("G2"))[0], 100))
            for i in range(4):
                drums.append((t + i, 0.3, 51, 70))
                if i % 2 == 1:
                    drums.append((t + i + 0.66, 0.2, 51, 55))
                    drums.append((t + i, 0.1, 44, 60))
            t += 4
    pool = scale_notes(n("F4"), MAJOR, n("C5"), n("C6")) + [n("Eb5"), n("Ab5"), n("Db6")]
    pool.sort()
    mel, _ = random_melody(rng, pool, 6, int(t / 0.75), (0.5, 0.66, 0.33, 1.0, 1.5), 0.0, leap=0.3)
    sax.extend(x for x in mel if x[0] < t - 1)
    return p


def piece_ocarina_dyads():
    p = Piece(
        "ocarina-dyads",
        80,
        "ocarina, recorder and pan flute (near-sine timbres) in parallel dyads incl. near-DTMF pairs E5/B5 with F6/A6, C#6/G6 edge cases",
        107,
    )
    oca = p.part(0, 79, 110)
    rec = p.part(1, 74, 110)
    pan = p.part(2, 75, 100)
    rng = p.rng
    dyads = [
        (n("E5"), n("F6")), (n("B5"), n("F6")), (n("E5"), n("A6")), (n("B5"), n("A6")),
        (n("C6"), n("A6")), (n("E5"), n("C6")), (n("D5"), n("F6")), (n("B5"), n("C#6")),
        (n("E5"), n("G6")),  # G6 is 3.98% below 1633 Hz (high band); E5 is 5.4% below 697 Hz (outside)
        (n("F5"), n("A5")), (n("A5"), n("C6")), (n("D6"), n("F6")), (n("F6"), n("A6")),
        (n("E6"), n("G#6")), (n("G5"), n("B5")),
    ]
    t = 0.0
    for rep in range(4):
        order = dyads[:]
        rng.shuffle(order)
        for lo, hi in order:
            d = rng.choice((0.5, 1.0, 1.0, 2.0))
            inst = rng.choice((oca, rec, pan))
            inst.append((t, d * 0.95, lo, 100))
            inst2 = rng.choice((oca, rec, pan))
            inst2.append((t, d * 0.95, hi, 100))
            t += d
    return p


def piece_accordion_waltz():
    p = Piece("accordion-waltz", 150, "accordion waltz in F major (3/4): oom-pah-pah chords and melody", 108, beats_per_bar=3)
    mel_ch = p.part(0, 21, 110)
    acc = p.part(1, 23, 90)
    rng = p.rng
    root = n("F3")
    prog = [(0, "maj"), (0, "maj"), (7, "7"), (7, "7"), (7, "7"), (7, "7"), (0, "maj"), (0, "maj"),
            (5, "maj"), (5, "maj"), (0, "maj"), (9, "min"), (2, "min"), (7, "7"), (0, "maj"), (0, "maj")]
    pool = scale_notes(root, MAJOR, n("C5"), n("F6"))
    t = 0.0
    idx = 4
    for rep in range(3):
        for off, kind in prog:
            c = chord(root + off, kind)
            acc.append((t, 0.9, c[0] - 12, 100))
            for q in voice_into(c, n("A3"), n("A4")):
                acc.append((t + 1, 0.5, q, 75))
                acc.append((t + 2, 0.5, q, 75))
            tt = t
            for d in rng.choice(((1, 1, 1), (2, 1), (1, 2), (3,), (0.5, 0.5, 1, 1))):
                idx = max(0, min(len(pool) - 1, idx + rng.choice((-2, -1, 1, 2, 0, 3, -3))))
                mel_ch.append((tt, d * 0.9, pool[idx], rng.randint(85, 110)))
                tt += d
            t += 3
    return p


def piece_mallets_fast():
    p = Piece("mallets-fast", 140, "xylophone, glockenspiel and tubular bells: fast scales and arpeggios in E major, high register", 109)
    xyl = p.part(0, 13, 110)
    glk = p.part(1, 9, 100)
    cel = p.part(2, 14, 100)
    rng = p.rng
    root = n("E4")
    pool = scale_notes(root, MAJOR, n("E4"), n("E7"))
    t = 0.0
    while t < 112:
        kind = rng.choice(("up", "down", "arp", "trill"))
        inst = rng.choice((xyl, glk, cel))
        start = rng.randrange(0, len(pool) - 10)
        if kind == "up":
            seq = pool[start:start + 8]
        elif kind == "down":
            seq = list(reversed(pool[start:start + 8]))
        elif kind == "arp":
            seq = pool[start:start + 12:2] + pool[start + 12:start:-2][:2]
        else:
            seq = [pool[start], pool[start + 1]] * 4
        for i, q in enumerate(seq):
            inst.append((t + i * 0.25, 0.3, q, rng.randint(80, 115)))
        t += len(seq) * 0.25 + rng.choice((0, 0.5, 1))
    return p


def piece_band():
    p = Piece("band-guitar-sax", 120, "band: drum kit, finger bass, clean guitar chords, tenor sax lead, E minor / G major", 110)
    gtr = p.part(0, 27, 95)
    bass = p.part(1, 33, 110)
    sax = p.part(2, 66, 105)
    drums = p.part(DRUM_CH, 0, 100)
    rng = p.rng
    prog = [("E3", "min"), ("C3", "maj"), ("G3", "maj"), ("D3", "maj"), ("A3", "min7"), ("C3", "maj7"), ("B2", "7"), ("E3", "min")]
    t = 0.0
    for rep in range(3):
        for root, kind in prog:
            c = chord(n(root), kind)
            for beat in (0, 1.5, 2, 3.5):
                for q in voice_into(c, n("E3"), n("E4")):
                    gtr.append((t + beat, 0.45, q, 80))
            for beat in (0, 1, 2, 2.5, 3):
                bass.append((t + beat, 0.45, voice_into([c[0]], n("E1"), n("D#2"))[0], 100))
            for beat in range(4):
                drums.append((t + beat, 0.2, 36 if beat % 2 == 0 else 38, 100))
                drums.append((t + beat, 0.1, 42, 70))
                drums.append((t + beat + 0.5, 0.1, 42, 60))
            t += 4
    pool = scale_notes(n("G3"), MAJOR, n("B4"), n("E6"))
    mel, _ = random_melody(rng, pool, 5, int(t / 0.8), (0.5, 0.5, 1, 1, 1.5, 0.25, 0.25), 8.0, leap=0.25)
    sax.extend(x for x in mel if x[0] < t - 1)
    return p


def piece_strings_violin():
    p = Piece("strings-violin", 72, "violin lead, tremolo strings and cello, C minor, slow, violin up to C7", 111)
    vln = p.part(0, 40, 110)
    trem = p.part(1, 44, 80)
    cello = p.part(2, 42, 95)
    rng = p.rng
    root = n("C4")
    prog = [(0, "min"), (8, "maj"), (3, "maj"), (10, "maj"), (5, "min"), (7, "7"), (0, "min"), (7, "7")]
    pool = scale_notes(root, MINOR, n("G4"), n("C7"))
    t = 0.0
    for rep in range(2):
        for off, kind in prog:
            c = chord(root + off, kind)
            for q in voice_into(c, n("G4"), n("G5")):
                trem.append((t, 3.9, q, 70))
            cello.append((t, 3.9, voice_into([c[0]], n("C2"), n("B2"))[0], 90))
            t += 4
    mel, _ = random_melody(rng, pool, 8, int(t / 1.2), (0.5, 1, 1, 2, 3), 0.0, leap=0.25)
    vln.extend(x for x in mel if x[0] < t - 1)
    return p


PIECES = [
    piece_piano_chorale,
    piece_organ_sustained,
    piece_flute_melody,
    piece_harp_arpeggios,
    piece_brass_fanfare,
    piece_jazz_rhodes,
    piece_ocarina_dyads,
    piece_accordion_waltz,
    piece_mallets_fast,
    piece_band,
    piece_strings_violin,
]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    rows = []
    for make in PIECES:
        p = make()
        data = p.smf()
        path = os.path.join(outdir, "music-%s.mid" % p.name)
        with open(path, "wb") as f:
            f.write(data)
        secs = p.seconds(p.length_beats())
        note = ""
        if p.moved or p.dropped:
            note = " (DTMF rule: %d notes moved an octave, %d dropped)" % (p.moved, p.dropped)
        rows.append("%s\t%.1f\t%s%s\n" % (p.name, secs, p.desc, note))
    with open(os.path.join(outdir, "pieces.tsv"), "w") as f:
        f.writelines(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
