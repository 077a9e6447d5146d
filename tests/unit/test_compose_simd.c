/*
 * The cpu compositor's SIMD levels against its C reference: many random draws (affine transforms
 * with rotation, scale and sub-pixel offsets, alpha, masks, solid colours and textures with
 * transparent and over-saturated texels, odd widths, clipping at the canvas edges, with and without
 * the map of clear cells) onto RGBA and YUV canvases, and crossfades of YUV pictures with every
 * kind of alpha factor, drawn once at the C level and once at each SIMD level this CPU runs: every
 * byte must match.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engines/cpu/compose.h"
#include "engines/cpu/compose_simd.h"

#define MAX_W 211
#define MAX_H 67
#define MAX_T 72

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static int rndi(int lo, int hi) /* lo..hi inclusive */
{
    return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

static double rndf(void)
{
    return rnd() / 4294967296.0;
}

/* A texture of premultiplied texels: transparent runs, partial alpha, opaque, and a few words
 * whose colour exceeds their alpha (the saturating path of "over"). */
static void fill_texture(uint8_t *t, int w, int h)
{
    int style = rndi(0, 4);
    if (style == 4) {
        /* clear but for a few rectangles, like text or a cut-out image */
        memset(t, 0, (size_t)w * h * 4);
        for (int n = rndi(0, 6); n > 0; n--) {
            int x0 = rndi(0, w - 1), y0 = rndi(0, h - 1);
            int x1 = x0 + rndi(1, 12), y1 = y0 + rndi(1, 12);
            for (int y = y0; y < y1 && y < h; y++)
                for (int x = x0; x < x1 && x < w; x++) {
                    uint8_t *p = t + 4 * (y * w + x);
                    p[3] = (uint8_t)(rndi(0, 1) ? 255 : rndi(1, 254));
                    for (int c = 0; c < 3; c++)
                        p[c] = (uint8_t)rndi(0, p[3]);
                }
        }
        return;
    }
    for (int i = 0; i < w * h; i++) {
        uint8_t *p = t + 4 * i;
        int a;
        switch (style) {
        case 0:
            a = 255;
            break;
        case 1:
            a = (i / 5) % 3 == 0 ? 0 : rndi(0, 255);
            break;
        default:
            a = rndi(0, 9) < 3 ? 0 : (rndi(0, 1) ? 255 : rndi(1, 254));
            break;
        }
        p[3] = (uint8_t)a;
        for (int c = 0; c < 3; c++)
            p[c] = (uint8_t)(a ? rndi(0, a) : 0);
        if (rndi(0, 99) == 0)
            p[rndi(0, 2)] = (uint8_t)rndi(0, 255);
    }
}

static void fill_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* A random alpha factor: often 1, sometimes tiny, sometimes an exact 16-bit q. */
static double random_alpha(void)
{
    switch (rndi(0, 4)) {
    case 0:
    case 1:
        return 1.0;
    case 2:
        return rndf();
    case 3:
        return rndi(0, 65536) / 65536.0;
    default:
        return rndf() * 0.01;
    }
}

static void random_masks(struct reel_cpu_draw *d)
{
    d->n_masks = 0;
    if (rndi(0, 5))
        return;
    static const enum reel_transition_type types[] = {
        REEL_TR_WIPE_LEFT,   REEL_TR_WIPE_RIGHT,   REEL_TR_WIPE_UP, REEL_TR_WIPE_DOWN,
        REEL_TR_CIRCLE_OPEN, REEL_TR_CIRCLE_CLOSE, REEL_TR_RADIAL,
    };
    d->masks[0] = (struct reel_tr_state){types[rndi(0, 6)], rndf()};
    d->n_masks = 1;
}

/* Set d's inverse from fwd and complete it; false when it touches nothing. */
static bool place(struct reel_cpu_draw *d, struct reel_affine fwd)
{
    double det = fwd.a * fwd.e - fwd.b * fwd.d;
    d->inv.a = fwd.e / det;
    d->inv.b = -fwd.b / det;
    d->inv.d = -fwd.d / det;
    d->inv.e = fwd.a / det;
    d->inv.c = -(d->inv.a * fwd.c + d->inv.b * fwd.f);
    d->inv.f = -(d->inv.d * fwd.c + d->inv.e * fwd.f);
    return reel_cpu_draw_setup(d, &fwd);
}

/* A random RGBA draw (texture or solid) on a w x h canvas: general (scaled, rotated, sub-pixel),
 * fast (integer offset), or a tiny box with a huge texel density (far texture coordinates). */
static struct reel_cpu_occupancy occ;

static bool random_draw(struct reel_cpu_draw *d, const uint8_t *tex, int w, int h)
{
    memset(d, 0, sizeof(*d));
    bool solid = rndi(0, 4) == 0;
    int tw = rndi(1, MAX_T), th = rndi(1, MAX_T);
    if (!solid) {
        d->data = tex;
        d->stride = 4 * MAX_T;
        d->tex_w = tw;
        d->tex_h = th;
        /* half the time with the map of clear cells the engine gives static box images */
        reel_cpu_occupancy_free(&occ);
        if (rndi(0, 1) && reel_cpu_occupancy_build(&occ, tex, d->stride, tw, th) == 0)
            d->occ = &occ;
    } else {
        for (int c = 0; c < 4; c++)
            d->solid[c] = (uint8_t)rndi(0, 255);
        if (rndi(0, 1))
            d->solid[3] = 255;
        for (int c = 0; c < 3; c++)
            if (d->solid[c] > d->solid[3] && rndi(0, 9))
                d->solid[c] = d->solid[3];
    }
    d->alpha = random_alpha();
    d->out_w = w;
    d->out_h = h;
    random_masks(d);
    int kind = rndi(0, 9);
    struct reel_affine fwd;
    if (kind < 2) {
        /* fast path: whole box at an integer offset, partly off the canvas */
        d->bw = solid ? rndi(1, 80) : tw;
        d->bh = solid ? rndi(1, 80) : th;
        fwd = (struct reel_affine){1, 0, rndi(-40, w), 0, 1, rndi(-40, h)};
    } else if (kind == 2 && !solid) {
        /* tiny box, thousands of texels per box unit */
        d->bw = 1e-7 * rndi(1, 10);
        d->bh = rndi(0, 1) ? 1e-7 : th;
        double s = 1.0 + rndf() * 30.0;
        fwd = (struct reel_affine){s * 1e6, 0, rndf() * w, 0, s, rndf() * h};
        if (rndi(0, 1)) {
            double c = cos(0.3), sn = sin(0.3);
            fwd = (struct reel_affine){c * s * 1e6,  -sn * s, rndf() * w,
                                       sn * s * 1e6, c * s,   rndf() * h};
        } else if (rndi(0, 1)) {
            /* upright, the box's width far below a pixel: the pixels beside it still cover it in
             * part, at texel columns beyond +-1e8 and past 32 bits, which the SIMD kernels hand
             * to the C */
            d->bh = th;
            fwd = (struct reel_affine){0.005 + rndf() * 0.2, 0, rndf() * w, 0, 1, rndf() * h};
        }
    } else {
        d->bw = solid ? 1.0 + rndf() * 90.0 : tw * (0.25 + rndf() * 2.0);
        d->bh = solid ? 1.0 + rndf() * 60.0 : th * (0.25 + rndf() * 2.0);
        double sx = 0.2 + rndf() * 2.8, sy = rndi(0, 3) ? sx : 0.2 + rndf() * 2.8;
        double th_r = 0.0;
        if (kind >= 6)
            th_r = rndi(0, 5) == 0 ? M_PI / 2 * rndi(1, 3) : (rndf() - 0.5) * 2 * M_PI;
        double c = cos(th_r), s = sin(th_r);
        /* anchor at the box centre, placed anywhere near the canvas (clipping on every side) */
        double cx = d->bw / 2, cy = d->bh / 2;
        double x = rndf() * (w + 60) - 30, y = rndf() * (h + 60) - 30;
        if (kind == 5) { /* upright at an integer offset, scaled: the general path's easy case */
            sx = sy = 1.0;
            d->bw = d->data ? tw * 0.5 : d->bw;
            x = floor(x);
            y = floor(y);
        }
        fwd.a = c * sx;
        fwd.b = -s * sy;
        fwd.d = s * sx;
        fwd.e = c * sy;
        fwd.c = x - (fwd.a * cx + fwd.b * cy);
        fwd.f = y - (fwd.d * cx + fwd.e * cy);
    }
    return place(d, fwd);
}

static int first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (int)i;
    return -1;
}

