/*
 * Compositing arithmetic (the reference the gl engine follows; docs/engines.md):
 *
 * For each output pixel centre p = (x + 0.5, y + 0.5) near the layer, (u, v) = inv(p) is the
 * position in the layer's box. The box edge is anti-aliased analytically: the coverage along u is
 * clamp(min(u, bw - u) / |grad u| + 0.5, 0, 1), where |grad u| is the box units per output pixel,
 * i.e. the signed distance to the nearest edge in output pixels plus one half; likewise for v,
 * and the two are multiplied. An edge on a pixel boundary therefore gives exactly 0 or 1.
 * The content is sampled bilinearly at texel (u * tex_w / bw - 0.5, v * tex_h / bh - 0.5), edge
 * texels clamped, with 8-bit fractional weights in integer arithmetic. The sample is scaled by
 * alpha = opacity x fade x edge coverage x transition masks, quantised to 16 bits, and blended
 * "over": dst = src + dst * (255 - src_a) / 255, rounded to nearest.
 *
 * An unrotated, unscaled layer at an integer offset maps every pixel centre onto a texel centre;
 * the fast path then copies texels directly and gives the same bytes as the general path.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "engines/cpu/compose.h"
#include "engines/cpu/compose_simd.h"

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

bool reel_cpu_draw_setup(struct reel_cpu_draw *d, const struct reel_affine *f)
{
    if (!(d->bw > 0.0) || !(d->bh > 0.0) || !(d->alpha > 0.0))
        return false;
    double cx[4] = {0.0, d->bw, 0.0, d->bw}, cy[4] = {0.0, 0.0, d->bh, d->bh};
    double minx = INFINITY, maxx = -INFINITY, miny = INFINITY, maxy = -INFINITY;
    for (int i = 0; i < 4; i++) {
        double ox = f->a * cx[i] + f->b * cy[i] + f->c;
        double oy = f->d * cx[i] + f->e * cy[i] + f->f;
        minx = fmin(minx, ox);
        maxx = fmax(maxx, ox);
        miny = fmin(miny, oy);
        maxy = fmax(maxy, oy);
    }
    /* One pixel of margin for the anti-aliased edge; clip before converting to int. */
    double x0 = clampd(floor(minx) - 1.0, 0.0, d->out_w),
           x1 = clampd(ceil(maxx) + 1.0, 0.0, d->out_w);
    double y0 = clampd(floor(miny) - 1.0, 0.0, d->out_h),
           y1 = clampd(ceil(maxy) + 1.0, 0.0, d->out_h);
    if (!(x0 < x1) || !(y0 < y1))
        return false;
    d->x0 = (int)x0;
    d->x1 = (int)x1;
    d->y0 = (int)y0;
    d->y1 = (int)y1;
    d->tex_sx = d->data ? d->tex_w / d->bw : 1.0;
    d->tex_sy = d->data ? d->tex_h / d->bh : 1.0;
    d->grad_u = hypot(d->inv.a, d->inv.b);
    d->grad_v = hypot(d->inv.d, d->inv.e);
    if (!(d->grad_u > 0.0) || !(d->grad_v > 0.0))
        return false;

    const struct reel_affine *m = &d->inv;
    bool unit = m->a == 1.0 && m->b == 0.0 && m->d == 0.0 && m->e == 1.0;
    bool whole_box = d->data ? (d->tex_w == d->bw && d->tex_h == d->bh)
                             : (d->bw == floor(d->bw) && d->bh == floor(d->bh));
    double rc = nearbyint(m->c), rf = nearbyint(m->f);
    d->is_fast = unit && whole_box && fabs(m->c - rc) < 1e-9 && fabs(m->f - rf) < 1e-9 &&
                 fabs(rc) < 1e9 && fabs(rf) < 1e9;
    if (d->is_fast) {
        d->fast_dx = (int)rc;
        d->fast_dy = (int)rf;
        if (!d->data) {
            d->tex_w = (int)d->bw;
            d->tex_h = (int)d->bh;
        }
    }
    return true;
}

