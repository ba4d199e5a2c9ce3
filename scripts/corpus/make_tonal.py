#!/usr/bin/env python3
"""Generate the tonal part of the DTMF talk-off corpus with sox's `synth` effect.

Usage: make_tonal.py OUTDIR

Writes OUTDIR/tonal-<name>.wav (48 kHz mono float, to be converted and
level-normalised by talkoff.sh) and OUTDIR/tonal.tsv with
"name<TAB>description" lines. Stdlib only; needs `sox` on PATH.

Every file is rendered by ONE sox call made of many effect chains separated
by ':' (each chain appends its own synthesised segment). Tones that must glide
smoothly (vibrato, whistling) are built from linear sweeps whose start phase
is computed so the waveform stays phase-continuous across segments.
Generated at 48 kHz so the harmonics of square/sawtooth waves above 4 kHz are
removed by the anti-alias filter of the final 8 kHz conversion instead of
folding back into the band.

DTMF safety: every segment is checked before rendering. At 40 points across
each segment the instantaneous frequencies of all components are computed,
including harmonics that are no more than 20 dB below the strongest
component. If any component lies within +-4.5% of a DTMF low-group frequency
(697/770/852/941 Hz) while another lies within +-4.5% of a high-group
frequency (1209/1336/1477/1633 Hz), the script aborts. (The brief's rule is
+-4%; 4.5% leaves margin for resampling and modulation.) Single tones AT a DTMF
frequency, low+low and high+high pairs, and pairs just outside the tolerance
are deliberately included: a detector must reject all of them.
"""

import math
import os
import random
import subprocess
import sys

SR = 48000
DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
TOL = 0.045
HARMONIC_FLOOR = 0.1  # -20 dB

# relative amplitude of harmonic k for each sox waveform
HARMONICS = {
    "sine": lambda k: 1.0 if k == 1 else 0.0,
    "square": lambda k: 1.0 / k if k % 2 else 0.0,
    "triangle": lambda k: 1.0 / (k * k) if k % 2 else 0.0,
    "sawtooth": lambda k: 1.0 / k,
    "pluck": lambda k: 1.0 / k,
    "trapezium": lambda k: 1.0 / k,
}


def band(f):
    if any(abs(f - x) <= TOL * x for x in DTMF_LOW):
        return "low"
    if any(abs(f - x) <= TOL * x for x in DTMF_HIGH):
        return "high"
    return None


def samples(seconds):
    return max(1, int(round(seconds * SR)))


class Comp:
    """One synth component: waveform, start/end frequency (linear sweep if different), weight."""

    def __init__(self, wave, f1, f2=None, weight=1.0, sweep=":"):
        self.wave = wave
        self.f1 = float(f1)
        self.f2 = float(f1 if f2 is None else f2)
        self.weight = weight
        self.sweep = sweep  # ':' linear, '/' exponential

    def freq_at(self, x):  # x in [0, 1]
        if self.f1 == self.f2:
            return self.f1
        if self.sweep == "/":
            return self.f1 * (self.f2 / self.f1) ** x
        return self.f1 + (self.f2 - self.f1) * x

    def spec(self):
        if self.f1 == self.f2:
            return "%g" % self.f1
        return "%g%s%g" % (self.f1, self.sweep, self.f2)


