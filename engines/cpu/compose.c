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
#include <string.h>

#include "engines/cpu/compose.h"

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
static inline uint32_t scale_px(const uint8_t *s, uint32_t q, uint32_t *a)
{
    uint8_t o[4];
    if (q >= 65536) {
        memcpy(o, s, 4);
    } else {
        for (int i = 0; i < 4; i++)
            o[i] = (uint8_t)((s[i] * q + 32768) >> 16);
    }
    *a = o[3];
    return load32(o);
}

static inline void blend(uint8_t *dst, const uint8_t *s, uint32_t q)
{
    uint32_t a;
    uint32_t w = scale_px(s, q, &a);
    store32(dst, over(w, a, load32(dst)));
}

/* Alpha factor from the transition masks at a pixel centre (1 without masks). */
static double mask_factor(const struct reel_cpu_draw *d, double px, double py)
{
    double f = 1.0;
    for (int i = 0; i < d->n_masks && f > 0.0; i++)
        f *= reel_transition_coverage(&d->masks[i], px, py, d->out_w, d->out_h);
    return f;
}

static uint32_t quantise(double f)
{
    if (!(f > 0.0))
        return 0;
    if (f >= 1.0)
        return 65536;
    return (uint32_t)(f * 65536.0 + 0.5);
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
    uint32_t fq = quantise(d->alpha);
    if (!d->n_masks) {
        if (fq)
            fast_span(row + 4 * xs, tex ? tex + 4 * (xs + d->fast_dx) : NULL, d->solid, xe - xs,
                      fq);
        return;
    }
    double py = y + 0.5;
    for (int x = xs; x < xe; x++) {
        uint32_t q = quantise(d->alpha * mask_factor(d, x + 0.5, py));
        if (q)
            blend(row + 4 * x, tex ? tex + 4 * (x + d->fast_dx) : d->solid, q);
    }
}

static void sample(const struct reel_cpu_draw *d, double u, double v, uint8_t out[4])
{
    double su = u * d->tex_sx - 0.5, sv = v * d->tex_sy - 0.5;
    double fu = floor(su), fv = floor(sv);
    uint32_t wx = (uint32_t)((su - fu) * 256.0 + 0.5);
    uint32_t wy = (uint32_t)((sv - fv) * 256.0 + 0.5);
    int ix = (int)fu, iy = (int)fv;
    int x0 = clampi(ix, 0, d->tex_w - 1), x1 = clampi(ix + 1, 0, d->tex_w - 1);
    int y0 = clampi(iy, 0, d->tex_h - 1), y1 = clampi(iy + 1, 0, d->tex_h - 1);
    const uint8_t *r0 = d->data + (size_t)y0 * d->stride, *r1 = d->data + (size_t)y1 * d->stride;
    const uint8_t *p00 = r0 + 4 * x0, *p10 = r0 + 4 * x1, *p01 = r1 + 4 * x0, *p11 = r1 + 4 * x1;
    uint32_t iwx = 256 - wx, iwy = 256 - wy;
    for (int i = 0; i < 4; i++) {
        uint32_t top = p00[i] * iwx + p10[i] * wx;
        uint32_t bot = p01[i] * iwx + p11[i] * wx;
        out[i] = (uint8_t)((top * iwy + bot * wy + 32768) >> 16);
    }
}

static void draw_row_general(const struct reel_cpu_canvas *c, const struct reel_cpu_draw *d, int y)
{
    const struct reel_affine *m = &d->inv;
    uint8_t *row = c->data + (size_t)y * c->stride;
    double py = y + 0.5;
    double bu = m->b * py + m->c, bv = m->e * py + m->f;
    uint8_t s[4];
    for (int x = d->x0; x < d->x1; x++) {
        double px = x + 0.5;
        double u = m->a * px + bu, v = m->d * px + bv;
        double cu = (u < d->bw - u ? u : d->bw - u) / d->grad_u + 0.5;
        if (!(cu > 0.0))
            continue;
        double cv = (v < d->bh - v ? v : d->bh - v) / d->grad_v + 0.5;
        if (!(cv > 0.0))
            continue;
        double f = d->alpha * (cu < 1.0 ? cu : 1.0) * (cv < 1.0 ? cv : 1.0);
        if (d->n_masks)
            f *= mask_factor(d, px, py);
        uint32_t q = quantise(f);
        if (!q)
            continue;
        if (d->data)
            sample(d, u, v, s);
        blend(row + 4 * x, d->data ? s : d->solid, q);
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
        if (d->is_fast)
            draw_row_fast(c, d, y);
        else
            draw_row_general(c, d, y);
    }
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