void reel_cpu_fill_rows(const struct reel_cpu_canvas *c, int y0, int y1, const uint8_t rgba[4])
{
    uint32_t px;
    uint8_t *p8 = (uint8_t *)&px;
    p8[0] = rgba[0];
    p8[1] = rgba[1];
    p8[2] = rgba[2];
    p8[3] = rgba[3];
    for (int y = y0; y < y1; y++) {
        uint32_t *row = (uint32_t *)(void *)(c->data + (size_t)y * c->stride);
        for (int x = 0; x < c->width; x++)
            row[x] = px;
    }
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void store32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/*
 * "over" for one pixel held in a 32-bit word, two channels at a time in 16-bit lanes: every
 * channel becomes s + round(d * (255 - a) / 255), saturated at 255. The lane arithmetic is the
 * same exact rounding as reel_cpu_div255 (no lane exceeds 16 bits), and the channel order does not
 * matter because all four channels get the same formula. a is the source's alpha byte.
 */
static inline uint32_t over(uint32_t s, uint32_t a, uint32_t d)
{
    if (a >= 255)
        return s;
    uint32_t ia = 255 - a;
    uint32_t lo = (d & 0x00FF00FFu) * ia + 0x00800080u;
    uint32_t hi = ((d >> 8) & 0x00FF00FFu) * ia + 0x00800080u;
    lo = ((lo + ((lo >> 8) & 0x00FF00FFu)) >> 8) & 0x00FF00FFu;
    hi = ((hi + ((hi >> 8) & 0x00FF00FFu)) >> 8) & 0x00FF00FFu;
    lo += s & 0x00FF00FFu;
    hi += (s >> 8) & 0x00FF00FFu;
    /* Only a source that is not validly premultiplied (colour above alpha) can carry past 255. */
    uint32_t co = lo & 0x01000100u, ch = hi & 0x01000100u;
    lo = (lo | (co - (co >> 8))) & 0x00FF00FFu;
    hi = (hi | (ch - (ch >> 8))) & 0x00FF00FFu;
    return lo | (hi << 8);
}

/* Scale a premultiplied pixel by q / 65536 (rounded) into a word; *a gets the scaled alpha. */
/*
 * Channel pairs in 32-bit lanes of a 64-bit word: bytes 0 and 2 (R, B) or 1 and 3 (G, A) of a
 * pixel, so that two channels share each multiply with room for 24-bit products; and back.
 */
static inline uint64_t lanes_rb(uint32_t p)
{
    return (uint64_t)(p & 0xFFu) | (uint64_t)((p >> 16) & 0xFFu) << 32;
}

static inline uint64_t lanes_ga(uint32_t p)
{
    return lanes_rb(p >> 8);
}

/* Each lane holds v * 65536 (+ rounding): the byte is its bits 16..23. */
static inline uint32_t pack_lanes(uint64_t rb, uint64_t ga)
{
    return (uint32_t)((rb >> 16) & 0xFFu) | (uint32_t)((ga >> 16) & 0xFFu) << 8 |
           (uint32_t)((rb >> 48) & 0xFFu) << 16 | (uint32_t)((ga >> 48) & 0xFFu) << 24;
}

#define LANE_HALF (32768u | (uint64_t)32768u << 32)

/* Scale a premultiplied pixel word by q / 65536, every channel rounded to nearest. */
static inline uint32_t scale_word(uint32_t w, uint32_t q)
{
    if (q >= 65536)
        return w;
    return pack_lanes(lanes_rb(w) * q + LANE_HALF, lanes_ga(w) * q + LANE_HALF);
}

/* Scale a premultiplied pixel by q / 65536 (rounded) into a word; *a gets the scaled alpha. */
static inline uint32_t scale_px(const uint8_t *s, uint32_t q, uint32_t *a)
{
    uint32_t w = scale_word(load32(s), q);
    uint8_t o[4];
    memcpy(o, &w, 4);
    *a = o[3];
    return w;
}

/* Alpha factor from the transition masks at a pixel centre (1 without masks). */
static double mask_factor(const struct reel_cpu_draw *d, double px, double py)
{
    double f = 1.0;
    for (int i = 0; i < d->n_masks && f > 0.0; i++)
        f *= reel_transition_coverage(&d->masks[i], px, py, d->out_w, d->out_h);
    return f;
}

/* A row of the fast path with one alpha factor for every pixel (no masks). */
static void fast_span(uint8_t *dst, const uint8_t *tex, const uint8_t *solid, int n, uint32_t q)
{
    if (!tex) {
        uint32_t a;
        uint32_t w = scale_px(solid, q, &a);
        if (a >= 255) {
            for (int x = 0; x < n; x++)
                store32(dst + 4 * x, w);
        } else if (w) {
            for (int x = 0; x < n; x++)
                store32(dst + 4 * x, over(w, a, load32(dst + 4 * x)));
        }
        return;
    }
    reel_cpu_kernels()->over_span(dst, tex, n, q);
}

/* dst = s over dst, s = src scaled by q / 65536 (the C reference of over_span). */
static void over_span_c(uint8_t *dst, const uint8_t *tex, int n, uint32_t q)
{
    if (q >= 65536) {
        for (int x = 0; x < n; x++) {
            uint32_t w = load32(tex + 4 * x);
            if (w)
                store32(dst + 4 * x, over(w, tex[4 * x + 3], load32(dst + 4 * x)));
        }
        return;
    }
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)((v * q + 32768) >> 16);
    for (int x = 0; x < n; x++) {
        const uint8_t *s = tex + 4 * x;
        uint8_t o[4] = {lut[s[0]], lut[s[1]], lut[s[2]], lut[s[3]]};
        uint32_t w = load32(o);
        if (w)
            store32(dst + 4 * x, over(w, o[3], load32(dst + 4 * x)));
    }
}