class Tonal:
    def __init__(self, name, desc, seed=0):
        self.name = name
        self.desc = desc
        self.chains = []
        self.total = 0  # samples
        self.rng = random.Random(seed)
        self.phase = 0.0  # cycles, for phase-continuous single-voice sequences

    # -- checking ---------------------------------------------------------
    def check(self, comps, where):
        top = max(c.weight for c in comps)
        for i in range(41):
            x = i / 40.0
            low = high = None
            for c in comps:
                f0 = c.freq_at(x)
                k = 1
                while k * f0 < 4000:
                    a = HARMONICS[c.wave](k) * c.weight / top
                    if a >= HARMONIC_FLOOR:
                        b = band(k * f0)
                        if b == "low":
                            low = (c, k * f0)
                        elif b == "high":
                            high = (c, k * f0)
                    k += 1
            if low and high:
                raise SystemExit(
                    "make_tonal.py: %s %s would contain a DTMF-like pair %.1f Hz + %.1f Hz"
                    % (self.name, where, low[1], high[1])
                )

    # -- segments ---------------------------------------------------------
    def tone(self, seconds, comps, vol=1.0, fade=0.01, effects=(), phase=0.0):
        """Simultaneous components, mixed by cascading synth stages."""
        if isinstance(comps, Comp):
            comps = [comps]
        n = samples(seconds)
        # sox's 'mix' combine halves the running signal and adds the new stage
        # (out = (prev + new) / 2). A 'vol' before the first mix sets the ratio
        # of the first two components; any further component enters at twice
        # the weight of each earlier one (e.g. 1:1:2 for three tones).
        ratio = comps[0].weight / comps[1].weight if len(comps) > 1 else 1.0
        eff = []
        for i, c in enumerate(comps):
            if i == 0:
                w = ratio
            else:
                w = 1.0
            eff.append(w * 0.5 ** (len(comps) - 1 - max(i, 1)) if len(comps) > 1 else 1.0)
        self.check([Comp(c.wave, c.f1, c.f2, w, c.sweep) for c, w in zip(comps, eff)],
                   "at %.2fs" % (self.total / SR))
        chain = []
        for i, c in enumerate(comps):
            if i == 0:
                chain += ["synth", "%ds" % n, c.wave, c.spec(), "0", "%.4f" % (phase * 100)]
                if len(comps) > 1 and ratio != 1.0:
                    chain += ["vol", "%.4f" % ratio]
            else:
                chain += ["synth", "%ds" % n, c.wave, "mix", c.spec()]
        if vol != 1.0:
            chain += ["vol", "%.4f" % vol]
        if fade and n > 4 * samples(fade):
            chain += ["fade", "h", "%ds" % samples(fade), "%ds" % n, "%ds" % samples(fade)]
        if effects:
            chain += ["vol", "0.5"] + list(effects)  # headroom: tremolo can overshoot
        self.chains.append(chain)
        self.total += n

    def silence(self, seconds):
        # end a phase-continuous voice with a short fade instead of a hard cut
        last = self.chains[-1] if self.chains else None
        if last and last[0] == "synth" and "fade" not in last:
            ln = int(last[1][:-1])
            f = min(samples(0.004), ln // 2)
            last += ["fade", "h", "0", "%ds" % ln, "%ds" % f]
        n = samples(seconds)
        self.chains.append(["trim", "0", "%ds" % n])
        self.total += n
        self.phase = 0.0

    def glide(self, seconds, f1, f2, vol=1.0, wave="sine"):
        """Phase-continuous single-voice segment (constant tone if f1 == f2)."""
        n = samples(seconds)
        c = Comp(wave, f1, f2)
        self.check([c], "at %.2fs" % (self.total / SR))
        chain = ["synth", "%ds" % n, wave, c.spec(), "0", "%.4f" % (self.phase * 100)]
        if vol != 1.0:
            chain += ["vol", "%.4f" % vol]
        self.chains.append(chain)
        self.total += n
        # linear sweep: mean frequency times duration
        self.phase = (self.phase + (f1 + f2) / 2.0 * n / SR) % 1.0

    def vibrato_note(self, seconds, fc, depth=0.012, rate=5.5, vol=1.0, start_f=None):
        """Sine at fc with triangular vibrato of +-depth, phase continuous.

        Starts at start_f (glide) when given."""
        t = 0.0
        f = fc if start_f is None else start_f
        if start_f is not None and abs(start_f - fc) > 1:
            g = min(0.06, seconds / 3)
            self.glide(g, start_f, fc, vol)
            t += g
            f = fc
        quarter = 1.0 / rate / 4.0
        targets = [fc * (1 + depth), fc, fc * (1 - depth), fc]
        i = 0
        while t + 1e-9 < seconds:
            d = min(quarter, seconds - t)
            if d < 0.004:
                break
            nxt = targets[i % 4]
            frac = d / quarter
            end = f + (nxt - f) * frac
            self.glide(d, f, end, vol)
            f = end
            t += d
            i += 1
        return f

    # -- rendering --------------------------------------------------------
    def render(self, path):
        cmd = ["sox", "-R", "-n", "-r", str(SR), "-c", "1", "-e", "floating-point", "-b", "32", path]
        for i, ch in enumerate(self.chains):
            if i:
                cmd.append(":")
            cmd += ch
            if ch[0] == "synth":
                cmd += ["vol", "0.5"]  # synth output is full scale: leave 6 dB headroom
        subprocess.run(cmd, check=True, stderr=subprocess.PIPE)
        return self.total / SR


# ---------------------------------------------------------------------------
# the files


def sine_held():
    t = Tonal("sine-held", "single sine tones held 1.5 s (300-3400 Hz, incl. each DTMF frequency alone, 1004 Hz test tone, 2600 Hz SF tone)")
    freqs = [300, 350, 400, 425, 440, 480, 500, 620, 697, 770, 852, 941, 1000, 1100, 1209, 1336, 1477, 1633,
             1800, 2000, 2100, 2400, 2600, 3000, 3400]
    for f in freqs:
        t.tone(1.5, Comp("sine", f))
        t.silence(0.3)
    t.tone(4.0, Comp("sine", 1004))
    t.silence(0.5)
    t.tone(4.0, Comp("sine", 2600))
    t.silence(0.5)
    return t


def sine_sweeps():
    t = Tonal("sine-sweeps", "sine sweeps 300-3400 Hz: slow linear and exponential, fast 1 s and 2 s sweeps, slow sweep across the DTMF bands")
    t.tone(10, Comp("sine", 300, 3400))
    t.silence(0.5)
    t.tone(10, Comp("sine", 3400, 300, sweep="/"))
    t.silence(0.5)
    for i in range(5):
        t.tone(1.0, Comp("sine", 300, 3400))
        t.silence(0.3)
        t.tone(1.0, Comp("sine", 3400, 300))
        t.silence(0.3)
    for i in range(1):
        t.tone(2.0, Comp("sine", 400, 2800, sweep="/"))
        t.tone(2.0, Comp("sine", 2800, 400, sweep="/"))
    t.silence(0.5)
    t.tone(8, Comp("sine", 650, 1700))
    t.tone(8, Comp("sine", 1700, 650))
    return t


def dual(f1, f2, w1=1.0, w2=1.0):
    return [Comp("sine", f1, weight=w1), Comp("sine", f2, weight=w2)]


def callprogress_na():
    t = Tonal("callprogress-na", "North American call-progress tones: dial 350+440, stutter dial, ringback 440+480, busy and reorder 480+620, SIT 913.8/1370.6/1776.7, call waiting 440, off-hook howler")
    t.tone(8, dual(350, 440), fade=0.005)
    t.silence(1)
    for _ in range(10):  # stutter dial tone
        t.tone(0.1, dual(350, 440), fade=0.003)
        t.silence(0.1)
    t.tone(3, dual(350, 440), fade=0.005)
    t.silence(1)
    for _ in range(3):  # ringback
        t.tone(2, dual(440, 480), fade=0.005)
        t.silence(4)
    for _ in range(8):  # busy
        t.tone(0.5, dual(480, 620), fade=0.003)
        t.silence(0.5)
    for _ in range(16):  # reorder / fast busy
        t.tone(0.25, dual(480, 620), fade=0.003)
        t.silence(0.25)
    for _ in range(3):  # special information tone, sequence
        t.tone(0.274, Comp("sine", 913.8), fade=0.003)
        t.tone(0.274, Comp("sine", 1370.6), fade=0.003)
        t.tone(0.380, Comp("sine", 1776.7), fade=0.003)
        t.silence(1.5)
    for _ in range(2):  # call waiting
        t.tone(0.3, Comp("sine", 440), fade=0.003)
        t.silence(9.7 if _ == 0 else 1)
    for _ in range(25):  # receiver off-hook howler (4 tones)
        t.tone(0.1, [Comp("sine", f) for f in (1400, 2060, 2450, 2600)], fade=0.003)
        t.silence(0.1)
    return t


def callprogress_intl():
    t = Tonal("callprogress-intl", "European/UK/other call-progress tones: 425 Hz dial, ringing, busy, congestion; UK 350+450 dial, 400+450 double ring, 400 busy; JP 400 Hz modulated ringback; 440 Hz dial")
    t.tone(6, Comp("sine", 425), fade=0.005)
    t.silence(1)
    for _ in range(2):  # CEPT ringing
        t.tone(1, Comp("sine", 425), fade=0.005)
        t.silence(4)
    for _ in range(8):  # busy
        t.tone(0.5, Comp("sine", 425), fade=0.003)
        t.silence(0.5)
    for _ in range(8):  # congestion
        t.tone(0.25, Comp("sine", 425), fade=0.003)
        t.silence(0.25)
    t.tone(6, dual(350, 450), fade=0.005)  # UK dial
    t.silence(1)
    for _ in range(3):  # UK ringing
        t.tone(0.4, dual(400, 450), fade=0.005)
        t.silence(0.2)
        t.tone(0.4, dual(400, 450), fade=0.005)
        t.silence(2)
    for _ in range(8):  # UK busy
        t.tone(0.375, Comp("sine", 400), fade=0.003)
        t.silence(0.375)
    for _ in range(3):  # Japanese ringback: 400 Hz modulated by 16 Hz
        t.tone(1, Comp("sine", 400), fade=0.005, effects=["tremolo", "16", "90"])
        t.silence(2)
    for _ in range(2):  # Australian ringing 400+425 x 25 Hz
        t.tone(0.4, dual(400, 425), effects=["tremolo", "25", "60"])
        t.silence(0.2)
        t.tone(0.4, dual(400, 425), effects=["tremolo", "25", "60"])
        t.silence(2)
    t.tone(5, Comp("sine", 440), fade=0.005)  # FR/DE older dial tone
    t.silence(1)
    return t


def harmonic_waves():
    t = Tonal("harmonic-waves", "harmonic-rich waves: square, triangle, sawtooth, trapezium and plucked tones, held and swept (fundamentals chosen so no two harmonics form a DTMF pair)")
    for f in (110, 200, 220, 330, 400, 500, 650):
        t.tone(1.5, Comp("square", f))
        t.silence(0.2)
    for f in (250, 350, 697, 770, 852, 941, 1209, 1336, 1000):
        t.tone(1.5, Comp("triangle", f))
        t.silence(0.2)
    for f in (100, 500, 600, 900, 1100, 1500):
        t.tone(1.5, Comp("sawtooth", f))
        t.silence(0.2)
    t.tone(5, Comp("triangle", 300, 2000))
    t.tone(4, Comp("square", 330, 1500))
    t.tone(4, Comp("sawtooth", 860, 2400))
    t.tone(3, Comp("square", 60, 125))
    t.silence(0.3)
    for f in (98, 110, 523, 554, 587, 659, 880, 988, 1175, 1319):
        t.tone(1.0, Comp("pluck", f), fade=0)
    for f in (520, 1000, 1800):
        t.tone(1.5, Comp("trapezium", f))
        t.silence(0.2)
    return t


def tremolo_vibrato():
    t = Tonal("tremolo-vibrato", "sines with tremolo (4-12 Hz, 30-100% depth) and phase-continuous vibrato (+-0.8-3%, 4-8 Hz), incl. vibrato centred on single DTMF frequencies")
    for f, speed, depth in ((500, 5, 50), (697, 6, 80), (1000, 8, 40), (1336, 4, 100), (1800, 12, 70), (941, 7, 30), (2500, 5, 90)):
        t.tone(3, Comp("sine", f), effects=["tremolo", str(speed), str(depth)])
        t.silence(0.3)
    for f, depth, rate in ((600, 0.02, 5), (770, 0.015, 6), (852, 0.03, 5), (1209, 0.01, 7), (1477, 0.02, 5.5),
                           (1633, 0.008, 6.5), (2000, 0.025, 4), (1100, 0.03, 8)):
        t.vibrato_note(3, f, depth, rate)
        t.silence(0.3)
    return t


def chirps():
    t = Tonal("chirps", "bird-like chirps and trills: short exponential up/down sweeps 40-250 ms between 1 and 3.8 kHz", seed=11)
    rng = t.rng
    while t.total < 30 * SR:
        kind = rng.choice(("up", "down", "trill", "pause"))
        if kind == "pause":
            t.silence(rng.uniform(0.2, 0.8))
            continue
        if kind == "trill":
            f = rng.uniform(1800, 3500)
            for _ in range(rng.randint(4, 12)):
                t.tone(0.04, Comp("sine", f, f * 1.15, sweep="/"), fade=0.005)
                t.silence(0.03)
            continue
        a = rng.uniform(1000, 2500)
        b = a * rng.uniform(1.2, 1.5)
        if kind == "down":
            a, b = b, a
        t.tone(rng.uniform(0.05, 0.25), Comp("sine", a, b, sweep="/"), fade=0.01)
        t.silence(rng.uniform(0.03, 0.15))
    return t


def whistle_melody():
    t = Tonal("whistle-melody", "whistled tunes: single phase-continuous sine 700-2500 Hz with glides, vibrato and breaths, passing over DTMF frequencies", seed=12)
    rng = t.rng
    # D major from A5 to D7 (880-2349 Hz), plus F5# 740 and G5 784 low notes
    def hz(semis_from_a4):
        return 440.0 * 2 ** (semis_from_a4 / 12.0)
    scale = [hz(s) for s in (-3, -2, 0, 2, 4, 5, 7, 9, 11, 12, 14, 16, 17, 19, 21)]
    idx = 6
    while t.total < 45 * SR:
        f_prev = None
        vol = rng.uniform(0.6, 1.0)
        for _ in range(rng.randint(5, 12)):
            idx = max(0, min(len(scale) - 1, idx + rng.choice((-3, -2, -1, -1, 1, 1, 2, 3))))
            f = scale[idx]
            dur = rng.choice((0.2, 0.25, 0.4, 0.5, 0.75, 1.0))
            f_prev = t.vibrato_note(dur, f, depth=rng.uniform(0.005, 0.02), rate=rng.uniform(4.5, 6.5), vol=vol, start_f=f_prev)
        t.silence(rng.uniform(0.3, 0.8))
    return t


def near_miss_dyads():
    t = Tonal("near-miss-dyads", "two/three simultaneous sines that are NOT DTMF: pairs 5-9% off DTMF pairs, low+low and high+high pairs, one DTMF tone with an out-of-band partner, strong twist, triads")
    pairs = [
        (655, 1136), (740 * 0.99, 1140), (810, 1265), (800, 1400), (895, 1560), (1000, 1300), (660, 1710),
        (990, 1380), (724 * 1.02, 1550), (890, 1270), (600, 1209), (697, 1100), (770, 1900), (941, 2100),
        (500, 1336), (1050, 1477), (350, 1633), (697, 852), (770, 941), (1209, 1477), (1336, 1633),
        (697, 941), (1209, 1633), (1000, 2000),
    ]
    for a, b in pairs:
        t.tone(1.2, dual(a, b))
        t.silence(0.3)
    for a, b, wa in ((660, 1400, 0.3), (1000, 1300, 0.2), (852, 1400, 4.0)):
        t.tone(1.2, dual(a, b, wa, 1.0))
        t.silence(0.3)
    for ch in ((523, 659, 784), (660, 1000, 1400), (697, 770, 852), (1209, 1336, 1477), (440, 554, 659)):
        t.tone(1.5, [Comp("sine", f) for f in ch])
        t.silence(0.3)
    return t


FILES = [sine_held, sine_sweeps, callprogress_na, callprogress_intl, harmonic_waves, tremolo_vibrato, chirps,
         whistle_melody, near_miss_dyads]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    rows = []
    for make in FILES:
        t = make()
        secs = t.render(os.path.join(outdir, "tonal-%s.wav" % t.name))
        rows.append("%s\t%.1f\t%s\n" % (t.name, secs, t.desc))
    with open(os.path.join(outdir, "tonal.tsv"), "w") as f:
        f.writelines(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
