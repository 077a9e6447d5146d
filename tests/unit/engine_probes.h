/*
 * Pixel probes proving the SPEC's compositing semantics (geometry, opacity, transitions, fit,
 * effects, blur, colour conversion), written once and run against every engine: each engine's
 * test includes this after check.h and calls run_probes() with a struct probe_engine that says
 * how it renders a frame.
 *
 * Timelines are built by hand with every default the parser would set, so the probes depend only
 * on the engine and the shared timeline evaluator.
 */
#ifndef REEL_TESTS_ENGINE_PROBES_H
#define REEL_TESTS_ENGINE_PROBES_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "check.h"
#include "raster/raster.h"
#include "render/engine.h"
#include "render/scene.h"
#include "timeline/timeline.h"

#define W 320
#define H 240

static const struct reel_color BLACK = {0, 0, 0, 255};
static const struct reel_color RED = {255, 0, 0, 255};
static const struct reel_color BLUE = {0, 0, 255, 255};
static const struct reel_color WHITE = {255, 255, 255, 255};

/* How one engine is probed. */
struct probe_engine {
    const char *name;
    /* One frame of tl at t_us in fmt; content may be NULL (no static layers). NULL on failure,
     * which the callee has already counted as a failed check. */
    AVFrame *(*render)(const struct reel_timeline *tl, struct reel_image *content,
                       enum AVPixelFormat fmt, int64_t t_us);
    /* How many code values an effect's output may stray from the SPEC formula. */
    double effect_tol;
};

/* ---- timelines built by hand, with the parser's defaults ---- */

static struct reel_timeline *new_timeline(int w, int h, struct reel_color bg, int n_layers)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->out.width = w;
    tl->out.height = h;
    tl->out.fps_num = 25;
    tl->out.fps_den = 1;
    tl->out.duration_us = 10 * REEL_US;
    tl->out.background = bg;
    tl->layers = calloc((size_t)n_layers + 1, sizeof(*tl->layers));
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

static struct reel_keyframe make_key(int64_t t_us, double value, enum reel_easing_kind ease)
{
    struct reel_keyframe k = {.time_us = t_us, .value = value};
    k.easing.kind = ease;
    return k;
}

static void add_effect(struct reel_layer *l, struct reel_effect e)
{
    l->effects = realloc(l->effects, sizeof(*l->effects) * (size_t)(l->n_effects + 1));
    l->effects[l->n_effects++] = e;
}

static void animate(struct reel_layer *l, enum reel_prop prop, struct reel_keyframe a,
                    struct reel_keyframe b)
{
    l->anim[prop].keys = calloc(2, sizeof(struct reel_keyframe));
    l->anim[prop].n_keys = 2;
    l->anim[prop].keys[0] = a;
    l->anim[prop].keys[1] = b;
}

/* Size img as w x h RGBA with tight rows, contents undefined. */
static void alloc_image(struct reel_image *img, int w, int h)
{
    img->width = w;
    img->height = h;
    img->stride = w * 4;
    img->data = malloc((size_t)w * h * 4);
}

/* A premultiplied image whose left half is `left` and right half `right`. */
static void split_image(struct reel_image *img, int w, int h, struct reel_color left,
                        struct reel_color right)
{
    alloc_image(img, w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            struct reel_color c = x < w / 2 ? left : right;
            uint8_t *p = img->data + (size_t)y * img->stride + 4 * x;
            p[0] = (uint8_t)(c.r * c.a / 255);
            p[1] = (uint8_t)(c.g * c.a / 255);
            p[2] = (uint8_t)(c.b * c.a / 255);
            p[3] = c.a;
        }
}

/* ---- rendering ---- */

/* Zeroed images for scenes without static layers. */
static struct reel_image no_content[64];