/* A row of the fast path without masks, blended in place. */
static void draw_row_fast(const struct reel_cpu_canvas *c, const struct reel_cpu_draw *d, int y)
{
    int ty = y + d->fast_dy;
    if (ty < 0 || ty >= d->tex_h)
        return;
    int xs = d->x0 > -d->fast_dx ? d->x0 : -d->fast_dx;
    int xe = d->x1 < d->tex_w - d->fast_dx ? d->x1 : d->tex_w - d->fast_dx;
    if (xs >= xe)
        return;
    uint8_t *row = c->data + (size_t)y * c->stride;
    const uint8_t *tex = d->data ? d->data + (size_t)ty * d->stride : NULL;
    uint32_t fq = reel_cpu_quantise(d->alpha);
    if (fq)
        fast_span(row + 4 * xs, tex ? tex + 4 * (xs + d->fast_dx) : NULL, d->solid, xe - xs, fq);
}

/* floor() as an int for sample coordinates (bounded first: anything that far out is clamped to
 * the edge texel anyway). Same result as floor for every value it keeps. */
static inline int floor_int(double v)
{
    v = v < -1e8 ? -1e8 : (v > 1e8 ? 1e8 : v);
    int i = (int)v;
    return i - (v < i);
}

/* One texture row pair of a bilinear sample: the rows and the vertical weight. */
struct sample_rows {
    const uint8_t *r0, *r1;
    uint32_t wy, iwy;
};

static inline void sample_rows_at(const struct reel_cpu_draw *d, double v, struct sample_rows *sr)
{
    double sv = v * d->tex_sy - 0.5;
    int iy = floor_int(sv);
    sr->wy = (uint32_t)((sv - iy) * 256.0 + 0.5);
    sr->iwy = 256 - sr->wy;
    int y0 = clampi(iy, 0, d->tex_h - 1), y1 = clampi(iy + 1, 0, d->tex_h - 1);
    sr->r0 = d->data + (size_t)y0 * d->stride;
    sr->r1 = d->data + (size_t)y1 * d->stride;
}

/*
 * Bilinear sample at texture column su (the row pair in sr): per channel
 * ((p00 (256 - wx) + p10 wx) (256 - wy) + (p01 (256 - wx) + p11 wx) wy + 32768) >> 16, two
 * channels per multiply. 0 when all four texels are transparent.
 */
