/*
 * Effects on premultiplied RGBA8.
 *
 * Colour effects work on straight colour as the SPEC defines them (c = C / A), in double
 * precision, clamping after each effect; the pixel is premultiplied and rounded once at the end
 * of a run of colour effects, so chaining them does not accumulate 8-bit rounding.
 *
 * Blur is a separable Gaussian (kernel radius ceil(3 sigma), edges clamped) on the premultiplied
 * values. Blurring premultiplied colour weights every pixel's colour by its alpha, which is what
 * a blurred picture of the layer looks like; blurring straight colour would pull the (meaningless)
 * colour of transparent pixels into the visible edge and leave dark or coloured fringes. Weights
 * are 16-bit fixed point summing to exactly 65536 and the intermediate is kept at 8.8 bits, so
 * the result is exact integer arithmetic, identical on every run and band split.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "engines/cpu/effects.h"
#include "render/blur_kernel.h"

/* BT.709 luma weights, also used by saturation (SPEC 2.5). */
#define KR 0.2126
#define KG 0.7152
#define KB 0.0722

static double clamp01(double v)
{
    return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

static void chroma_709(double r, double g, double b, double *cb, double *cr)
{
    double y = KR * r + KG * g + KB * b;
    *cb = (b - y) / 1.8556 + 0.5;
    *cr = (r - y) / 1.5748 + 0.5;
}

/* One colour effect on straight colour (r, g, b) and alpha a, all in 0..1. */
static void color_effect(const struct reel_effect *e, double *r, double *g, double *b, double *a)
{
    double v = e->value;
    switch (e->type) {
    case REEL_FX_BRIGHTNESS:
        *r = clamp01(*r + v);
        *g = clamp01(*g + v);
        *b = clamp01(*b + v);
        break;
    case REEL_FX_CONTRAST:
        *r = clamp01((*r - 0.5) * v + 0.5);
        *g = clamp01((*g - 0.5) * v + 0.5);
        *b = clamp01((*b - 0.5) * v + 0.5);
        break;
    case REEL_FX_SATURATION:
    case REEL_FX_GRAYSCALE: {
        double s = e->type == REEL_FX_GRAYSCALE ? 0.0 : v;
        double l = KR * *r + KG * *g + KB * *b;
        *r = clamp01(l + (*r - l) * s);
        *g = clamp01(l + (*g - l) * s);
        *b = clamp01(l + (*b - l) * s);
        break;
    }
    case REEL_FX_SEPIA: {
        double r0 = *r, g0 = *g, b0 = *b;
        *r = clamp01(0.393 * r0 + 0.769 * g0 + 0.189 * b0);
        *g = clamp01(0.349 * r0 + 0.686 * g0 + 0.168 * b0);
        *b = clamp01(0.272 * r0 + 0.534 * g0 + 0.131 * b0);
        break;
    }
    case REEL_FX_INVERT:
        *r = 1.0 - *r;
        *g = 1.0 - *g;
        *b = 1.0 - *b;
        break;
    case REEL_FX_CHROMA_KEY: {
        double kcb, kcr, cb, cr;
        chroma_709(e->color.r / 255.0, e->color.g / 255.0, e->color.b / 255.0, &kcb, &kcr);
        chroma_709(*r, *g, *b, &cb, &cr);
        double d = sqrt(((cb - kcb) * (cb - kcb) + (cr - kcr) * (cr - kcr)) / 2.0);
        double k;
        if (d < e->similarity)
            k = 0.0;
        else if (e->smoothness > 0.0)
            k = clamp01((d - e->similarity) / e->smoothness);
        else
            k = 1.0;
        *a *= k;
        break;
    }
    default:
        break;
    }
}

static void color_run_pixel(const struct reel_effect *fx, int n, uint8_t *p)
{
    int a8 = p[3];
    double a = a8 / 255.0;
    double r = 0.0, g = 0.0, b = 0.0;
    if (a8) {
        /* Premultiplied input should have C <= A; clamping keeps a bad input from leaving 0..1. */
        r = clamp01(p[0] / (double)a8);
        g = clamp01(p[1] / (double)a8);
        b = clamp01(p[2] / (double)a8);
    }
    for (int i = 0; i < n; i++)
        color_effect(&fx[i], &r, &g, &b, &a);
    double s = a * 255.0;
    p[0] = (uint8_t)(r * s + 0.5);
    p[1] = (uint8_t)(g * s + 0.5);
    p[2] = (uint8_t)(b * s + 0.5);
    p[3] = (uint8_t)(s + 0.5);
}

void reel_cpu_effects_pixel(const struct reel_effect *fx, int n, uint8_t px[4])
{
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && fx[j].type != REEL_FX_BLUR)
            j++;
        if (j > i)
            color_run_pixel(fx + i, j - i, px);
        i = j + 1;
    }
}