/* Prepare eng for tl and render the frame at t_us; content may be NULL. */
static AVFrame *render_on(struct reel_engine *eng, const struct reel_timeline *tl,
                          struct reel_image *content, int64_t t_us)
{
    struct reel_scene scene = {.tl = tl, .content = content ? content : no_content};
    AVFrame *f = NULL;
    int ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "%s prepare: %s at %s", eng->ops->name, eng->err.msg, eng->err.path);
    if (ret == 0) {
        ret = eng->ops->render(eng, t_us, &f);
        CHECK_MSG(ret == 0, "%s render: %s", eng->ops->name, eng->err.msg);
    }
    return f;
}

/* Render with an engine created for this frame alone. */
static AVFrame *render_fresh(const char *name, const struct reel_timeline *tl,
                             struct reel_image *content, enum AVPixelFormat fmt, int threads,
                             int64_t t_us)
{
    struct reel_engine_cfg cfg = {.width = tl->out.width,
                                  .height = tl->out.height,
                                  .pix_fmt = fmt,
                                  .threads = threads,
                                  .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    int ret = reel_engine_create(name, &cfg, NULL, &eng, &err);
    CHECK_MSG(ret == 0, "create %s: %s", name, err.msg);
    if (ret < 0)
        return NULL;
    AVFrame *f = render_on(eng, tl, content, t_us);
    reel_engine_destroy(&eng);
    return f;
}

static AVFrame *probe_rgba(const struct probe_engine *pe, const struct reel_timeline *tl,
                           struct reel_image *content, int64_t t_us)
{
    return pe->render(tl, content, AV_PIX_FMT_RGBA, t_us);
}

/* ---- reading frames ---- */

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

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A pixel and the colour it must have, exactly. */
struct want_px {
    int x, y;
    struct reel_color c;
};

static void check_pixels(const AVFrame *f, const struct want_px *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK_PX(f, want[i].x, want[i].y, want[i].c);
}

/* Render tl at t_us in RGBA and check the listed pixels. */
static void expect_pixels(const struct probe_engine *pe, const struct reel_timeline *tl,
                          struct reel_image *content, int64_t t_us, const struct want_px *want,
                          size_t n)
{
    AVFrame *f = probe_rgba(pe, tl, content, t_us);
    if (f)
        check_pixels(f, want, n);
    av_frame_free(&f);
}

/* Exactly n_want pixels are colour c, and every other one is bg. */
static void check_census(const AVFrame *f, struct reel_color c, struct reel_color bg, int n_want)
{
    int n_c = 0, n_other = 0;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            if (is_color(f, x, y, c))
                n_c++;
            else if (!is_color(f, x, y, bg))
                n_other++;
        }
    CHECK_INT_EQ(n_c, n_want);
    CHECK_INT_EQ(n_other, 0);
}

/* ---- the probes ---- */

static void probe_background(const struct probe_engine *pe)
{
    struct reel_color bg = {0x33, 0x66, 0x99, 255};
    struct reel_timeline *tl = new_timeline(W, H, bg, 0);
    AVFrame *f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        CHECK_INT_EQ(f->width, W);
        CHECK_INT_EQ(f->height, H);
        CHECK_INT_EQ(f->format, AV_PIX_FMT_RGBA);
        check_census(f, bg, bg, W * H);
    }
    av_frame_free(&f);
    /* A translucent background comes out straight (un-premultiplied) in RGBA. */
    struct reel_color half = {200, 100, 50, 128};
    reel_timeline_destroy(&tl);
    tl = new_timeline(W, H, half, 0);
    f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        const uint8_t *p = px(f, 7, 7);
        CHECK_NEAR(p[0], 200, 2);
        CHECK_NEAR(p[1], 100, 2);
        CHECK_NEAR(p[2], 50, 2);
        CHECK_INT_EQ(p[3], 128);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

/* A red layer over black, the whole W x H frame until given a box. */
static struct reel_timeline *red_tl(void)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    tl->layers[0].color = RED;
    return tl;
}