static inline uint32_t sample_x(const struct reel_cpu_draw *d, const struct sample_rows *sr,
                                double u)
{
    double su = u * d->tex_sx - 0.5;
    int ix = floor_int(su);
    uint32_t wx = (uint32_t)((su - ix) * 256.0 + 0.5);
    int x0 = clampi(ix, 0, d->tex_w - 1), x1 = clampi(ix + 1, 0, d->tex_w - 1);
    uint32_t p00 = load32(sr->r0 + 4 * x0), p10 = load32(sr->r0 + 4 * x1);
    uint32_t p01 = load32(sr->r1 + 4 * x0), p11 = load32(sr->r1 + 4 * x1);
    if (!(p00 | p10 | p01 | p11))
        return 0;
    uint32_t iwx = 256 - wx;
    /* Horizontal sums fit 16 bits per channel, so two channels per 32-bit word here. */
    uint32_t rb0 = (p00 & 0x00FF00FFu) * iwx + (p10 & 0x00FF00FFu) * wx;
    uint32_t ga0 = ((p00 >> 8) & 0x00FF00FFu) * iwx + ((p10 >> 8) & 0x00FF00FFu) * wx;
    uint32_t rb1 = (p01 & 0x00FF00FFu) * iwx + (p11 & 0x00FF00FFu) * wx;
    uint32_t ga1 = ((p01 >> 8) & 0x00FF00FFu) * iwx + ((p11 >> 8) & 0x00FF00FFu) * wx;
#define SPREAD_(v) ((uint64_t)((v)&0xFFFFu) | (uint64_t)((v) >> 16) << 32)
    uint64_t rb = SPREAD_(rb0) * sr->iwy + SPREAD_(rb1) * sr->wy + LANE_HALF;
    uint64_t ga = SPREAD_(ga0) * sr->iwy + SPREAD_(ga1) * sr->wy + LANE_HALF;
#undef SPREAD_
    return pack_lanes(rb, ga);
}

/* Columns of a row handled at a time by the span functions (stack buffers of this many words). */
#define SPAN 256

/* Narrow [*x0, *x1) to the pixels x where k (x + 0.5) + c may lie in (-half, len + half). */
static bool narrow_to_box(double k, double c, double len, double half, int *x0, int *x1)
{
    double lo = -half, hi = len + half;
    if (k == 0.0)
        return c > lo && c < hi;
    double p0 = (lo - c) / k, p1 = (hi - c) / k;
    if (p0 > p1) {
        double t = p0;
        p0 = p1;
        p1 = t;
    }
    if (p0 > *x0 + 2.0)
        *x0 = (int)fmin(floor(p0 - 0.5) - 1.0, (double)*x1);
    if (p1 < *x1 - 2.0)
        *x1 = (int)fmax(ceil(p1 - 0.5) + 1.0, (double)*x0);
    return *x0 < *x1;
}

/* One pixel of a general row: the source word, 0 where the layer does not reach. */
static inline uint32_t general_px(const struct reel_cpu_draw *d, const struct reel_cpu_row *r,
                                  int x)
{
    const struct reel_affine *m = &d->inv;
    double px = x + 0.5;
    double u = m->a * px + r->bu, v = m->d * px + r->bv;
    /* Inside the box by half a pixel or more the coverage is exactly 1 (0.5 g / g is exact), so
     * the division is only needed along the edge. */
    double eu = u < d->bw - u ? u : d->bw - u;
    double cu = eu >= r->half_gu ? 1.0 : eu / d->grad_u + 0.5;
    if (!(cu > 0.0))
        return 0;
    double cv = r->is_upright ? r->cv_row : (v < d->bh - v ? v : d->bh - v) / d->grad_v + 0.5;
    if (!(cv > 0.0))
        return 0;
    double f = d->alpha * (cu < 1.0 ? cu : 1.0) * (cv < 1.0 ? cv : 1.0);
    if (d->n_masks)
        f *= mask_factor(d, px, r->py);
    uint32_t q = reel_cpu_quantise(f);
    if (!q)
        return 0;
    if (d->data) {
        struct sample_rows sr = {r->r0, r->r1, r->wy, r->iwy};
        if (!r->is_upright)
            sample_rows_at(d, v, &sr);
        uint32_t w = sample_x(d, &sr, u);
        return w ? scale_word(w, q) : 0;
    }
    uint32_t a;
    return scale_px(d->solid, q, &a);
}

uint32_t reel_cpu_general_px(const struct reel_cpu_draw *d, const struct reel_cpu_row *r, int x)
{
    return general_px(d, r, x);
}

static void general_row_c(const struct reel_cpu_draw *d, const struct reel_cpu_row *r, int x0,
                          int x1, uint32_t *out)
{
    for (int x = x0; x < x1; x++) {
        uint32_t w = general_px(d, r, x);
        if (w)
            out[x - x0] = w;
    }
}

/*
 * What draw d puts on row y for x in [xa, xb), xb - xa <= SPAN: per pixel the source sample
 * scaled by its alpha factor (the s of "over"), or 0 where the layer does not reach. Returns false
 * when the layer touches none of those pixels (out is then all 0).
 */
