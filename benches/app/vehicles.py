#!/usr/bin/env python3
"""A scenario run folder whose playback holds N vehicles in every vehicle frame, for the app's
benchmark: `vehicles.py RUN OUT N K`. OUT links every file of RUN and of RUN/playback except
vehicles.bin, which is rewritten: the K frames from the run's busiest (format TWINVEH1, README
"Playback folder"), each frame's vehicles repeated until there are N, each copy moved up to
12 m along x and y (seeded), so the markers stand on and beside the run's own streets. Prints
the busiest frame's minute (the minute to show) on its last line."""
import os
import random
import struct
import sys


def frames(b):
    if b[:8] != b"TWINVEH1":
        sys.exit("vehicles.bin: not a TWINVEH1 file")
    period, n = struct.unpack_from("<II", b, 8)
    o, out = 16, []
    for _ in range(n):
        minute, count = struct.unpack_from("<fI", b, o)
        o += 8
        vs = [struct.unpack_from("<IB3xff", b, o + 16 * k) for k in range(count)]
        o += 16 * count
        out.append((minute, vs))
    return period, out


def main():
    run, out, n, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(2026)
    os.makedirs(os.path.join(out, "playback"), exist_ok=True)
    for sub in ("", "playback"):
        src = os.path.join(run, sub)
        for f in os.listdir(src):
            p = os.path.join(src, f)
            if os.path.isfile(p) and f != "vehicles.bin":
                dst = os.path.join(out, sub, f)
                if not os.path.lexists(dst):
                    os.symlink(os.path.abspath(p), dst)
    with open(os.path.join(run, "playback", "vehicles.bin"), "rb") as fh:
        period, fr = frames(fh.read())
    top = max(range(len(fr)), key=lambda i: len(fr[i][1]))
    busiest, at = len(fr[top][1]), fr[top][0]
    fr = fr[top : top + keep]
    w = bytearray(b"TWINVEH1" + struct.pack("<II", period, len(fr)))
    for minute, vs in fr:
        src = vs or fr[0][1]
        w += struct.pack("<fI", minute, n)
        for k in range(n):
            trip, cls, x, y = src[k % len(src)]
            if k >= len(src):
                x += rng.uniform(-12.0, 12.0)
                y += rng.uniform(-12.0, 12.0)
            w += struct.pack("<IB3xff", k, cls, x, y)
    with open(os.path.join(out, "playback", "vehicles.bin"), "wb") as fh:
        fh.write(w)
    print(f"{len(fr)} frames of {n} vehicles from minute {at:g} (the run's busiest frame: {busiest})")
    print(f"{at:g}")


if __name__ == "__main__":
    main()