static void probe_anchor_box(const struct probe_engine *pe)
{
    struct reel_timeline *tl = red_tl();
    struct reel_layer *l = &tl->layers[0];
    set_box(l, 50, 50, 100, 100, 0, 0);
    AVFrame *f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        const struct want_px corner[] = {{50, 50, RED},   {149, 149, RED},   {49, 50, BLACK},
                                         {50, 49, BLACK}, {150, 100, BLACK}, {100, 150, BLACK}};
        check_pixels(f, corner, N_OF(corner));
        check_census(f, RED, BLACK, 100 * 100);
    }
    av_frame_free(&f);
    /* Centre anchor: the box's middle sits on (x, y). */
    set_box(l, 100, 100, 50, 20, 0.5, 0.5);
    const struct want_px centre[] = {
        {75, 90, RED}, {124, 109, RED}, {74, 100, BLACK}, {100, 110, BLACK}};
    expect_pixels(pe, tl, NULL, 0, centre, N_OF(centre));
    /* Visibility: start <= t < start + duration. */
    l->start_us = REEL_US;
    l->duration_us = REEL_US;
    int64_t times[3] = {999999, REEL_US, 2 * REEL_US};
    for (int i = 0; i < 3; i++) {
        const struct want_px mid = {100, 100, i == 1 ? RED : BLACK};
        expect_pixels(pe, tl, NULL, times[i], &mid, 1);
    }
    reel_timeline_destroy(&tl);
}

static void probe_opacity(const struct probe_engine *pe)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    tl->layers[0].opacity = 0.5;
    AVFrame *f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        const uint8_t *p = px(f, 10, 10);
        CHECK_NEAR(p[0], 128, 1);
        CHECK_NEAR(p[1], 128, 1);
        CHECK_NEAR(p[2], 128, 1);
        CHECK_INT_EQ(p[3], 255);
    }
    av_frame_free(&f);
    /* Animated opacity: 0 -> 1 over a second, linear; a quarter of the way reads a quarter. */
    struct reel_layer *l = &tl->layers[0];
    l->opacity = 1.0;
    animate(l, REEL_PROP_OPACITY, make_key(0, 0.0, REEL_EASE_LINEAR),
            make_key(REEL_US, 1.0, REEL_EASE_LINEAR));
    f = probe_rgba(pe, tl, NULL, REEL_US / 4);
    if (f)
        CHECK_NEAR(px(f, 10, 10)[0], 64, 1);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

/* An ow x oh frame over bg with one image layer (content[0]) in a bw x bh box at (0, 0). */
static struct reel_timeline *image_tl(int ow, int oh, struct reel_color bg, int bw, int bh)
{
    struct reel_timeline *tl = new_timeline(ow, oh, bg, 1);
    tl->layers[0].type = REEL_LAYER_IMAGE;
    set_box(&tl->layers[0], 0, 0, bw, bh, 0, 0);
    return tl;
}

/* A red layer with a one-second linear transition in; full frame, or a 100x100 box at (0, 0). */
static struct reel_timeline *transition_tl(enum reel_transition_type type, bool full)
{
    struct reel_timeline *tl = red_tl();
    if (!full)
        set_box(&tl->layers[0], 0, 0, 100, 100, 0, 0);
    tl->layers[0].tr_in = make_tr(type, REEL_US, REEL_EASE_LINEAR);
    return tl;
}