static bool row_source(const struct reel_cpu_draw *d, int y, int xa, int xb, uint32_t *out)
{
    memset(out, 0, sizeof(*out) * (size_t)(xb - xa));
    int x0 = xa > d->x0 ? xa : d->x0, x1 = xb < d->x1 ? xb : d->x1;
    if (y < d->y0 || y >= d->y1 || x0 >= x1)
        return false;
    double py = y + 0.5;
    uint32_t a;
    if (d->is_fast) {
        int ty = y + d->fast_dy;
        if (ty < 0 || ty >= d->tex_h)
            return false;
        if (x0 < -d->fast_dx)
            x0 = -d->fast_dx;
        if (x1 > d->tex_w - d->fast_dx)
            x1 = d->tex_w - d->fast_dx;
        if (x0 >= x1)
            return false;
        const uint8_t *tex = d->data ? d->data + (size_t)ty * d->stride : NULL;
        uint32_t fq = reel_cpu_quantise(d->alpha);
        if (tex && !d->n_masks && fq >= 65536) {
            memcpy(out + (x0 - xa), tex + 4 * (x0 + d->fast_dx), 4 * (size_t)(x1 - x0));
            return true;
        }
        for (int x = x0; x < x1; x++) {
            uint32_t q =
                d->n_masks ? reel_cpu_quantise(d->alpha * mask_factor(d, x + 0.5, py)) : fq;
            if (q)
                out[x - xa] = scale_px(tex ? tex + 4 * (x + d->fast_dx) : d->solid, q, &a);
        }
        return true;
    }
    const struct reel_affine *m = &d->inv;
    struct reel_cpu_row r = {
        .py = py,
        .bu = m->b * py + m->c,
        .bv = m->e * py + m->f,
        .half_gu = 0.5 * d->grad_u,
        /* Without rotation v is the same along the row: its coverage and texture rows once. */
        .is_upright = m->d == 0.0,
    };
    if (r.is_upright) {
        r.cv_row = (r.bv < d->bh - r.bv ? r.bv : d->bh - r.bv) / d->grad_v + 0.5;
        if (!(r.cv_row > 0.0))
            return false;
        if (d->data) {
            struct sample_rows sr;
            sample_rows_at(d, r.bv, &sr);
            r.r0 = sr.r0;
            r.r1 = sr.r1;
            r.wy = sr.wy;
            r.iwy = sr.iwy;
        }
    }
    /* Only pixels whose centre maps inside the box widened by half a pixel have coverage: u and
     * v are linear along the row, so that is one interval of x (taken a pixel wider; every pixel
     * in it is still tested). */
    if (!narrow_to_box(m->a, r.bu, d->bw, r.half_gu, &x0, &x1) ||
        !narrow_to_box(m->d, r.bv, d->bh, 0.5 * d->grad_v, &x0, &x1))
        return false;
    /* Masks are evaluated per pixel in C; everything else goes through the chosen kernels. */
    const struct reel_cpu_kernels *k = d->n_masks ? &reel_cpu_kernels_c : reel_cpu_kernels();
    k->general_row(d, &r, x0, x1, out + (x0 - xa));
    return true;
}

/* Any row not on the fast path without masks: the row's source words, then "over". */
static void draw_row_spans(const struct reel_cpu_canvas *c, const struct reel_cpu_draw *d, int y)
{
    uint8_t *row = c->data + (size_t)y * c->stride;
    uint32_t src[SPAN];
    const struct reel_cpu_kernels *k = reel_cpu_kernels();
    for (int xa = d->x0; xa < d->x1; xa += SPAN) {
        int xb = xa + SPAN < d->x1 ? xa + SPAN : d->x1;
        if (row_source(d, y, xa, xb, src))
            k->over_span(row + 4 * xa, (const uint8_t *)src, xb - xa, 65536);
    }
}

void reel_cpu_draw_rows(const struct reel_cpu_canvas *c, const struct reel_cpu_draw *d, int y0,
                        int y1)
{
    if (y0 < d->y0)
        y0 = d->y0;
    if (y1 > d->y1)
        y1 = d->y1;
    for (int y = y0; y < y1; y++) {
        if (d->is_fast && !d->n_masks)
            draw_row_fast(c, d, y);
        else
            draw_row_spans(c, d, y);
    }
}