static uint8_t tex[MAX_T * MAX_T * 4];
static uint8_t base[MAX_W * MAX_H * 4], ref[MAX_W * MAX_H * 4], got[MAX_W * MAX_H * 4];

/* Draw with level l into out (a copy of base): all rows, or in random bands. */
static void draw_rgba(enum reel_cpu_simd l, const struct reel_cpu_draw *d, int w, int h,
                      uint8_t *out, int band)
{
    reel_cpu_simd_force(l);
    memcpy(out, base, (size_t)w * h * 4);
    struct reel_cpu_canvas c = {out, w * 4, w, h};
    for (int y = 0; y < h; y += band)
        reel_cpu_draw_rows(&c, d, y, y + band < h ? y + band : h);
}

static int test_rgba(enum reel_cpu_simd level, int cases)
{
    int bad = 0;
    for (int i = 0; i < cases && bad < 5; i++) {
        int w = rndi(1, MAX_W), h = rndi(1, MAX_H);
        fill_texture(tex, MAX_T, MAX_T);
        fill_bytes(base, (size_t)w * h * 4);
        struct reel_cpu_draw d;
        if (!random_draw(&d, tex, w, h))
            continue;
        int band = rndi(0, 1) ? h : rndi(1, 9);
        draw_rgba(REEL_CPU_SIMD_C, &d, w, h, ref, band);
        draw_rgba(level, &d, w, h, got, band);
        int at = first_diff(ref, got, (size_t)w * h * 4);
        CHECK_MSG(
            at < 0,
            "rgba case %d at %s: %dx%d canvas, byte %d (x %d, y %d, channel %d): c %d, simd %d "
            "(fast %d, masks %d, solid %d, alpha %.9g)",
            i, reel_cpu_simd_name(level), w, h, at, at / 4 % w, at / 4 / w, at % 4,
            at >= 0 ? ref[at] : 0, at >= 0 ? got[at] : 0, d.is_fast, d.n_masks, !d.data, d.alpha);
        bad += at >= 0;
    }
    return bad;
}

