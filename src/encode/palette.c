#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "encode/palette.h"

#define BINS 32768
#define MAX_COLORS 256

struct box {
    int start, end; /* range in used[] */
    double score;   /* squared error of the box, in 5-bit units; < 0 when it cannot be split */
    int axis;       /* axis of largest variance */
};

struct reel_palette {
    uint32_t *cnt;  /* pixels per bin */
    uint64_t *sum;  /* per bin: sum of r, g, b (8-bit) */
    int16_t *lut;   /* bin -> palette index, -1 = not computed yet */
    uint16_t *used; /* keys of non-empty bins */
    uint16_t *tmp;  /* sort buffer */
    int n_used;
    uint8_t pal[MAX_COLORS][3];
    int n_pal;
    struct box boxes[MAX_COLORS];
};

/* 8x8 Bayer matrix, values 0..63. */
static const uint8_t bayer8[8][8] = {
    {0, 32, 8, 40, 2, 34, 10, 42},  {48, 16, 56, 24, 50, 18, 58, 26},
    {12, 44, 4, 36, 14, 46, 6, 38}, {60, 28, 52, 20, 62, 30, 54, 22},
    {3, 35, 11, 43, 1, 33, 9, 41},  {51, 19, 59, 27, 49, 17, 57, 25},
    {15, 47, 7, 39, 13, 45, 5, 37}, {63, 31, 55, 23, 61, 29, 53, 21},
};

static inline int key_of(int r, int g, int b)
{
    return ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
}

static inline int coord(int key, int axis)
{
    return (key >> (10 - 5 * axis)) & 31;
}

struct reel_palette *reel_palette_create(void)
{
    struct reel_palette *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cnt = calloc(BINS, sizeof(*p->cnt));
    p->sum = calloc(BINS * 3, sizeof(*p->sum));
    p->lut = malloc(BINS * sizeof(*p->lut));
    p->used = malloc(BINS * sizeof(*p->used));
    p->tmp = malloc(BINS * sizeof(*p->tmp));
    if (!p->cnt || !p->sum || !p->lut || !p->used || !p->tmp)
        reel_palette_destroy(&p);
    return p;
}

void reel_palette_destroy(struct reel_palette **pp)
{
    struct reel_palette *p = pp ? *pp : NULL;
    if (!p)
        return;
    free(p->cnt);
    free(p->sum);
    free(p->lut);
    free(p->used);
    free(p->tmp);
    free(p);
    *pp = NULL;
}

static void histogram(struct reel_palette *p, const AVFrame *src)
{
    p->n_used = 0;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = src->data[0] + (ptrdiff_t)y * src->linesize[0];
        for (int x = 0; x < src->width; x++) {
            int r = row[4 * x], g = row[4 * x + 1], b = row[4 * x + 2];
            int k = key_of(r, g, b);
            if (!p->cnt[k]++)
                p->used[p->n_used++] = (uint16_t)k;
            p->sum[3 * k] += (uint64_t)r;
            p->sum[3 * k + 1] += (uint64_t)g;
            p->sum[3 * k + 2] += (uint64_t)b;
        }
    }
}

static void box_stats(const struct reel_palette *p, struct box *b)
{
    double n = 0, s1[3] = {0, 0, 0}, s2[3] = {0, 0, 0}, best = -1, total = 0;
    for (int i = b->start; i < b->end; i++) {
        int k = p->used[i];
        double c = (double)p->cnt[k];
        n += c;
        for (int a = 0; a < 3; a++) {
            double v = coord(k, a);
            s1[a] += c * v;
            s2[a] += c * v * v;
        }
    }
    b->axis = 0;
    for (int a = 0; a < 3; a++) {
        double var = s2[a] / n - (s1[a] / n) * (s1[a] / n);
        total += var;
        if (var > best) {
            best = var;
            b->axis = a;
        }
    }
    b->score = b->end - b->start < 2 ? -1 : total * n;
}

/* Sort a box's bins along its axis (counting sort over 32 values) and split it at the pixel
 * median, on a boundary between two coordinate values so the halves do not overlap. */
static void split_box(struct reel_palette *p, struct box *b, struct box *nb)
{
    int counts[33] = {0};
    uint64_t total = 0, half, acc = 0;
    int n = b->end - b->start, m;
    for (int i = b->start; i < b->end; i++) {
        counts[coord(p->used[i], b->axis) + 1]++;
        total += p->cnt[p->used[i]];
    }
    for (int v = 1; v <= 32; v++)
        counts[v] += counts[v - 1];
    for (int i = b->start; i < b->end; i++) {
        int k = p->used[i];
        p->tmp[counts[coord(k, b->axis)]++] = (uint16_t)k;
    }
    memcpy(p->used + b->start, p->tmp, (size_t)n * sizeof(*p->tmp));

    half = total / 2;
    m = b->start;
    while (m < b->end - 1 && acc + p->cnt[p->used[m]] <= half)
        acc += p->cnt[p->used[m++]];
    if (m == b->start)
        m++;
    {
        int fwd = m, back = m;
        while (fwd < b->end && coord(p->used[fwd - 1], b->axis) == coord(p->used[fwd], b->axis))
            fwd++;
        while (back > b->start + 1 &&
               coord(p->used[back - 1], b->axis) == coord(p->used[back], b->axis))
            back--;
        if (fwd < b->end)
            m = fwd;
        else if (back > b->start)
            m = back;
    }
    nb->start = m;
    nb->end = b->end;
    b->end = m;
    box_stats(p, b);
    box_stats(p, nb);
}