/* ---- YUV 4:2:0 canvas ---- */

/* The BT.709 coefficients (REEL_CPU_Y*, U*, V*) are in compose_simd.h. */

static inline uint8_t clamp_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

/* Y of premultiplied word w over luma yd. */
static inline uint8_t over_y(uint32_t w, uint32_t yd)
{
    uint8_t p[4];
    memcpy(p, &w, 4);
    int32_t acc = REEL_CPU_YR * p[0] + REEL_CPU_YG * p[1] + REEL_CPU_YB * p[2] +
                  (int32_t)((16 * p[3] + yd * (255 - p[3])) * 257);
    return clamp_u8((acc + 32768) >> 16);
}

/* Cb and Cr of four premultiplied words (a 2x2 block; missing pixels 0) over *u, *v. */
static inline void over_uv(const uint32_t w[4], uint8_t *u, uint8_t *v)
{
    int32_t sr = 0, sg = 0, sb = 0, sa = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t p[4];
        memcpy(p, &w[i], 4);
        sr += p[0];
        sg += p[1];
        sb += p[2];
        sa += p[3];
    }
    int32_t keep = 1020 - sa;
    int32_t au =
        REEL_CPU_UR * sr + REEL_CPU_UG * sg + REEL_CPU_UB * sb + (128 * sa + *u * keep) * 257;
    int32_t av =
        REEL_CPU_VR * sr + REEL_CPU_VG * sg + REEL_CPU_VB * sb + (128 * sa + *v * keep) * 257;
    *u = clamp_u8((au + 131072) >> 18);
    *v = clamp_u8((av + 131072) >> 18);
}

static void over_y_row_c(uint8_t *o, const uint32_t *src, int n)
{
    for (int x = 0; x < n; x++)
        if (src[x])
            o[x] = over_y(src[x], o[x]);
}

static void over_uv_row_c(uint8_t *ou, uint8_t *ov, const uint32_t *s0, const uint32_t *s1, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t block[4] = {s0[2 * i], s0[2 * i + 1], s1[2 * i], s1[2 * i + 1]};
        if (block[0] | block[1] | block[2] | block[3])
            over_uv(block, &ou[i], &ov[i]);
    }
}

void reel_cpu_rgba_to_yuv(const uint8_t rgba[4], uint8_t yuv[3])
{
    uint32_t w = load32(rgba);
    uint32_t block[4] = {w, w, w, w};
    yuv[0] = over_y(w, 16);
    yuv[1] = yuv[2] = 128;
    over_uv(block, &yuv[1], &yuv[2]);
}

bool reel_cpu_draw_takes_yuv(const struct reel_cpu_draw *d)
{
    return d->is_fast && !(d->fast_dx & 1) && !(d->fast_dy & 1) && !(d->tex_w & 1) &&
           !(d->tex_h & 1);
}

void reel_cpu_yuv_fill_rows(const struct reel_cpu_yuv_canvas *c, int y0, int y1,
                            const uint8_t yuv[3])
{
    for (int y = y0; y < y1; y++)
        memset(c->data[0] + (size_t)y * c->stride[0], yuv[0], (size_t)c->width);
    for (int y = y0 / 2; y < (y1 + 1) / 2; y++) {
        memset(c->data[1] + (size_t)y * c->stride[1], yuv[1], (size_t)c->width / 2);
        memset(c->data[2] + (size_t)y * c->stride[2], yuv[2], (size_t)c->width / 2);
    }
}

/* dst = (src q + dst (65536 - q)) / 65536, rounded, over n samples. */
static void lerp_span(uint8_t *dst, const uint8_t *src, int n, uint32_t q)
{
    if (q >= 65536) {
        memcpy(dst, src, (size_t)n);
        return;
    }
    reel_cpu_kernels()->lerp_row(dst, src, n, q);
}

static void lerp_row_c(uint8_t *dst, const uint8_t *src, int n, uint32_t q)
{
    uint32_t iq = 65536 - q;
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)((src[i] * q + dst[i] * iq + 32768) >> 16);
}

static inline uint8_t lerp1(uint8_t s, uint8_t d, uint32_t q)
{
    return (uint8_t)((s * q + d * (65536 - q) + 32768) >> 16);
}

/* An opaque YUV picture: each plane copied, or mixed by the alpha factor (per luma pixel under
 * masks, averaged over the 2x2 block for chroma). */