static void probe_transitions(const struct probe_engine *pe)
{
    /* wipe-left at p = 0.5: x >= W/2 shows the layer. */
    struct reel_timeline *tl = transition_tl(REEL_TR_WIPE_LEFT, true);
    AVFrame *f = probe_rgba(pe, tl, NULL, REEL_US / 2);
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
    const struct want_px whole = {0, 0, RED};
    expect_pixels(pe, tl, NULL, REEL_US, &whole, 1);
    reel_timeline_destroy(&tl);

    /* The other wipes at p = 0.25: a quarter of the frame from the edge they start at shows. */
    struct {
        enum reel_transition_type type;
        int red_x, red_y, black_x, black_y;
    } wipes[] = {{REEL_TR_WIPE_RIGHT, W / 4 - 1, 10, W / 4, 10},
                 {REEL_TR_WIPE_UP, 10, H - H / 4, 10, H - H / 4 - 1},
                 {REEL_TR_WIPE_DOWN, 10, H / 4 - 1, 10, H / 4}};
    for (size_t i = 0; i < N_OF(wipes); i++) {
        const struct want_px edge[] = {{wipes[i].red_x, wipes[i].red_y, RED},
                                       {wipes[i].black_x, wipes[i].black_y, BLACK}};
        tl = transition_tl(wipes[i].type, true);
        expect_pixels(pe, tl, NULL, REEL_US / 4, edge, N_OF(edge));
        reel_timeline_destroy(&tl);
    }

    /* slide-left at p = 0.5: the layer is W/2 to the right of its place. */
    const struct want_px slid[] = {{W / 2 - 1, 50, BLACK},
                                   {W / 2, 50, RED},
                                   {W / 2 + 99, 99, RED},
                                   {W / 2 + 100, 50, BLACK},
                                   {50, 50, BLACK}};
    tl = transition_tl(REEL_TR_SLIDE_LEFT, false);
    expect_pixels(pe, tl, NULL, REEL_US / 2, slid, N_OF(slid));
    reel_timeline_destroy(&tl);

    /* Every slide at p = 0.5: a 100x100 box at (110, 70) is half a frame away from its place. */
    struct {
        enum reel_transition_type type;
        int x, y; /* a pixel inside the displaced box */
    } slides[] = {{REEL_TR_SLIDE_LEFT, 275, 75},
                  {REEL_TR_SLIDE_RIGHT, 10, 75},
                  {REEL_TR_SLIDE_UP, 115, 195},
                  {REEL_TR_SLIDE_DOWN, 115, 10}};
    for (size_t i = 0; i < N_OF(slides); i++) {
        const struct want_px moved[] = {{slides[i].x, slides[i].y, RED}, {160, 120, BLACK}};
        tl = transition_tl(slides[i].type, false);
        set_box(&tl->layers[0], 110, 70, 100, 100, 0, 0);
        expect_pixels(pe, tl, NULL, REEL_US / 2, moved, N_OF(moved));
        reel_timeline_destroy(&tl);
    }

    /* circle-open at p = 0.5: inside half of R = half the diagonal (200 px here). */
    const struct want_px opening[] = {{W / 2, H / 2, RED},         {W / 2 + 95, H / 2, RED},
                                      {W / 2 - 96, H / 2, RED},    {W / 2 + 105, H / 2, BLACK},
                                      {W / 2, H / 2 + 101, BLACK}, {0, 0, BLACK}};
    tl = transition_tl(REEL_TR_CIRCLE_OPEN, true);
    expect_pixels(pe, tl, NULL, REEL_US / 2, opening, N_OF(opening));
    reel_timeline_destroy(&tl);

    /* circle-close at p = 0.5: the same circle, the other way round. */
    const struct want_px closing[] = {
        {W / 2, H / 2, BLACK}, {W / 2 + 95, H / 2, BLACK}, {W / 2 + 105, H / 2, RED}, {0, 0, RED}};
    tl = transition_tl(REEL_TR_CIRCLE_CLOSE, true);
    expect_pixels(pe, tl, NULL, REEL_US / 2, closing, N_OF(closing));
    reel_timeline_destroy(&tl);

    /* radial at p = 0.25: a clockwise quarter sweep from 12 o'clock is the top-right quadrant. */
    const struct want_px sweep[] = {{W / 2 + 40, H / 2 - 40, RED},
                                    {W - 1, 0, RED},
                                    {W / 2 + 5, 5, RED},
                                    {W - 5, H / 2 - 3, RED},
                                    {W / 2 + 40, H / 2 + 40, BLACK},
                                    {W / 2 - 40, H / 2 + 40, BLACK},
                                    {W / 2 - 40, H / 2 - 40, BLACK},
                                    {0, 0, BLACK}};
    tl = transition_tl(REEL_TR_RADIAL, true);
    expect_pixels(pe, tl, NULL, REEL_US / 4, sweep, N_OF(sweep));
    reel_timeline_destroy(&tl);

    /* fade out at p = 0.5 (half-way through the last second): half alpha. */
    tl = transition_tl(REEL_TR_NONE, true);
    tl->layers[0].tr_out = make_tr(REEL_TR_FADE, REEL_US, REEL_EASE_LINEAR);
    f = probe_rgba(pe, tl, NULL, 10 * REEL_US - REEL_US / 2);
    if (f)
        CHECK_NEAR(px(f, 10, 10)[0], 128, 1);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void probe_rotation_scale(const struct probe_engine *pe)
{
    /* A 200x20 bar about its centre, turned 90 degrees, stands upright. */
    struct reel_timeline *tl = red_tl();
    struct reel_layer *l = &tl->layers[0];
    set_box(l, 160, 120, 200, 20, 0.5, 0.5);
    l->rotation_deg = 90;
    AVFrame *f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        const struct want_px upright[] = {{160, 25, RED},    {160, 214, RED},   {150, 120, RED},
                                          {169, 120, RED},   {149, 120, BLACK}, {170, 120, BLACK},
                                          {100, 120, BLACK}, {160, 15, BLACK}};
        check_pixels(f, upright, N_OF(upright));
        check_census(f, RED, BLACK, 200 * 20);
    }
    av_frame_free(&f);

    /* 45 degrees: anti-aliased edges, the area is kept. */
    l->rotation_deg = 45;
    f = probe_rgba(pe, tl, NULL, 0);
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
    f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        const struct want_px doubled[] = {
            {120, 100, RED}, {199, 139, RED}, {119, 120, BLACK}, {160, 140, BLACK}};
        check_census(f, RED, BLACK, 80 * 40);
        check_pixels(f, doubled, N_OF(doubled));
    }
    av_frame_free(&f);
    /* [sx, sy] scale: 3 x 0.5 of 40x20 is 120x10. */
    l->scale = 1.0;
    l->scale_x = 3.0;
    l->scale_y = 0.5;
    f = probe_rgba(pe, tl, NULL, 0);
    if (f)
        check_census(f, RED, BLACK, 120 * 10);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void probe_fit(const struct probe_engine *pe)
{
    /* A 2:1 image (left red, right blue) into a 40x40 box at (0,0). */
    struct reel_image content[1];
    split_image(&content[0], 60, 30, RED, BLUE);
    struct reel_timeline *tl = image_tl(100, 100, BLACK, 40, 40);

    const struct want_px fill[] = {{2, 2, RED},    {2, 37, RED},    {37, 2, BLUE},
                                   {37, 37, BLUE}, {40, 20, BLACK}, {20, 40, BLACK}};
    /* 40x20 at y 10..30, transparent above and below */
    const struct want_px contain[] = {{5, 5, BLACK},  {5, 9, BLACK},  {5, 10, RED},   {5, 29, RED},
                                      {35, 15, BLUE}, {5, 30, BLACK}, {35, 35, BLACK}};
    /* 80x40 centred: the middle half shows, split at x = 20 */
    const struct want_px cover[] = {
        {0, 0, RED}, {16, 39, RED}, {24, 0, BLUE}, {39, 39, BLUE}, {40, 20, BLACK}};
    /* 60x30 centred: x -10..50, y 5..35, cropped to the box */
    const struct want_px natural[] = {{0, 5, RED},    {19, 34, RED},  {20, 5, BLUE},
                                      {39, 20, BLUE}, {10, 4, BLACK}, {10, 35, BLACK},
                                      {40, 20, BLACK}};
    struct {
        enum reel_fit fit;
        const struct want_px *want;
        size_t n;
    } modes[] = {{REEL_FIT_FILL, fill, N_OF(fill)},
                 {REEL_FIT_CONTAIN, contain, N_OF(contain)},
                 {REEL_FIT_COVER, cover, N_OF(cover)},
                 {REEL_FIT_NATURAL, natural, N_OF(natural)}};
    for (size_t i = 0; i < N_OF(modes); i++) {
        tl->layers[0].fit = modes[i].fit;
        expect_pixels(pe, tl, content, 0, modes[i].want, modes[i].n);
    }
    reel_image_uninit(&content[0]);
    reel_timeline_destroy(&tl);
}

