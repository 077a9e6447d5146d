/*
 * cpu engine: pixel probes proving the SPEC's semantics (geometry, opacity, transitions, fit,
 * effects, colour conversion), determinism across runs and thread counts, bounded memory, and
 * video layers (trim, speed, loop) on a generated clip (needs the ffmpeg command-line tool; those
 * checks are skipped without it).
 *
 * Timelines are built by hand with every default the parser would set, so this test depends only
 * on the engine and the shared timeline evaluator.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "check.h"
#include "render/engine.h"
#include "render/scene.h"
#include "render/video_source.h"
#include "timeline/timeline.h"

/* This test links the engine alone, so it supplies the registry the executable normally has. */
extern const struct reel_engine_ops reel_engine_cpu_ops;
const struct reel_engine_ops *const reel_engine_registry[] = {&reel_engine_cpu_ops, NULL};

#define W 320
#define H 240

static const struct reel_color BLACK = {0, 0, 0, 255};
static const struct reel_color RED = {255, 0, 0, 255};
static const struct reel_color BLUE = {0, 0, 255, 255};
static const struct reel_color WHITE = {255, 255, 255, 255};

static struct reel_timeline *new_timeline(int w, int h, struct reel_color bg, int n_layers)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->out.width = w;
    tl->out.height = h;
    tl->out.fps_num = 25;
    tl->out.fps_den = 1;
    tl->out.duration_us = 10 * REEL_US;
    tl->out.background = bg;
    tl->layers = calloc((size_t)n_layers, sizeof(*tl->layers));
    tl->n_layers = n_layers;
    for (int i = 0; i < n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        l->type = REEL_LAYER_COLOR;
        l->index = i;
        snprintf(l->path, sizeof(l->path), "layers[%d]", i);
        l->duration_us = 10 * REEL_US;
        l->x = w / 2.0;
        l->y = h / 2.0;
        l->anchor_x = l->anchor_y = 0.5;
        l->fit = REEL_FIT_COVER;
        l->scale = l->scale_x = l->scale_y = 1.0;
        l->opacity = 1.0;
        l->speed = 1.0;
        l->volume = 1.0;
        l->color = WHITE;
    }
    return tl;
}

static void set_box(struct reel_layer *l, double x, double y, double w, double h, double ax,
                    double ay)
{
    l->x = x;
    l->y = y;
    l->width = w;
    l->height = h;
    l->anchor_x = ax;
    l->anchor_y = ay;
}

static struct reel_transition make_tr(enum reel_transition_type type, int64_t dur_us,
                                      enum reel_easing_kind ease)
{
    struct reel_transition t = {.type = type, .duration_us = dur_us};
    t.easing.kind = ease;
    return t;
}

static struct reel_keyframe make_key(int64_t t_us, double value)
{
    struct reel_keyframe k = {.time_us = t_us, .value = value};
    k.easing.kind = REEL_EASE_LINEAR;
    return k;
}

static void add_effect(struct reel_layer *l, struct reel_effect e)
{
    l->effects = realloc(l->effects, sizeof(*l->effects) * (size_t)(l->n_effects + 1));
    l->effects[l->n_effects++] = e;
}

/* Render one frame of tl at t_us; content may be NULL (no static layers). */
static AVFrame *render_at(const struct reel_timeline *tl, struct reel_image *content,
                          enum AVPixelFormat fmt, int threads, int64_t t_us)
{
    struct reel_engine_cfg cfg = {.width = tl->out.width,
                                  .height = tl->out.height,
                                  .pix_fmt = fmt,
                                  .threads = threads,
                                  .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    struct reel_image none[64];
    memset(none, 0, sizeof(none));
    struct reel_scene scene = {.tl = tl, .content = content ? content : none};
    AVFrame *f = NULL;
    int ret = reel_engine_create("cpu", &cfg, NULL, &eng, &err);
    CHECK_MSG(ret == 0, "create: %s", err.msg);
    if (ret < 0)
        return NULL;
    ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "prepare: %s at %s", eng->err.msg, eng->err.path);
    if (ret == 0) {
        ret = eng->ops->render(eng, t_us, &f);
        CHECK_MSG(ret == 0, "render: %s", eng->err.msg);
    }
    reel_engine_destroy(&eng);
    return f;
}

static AVFrame *render_rgba(const struct reel_timeline *tl, struct reel_image *content,
                            int64_t t_us)
{
    return render_at(tl, content, AV_PIX_FMT_RGBA, 2, t_us);
}

static const uint8_t *px(const AVFrame *f, int x, int y)
{
    return f->data[0] + (size_t)y * f->linesize[0] + 4 * x;
}

static int is_color(const AVFrame *f, int x, int y, struct reel_color c)
{
    const uint8_t *p = px(f, x, y);
    return p[0] == c.r && p[1] == c.g && p[2] == c.b && p[3] == c.a;
}

#define CHECK_PX(f, x, y, c)                                                                   \
    do {                                                                                       \
        const uint8_t *p_ = px((f), (x), (y));                                                 \
        CHECK_MSG(is_color((f), (x), (y), (c)),                                                \
                  "pixel (%d,%d) = %d,%d,%d,%d, expected %d,%d,%d,%d", (x), (y), p_[0], p_[1], \
                  p_[2], p_[3], (c).r, (c).g, (c).b, (c).a);                                   \
    } while (0)

/* Count pixels of exactly colour c, and of neither c nor bg. */
static void census(const AVFrame *f, struct reel_color c, struct reel_color bg, int *n_c,
                   int *n_other)
{
    *n_c = *n_other = 0;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            if (is_color(f, x, y, c))
                (*n_c)++;
            else if (!is_color(f, x, y, bg))
                (*n_other)++;
        }
}

/* A premultiplied image whose left half is `left` and right half `right` (opaque colours). */
static void split_image(struct reel_image *img, int w, int h, struct reel_color left,
                        struct reel_color right)
{
    img->width = w;
    img->height = h;
    img->stride = w * 4;
    img->data = malloc((size_t)w * h * 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            struct reel_color c = x < w / 2 ? left : right;
            uint8_t *p = img->data + (size_t)y * img->stride + 4 * x;
            p[0] = c.r;
            p[1] = c.g;
            p[2] = c.b;
            p[3] = c.a;
        }
}