struct color_job {
    const struct reel_effect *fx;
    int n;
    struct reel_image *img;
    struct reel_cpu_rect at;
};

static void color_band(void *ctx, int band, int n_bands)
{
    struct color_job *j = ctx;
    int y0, y1;
    reel_cpu_band_rows(j->at.y0, j->at.y1, band, n_bands, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        uint8_t *row = j->img->data + (size_t)y * j->img->stride;
        for (int x = j->at.x0; x < j->at.x1; x++)
            color_run_pixel(j->fx, j->n, row + 4 * x);
    }
}

/*
 * One blur: the output rectangle out from the input rectangle in (out grown by r, clamped to
 * the image), which holds every pixel the clamped kernel reads. The horizontal pass writes the
 * columns of out for the rows of in to tmp (out's width, in's height); the vertical pass writes
 * out. Indices are clamped to the image, never to the rectangles, so the pixels of out are the
 * same as when the whole image is blurred.
 */
struct blur_job {
    struct reel_image *img;
    uint16_t *tmp;     /* (out.x1 - out.x0) x (in.y1 - in.y0) x 4, 8.8 fixed point */
    const uint32_t *w; /* 2r+1 weights summing to 65536 */
    int r;
    struct reel_cpu_rect in, out;
};

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static void blur_h_band(void *ctx, int band, int n_bands)
{
    struct blur_job *j = ctx;
    int wd = j->img->width, r = j->r, tw = j->out.x1 - j->out.x0;
    int y0, y1;
    reel_cpu_band_rows(j->in.y0, j->in.y1, band, n_bands, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        const uint8_t *src = j->img->data + (size_t)y * j->img->stride;
        uint16_t *dst = j->tmp + (size_t)(y - j->in.y0) * tw * 4;
        for (int x = j->out.x0; x < j->out.x1; x++) {
            uint32_t acc[4] = {0, 0, 0, 0};
            for (int k = -r; k <= r; k++) {
                const uint8_t *s = src + 4 * clampi(x + k, 0, wd - 1);
                uint32_t wk = j->w[k + r];
                acc[0] += wk * s[0];
                acc[1] += wk * s[1];
                acc[2] += wk * s[2];
                acc[3] += wk * s[3];
            }
            uint16_t *o = dst + 4 * (x - j->out.x0);
            for (int c = 0; c < 4; c++)
                o[c] = (uint16_t)((acc[c] + 128) >> 8);
        }
    }
}

#define CHUNK 256

static void blur_v_band(void *ctx, int band, int n_bands)
{
    struct blur_job *j = ctx;
    int ht = j->img->height, r = j->r, tw = j->out.x1 - j->out.x0;
    int y0, y1;
    reel_cpu_band_rows(j->out.y0, j->out.y1, band, n_bands, &y0, &y1);
    uint64_t acc[CHUNK * 4];
    for (int y = y0; y < y1; y++) {
        uint8_t *dst = j->img->data + (size_t)y * j->img->stride + 4 * (size_t)j->out.x0;
        for (int x0 = 0; x0 < tw; x0 += CHUNK) {
            int n = tw - x0 < CHUNK ? tw - x0 : CHUNK;
            memset(acc, 0, sizeof(acc[0]) * (size_t)n * 4);
            for (int k = -r; k <= r; k++) {
                int sy = clampi(y + k, 0, ht - 1) - j->in.y0;
                const uint16_t *s = j->tmp + ((size_t)sy * tw + x0) * 4;
                uint64_t wk = j->w[k + r];
                for (int i = 0; i < n * 4; i++)
                    acc[i] += wk * s[i];
            }
            for (int i = 0; i < n * 4; i++)
                dst[x0 * 4 + i] = (uint8_t)((acc[i] + (1u << 23)) >> 24);
        }
    }
}