/* ---- effects: the SPEC formulas, computed here independently ---- */

static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

/* On a colour layer and on an image layer (both paths must give the formula), within the
 * engine's tolerance. */
static void expect_effect(const struct probe_engine *pe, struct reel_effect e, struct reel_color in,
                          const double want[3])
{
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
        AVFrame *f = probe_rgba(pe, tl, pass ? content : NULL, 0);
        if (f) {
            const uint8_t *p = px(f, 32, 32);
            for (int c = 0; c < 3; c++)
                CHECK_MSG(fabs(p[c] - want[c] * 255.0) <= pe->effect_tol,
                          "%s effect %d pass %d channel %d: %d, expected %.2f", pe->name, e.type,
                          pass, c, p[c], want[c] * 255.0);
        }
        av_frame_free(&f);
        reel_image_uninit(&content[0]);
        reel_timeline_destroy(&tl);
    }
}

static void probe_effects(const struct probe_engine *pe)
{
    struct reel_color in = {100, 150, 200, 255};
    double r = 100 / 255.0, g = 150 / 255.0, b = 200 / 255.0;
    double want[3];

    struct reel_effect e = {.type = REEL_FX_BRIGHTNESS, .value = 0.2};
    want[0] = clamp01(r + 0.2), want[1] = clamp01(g + 0.2), want[2] = clamp01(b + 0.2);
    expect_effect(pe, e, in, want);

    e = (struct reel_effect){.type = REEL_FX_BRIGHTNESS, .value = -0.5};
    want[0] = clamp01(r - 0.5), want[1] = clamp01(g - 0.5), want[2] = clamp01(b - 0.5);
    expect_effect(pe, e, in, want);

    e = (struct reel_effect){.type = REEL_FX_CONTRAST, .value = 1.5};
    want[0] = clamp01((r - 0.5) * 1.5 + 0.5), want[1] = clamp01((g - 0.5) * 1.5 + 0.5);
    want[2] = clamp01((b - 0.5) * 1.5 + 0.5);
    expect_effect(pe, e, in, want);

    double L = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    e = (struct reel_effect){.type = REEL_FX_SATURATION, .value = 2.0};
    want[0] = clamp01(L + (r - L) * 2), want[1] = clamp01(L + (g - L) * 2);
    want[2] = clamp01(L + (b - L) * 2);
    expect_effect(pe, e, in, want);

    e = (struct reel_effect){.type = REEL_FX_GRAYSCALE};
    want[0] = want[1] = want[2] = L;
    expect_effect(pe, e, in, want);

    e = (struct reel_effect){.type = REEL_FX_SEPIA};
    want[0] = clamp01(.393 * r + .769 * g + .189 * b);
    want[1] = clamp01(.349 * r + .686 * g + .168 * b);
    want[2] = clamp01(.272 * r + .534 * g + .131 * b);
    expect_effect(pe, e, in, want);

    e = (struct reel_effect){.type = REEL_FX_INVERT};
    want[0] = 1 - r, want[1] = 1 - g, want[2] = 1 - b;
    expect_effect(pe, e, in, want);

    /* A blur leaves a flat colour flat. */
    e = (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 3};
    want[0] = r, want[1] = g, want[2] = b;
    expect_effect(pe, e, in, want);

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
        const struct want_px centre = {32, 32, pass ? RED : WHITE};
        expect_pixels(pe, tl, content, 0, &centre, 1);
        reel_image_uninit(&content[0]);
        reel_timeline_destroy(&tl);
    }
    /* A colour between: alpha follows clamp((d - similarity) / smoothness), here 0.5. */
    struct reel_color near = {40, 200, 40, 255};
    double nr = 40 / 255.0, ng = 200 / 255.0, nb = 40 / 255.0;
    double ny = 0.2126 * nr + 0.7152 * ng + 0.0722 * nb, ky = 0.7152;
    double cb = (nb - ny) / 1.8556 + 0.5, cr = (nr - ny) / 1.5748 + 0.5;
    double kcb = (0 - ky) / 1.8556 + 0.5, kcr = (0 - ky) / 1.5748 + 0.5;
    double d = sqrt(((cb - kcb) * (cb - kcb) + (cr - kcr) * (cr - kcr)) / 2);
    struct reel_effect soft = key;
    soft.similarity = d - 0.05;
    soft.smoothness = 0.1;
    struct reel_timeline *tl = new_timeline(64, 64, BLACK, 1);
    tl->layers[0].color = near;
    add_effect(&tl->layers[0], soft);
    AVFrame *f = probe_rgba(pe, tl, NULL, 0);
    if (f) {
        CHECK_NEAR(px(f, 5, 5)[0], 40 * 0.5, pe->effect_tol);
        CHECK_NEAR(px(f, 5, 5)[1], 200 * 0.5, pe->effect_tol);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void probe_blur(const struct probe_engine *pe)
{
    /* A white | black hard edge at x = 20 of a 40x20 image, drawn 1:1 at (0,0). */
    struct reel_image content[1];
    split_image(&content[0], 40, 20, WHITE, BLACK);
    struct reel_timeline *tl = image_tl(64, 32, BLUE, 40, 20);
    add_effect(&tl->layers[0], (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 2.0});
    AVFrame *f = probe_rgba(pe, tl, content, 0);
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

static void probe_yuv(const struct probe_engine *pe)
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
            AVFrame *f = pe->render(tl, NULL, nv12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P, 0);
            if (f) {
                CHECK_INT_EQ(f->format, nv12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P);
                CHECK_INT_EQ(f->width, 64);
                CHECK_INT_EQ(f->height, 32);
                CHECK_INT_EQ(f->color_range, AVCOL_RANGE_MPEG);
                CHECK_INT_EQ(f->colorspace, AVCOL_SPC_BT709);
                CHECK_INT_EQ(f->color_primaries, AVCOL_PRI_BT709);
                CHECK_INT_EQ(f->color_trc, AVCOL_TRC_BT709);
                int n_bad = 0;
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 64; x++)
                        n_bad += abs(f->data[0][y * f->linesize[0] + x] - cases[i].y) > 1;
                CHECK_INT_EQ(n_bad, 0);
                int u, v;
                if (nv12) {
                    u = f->data[1][5 * f->linesize[1] + 10];
                    v = f->data[1][5 * f->linesize[1] + 11];
                } else {
                    u = f->data[1][5 * f->linesize[1] + 5];
                    v = f->data[2][5 * f->linesize[2] + 5];
                }
                CHECK_NEAR(f->data[0][10 * f->linesize[0] + 10], cases[i].y, 1);
                CHECK_NEAR(u, cases[i].u, 1);
                CHECK_NEAR(v, cases[i].v, 1);
            }
            av_frame_free(&f);
            reel_timeline_destroy(&tl);
        }
    }
}

/* Resident set size in KiB, or -1 where /proc cannot say. */
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

/* Every probe, in order. */
static void run_probes(const struct probe_engine *pe)
{
    probe_background(pe);
    probe_anchor_box(pe);
    probe_opacity(pe);
    probe_transitions(pe);
    probe_rotation_scale(pe);
    probe_fit(pe);
    probe_effects(pe);
    probe_blur(pe);
    probe_yuv(pe);
}

#endif