static void yuv_picture_rows(const struct reel_cpu_yuv_canvas *c, const struct reel_cpu_draw *d,
                             int y0, int y1)
{
    int ys = y0 > -d->fast_dy ? y0 : -d->fast_dy,
        ye = y1 < d->tex_h - d->fast_dy ? y1 : d->tex_h - d->fast_dy;
    int xs = -d->fast_dx > 0 ? -d->fast_dx : 0;
    int xe = d->tex_w - d->fast_dx < c->width ? d->tex_w - d->fast_dx : c->width;
    if (ys >= ye || xs >= xe)
        return;
    if (!d->n_masks) {
        uint32_t q = reel_cpu_quantise(d->alpha);
        if (!q)
            return;
        for (int y = ys; y < ye; y++)
            lerp_span(c->data[0] + (size_t)y * c->stride[0] + xs,
                      d->planes[0] + (size_t)(y + d->fast_dy) * d->plane_stride[0] + xs +
                          d->fast_dx,
                      xe - xs, q);
        for (int y = ys / 2; y < ye / 2; y++)
            for (int k = 1; k < 3; k++)
                lerp_span(c->data[k] + (size_t)y * c->stride[k] + xs / 2,
                          d->planes[k] + (size_t)(y + d->fast_dy / 2) * d->plane_stride[k] +
                              (xs + d->fast_dx) / 2,
                          (xe - xs) / 2, q);
        return;
    }
    uint32_t q[2][SPAN];
    for (int y = ys; y < ye; y += 2) {
        for (int xa = xs; xa < xe; xa += SPAN) {
            int xb = xa + SPAN < xe ? xa + SPAN : xe;
            for (int r = 0; r < 2; r++) {
                const uint8_t *s =
                    d->planes[0] + (size_t)(y + r + d->fast_dy) * d->plane_stride[0] + d->fast_dx;
                uint8_t *o = c->data[0] + (size_t)(y + r) * c->stride[0];
                for (int x = xa; x < xb; x++) {
                    q[r][x - xa] =
                        reel_cpu_quantise(d->alpha * mask_factor(d, x + 0.5, y + r + 0.5));
                    o[x] = lerp1(s[x], o[x], q[r][x - xa]);
                }
            }
            int cy = y / 2;
            for (int k = 1; k < 3; k++) {
                const uint8_t *s = d->planes[k] +
                                   (size_t)(cy + d->fast_dy / 2) * d->plane_stride[k] +
                                   d->fast_dx / 2;
                uint8_t *o = c->data[k] + (size_t)cy * c->stride[k];
                for (int x = xa; x < xb; x += 2) {
                    int i = x - xa;
                    uint32_t qc = (q[0][i] + q[0][i + 1] + q[1][i] + q[1][i + 1] + 2) >> 2;
                    o[x / 2] = lerp1(s[x / 2], o[x / 2], qc);
                }
            }
        }
    }
}

/*
 * Tiles of the canvas an RGBA draw is done in: a rotated layer walks its box image diagonally, so
 * along a whole row it touches more texel rows than the L1 cache holds before the next row comes
 * back to them; within a tile the next row pair finds them still there. Each pixel is drawn
 * once either way, so the order changes nothing in the result.
 */
#define TILE_ROWS 64 /* even: whole chroma rows */
#define TILE_COLS 64 /* even, at most SPAN */