struct yuv_buf {
    uint8_t p[3][MAX_W * MAX_H];
};

static struct yuv_buf ybase, yref, ygot, pic;

static void draw_yuv(enum reel_cpu_simd l, const struct reel_cpu_draw *d, int w, int h,
                     struct yuv_buf *out)
{
    reel_cpu_simd_force(l);
    *out = ybase;
    struct reel_cpu_yuv_canvas c = {{out->p[0], out->p[1], out->p[2]}, {w, w / 2, w / 2}, w, h};
    /* bands of an even number of rows, like the engine's threads */
    int band = 2 * rndi(1, 8);
    for (int y = 0; y < h; y += band)
        reel_cpu_yuv_draw_rows(&c, d, y, y + band < h ? y + band : h);
}

static int compare_yuv(const char *what, int i, enum reel_cpu_simd level, int w, int h,
                       const struct reel_cpu_draw *d)
{
    size_t n[3] = {(size_t)w * h, (size_t)(w / 2) * (h / 2), (size_t)(w / 2) * (h / 2)};
    for (int k = 0; k < 3; k++) {
        int at = first_diff(yref.p[k], ygot.p[k], n[k]);
        CHECK_MSG(at < 0,
                  "%s case %d at %s: %dx%d canvas, plane %d byte %d: c %d, simd %d (fast %d, "
                  "masks %d, alpha %.9g)",
                  what, i, reel_cpu_simd_name(level), w, h, k, at, at >= 0 ? yref.p[k][at] : 0,
                  at >= 0 ? ygot.p[k][at] : 0, d->is_fast, d->n_masks, d->alpha);
        if (at >= 0)
            return 1;
    }
    return 0;
}