static void mean_color(const struct reel_palette *p, int start, int end, uint8_t out[3])
{
    uint64_t s[3] = {0, 0, 0}, n = 0;
    for (int i = start; i < end; i++) {
        int k = p->used[i];
        n += p->cnt[k];
        for (int a = 0; a < 3; a++)
            s[a] += p->sum[3 * k + a];
    }
    for (int a = 0; a < 3; a++)
        out[a] = (uint8_t)(n ? (s[a] + n / 2) / n : 0);
}

static int color_dist(const uint8_t *a, int r, int g, int b)
{
    int dr = a[0] - r, dg = a[1] - g, db = a[2] - b;
    /* Rough perceptual weights: the eye is most sensitive to green, least to blue. */
    return 3 * dr * dr + 4 * dg * dg + 2 * db * db;
}

static int nearest(const struct reel_palette *p, int r, int g, int b)
{
    int best = 0, best_d = 1 << 30;
    for (int i = 0; i < p->n_pal; i++) {
        int d = color_dist(p->pal[i], r, g, b);
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    return best;
}

/* Dither spread: the median distance from a palette colour to its nearest neighbour, so the
 * dither pattern covers the gaps of this particular palette. */
static int dither_spread(const struct reel_palette *p)
{
    int nn[MAX_COLORS], n = p->n_pal;
    for (int i = 0; i < n; i++) {
        int best = 1 << 30;
        for (int j = 0; j < n; j++) {
            int dr = p->pal[i][0] - p->pal[j][0], dg = p->pal[i][1] - p->pal[j][1],
                db = p->pal[i][2] - p->pal[j][2];
            int d = dr * dr + dg * dg + db * db;
            if (j != i && d < best)
                best = d;
        }
        nn[i] = best;
    }
    /* Partial selection sort up to the median is enough for 256 values. */
    for (int i = 0; i <= n / 2; i++)
        for (int j = i + 1; j < n; j++)
            if (nn[j] < nn[i]) {
                int t = nn[i];
                nn[i] = nn[j];
                nn[j] = t;
            }
    {
        int med = nn[n / 2], s = 0;
        while ((s + 1) * (s + 1) <= med && s < 32)
            s++;
        return s;
    }
}

static inline int clamp255(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

int reel_palette_quantize(struct reel_palette *p, const AVFrame *src, AVFrame *dst)
{
    uint32_t *pal_out;
    int spread = 0, dith[64];
    if (src->format != AV_PIX_FMT_RGBA || dst->format != AV_PIX_FMT_PAL8 ||
        src->width != dst->width || src->height != dst->height || !dst->data[1])
        return -REEL_EINTERNAL;

    histogram(p, src);
    memset(p->lut, 0xff, BINS * sizeof(*p->lut));
    if (p->n_used <= MAX_COLORS) {
        /* Few enough colours to keep every one: no dithering needed. */
        p->n_pal = p->n_used;
        for (int i = 0; i < p->n_used; i++) {
            mean_color(p, i, i + 1, p->pal[i]);
            p->lut[p->used[i]] = (int16_t)i;
        }
    } else {
        int n_boxes = 1;
        p->boxes[0].start = 0;
        p->boxes[0].end = p->n_used;
        box_stats(p, &p->boxes[0]);
        while (n_boxes < MAX_COLORS) {
            int pick = -1;
            for (int i = 0; i < n_boxes; i++)
                if (p->boxes[i].score > 0 && (pick < 0 || p->boxes[i].score > p->boxes[pick].score))
                    pick = i;
            if (pick < 0)
                break;
            split_box(p, &p->boxes[pick], &p->boxes[n_boxes++]);
        }
        p->n_pal = n_boxes;
        for (int i = 0; i < n_boxes; i++)
            mean_color(p, p->boxes[i].start, p->boxes[i].end, p->pal[i]);
        spread = dither_spread(p);
    }
    for (int i = 0; i < 64; i++)
        dith[i] = (int)((((bayer8[i / 8][i % 8] + 0.5) / 64.0) - 0.5) * spread);

    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = src->data[0] + (ptrdiff_t)y * src->linesize[0];
        uint8_t *out = dst->data[0] + (ptrdiff_t)y * dst->linesize[0];
        const int *drow = dith + 8 * (y & 7);
        for (int x = 0; x < src->width; x++) {
            int d = drow[x & 7];
            int r = clamp255(row[4 * x] + d), g = clamp255(row[4 * x + 1] + d),
                b = clamp255(row[4 * x + 2] + d);
            int k = key_of(r, g, b);
            if (p->lut[k] < 0)
                p->lut[k] = (int16_t)nearest(p, (r & ~7) + 4, (g & ~7) + 4, (b & ~7) + 4);
            out[x] = (uint8_t)p->lut[k];
        }
    }

    pal_out = (uint32_t *)dst->data[1];
    for (int i = 0; i < 256; i++) {
        const uint8_t *c = i < p->n_pal ? p->pal[i] : p->pal[0];
        pal_out[i] = 0xff000000u | ((uint32_t)c[0] << 16) | ((uint32_t)c[1] << 8) | c[2];
    }

    /* Leave the histogram zeroed for the next frame, touching only the bins used. */
    for (int i = 0; i < p->n_used; i++) {
        int k = p->used[i];
        p->cnt[k] = 0;
        p->sum[3 * k] = p->sum[3 * k + 1] = p->sum[3 * k + 2] = 0;
    }
    return 0;
}