/* Any RGBA draw: source words for two rows at a time, then Y per pixel and Cb, Cr per block. */
static void yuv_rgba_rows(const struct reel_cpu_yuv_canvas *c, const struct reel_cpu_draw *d,
                          int y0, int y1)
{
    int ys = y0 > (d->y0 & ~1) ? y0 : (d->y0 & ~1);
    int ye = y1 < d->y1 ? y1 : d->y1;
    int xs = d->x0 & ~1, xe = (d->x1 + 1) & ~1;
    if (xe > c->width)
        xe = c->width;
    uint32_t src[2][TILE_COLS];
    const struct reel_cpu_kernels *k = reel_cpu_kernels();
    for (int ty = ys; ty < ye; ty += TILE_ROWS) {
        int te = ty + TILE_ROWS < ye ? ty + TILE_ROWS : ye;
        for (int xa = xs; xa < xe; xa += TILE_COLS) {
            int xb = xa + TILE_COLS < xe ? xa + TILE_COLS : xe;
            for (int y = ty; y < te; y += 2) {
                bool any = false;
                for (int r = 0; r < 2; r++) {
                    /* row_source clears the words itself; a row past the end is all clear. */
                    bool has = y + r < c->height ? row_source(d, y + r, xa, xb, src[r])
                                                 : (memset(src[r], 0, sizeof(src[r])), false);
                    any |= has;
                    if (has)
                        k->over_y_row(c->data[0] + (size_t)(y + r) * c->stride[0] + xa, src[r],
                                      xb - xa);
                }
                if (any)
                    k->over_uv_row(c->data[1] + (size_t)(y / 2) * c->stride[1] + xa / 2,
                                   c->data[2] + (size_t)(y / 2) * c->stride[2] + xa / 2, src[0],
                                   src[1], (xb - xa) / 2);
            }
        }
    }
}

void reel_cpu_yuv_draw_rows(const struct reel_cpu_yuv_canvas *c, const struct reel_cpu_draw *d,
                            int y0, int y1)
{
    if (d->planes[0])
        yuv_picture_rows(c, d, y0, y1);
    else
        yuv_rgba_rows(c, d, y0, y1);
}

int reel_cpu_occupancy_build(struct reel_cpu_occupancy *o, const uint8_t *data, int stride, int w,
                             int h)
{
    memset(o, 0, sizeof(*o));
    if (w <= 0 || h <= 0)
        return 0;
    o->cells_w = (w + REEL_CPU_CELL - 1) >> REEL_CPU_CELL_SHIFT;
    o->cells_h = (h + REEL_CPU_CELL - 1) >> REEL_CPU_CELL_SHIFT;
    size_t sw = (size_t)o->cells_w + 1;
    o->sat = calloc(sw * ((size_t)o->cells_h + 1), sizeof(*o->sat));
    if (!o->sat)
        return -REEL_ENOMEM;
    for (int cy = 0; cy < o->cells_h; cy++) {
        int y0 = cy << REEL_CPU_CELL_SHIFT, y1 = y0 + REEL_CPU_CELL < h ? y0 + REEL_CPU_CELL : h;
        uint32_t run = 0; /* occupied cells in this row of cells, left of cx + 1 */
        for (int cx = 0; cx < o->cells_w; cx++) {
            int x0 = cx << REEL_CPU_CELL_SHIFT,
                x1 = x0 + REEL_CPU_CELL < w ? x0 + REEL_CPU_CELL : w;
            bool any = false;
            for (int y = y0; y < y1 && !any; y++) {
                const uint8_t *row = data + (size_t)y * stride;
                for (int x = 4 * x0; x < 4 * x1; x++)
                    any |= row[x] != 0;
            }
            run += any;
            o->sat[(cy + 1) * sw + cx + 1] = o->sat[cy * sw + cx + 1] + run;
        }
    }
    return 0;
}

void reel_cpu_occupancy_free(struct reel_cpu_occupancy *o)
{
    free(o->sat);
    memset(o, 0, sizeof(*o));
}

void reel_cpu_premultiply_row(uint8_t *dst, const uint8_t *src, int width)
{
    for (int x = 0; x < width; x++, dst += 4, src += 4) {
        uint32_t a = src[3];
        if (a == 255) {
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
        } else {
            dst[0] = (uint8_t)reel_cpu_div255(src[0] * a);
            dst[1] = (uint8_t)reel_cpu_div255(src[1] * a);
            dst[2] = (uint8_t)reel_cpu_div255(src[2] * a);
        }
        dst[3] = (uint8_t)a;
    }
}

void reel_cpu_unpremultiply_row(uint8_t *row, int width)
{
    for (int x = 0; x < width; x++, row += 4) {
        uint32_t a = row[3];
        if (a == 255)
            continue;
        for (int i = 0; i < 3; i++) {
            uint32_t v = a ? (row[i] * 255 + a / 2) / a : 0;
            row[i] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

const struct reel_cpu_kernels reel_cpu_kernels_c = {
    .level = REEL_CPU_SIMD_C,
    .general_row = general_row_c,
    .over_span = over_span_c,
    .over_y_row = over_y_row_c,
    .over_uv_row = over_uv_row_c,
    .lerp_row = lerp_row_c,
};