static int test_yuv(enum reel_cpu_simd level, int cases)
{
    int bad = 0;
    for (int i = 0; i < cases && bad < 5; i++) {
        int w = 2 * rndi(1, MAX_W / 2), h = 2 * rndi(1, MAX_H / 2);
        fill_texture(tex, MAX_T, MAX_T);
        for (int k = 0; k < 3; k++)
            fill_bytes(ybase.p[k], sizeof(ybase.p[k]));
        struct reel_cpu_draw d;
        if (!random_draw(&d, tex, w, h))
            continue;
        draw_yuv(REEL_CPU_SIMD_C, &d, w, h, &yref);
        draw_yuv(level, &d, w, h, &ygot);
        bad += compare_yuv("yuv", i, level, w, h, &d);
    }
    return bad;
}

/* Opaque YUV pictures crossfaded in: q over 0..65536 with its edges, masks sometimes. */
static int test_picture(enum reel_cpu_simd level, int cases)
{
    static const uint32_t edges[] = {0, 1, 2, 255, 256, 32767, 32768, 32769, 65280, 65535, 65536};
    int bad = 0;
    for (int i = 0; i < cases && bad < 5; i++) {
        int w = 2 * rndi(1, MAX_W / 2), h = 2 * rndi(1, MAX_H / 2);
        int tw = 2 * rndi(1, MAX_W / 2), th = 2 * rndi(1, MAX_H / 2);
        for (int k = 0; k < 3; k++) {
            fill_bytes(ybase.p[k], sizeof(ybase.p[k]));
            fill_bytes(pic.p[k], sizeof(pic.p[k]));
        }
        struct reel_cpu_draw d;
        memset(&d, 0, sizeof(d));
        d.bw = tw;
        d.bh = th;
        d.out_w = w;
        d.out_h = h;
        uint32_t q = i < 11 * 4 ? edges[i % 11] : (uint32_t)rndi(0, 65536);
        d.alpha = q / 65536.0;
        if (i >= 11 * 4)
            random_masks(&d);
        struct reel_affine fwd = {1, 0, 2 * rndi(-20, w / 2), 0, 1, 2 * rndi(-20, h / 2)};
        if (!place(&d, fwd) || !reel_cpu_draw_takes_yuv(&d))
            continue;
        for (int k = 0; k < 3; k++) {
            d.planes[k] = pic.p[k];
            d.plane_stride[k] = k ? tw / 2 : tw;
        }
        draw_yuv(REEL_CPU_SIMD_C, &d, w, h, &yref);
        draw_yuv(level, &d, w, h, &ygot);
        bad += compare_yuv("picture", i, level, w, h, &d);
    }
    return bad;
}

int main(int argc, char **argv)
{
    /* An optional seed, to run other random draws than the default ones. */
    if (argc > 1)
        rng = strtoull(argv[1], NULL, 0) | 1;
    enum reel_cpu_simd best = reel_cpu_simd_best();
    printf("best level on this CPU: %s\n", reel_cpu_simd_name(best));
    CHECK_INT_EQ(reel_cpu_simd_force(REEL_CPU_SIMD_C), REEL_CPU_SIMD_C);
    CHECK_INT_EQ(reel_cpu_kernels()->level, REEL_CPU_SIMD_C);
#ifdef REEL_CPU_HAVE_X86
    /* Every x86-64 this runs on in practice has SSE4.1; a build that never compares would pass
     * for nothing. */
    CHECK(best >= REEL_CPU_SIMD_SSE41);
#endif
    for (int l = REEL_CPU_SIMD_SSE41; l <= (int)best; l++) {
        enum reel_cpu_simd level = (enum reel_cpu_simd)l;
        CHECK_INT_EQ(reel_cpu_simd_force(level), level);
        CHECK_INT_EQ(reel_cpu_kernels()->level, level);
        int bad = test_rgba(level, 6000) + test_yuv(level, 4000) + test_picture(level, 1500);
        printf("%s: %d mismatching cases\n", reel_cpu_simd_name(level), bad);
    }
    /* Asking above what the CPU runs gives the best it runs. */
    CHECK_INT_EQ(reel_cpu_simd_force(REEL_CPU_SIMD_AVX2), best);
    reel_cpu_occupancy_free(&occ);
    CHECK_DONE();
}
