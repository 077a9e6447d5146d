#!/usr/bin/env python3
"""Code values for the colour cases of signal.sh, from the formulas docs/engines.md states.

  signal.py encode KIND R G B      10-bit limited-range Y Cb Cr of one colour in a tagged source
  signal.py expect KIND R G B      the 8-bit BT.709 RGB reel must draw for that source colour

KIND and what R G B are:
  sdr2020  BT.709 display RGB 0..255 that the BT.2020 source shows (source = BT.2020 primaries)
  170m     source RGB 0..255 in SMPTE 170M primaries (BT.601 525)
  470bg    source RGB 0..255 in BT.470 B/G primaries (BT.601 625)
  pq       BT.2020 display light in cd/m2, encoded with the SMPTE ST 2084 (PQ) curve
  hlg      BT.2020 scene light 0..1, encoded with the ARIB STD-B67 (HLG) OETF
SDR sources use the BT.1886 curve (gamma 2.4) both ways. HDR: display light (HLG: 1000 cd/m2 x
E^1.2 per component), BT.2020 -> BT.709 in linear light, Hable on max(R,G,B) with the peak at
1000 cd/m2 (100 cd/m2 = 1.0), BT.1886 inverse.
"""
import math
import sys

D65 = (0.3127, 0.3290)
PRIMARIES = {
    "709": ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
    "2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
    "170m": ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070)),
    "470bg": ((0.64, 0.33), (0.29, 0.60), (0.15, 0.06)),
}
LUMA = {"2020": (0.2627, 0.0593), "601": (0.299, 0.114)}


def xyz(x, y):
    return [x / y, 1.0, (1 - x - y) / y]


def inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [[(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det]]


def mat_vec(m, v):
    return [sum(m[i][k] * v[k] for k in range(3)) for i in range(3)]


def mat_mul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def rgb_to_xyz(name):
    cols = [xyz(*p) for p in PRIMARIES[name]]
    p = [[cols[j][i] for j in range(3)] for i in range(3)]
    s = mat_vec(inv(p), xyz(*D65))
    return [[p[i][j] * s[j] for j in range(3)] for i in range(3)]


def convert(src, dst):
    return mat_mul(inv(rgb_to_xyz(dst)), rgb_to_xyz(src))


M1, M2 = 2610 / 16384, 2523 / 4096 * 128
C1, C2, C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32


def pq_inverse_eotf(nits):
    y = (nits / 10000) ** M1
    return ((C1 + C2 * y) / (1 + C3 * y)) ** M2


def pq_eotf(e):
    p = e ** (1 / M2)
    return 10000 * (max(p - C1, 0) / (C2 - C3 * p)) ** (1 / M1)


HA = 0.17883277
HB = 1 - 4 * HA
HC = 0.5 - HA * math.log(4 * HA)


def hlg_oetf(e):
    return math.sqrt(3 * e) if e <= 1 / 12 else HA * math.log(12 * e - HB) + HC


def hlg_inverse_oetf(v):
    return v * v / 3 if v <= 0.5 else (math.exp((v - HC) / HA) + HB) / 12


def hable(x):
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return (x * (x * a + c * b) + d * e) / (x * (x * a + b) + d * f) - e / f


PEAK = 10.0  # 1000 cd/m2 with 100 cd/m2 = 1.0


def ycbcr10(rgb, luma):
    kr, kb = LUMA[luma]
    r, g, b = rgb
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    return [round(64 + 876 * y), round(512 + 896 * cb), round(512 + 896 * cr)]


def rgb_of(code, luma):
    kr, kb = LUMA[luma]
    y = (code[0] - 64) / 876
    cb = (code[1] - 512) / 896
    cr = (code[2] - 512) / 896
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return [min(max(v, 0.0), 1.0) for v in (r, g, b)]


def out8(linear709):
    return [round(255 * min(max(v, 0.0), 1.0) ** (1 / 2.4)) for v in linear709]


def source_rgb(kind, vals):
    """Non-linear source R'G'B' 0..1 for a colour given as on the command line."""
    if kind == "sdr2020":
        lin = mat_vec(convert("709", "2020"), [(v / 255) ** 2.4 for v in vals])
        return [max(v, 0.0) ** (1 / 2.4) for v in lin]
    if kind in ("170m", "470bg"):
        return [v / 255 for v in vals]
    if kind == "pq":
        return [pq_inverse_eotf(v) for v in vals]
    return [hlg_oetf(v) for v in vals]


def main():
    mode, kind = sys.argv[1], sys.argv[2]
    vals = [float(v) for v in sys.argv[3:6]]
    luma = "601" if kind in ("170m", "470bg") else "2020"
    code = ycbcr10(source_rgb(kind, vals), luma)
    if mode == "encode":
        print(*code)
        return
    # What a decoder reads back from those code values.
    e = rgb_of(code, luma)
    if kind in ("sdr2020", "170m", "470bg"):
        src = "2020" if kind == "sdr2020" else kind
        print(*out8(mat_vec(convert(src, "709"), [v ** 2.4 for v in e])))
        return
    if kind == "pq":
        lin = [pq_eotf(v) / 100 for v in e]
    else:
        lin = [10 * hlg_inverse_oetf(v) ** 1.2 for v in e]
    lin = mat_vec(convert("2020", "709"), lin)
    sig = max(max(lin), 1e-6)
    scale = hable(sig) / hable(PEAK) / sig
    print(*out8([v * scale for v in lin]))


main()