static void test_background(void)
{
    struct reel_color bg = {0x33, 0x66, 0x99, 255};
    struct reel_timeline *tl = new_timeline(W, H, bg, 0);
    AVFrame *f = render_rgba(tl, NULL, 0);
    if (f) {
        CHECK_INT_EQ(f->width, W);
        CHECK_INT_EQ(f->height, H);
        CHECK_INT_EQ(f->format, AV_PIX_FMT_RGBA);
        int n_bg, n_other;
        census(f, bg, bg, &n_bg, &n_other);
        CHECK_INT_EQ(n_bg, W * H);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void test_anchor_box(void)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->color = RED;
    set_box(l, 50, 50, 100, 100, 0, 0);
    AVFrame *f = render_rgba(tl, NULL, 0);
    if (f) {
        CHECK_PX(f, 50, 50, RED);
        CHECK_PX(f, 149, 149, RED);
        CHECK_PX(f, 49, 50, BLACK);
        CHECK_PX(f, 50, 49, BLACK);
        CHECK_PX(f, 150, 100, BLACK);
        CHECK_PX(f, 100, 150, BLACK);
        int n_red, n_other;
        census(f, RED, BLACK, &n_red, &n_other);
        CHECK_INT_EQ(n_red, 100 * 100);
        CHECK_INT_EQ(n_other, 0);
    }
    av_frame_free(&f);
    /* Centre anchor: the box's middle sits on (x, y). */
    set_box(l, 100, 100, 50, 20, 0.5, 0.5);
    f = render_rgba(tl, NULL, 0);
    if (f) {
        CHECK_PX(f, 75, 90, RED);
        CHECK_PX(f, 124, 109, RED);
        CHECK_PX(f, 74, 100, BLACK);
        CHECK_PX(f, 100, 110, BLACK);
    }
    av_frame_free(&f);
    /* Visibility: start <= t < start + duration. */
    l->start_us = 1 * REEL_US;
    l->duration_us = 1 * REEL_US;
    f = render_rgba(tl, NULL, 999999);
    if (f)
        CHECK_PX(f, 100, 100, BLACK);
    av_frame_free(&f);
    f = render_rgba(tl, NULL, 1 * REEL_US);
    if (f)
        CHECK_PX(f, 100, 100, RED);
    av_frame_free(&f);
    f = render_rgba(tl, NULL, 2 * REEL_US);
    if (f)
        CHECK_PX(f, 100, 100, BLACK);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void test_opacity(void)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    tl->layers[0].opacity = 0.5;
    AVFrame *f = render_rgba(tl, NULL, 0);
    if (f) {
        const uint8_t *p = px(f, 10, 10);
        CHECK_NEAR(p[0], 128, 1);
        CHECK_NEAR(p[1], 128, 1);
        CHECK_NEAR(p[2], 128, 1);
        CHECK_INT_EQ(p[3], 255);
    }
    av_frame_free(&f);
    /* Animated opacity: 0 -> 1 over a second, linear; half-way reads half. */
    struct reel_layer *l = &tl->layers[0];
    l->opacity = 1.0;
    l->anim[REEL_PROP_OPACITY].keys = calloc(2, sizeof(struct reel_keyframe));
    l->anim[REEL_PROP_OPACITY].n_keys = 2;
    l->anim[REEL_PROP_OPACITY].keys[0] = make_key(0, 0.0);
    l->anim[REEL_PROP_OPACITY].keys[1] = make_key(REEL_US, 1.0);
    f = render_rgba(tl, NULL, REEL_US / 4);
    if (f)
        CHECK_NEAR(px(f, 10, 10)[0], 64, 1);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static struct reel_timeline *transition_tl(enum reel_transition_type type, bool full)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->color = RED;
    if (!full)
        set_box(l, 0, 0, 100, 100, 0, 0);
    l->tr_in.type = type;
    l->tr_in.duration_us = REEL_US;
    l->tr_in.easing.kind = REEL_EASE_LINEAR;
    return tl;
}

static void test_transitions(void)
{
    /* wipe-left at p = 0.5: x >= W/2 shows the layer. */
    struct reel_timeline *tl = transition_tl(REEL_TR_WIPE_LEFT, true);
    AVFrame *f = render_rgba(tl, NULL, REEL_US / 2);
    if (f) {
        for (int y = 0; y < H; y += 60) {
            CHECK_PX(f, W / 2 - 1, y, BLACK);
            CHECK_PX(f, W / 2, y, RED);
            CHECK_PX(f, 0, y, BLACK);
            CHECK_PX(f, W - 1, y, RED);
        }
    }
    av_frame_free(&f);
    /* Once the transition is over the layer is whole. */
    f = render_rgba(tl, NULL, REEL_US);
    if (f)
        CHECK_PX(f, 0, 0, RED);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    /* wipe-down at p = 0.25: y < H/4 shows the layer. */
    tl = transition_tl(REEL_TR_WIPE_DOWN, true);
    f = render_rgba(tl, NULL, REEL_US / 4);
    if (f) {
        CHECK_PX(f, 10, H / 4 - 1, RED);
        CHECK_PX(f, 10, H / 4, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    /* slide-left at p = 0.5: the layer is W/2 to the right of its place. */
    tl = transition_tl(REEL_TR_SLIDE_LEFT, false);
    f = render_rgba(tl, NULL, REEL_US / 2);
    if (f) {
        CHECK_PX(f, W / 2 - 1, 50, BLACK);
        CHECK_PX(f, W / 2, 50, RED);
        CHECK_PX(f, W / 2 + 99, 99, RED);
        CHECK_PX(f, W / 2 + 100, 50, BLACK);
        CHECK_PX(f, 50, 50, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    /* circle-open at p = 0.5: inside half of R = half the diagonal (200 px here). */
    tl = transition_tl(REEL_TR_CIRCLE_OPEN, true);
    f = render_rgba(tl, NULL, REEL_US / 2);
    if (f) {
        CHECK_PX(f, W / 2, H / 2, RED);
        CHECK_PX(f, W / 2 + 95, H / 2, RED);
        CHECK_PX(f, W / 2 - 96, H / 2, RED);
        CHECK_PX(f, W / 2 + 105, H / 2, BLACK);
        CHECK_PX(f, W / 2, H / 2 + 101, BLACK);
        CHECK_PX(f, 0, 0, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    /* radial at p = 0.25: a clockwise quarter sweep from 12 o'clock is the top-right quadrant. */
    tl = transition_tl(REEL_TR_RADIAL, true);
    f = render_rgba(tl, NULL, REEL_US / 4);
    if (f) {
        CHECK_PX(f, W / 2 + 40, H / 2 - 40, RED);
        CHECK_PX(f, W - 1, 0, RED);
        CHECK_PX(f, W / 2 + 5, 5, RED);
        CHECK_PX(f, W - 5, H / 2 - 3, RED);
        CHECK_PX(f, W / 2 + 40, H / 2 + 40, BLACK);
        CHECK_PX(f, W / 2 - 40, H / 2 + 40, BLACK);
        CHECK_PX(f, W / 2 - 40, H / 2 - 40, BLACK);
        CHECK_PX(f, 0, 0, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    /* fade out at p = 0.5 (half-way through the last second): half alpha. */
    tl = transition_tl(REEL_TR_NONE, true);
    tl->layers[0].tr_out = make_tr(REEL_TR_FADE, REEL_US, REEL_EASE_LINEAR);
    f = render_rgba(tl, NULL, 10 * REEL_US - REEL_US / 2);
    if (f)
        CHECK_NEAR(px(f, 10, 10)[0], 128, 1);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void test_rotation_scale(void)
{
    /* A 200x20 bar about its centre, turned 90 degrees, stands upright. */
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->color = RED;
    set_box(l, 160, 120, 200, 20, 0.5, 0.5);
    l->rotation_deg = 90;
    AVFrame *f = render_rgba(tl, NULL, 0);
    if (f) {
        CHECK_PX(f, 160, 25, RED);
        CHECK_PX(f, 160, 214, RED);
        CHECK_PX(f, 150, 120, RED);
        CHECK_PX(f, 169, 120, RED);
        CHECK_PX(f, 149, 120, BLACK);
        CHECK_PX(f, 170, 120, BLACK);
        CHECK_PX(f, 100, 120, BLACK);
        CHECK_PX(f, 160, 15, BLACK);
        int n_red, n_other;
        census(f, RED, BLACK, &n_red, &n_other);
        CHECK_INT_EQ(n_red, 200 * 20);
        CHECK_INT_EQ(n_other, 0);
    }
    av_frame_free(&f);

    /* 45 degrees: anti-aliased edges, the area is kept. */
    l->rotation_deg = 45;
    f = render_rgba(tl, NULL, 0);
    if (f) {
        double area = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                area += px(f, x, y)[0] / 255.0;
        CHECK_NEAR(area, 200 * 20, 200 * 20 * 0.01);
        CHECK_PX(f, 160, 120, RED);
        CHECK_PX(f, 160 + 50, 120 + 50, RED); /* along the diagonal */
        CHECK_PX(f, 160 + 50, 120 - 50, BLACK);
    }
    av_frame_free(&f);

    /* Scale 2 about the centre doubles the size: 40x20 becomes 80x40. */
    l->rotation_deg = 0;
    set_box(l, 160, 120, 40, 20, 0.5, 0.5);
    l->scale = 2.0;
    f = render_rgba(tl, NULL, 0);
    if (f) {
        int n_red, n_other;
        census(f, RED, BLACK, &n_red, &n_other);
        CHECK_INT_EQ(n_red, 80 * 40);
        CHECK_INT_EQ(n_other, 0);
        CHECK_PX(f, 120, 100, RED);
        CHECK_PX(f, 199, 139, RED);
        CHECK_PX(f, 119, 120, BLACK);
        CHECK_PX(f, 160, 140, BLACK);
    }
    av_frame_free(&f);
    /* [sx, sy] scale: 3 x 0.5 of 40x20 is 120x10. */
    l->scale = 1.0;
    l->scale_x = 3.0;
    l->scale_y = 0.5;
    f = render_rgba(tl, NULL, 0);
    if (f) {
        int n_red, n_other;
        census(f, RED, BLACK, &n_red, &n_other);
        CHECK_INT_EQ(n_red, 120 * 10);
        CHECK_INT_EQ(n_other, 0);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void test_fit(void)
{
    /* A 2:1 image (left red, right blue) into a 40x40 box at (0,0). */
    struct reel_image content[1];
    split_image(&content[0], 60, 30, RED, BLUE);
    struct reel_timeline *tl = new_timeline(100, 100, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_IMAGE;
    set_box(l, 0, 0, 40, 40, 0, 0);

    l->fit = REEL_FIT_FILL;
    AVFrame *f = render_rgba(tl, content, 0);
    if (f) {
        CHECK_PX(f, 2, 2, RED);
        CHECK_PX(f, 2, 37, RED);
        CHECK_PX(f, 37, 2, BLUE);
        CHECK_PX(f, 37, 37, BLUE);
        CHECK_PX(f, 40, 20, BLACK);
        CHECK_PX(f, 20, 40, BLACK);
    }
    av_frame_free(&f);

    l->fit = REEL_FIT_CONTAIN; /* 40x20 at y 10..30, transparent above and below */
    f = render_rgba(tl, content, 0);
    if (f) {
        CHECK_PX(f, 5, 5, BLACK);
        CHECK_PX(f, 5, 9, BLACK);
        CHECK_PX(f, 5, 10, RED);
        CHECK_PX(f, 5, 29, RED);
        CHECK_PX(f, 35, 15, BLUE);
        CHECK_PX(f, 5, 30, BLACK);
        CHECK_PX(f, 35, 35, BLACK);
    }
    av_frame_free(&f);

    l->fit = REEL_FIT_COVER; /* 80x40 centred: the middle half shows, split at x = 20 */
    f = render_rgba(tl, content, 0);
    if (f) {
        CHECK_PX(f, 0, 0, RED);
        CHECK_PX(f, 16, 39, RED);
        CHECK_PX(f, 24, 0, BLUE);
        CHECK_PX(f, 39, 39, BLUE);
        CHECK_PX(f, 40, 20, BLACK);
    }
    av_frame_free(&f);

    l->fit = REEL_FIT_NATURAL; /* 60x30 centred: x -10..50, y 5..35, cropped to the box */
    f = render_rgba(tl, content, 0);
    if (f) {
        CHECK_PX(f, 0, 5, RED);
        CHECK_PX(f, 19, 34, RED);
        CHECK_PX(f, 20, 5, BLUE);
        CHECK_PX(f, 39, 20, BLUE);
        CHECK_PX(f, 10, 4, BLACK);
        CHECK_PX(f, 10, 35, BLACK);
        CHECK_PX(f, 40, 20, BLACK);
    }
    av_frame_free(&f);
    reel_image_uninit(&content[0]);
    reel_timeline_destroy(&tl);
}

/* ---- effects: the SPEC formulas, computed here independently ---- */

static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

static void expect_effect(struct reel_effect e, struct reel_color in, const double want[3])
{
    /* Once on a colour layer and once on an image layer: both paths must give the formula. */
    for (int pass = 0; pass < 2; pass++) {
        struct reel_image content[1] = {{0}};
        struct reel_timeline *tl = new_timeline(64, 64, BLACK, 1);
        struct reel_layer *l = &tl->layers[0];
        l->color = in;
        if (pass == 1) {
            l->type = REEL_LAYER_IMAGE;
            split_image(&content[0], 16, 16, in, in);
        }
        add_effect(l, e);
        AVFrame *f = render_rgba(tl, pass ? content : NULL, 0);
        if (f) {
            const uint8_t *p = px(f, 32, 32);
            for (int c = 0; c < 3; c++)
                CHECK_MSG(fabs(p[c] - want[c] * 255.0) <= 1.0,
                          "effect %d pass %d channel %d: %d, expected %.2f", e.type, pass, c, p[c],
                          want[c] * 255.0);
        }
        av_frame_free(&f);
        reel_image_uninit(&content[0]);
        reel_timeline_destroy(&tl);
    }
}

static void test_effects(void)
{
    struct reel_color in = {100, 150, 200, 255};
    double r = 100 / 255.0, g = 150 / 255.0, b = 200 / 255.0;
    double want[3];

    struct reel_effect e = {.type = REEL_FX_BRIGHTNESS, .value = 0.2};
    want[0] = clamp01(r + 0.2), want[1] = clamp01(g + 0.2), want[2] = clamp01(b + 0.2);
    expect_effect(e, in, want);

    e = (struct reel_effect){.type = REEL_FX_BRIGHTNESS, .value = -0.5};
    want[0] = clamp01(r - 0.5), want[1] = clamp01(g - 0.5), want[2] = clamp01(b - 0.5);
    expect_effect(e, in, want);

    e = (struct reel_effect){.type = REEL_FX_CONTRAST, .value = 1.5};
    want[0] = clamp01((r - 0.5) * 1.5 + 0.5), want[1] = clamp01((g - 0.5) * 1.5 + 0.5);
    want[2] = clamp01((b - 0.5) * 1.5 + 0.5);
    expect_effect(e, in, want);

    double L = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    e = (struct reel_effect){.type = REEL_FX_SATURATION, .value = 2.0};
    want[0] = clamp01(L + (r - L) * 2), want[1] = clamp01(L + (g - L) * 2);
    want[2] = clamp01(L + (b - L) * 2);
    expect_effect(e, in, want);

    e = (struct reel_effect){.type = REEL_FX_GRAYSCALE};
    want[0] = want[1] = want[2] = L;
    expect_effect(e, in, want);

    e = (struct reel_effect){.type = REEL_FX_SEPIA};
    want[0] = clamp01(.393 * r + .769 * g + .189 * b);
    want[1] = clamp01(.349 * r + .686 * g + .168 * b);
    want[2] = clamp01(.272 * r + .534 * g + .131 * b);
    expect_effect(e, in, want);

    e = (struct reel_effect){.type = REEL_FX_INVERT};
    want[0] = 1 - r, want[1] = 1 - g, want[2] = 1 - b;
    expect_effect(e, in, want);

    /* Chroma key: pure green disappears (the white background shows), red stays. */
    struct reel_effect key = {.type = REEL_FX_CHROMA_KEY,
                              .color = {0, 255, 0, 255},
                              .similarity = 0.1,
                              .smoothness = 0.1};
    struct reel_color green = {0, 255, 0, 255};
    for (int pass = 0; pass < 2; pass++) {
        struct reel_image content[1] = {{0}};
        struct reel_timeline *tl = new_timeline(64, 64, WHITE, 1);
        struct reel_layer *l = &tl->layers[0];
        l->type = REEL_LAYER_IMAGE;
        split_image(&content[0], 16, 16, pass ? RED : green, pass ? RED : green);
        add_effect(l, key);
        AVFrame *f = render_rgba(tl, content, 0);
        if (f)
            CHECK_PX(f, 32, 32, pass ? RED : WHITE);
        av_frame_free(&f);
        reel_image_uninit(&content[0]);
        reel_timeline_destroy(&tl);
    }
    /* A colour between: alpha follows clamp((d - similarity) / smoothness). */
    {
        struct reel_color near = {40, 200, 40, 255};
        double nr = 40 / 255.0, ng = 200 / 255.0, nb = 40 / 255.0;
        double ny = 0.2126 * nr + 0.7152 * ng + 0.0722 * nb, ky = 0.7152;
        double cb = (nb - ny) / 1.8556 + 0.5, cr = (nr - ny) / 1.5748 + 0.5;
        double kcb = (0 - ky) / 1.8556 + 0.5, kcr = (0 - ky) / 1.5748 + 0.5;
        double d = sqrt(((cb - kcb) * (cb - kcb) + (cr - kcr) * (cr - kcr)) / 2);
        struct reel_effect soft = key;
        soft.similarity = d - 0.05;
        soft.smoothness = 0.1; /* alpha 0.5 */
        struct reel_timeline *tl = new_timeline(64, 64, BLACK, 1);
        tl->layers[0].color = near;
        add_effect(&tl->layers[0], soft);
        AVFrame *f = render_rgba(tl, NULL, 0);
        if (f) {
            CHECK_NEAR(px(f, 5, 5)[0], 40 * 0.5, 1);
            CHECK_NEAR(px(f, 5, 5)[1], 200 * 0.5, 1);
        }
        av_frame_free(&f);
        reel_timeline_destroy(&tl);
    }
}

static void test_blur(void)
{
    /* A white | black hard edge at x = 20 of a 40x20 image, drawn 1:1 at (0,0). */
    struct reel_image content[1];
    split_image(&content[0], 40, 20, WHITE, BLACK);
    struct reel_timeline *tl = new_timeline(64, 32, BLUE, 1);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_IMAGE;
    set_box(l, 0, 0, 40, 20, 0, 0);
    add_effect(l, (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 2.0});
    AVFrame *f = render_rgba(tl, content, 0);
    if (f) {
        int y = 10;
        /* Far from the edge (and at the clamped borders) nothing changes. */
        CHECK_PX(f, 0, 0, WHITE);
        CHECK_PX(f, 2, y, WHITE);
        CHECK_PX(f, 39, 19, BLACK);
        CHECK_PX(f, 37, y, BLACK);
        /* A ramp symmetric about the edge: v(19 - k) + v(20 + k) = 255, strictly falling. */
        for (int k = 0; k < 8; k++) {
            int a = px(f, 19 - k, y)[0], b = px(f, 20 + k, y)[0];
            CHECK_MSG(abs(a + b - 255) <= 1, "k=%d: %d + %d", k, a, b);
        }
        for (int x = 14; x < 26; x++)
            CHECK_MSG(px(f, x, y)[0] > px(f, x + 1, y)[0], "not falling at %d", x);
        /* Closed form at the edge: the Gaussian's mass on the far side of the edge. */
        double s = 0, t = 0;
        for (int k = -6; k <= 6; k++) {
            double w = exp(-k * k / 8.0);
            s += w;
            if (k <= 0)
                t += w;
        }
        CHECK_NEAR(px(f, 19, y)[0], 255 * t / s, 1);
        /* Rows are unchanged vertically (the image is constant down each column). */
        CHECK(!memcmp(px(f, 0, 0), px(f, 0, 19), 40 * 4));
        /* The blur stays inside the box: the background is untouched. */
        CHECK_PX(f, 41, 5, BLUE);
    }
    av_frame_free(&f);
    reel_image_uninit(&content[0]);
    reel_timeline_destroy(&tl);
}

static void test_yuv(void)
{
    struct {
        struct reel_color c;
        int y, u, v;
    } cases[] = {
        {WHITE, 235, 128, 128},
        {BLACK, 16, 128, 128},
        {RED, 63, 102, 240}, /* BT.709 limited: 16 + 219 * 0.2126 etc. */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int nv12 = 0; nv12 < 2; nv12++) {
            struct reel_timeline *tl = new_timeline(64, 32, cases[i].c, 0);
            AVFrame *f = render_at(tl, NULL, nv12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P, 2, 0);
            if (f) {
                CHECK_INT_EQ(f->format, nv12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P);
                CHECK_INT_EQ(f->width, 64);
                CHECK_INT_EQ(f->height, 32);
                CHECK_INT_EQ(f->color_range, AVCOL_RANGE_MPEG);
                CHECK_INT_EQ(f->colorspace, AVCOL_SPC_BT709);
                CHECK_INT_EQ(f->color_primaries, AVCOL_PRI_BT709);
                CHECK_INT_EQ(f->color_trc, AVCOL_TRC_BT709);
                int y = f->data[0][10 * f->linesize[0] + 10];
                int u, v;
                if (nv12) {
                    u = f->data[1][5 * f->linesize[1] + 10];
                    v = f->data[1][5 * f->linesize[1] + 11];
                } else {
                    u = f->data[1][5 * f->linesize[1] + 5];
                    v = f->data[2][5 * f->linesize[2] + 5];
                }
                CHECK_NEAR(y, cases[i].y, 1);
                CHECK_NEAR(u, cases[i].u, 1);
                CHECK_NEAR(v, cases[i].v, 1);
            }
            av_frame_free(&f);
            reel_timeline_destroy(&tl);
        }
    }
}

/* A busy scene touching every path: rotation, scale, masks, opacity, effects, an image. */
static struct reel_timeline *busy_tl(struct reel_image *content)
{
    struct reel_timeline *tl = new_timeline(W, H, (struct reel_color){10, 20, 30, 255}, 4);
    split_image(&content[1], 50, 30, RED, BLUE);
    struct reel_layer *l = &tl->layers[0];
    set_box(l, 100, 80, 120, 60, 0.3, 0.6);
    l->color = (struct reel_color){200, 100, 50, 180};
    l->rotation_deg = 33;
    l->tr_in = make_tr(REEL_TR_RADIAL, 2 * REEL_US, REEL_EASE_IN_OUT);
    l = &tl->layers[1];
    l->type = REEL_LAYER_IMAGE;
    set_box(l, 200, 130, 90, 70, 0.5, 0.5);
    l->fit = REEL_FIT_CONTAIN;
    l->scale = 1.37;
    l->rotation_deg = -12;
    l->opacity = 0.8;
    add_effect(l, (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 1.5});
    add_effect(l, (struct reel_effect){.type = REEL_FX_SEPIA});
    l->tr_in = make_tr(REEL_TR_CIRCLE_OPEN, 2 * REEL_US, REEL_EASE_LINEAR);
    l = &tl->layers[2];
    set_box(l, 10.25, 200.5, 300, 20, 0, 0);
    l->color = (struct reel_color){0, 255, 128, 255};
    l->tr_in = make_tr(REEL_TR_SLIDE_UP, 2 * REEL_US, REEL_EASE_OUT);
    l = &tl->layers[3];
    set_box(l, 0, 0, W, H, 0, 0);
    l->color = (struct reel_color){255, 255, 255, 255};
    l->opacity = 0.1;
    l->tr_in = make_tr(REEL_TR_WIPE_RIGHT, 2 * REEL_US, REEL_EASE_LINEAR);
    return tl;
}

static void test_determinism(void)
{
    struct reel_image content[4] = {{0}};
    struct reel_timeline *tl = busy_tl(content);
    AVFrame *a = render_at(tl, content, AV_PIX_FMT_RGBA, 1, 1234567);
    AVFrame *b = render_at(tl, content, AV_PIX_FMT_RGBA, 3, 1234567);
    AVFrame *c = render_at(tl, content, AV_PIX_FMT_RGBA, 2, 1234567);
    if (a && b && c) {
        int same_b = 1, same_c = 1, differs_from_bg = 0;
        for (int y = 0; y < H; y++) {
            same_b &= !memcmp(px(a, 0, y), px(b, 0, y), W * 4);
            same_c &= !memcmp(px(a, 0, y), px(c, 0, y), W * 4);
            for (int x = 0; x < W; x++)
                differs_from_bg += px(a, x, y)[0] != 10 + (255 - 10) / 10;
        }
        CHECK_MSG(same_b, "1 thread and 3 threads differ");
        CHECK_MSG(same_c, "1 thread and 2 threads differ");
        CHECK(differs_from_bg > 1000);
    }
    av_frame_free(&a);
    av_frame_free(&b);
    av_frame_free(&c);
    /* YUV output too, byte for byte. */
    a = render_at(tl, content, AV_PIX_FMT_YUV420P, 2, 1500000);
    b = render_at(tl, content, AV_PIX_FMT_YUV420P, 2, 1500000);
    if (a && b) {
        int same = 1;
        for (int p = 0; p < 3; p++)
            for (int y = 0; y < (p ? H / 2 : H); y++)
                same &= !memcmp(a->data[p] + y * a->linesize[p], b->data[p] + y * b->linesize[p],
                                p ? W / 2 : W);
        CHECK(same);
    }
    av_frame_free(&a);
    av_frame_free(&b);
    for (int i = 0; i < 4; i++)
        reel_image_uninit(&content[i]);
    reel_timeline_destroy(&tl);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_memory(const char *clip)
{
    struct reel_image content[4] = {{0}};
    struct reel_timeline *tl = busy_tl(content);
    if (clip) {
        /* Swap the full-frame white layer for a looping video to include decoding. */
        struct reel_layer *l = &tl->layers[3];
        l->type = REEL_LAYER_VIDEO;
        l->src_path = strdup(clip);
        l->loop = true;
        l->media_duration_us = 2 * REEL_US;
    }
    struct reel_engine_cfg cfg = {
        .width = W, .height = H, .pix_fmt = AV_PIX_FMT_YUV420P, .threads = 2, .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    struct reel_scene scene = {.tl = tl, .content = content};
    int ret = reel_engine_create("cpu", &cfg, NULL, &eng, &err);
    if (ret == 0)
        ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "memory test setup: %s %s", err.msg, eng ? eng->err.msg : "");
    long before = 0;
    for (int i = 0; ret == 0 && i < 300; i++) {
        AVFrame *f = NULL;
        ret = eng->ops->render(eng, reel_timeline_frame_time_us(tl, i), &f);
        av_frame_free(&f);
        if (i == 49)
            before = rss_kb();
    }
    CHECK_MSG(ret == 0, "render: %s", eng ? eng->err.msg : "");
    long after = rss_kb();
    if (before > 0 && after > 0)
        CHECK_MSG(after - before < 8 * 1024, "RSS grew by %ld KiB over 250 frames", after - before);
    reel_engine_destroy(&eng);
    for (int i = 0; i < 4; i++)
        reel_image_uninit(&content[i]);
    reel_timeline_destroy(&tl);
}

/* ---- video layers ---- */

#define CLIP_W 64
#define CLIP_H 48
#define CLIP_FRAMES 50 /* 2 s at 25 fps */

static char clip_dir[64], clip_raw[128], clip_path[128];

static int level_of(int index)
{
    return 16 + index * 4;
}

static int make_clip(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1") != 0)
        return -1;
    snprintf(clip_dir, sizeof(clip_dir), "/tmp/reel_cpu_XXXXXX");
    if (!mkdtemp(clip_dir))
        return -1;
    snprintf(clip_raw, sizeof(clip_raw), "%s/frames.yuv", clip_dir);
    snprintf(clip_path, sizeof(clip_path), "%s/clip.mp4", clip_dir);
    FILE *f = fopen(clip_raw, "wb");
    if (!f)
        return -1;
    static uint8_t frame[CLIP_W * CLIP_H * 3 / 2];
    for (int i = 0; i < CLIP_FRAMES; i++) {
        memset(frame, level_of(i), CLIP_W * CLIP_H);
        memset(frame + CLIP_W * CLIP_H, 128, CLIP_W * CLIP_H / 2);
        fwrite(frame, 1, sizeof(frame), f);
    }
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -r 25 "
             "-i %s -c:v libx264 -qp 0 -g 10 -bf 2 -color_range tv -colorspace bt709 %s",
             CLIP_W, CLIP_H, clip_raw, clip_path);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd),
                 "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -r 25 "
                 "-i %s -c:v mpeg4 -q:v 1 -g 10 %s",
                 CLIP_W, CLIP_H, clip_raw, clip_path);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static char red_path[128];

/* One second of flat BT.709 limited-range red (Y 63, Cb 102, Cr 240), tagged as such. */
static int make_red_clip(void)
{
    snprintf(red_path, sizeof(red_path), "%s/red.mp4", clip_dir);
    FILE *f = fopen(clip_raw, "wb");
    if (!f)
        return -1;
    static uint8_t frame[CLIP_W * CLIP_H * 3 / 2];
    memset(frame, 63, CLIP_W * CLIP_H);
    memset(frame + CLIP_W * CLIP_H, 102, CLIP_W * CLIP_H / 4);
    memset(frame + CLIP_W * CLIP_H * 5 / 4, 240, CLIP_W * CLIP_H / 4);
    for (int i = 0; i < 25; i++)
        fwrite(frame, 1, sizeof(frame), f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -r 25 "
             "-i %s -c:v libx264 -qp 0 -color_range tv -colorspace bt709 -color_primaries bt709 "
             "-color_trc bt709 %s",
             CLIP_W, CLIP_H, clip_raw, red_path);
    return system(cmd) == 0 ? 0 : -1;
}

static char split_path[128], rot_path[128];

/* A clip whose left half is dark (Y 40) and right half bright (Y 200). */
static int make_split_clip(void)
{
    snprintf(split_path, sizeof(split_path), "%s/split.mp4", clip_dir);
    FILE *f = fopen(clip_raw, "wb");
    if (!f)
        return -1;
    static uint8_t frame[CLIP_W * CLIP_H * 3 / 2];
    for (int y = 0; y < CLIP_H; y++)
        for (int x = 0; x < CLIP_W; x++)
            frame[y * CLIP_W + x] = x < CLIP_W / 2 ? 40 : 200;
    memset(frame + CLIP_W * CLIP_H, 128, CLIP_W * CLIP_H / 2);
    for (int i = 0; i < 10; i++)
        fwrite(frame, 1, sizeof(frame), f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -r 25 "
             "-i %s -c:v mpeg4 -q:v 1 %s",
             CLIP_W, CLIP_H, clip_raw, split_path);
    return system(cmd) == 0 ? 0 : -1;
}

/* Copy the clip's video into a new MP4 whose display matrix turns it cw degrees clockwise, the
 * way phones store portrait video. */
static int remux_rotated(const char *in, const char *out, int cw)
{
    AVFormatContext *ic = NULL, *oc = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret = pkt ? avformat_open_input(&ic, in, NULL, NULL) : -1;
    if (ret >= 0)
        ret = avformat_find_stream_info(ic, NULL);
    if (ret >= 0)
        ret = avformat_alloc_output_context2(&oc, NULL, NULL, out);
    AVStream *is = ret >= 0 ? ic->streams[0] : NULL;
    AVStream *os = ret >= 0 ? avformat_new_stream(oc, NULL) : NULL;
    if (!os)
        ret = -1;
    if (ret >= 0)
        ret = avcodec_parameters_copy(os->codecpar, is->codecpar);
    if (ret >= 0) {
        os->codecpar->codec_tag = 0;
        os->time_base = is->time_base;
        uint8_t *sd = av_stream_new_side_data(os, AV_PKT_DATA_DISPLAYMATRIX, sizeof(int32_t) * 9);
        if (!sd) {
            ret = -1;
        } else {
            /* A matrix that av_display_rotation_get reads as cw degrees counter-clockwise
             * negated, the form players (and FFmpeg's autorotate) turn clockwise by cw. The
             * setter's sign convention has varied between FFmpeg versions, so check it. */
            int32_t *m = (int32_t *)(void *)sd;
            av_display_rotation_set(m, cw);
            if (fabs(av_display_rotation_get(m) + cw) > 0.5 &&
                fabs(av_display_rotation_get(m) + cw - 360) > 0.5)
                av_display_rotation_set(m, -cw);
        }
    }
    if (ret >= 0)
        ret = avio_open(&oc->pb, out, AVIO_FLAG_WRITE);
    if (ret >= 0)
        ret = avformat_write_header(oc, NULL);
    while (ret >= 0 && av_read_frame(ic, pkt) >= 0) {
        av_packet_rescale_ts(pkt, is->time_base, os->time_base);
        pkt->stream_index = 0;
        ret = av_interleaved_write_frame(oc, pkt);
    }
    if (ret >= 0)
        ret = av_write_trailer(oc);
    if (oc && oc->pb)
        avio_closep(&oc->pb);
    avformat_free_context(oc);
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    return ret < 0 ? -1 : 0;
}

static void test_video_rotation(void)
{
    if (make_split_clip() < 0) {
        printf("rotation checks skipped: could not make the test clip\n");
        return;
    }
    snprintf(rot_path, sizeof(rot_path), "%s/rotated.mp4", clip_dir);
    /* Where the source's dark left half ends up once turned: top, right or bottom. */
    struct {
        int cw;
        int dark_x, dark_y, bright_x, bright_y;
    } cases[] = {
        {90, 24, 8, 24, 56},
        {180, 56, 24, 8, 24},
        {270, 24, 56, 24, 8},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (remux_rotated(split_path, rot_path, cases[i].cw) < 0) {
            CHECK_MSG(0, "could not write a rotated clip");
            break;
        }
        struct reel_video_source *vs = NULL;
        struct reel_err err = {0};
        CHECK_INT_EQ(reel_video_source_open(rot_path, 1, NULL, &vs, &err), 0);
        if (vs)
            CHECK_INT_EQ(reel_video_source_rotation(vs), cases[i].cw);
        reel_video_source_close(&vs);

        bool upright_swapped = cases[i].cw % 180 != 0;
        int ow = upright_swapped ? CLIP_H : CLIP_W, oh = upright_swapped ? CLIP_W : CLIP_H;
        struct reel_timeline *tl = new_timeline(ow, oh, RED, 1);
        struct reel_layer *l = &tl->layers[0];
        l->type = REEL_LAYER_VIDEO;
        l->src_path = strdup(rot_path);
        AVFrame *f = render_rgba(tl, NULL, 0);
        if (f) {
            /* The upright picture fills the frame exactly: no background anywhere. */
            CHECK_MSG(px(f, 0, 0)[1] > 10 && px(f, ow - 1, oh - 1)[1] > 10, "rotation %d: gaps",
                      cases[i].cw);
            int dark = px(f, cases[i].dark_x, cases[i].dark_y)[1];
            int bright = px(f, cases[i].bright_x, cases[i].bright_y)[1];
            CHECK_MSG(dark < 40 && bright > 180, "rotation %d: dark %d, bright %d", cases[i].cw,
                      dark, bright);
        }
        av_frame_free(&f);
        reel_timeline_destroy(&tl);
    }
}

static void remove_clip(void)
{
    unlink(clip_raw);
    unlink(clip_path);
    unlink(red_path);
    unlink(split_path);
    unlink(rot_path);
    rmdir(clip_dir);
}

/* Frame index shown at a pixel of an RGBA render of the clip (limited-range grey expanded). */
static int index_at(const AVFrame *f, int x, int y)
{
    double v = px(f, x, y)[1];
    double luma = v * 219.0 / 255.0 + 16.0;
    return (int)floor((luma - 16.0) / 4.0 + 0.5);
}

static void test_video(void)
{
    struct reel_timeline *tl = new_timeline(CLIP_W, CLIP_H, RED, 1);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_VIDEO;
    l->src_path = strdup(clip_path);
    l->media_duration_us = 2 * REEL_US;
    l->start_us = REEL_US / 2;

    /* Plain: output time t shows source frame floor((t - start) * 25). */
    struct {
        int64_t t_us;
        int index;
    } plain[] = {{500000, 0},   {539999, 0},   {540000, 1}, {1500000, 25},
                 {2499000, 49}, {4000000, 49}, {700000, 5}};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        AVFrame *f = render_rgba(tl, NULL, plain[i].t_us);
        if (f)
            CHECK_MSG(index_at(f, 32, 24) == plain[i].index, "t=%lld: frame %d, expected %d",
                      (long long)plain[i].t_us, index_at(f, 32, 24), plain[i].index);
        av_frame_free(&f);
    }
    /* Before the layer starts the background shows. */
    AVFrame *f = render_rgba(tl, NULL, 400000);
    if (f)
        CHECK_PX(f, 32, 24, RED);
    av_frame_free(&f);

    /* trim 0.4 s, speed 2: at local 0.3 s the source time is 0.4 + 0.6 = 1.0 s -> frame 25. */
    l->trim_us = 400000;
    l->speed = 2.0;
    f = render_rgba(tl, NULL, 800000);
    if (f)
        CHECK_INT_EQ(index_at(f, 32, 24), 25);
    av_frame_free(&f);
    /* loop: local 1.5 s at speed 2 is 3.0 s past the trim; (3.0) mod (2.0 - 0.4) = 1.4 -> 1.8 s. */
    l->loop = true;
    f = render_rgba(tl, NULL, 2000000);
    if (f)
        CHECK_INT_EQ(index_at(f, 32, 24), 45);
    av_frame_free(&f);

    /* One engine rendering forward, then back in time (a seek), then far ahead. */
    l->trim_us = 0;
    l->speed = 1.0;
    l->loop = false;
    struct reel_engine_cfg cfg = {.width = CLIP_W,
                                  .height = CLIP_H,
                                  .pix_fmt = AV_PIX_FMT_RGBA,
                                  .threads = 2,
                                  .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    struct reel_image none[1] = {{0}};
    struct reel_scene scene = {.tl = tl, .content = none};
    int ret = reel_engine_create("cpu", &cfg, NULL, &eng, &err);
    if (ret == 0)
        ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "prepare: %s", eng ? eng->err.msg : err.msg);
    int64_t times[] = {500000, 540000, 580000, 1500000, 600000, 2400000, 520000};
    for (size_t i = 0; ret == 0 && i < sizeof(times) / sizeof(times[0]); i++) {
        f = NULL;
        ret = eng->ops->render(eng, times[i], &f);
        CHECK_MSG(ret == 0, "render: %s", eng->err.msg);
        if (f) {
            int want = (int)((times[i] - 500000) / 40000);
            CHECK_MSG(index_at(f, 10, 10) == want, "sequence t=%lld: frame %d, expected %d",
                      (long long)times[i], index_at(f, 10, 10), want);
        }
        av_frame_free(&f);
    }
    reel_engine_destroy(&eng);

    /* A box that differs from the picture: contain leaves transparent bands, and scale + copy
     * paths run (64x48 into 32x32 -> 32x24 at y 4..28). */
    set_box(l, 0, 0, 32, 32, 0, 0);
    l->fit = REEL_FIT_CONTAIN;
    f = render_rgba(tl, NULL, 1500000);
    if (f) {
        CHECK_PX(f, 16, 2, RED);
        CHECK_PX(f, 16, 30, RED);
        CHECK_INT_EQ(index_at(f, 16, 16), 25);
        CHECK_PX(f, 40, 16, RED);
    }
    av_frame_free(&f);
    /* An effect on video: invert. */
    add_effect(l, (struct reel_effect){.type = REEL_FX_INVERT});
    f = render_rgba(tl, NULL, 1500000);
    if (f) {
        double v = 255 - px(f, 16, 16)[1];
        CHECK_NEAR((v * 219.0 / 255.0) / 4.0, 25, 0.6);
    }
    av_frame_free(&f);

    /* Video tagged BT.709 is decoded with the BT.709 matrix: its red is pure red. */
    if (make_red_clip() == 0) {
        free(l->src_path);
        l->src_path = strdup(red_path);
        l->n_effects = 0;
        set_box(l, 0, 0, CLIP_W, CLIP_H, 0, 0);
        l->fit = REEL_FIT_COVER;
        f = render_rgba(tl, NULL, 600000);
        if (f) {
            const uint8_t *p = px(f, 20, 20);
            CHECK_MSG(p[0] >= 253 && p[1] <= 2 && p[2] <= 2, "BT.709 red decoded as %d,%d,%d", p[0],
                      p[1], p[2]);
        }
        av_frame_free(&f);
    } else {
        printf("BT.709 decode check skipped: libx264 is not available to the ffmpeg tool\n");
    }

    /* A missing file fails at prepare with the layer's path. */
    free(l->src_path);
    l->src_path = strdup("/nonexistent/video.mp4");
    cfg.pix_fmt = AV_PIX_FMT_RGBA;
    ret = reel_engine_create("cpu", &cfg, NULL, &eng, &err);
    if (ret == 0) {
        ret = eng->ops->prepare(eng, &scene);
        CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
        CHECK_STR_EQ(eng->err.path, "layers[0]");
        CHECK(strstr(eng->err.msg, "/nonexistent/video.mp4") != NULL);
    }
    reel_engine_destroy(&eng);
    reel_timeline_destroy(&tl);
}

static void test_engine_basics(void)
{
    const struct reel_engine_ops *ops = reel_engine_find("cpu");
    CHECK(ops == &reel_engine_cpu_ops);
    struct reel_engine_cfg cfg = {
        .width = 64, .height = 64, .pix_fmt = AV_PIX_FMT_YUV420P, .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_engine_create("cpu", &cfg, NULL, &eng, &err), 0);
    if (eng) {
        struct reel_engine_caps caps;
        eng->ops->query_caps(eng, &caps);
        CHECK(!caps.is_hw);
        CHECK_INT_EQ(caps.max_layers, 0);
        CHECK_INT_EQ(caps.pix_fmts[0], AV_PIX_FMT_YUV420P);
        CHECK_INT_EQ(caps.pix_fmts[1], AV_PIX_FMT_NV12);
        CHECK_INT_EQ(caps.pix_fmts[2], AV_PIX_FMT_RGBA);
        CHECK_INT_EQ(caps.pix_fmts[3], AV_PIX_FMT_NONE);
        /* Rendering before prepare is an error, not a crash. */
        AVFrame *f = NULL;
        CHECK(eng->ops->render(eng, 0, &f) < 0);
        CHECK(f == NULL);
    }
    reel_engine_destroy(&eng);
    CHECK(eng == NULL);
    /* The caller may switch the output format between create and prepare. */
    cfg.pix_fmt = AV_PIX_FMT_YUV420P;
    struct reel_timeline *tl = new_timeline(64, 64, WHITE, 0);
    struct reel_image none[1] = {{0}};
    struct reel_scene scene = {.tl = tl, .content = none};
    CHECK_INT_EQ(reel_engine_create("cpu", &cfg, NULL, &eng, &err), 0);
    if (eng) {
        eng->cfg.pix_fmt = AV_PIX_FMT_YUV444P;
        AVFrame *f = NULL;
        CHECK_INT_EQ(eng->ops->prepare(eng, &scene), 0);
        CHECK_INT_EQ(eng->ops->render(eng, 0, &f), 0);
        if (f) {
            CHECK_INT_EQ(f->format, AV_PIX_FMT_YUV444P);
            CHECK_INT_EQ(f->data[0][0], 235);
            CHECK_INT_EQ(f->data[1][0], 128);
        }
        av_frame_free(&f);
        /* BGRA is a repack of the straight RGBA picture. */
        eng->cfg.pix_fmt = AV_PIX_FMT_BGRA;
        CHECK_INT_EQ(eng->ops->prepare(eng, &scene), 0);
        CHECK_INT_EQ(eng->ops->render(eng, 0, &f), 0);
        if (f) {
            CHECK_INT_EQ(f->format, AV_PIX_FMT_BGRA);
            CHECK(f->data[0][0] == 255 && f->data[0][3] == 255);
            CHECK_INT_EQ(f->color_range, AVCOL_RANGE_JPEG);
        }
        av_frame_free(&f);
        /* A format it cannot make (a hardware surface) fails prepare with a reason. */
        eng->cfg.pix_fmt = AV_PIX_FMT_CUDA;
        CHECK(eng->ops->prepare(eng, &scene) < 0);
        CHECK(strstr(eng->err.msg, "cuda") != NULL);
        char desc[256] = "";
        CHECK(eng->ops->describe != NULL);
        if (eng->ops->describe) {
            eng->ops->describe(&cfg, desc, sizeof(desc));
            CHECK(strstr(desc, "cpu") != NULL);
        }
    }
    reel_engine_destroy(&eng);
    reel_timeline_destroy(&tl);
}

int main(void)
{
    test_engine_basics();
    test_background();
    test_anchor_box();
    test_opacity();
    test_transitions();
    test_rotation_scale();
    test_fit();
    test_effects();
    test_blur();
    test_yuv();
    test_determinism();
    if (make_clip() == 0) {
        test_video();
        test_video_rotation();
        test_memory(clip_path);
    } else {
        printf("video checks skipped: the ffmpeg command-line tool is missing or failed\n");
        test_memory(NULL);
    }
    remove_clip();
    CHECK_DONE();
}