/* The blur's kernel radius, or 0 for none. */
static int blur_radius(const struct reel_effect *e, int *r)
{
    *r = 0;
    if (e->type != REEL_FX_BLUR || !(e->sigma > 0.0))
        return 0;
    double rr = ceil(3.0 * e->sigma);
    if (rr > 1e6)
        return -REEL_ENOMEM;
    *r = (int)rr;
    return 0;
}

static struct reel_cpu_rect grow(struct reel_cpu_rect a, int r, const struct reel_image *img)
{
    struct reel_cpu_rect g = {a.x0 - r, a.y0 - r, a.x1 + r, a.y1 + r};
    g.x0 = clampi(g.x0, 0, img->width);
    g.y0 = clampi(g.y0, 0, img->height);
    g.x1 = clampi(g.x1, g.x0, img->width);
    g.y1 = clampi(g.y1, g.y0, img->height);
    return g;
}

static int blur(double sigma, int r, struct reel_image *img, struct reel_cpu_rect in,
                struct reel_cpu_rect out, struct reel_cpu_pool *pool,
                struct reel_cpu_scratch *scratch)
{
    if (out.x0 >= out.x1 || out.y0 >= out.y1)
        return 0;
    size_t need = (size_t)(out.x1 - out.x0) * (size_t)(in.y1 - in.y0) * 4;
    struct reel_cpu_scratch local = {0};
    struct reel_cpu_scratch *s = scratch ? scratch : &local;
    if (s->cap < need) {
        uint16_t *b = realloc(s->buf, need * sizeof(*b));
        if (!b)
            return -REEL_ENOMEM;
        s->buf = b;
        s->cap = need;
    }
    uint32_t *w = reel_blur_kernel_create(sigma, r);
    if (!w) {
        reel_cpu_scratch_uninit(&local);
        return -REEL_ENOMEM;
    }
    struct blur_job job = {.img = img, .tmp = s->buf, .w = w, .r = r, .in = in, .out = out};
    reel_cpu_pool_run(pool, blur_h_band, &job);
    reel_cpu_pool_run(pool, blur_v_band, &job);
    free(w);
    reel_cpu_scratch_uninit(&local);
    return 0;
}

int reel_cpu_effects_apply_rect(const struct reel_effect *fx, int n, struct reel_image *img,
                                const struct reel_cpu_rect *want, struct reel_cpu_pool *pool,
                                struct reel_cpu_scratch *scratch)
{
    if (n <= 0 || img->width <= 0 || img->height <= 0)
        return 0;
    struct reel_cpu_rect whole = {0, 0, img->width, img->height};
    struct reel_cpu_rect stack[16], *at = n < 16 ? stack : malloc(sizeof(*at) * (size_t)(n + 1));
    if (!at)
        return -REEL_ENOMEM;
    /* Backwards: what each effect must produce so that the last produces want. */
    at[n] = want ? grow(*want, 0, img) : whole;
    int ret = 0;
    for (int i = n - 1; i >= 0 && ret == 0; i--) {
        int r;
        ret = blur_radius(&fx[i], &r);
        at[i] = grow(at[i + 1], r, img);
    }
    for (int i = 0; i < n && ret == 0;) {
        if (fx[i].type == REEL_FX_BLUR) {
            int r;
            blur_radius(&fx[i], &r);
            if (r > 0)
                ret = blur(fx[i].sigma, r, img, at[i], at[i + 1], pool, scratch);
            i++;
            continue;
        }
        int j = i;
        while (j < n && fx[j].type != REEL_FX_BLUR)
            j++;
        struct color_job job = {.fx = fx + i, .n = j - i, .img = img, .at = at[i]};
        if (at[i].x0 < at[i].x1 && at[i].y0 < at[i].y1)
            reel_cpu_pool_run(pool, color_band, &job);
        i = j;
    }
    if (at != stack)
        free(at);
    return ret;
}

int reel_cpu_effects_apply(const struct reel_effect *fx, int n, struct reel_image *img,
                           struct reel_cpu_pool *pool, struct reel_cpu_scratch *scratch)
{
    return reel_cpu_effects_apply_rect(fx, n, img, NULL, pool, scratch);
}

void reel_cpu_scratch_uninit(struct reel_cpu_scratch *s)
{
    if (!s)
        return;
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}
