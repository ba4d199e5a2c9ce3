#!/usr/bin/env python3
"""Convert one raw rendering into a corpus file: 8000 Hz, mono, 16-bit PCM WAV,
at most MAX seconds, active level normalised to TARGET dBFS RMS. Stdlib + sox.

Usage: normalize.py IN.wav OUT.wav TARGET_DB MIN_S MAX_S

Prints "seconds<TAB>active_dB<TAB>peak_dB" of the written file on stdout.

Active level: RMS after removing every pause quieter than 45 dB below the
peak (sox `silence`), so speech pauses and gaps between tones do not count.
If reaching the target would push peaks above -1 dBFS, an instant-attack
soft-knee limiter (sox `compand`, up to 3 passes) first reduces the peaks by
the missing headroom; if that still falls short the file ends up quieter
than the target (the written level is reported).
"""

import os
import re
import subprocess
import sys
import tempfile

SILENCE = ["silence", "1", "0.02", "-45d", "-1", "0.05", "-45d"]


def sox(*args):
    r = subprocess.run(["sox", "-R"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit("sox %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stderr


def stat(text, key):
    m = re.search(r"^%s\s+(-?[0-9.]+|-inf)" % re.escape(key), text, re.M)
    if not m:
        raise SystemExit("no %r in sox stats output:\n%s" % (key, text))
    return float(m.group(1)) if m.group(1) != "-inf" else -200.0


def measure(path):
    whole = sox(path, "-n", "stats")
    active = sox(path, "-n", *SILENCE, "stats")
    return {
        "peak": stat(whole, "Pk lev dB"),
        "rms": stat(whole, "RMS lev dB"),
        "active": stat(active, "RMS lev dB"),
        "length": stat(whole, "Length s"),
    }


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, target, min_s, max_s = argv[1], argv[2], float(argv[3]), float(argv[4]), float(argv[5])
    with tempfile.TemporaryDirectory(prefix="talkoff-norm-") as tmp:
        a = os.path.join(tmp, "a.wav")
        b = os.path.join(tmp, "b.wav")
        f32 = ["-e", "floating-point", "-b", "32"]
        # 1. mono, 8 kHz, DC/rumble removed, cut to max length, peak at -1 dBFS
        sox("-G", src, "-c", "1", "-r", "8000", *f32, b, "highpass", "30", "trim", "0", "%g" % max_s)
        m = measure(b)
        length = m["length"]
        if length < min_s:
            raise SystemExit("%s: only %.1f s (minimum %.0f s)" % (src, length, min_s))
        fx = []
        if length >= max_s - 0.01:
            fx = ["fade", "q", "0", "%g" % length, "0.5"]
        sox(b, *f32, a, *fx, "norm", "-1")
        m = measure(a)
        for i in range(3):
            # how far the peaks would exceed -1 dBFS if the active level were at target
            excess = (target - m["active"]) + m["peak"] + 1.0
            if excess <= 0.05:
                break
            cur = os.path.join(tmp, "c%d.wav" % i)
            knee = -(excess + 6.0)
            curve = "6:-90,-90,%.2f,%.2f,0,%.2f" % (knee, knee, -(excess + 0.5))
            sox(a, *f32, cur, "compand", "0,0.1", curve, "0", "-90", "0")
            a = cur
            m = measure(a)
        gain = min(target - m["active"], -1.0 - m["peak"])
        sox(a, "-b", "16", "-e", "signed-integer", "-c", "1", "-r", "8000", dst, "gain", "%.2f" % gain)
        m = measure(dst)
        if m["peak"] > -0.1:
            raise SystemExit("%s: output would clip (peak %.2f dBFS)" % (dst, m["peak"]))
        print("%.2f\t%.1f\t%.1f" % (m["length"], m["active"], m["peak"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
