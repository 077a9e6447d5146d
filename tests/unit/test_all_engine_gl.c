/*
 * gl engine on whatever EGL display the host offers (Mesa's surfaceless llvmpipe in CI):
 *  - the cpu engine's pixel probes (geometry, opacity, transitions, fit, effects, blur, YUV);
 *  - frame-by-frame parity with the cpu engine on a busy hand-built timeline with every
 *    transition and effect and a video layer (per-frame luma PSNR >= 35 dB);
 *  - four jobs on four threads in one process give the frames each gives alone;
 *  - the pipelined send_time / receive_frame contract, and render() on top of it;
 *  - a shader that fails to compile fails prepare with its info log logged, and nothing crashes;
 *  - memory does not grow with the number of frames.
 * Skips (77) when no EGL display can be initialised, or when reel is built without the gl
 * engine (REEL_WITH_GL=OFF). Video checks need the ffmpeg tool.
 */
#ifndef REEL_WITH_GL
#include <stdio.h>

int main(void)
{
    printf("SKIP: built without the gl engine (REEL_WITH_GL=OFF)\n");
    return 77;
}
#else
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "check.h"
#include "engines/gl/context.h"
#include "engines/gl/shader_files.h"
#include "render/engine.h"
#include "render/scene.h"
#include "timeline/timeline.h"

#define W 320
#define H 240
#define PARITY_MIN_DB 35.0

static const struct reel_color BLACK = {0, 0, 0, 255};
static const struct reel_color RED = {255, 0, 0, 255};
static const struct reel_color BLUE = {0, 0, 255, 255};
static const struct reel_color WHITE = {255, 255, 255, 255};

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

/* A premultiplied image whose left half is `left` and right half `right`. */
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
            p[0] = (uint8_t)(c.r * c.a / 255);
            p[1] = (uint8_t)(c.g * c.a / 255);
            p[2] = (uint8_t)(c.b * c.a / 255);
            p[3] = c.a;
        }
}

/* A premultiplied image with smooth gradients and some alpha, to exercise the resampler. */
static void gradient_image(struct reel_image *img, int w, int h)
{
    img->width = w;
    img->height = h;
    img->stride = w * 4;
    img->data = malloc((size_t)w * h * 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + 4 * x;
            int a = 128 + 127 * ((x / 7 + y / 5) % 2);
            p[0] = (uint8_t)((x * 255 / (w - 1)) * a / 255);
            p[1] = (uint8_t)((y * 255 / (h - 1)) * a / 255);
            p[2] = (uint8_t)(((x + y) % 64) * 4 * a / 255);
            p[3] = (uint8_t)a;
        }
}

/* ---- engines ---- */

/* gl engines are kept per output size and re-prepared for each scene: creating a context and
 * compiling its programs is the slow part on a software renderer. */
struct cached {
    int w, h;
    struct reel_engine *eng;
};
static struct cached cache[8];

static struct reel_engine *gl_engine(int w, int h)
{
    for (int i = 0; i < 8; i++)
        if (cache[i].eng && cache[i].w == w && cache[i].h == h)
            return cache[i].eng;
    for (int i = 0; i < 8; i++) {
        if (cache[i].eng)
            continue;
        struct reel_engine_cfg cfg = {
            .width = w, .height = h, .pix_fmt = AV_PIX_FMT_RGBA, .gpu_index = -1};
        struct reel_err err = {0};
        int ret = reel_engine_create("gl", &cfg, NULL, &cache[i].eng, &err);
        CHECK_MSG(ret == 0, "create gl %dx%d: %s", w, h, err.msg);
        cache[i].w = w;
        cache[i].h = h;
        return cache[i].eng;
    }
    return NULL;
}

static void drop_engines(void)
{
    for (int i = 0; i < 8; i++)
        reel_engine_destroy(&cache[i].eng);
}

static struct reel_image no_content[64];

static AVFrame *render_with(const char *name, const struct reel_timeline *tl,
                            struct reel_image *content, enum AVPixelFormat fmt, int64_t t_us)
{
    struct reel_scene scene = {.tl = tl, .content = content ? content : no_content};
    struct reel_engine *eng = NULL, *own = NULL;
    AVFrame *f = NULL;
    if (!strcmp(name, "gl")) {
        eng = gl_engine(tl->out.width, tl->out.height);
        if (!eng)
            return NULL;
        eng->cfg.pix_fmt = fmt;
    } else {
        struct reel_engine_cfg cfg = {.width = tl->out.width,
                                      .height = tl->out.height,
                                      .pix_fmt = fmt,
                                      .threads = 2,
                                      .gpu_index = -1};
        struct reel_err err = {0};
        int ret = reel_engine_create(name, &cfg, NULL, &own, &err);
        CHECK_MSG(ret == 0, "create %s: %s", name, err.msg);
        if (ret < 0)
            return NULL;
        eng = own;
    }
    int ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "%s prepare: %s at %s", name, eng->err.msg, eng->err.path);
    if (ret == 0) {
        ret = eng->ops->render(eng, t_us, &f);
        CHECK_MSG(ret == 0, "%s render: %s", name, eng->err.msg);
    }
    reel_engine_destroy(&own);
    return f;
}

static AVFrame *render_gl(const struct reel_timeline *tl, struct reel_image *content, int64_t t_us)
{
    return render_with("gl", tl, content, AV_PIX_FMT_RGBA, t_us);
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

/* Luma PSNR of two YUV frames of the same size. */
static double luma_psnr(const AVFrame *a, const AVFrame *b)
{
    double sse = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++) {
            int d = a->data[0][y * a->linesize[0] + x] - b->data[0][y * b->linesize[0] + x];
            sse += (double)d * d;
        }
    double mse = sse / ((double)a->width * a->height);
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99.0;
}

static bool same_yuv(const AVFrame *a, const AVFrame *b)
{
    if (a->format != b->format || a->width != b->width || a->height != b->height)
        return false;
    for (int p = 0; p < 3; p++) {
        int w = p ? a->width / 2 : a->width, h = p ? a->height / 2 : a->height;
        for (int y = 0; y < h; y++)
            if (memcmp(a->data[p] + y * a->linesize[p], b->data[p] + y * b->linesize[p], (size_t)w))
                return false;
    }
    return true;
}

/* ---- the cpu engine's probes ---- */

static void test_basics(void)
{
    CHECK(reel_engine_registry[0] == reel_engine_find("gl"));
    const struct reel_engine_ops *ops = reel_engine_find("gl");
    CHECK(ops->send_time && ops->receive_frame && ops->describe);
    struct reel_engine *eng = gl_engine(64, 64);
    if (!eng)
        return;
    struct reel_engine_caps caps;
    eng->ops->query_caps(eng, &caps);
    CHECK_INT_EQ(caps.pix_fmts[0], AV_PIX_FMT_YUV420P);
    CHECK_INT_EQ(caps.pix_fmts[1], AV_PIX_FMT_NV12);
    CHECK_INT_EQ(caps.pix_fmts[2], AV_PIX_FMT_RGBA);
    CHECK_INT_EQ(caps.pix_fmts[3], AV_PIX_FMT_NONE);
    /* A software renderer is never reported as hardware, so "auto" keeps choosing cpu. */
    struct reel_gl_ctx ctx;
    struct reel_err err = {0};
    if (reel_gl_ctx_open(&ctx, -1, NULL, &err) == 0) {
        printf("gl display: %s\nrenderer: %s (%s)\n", ctx.desc, ctx.renderer, ctx.version);
        if (strstr(ctx.renderer, "llvmpipe") || strstr(ctx.renderer, "softpipe"))
            CHECK(!caps.is_hw);
        CHECK_INT_EQ(caps.is_hw, ctx.is_hw);
        reel_gl_ctx_close(&ctx);
    }
    char desc[4096];
    ops->describe(&eng->cfg, desc, sizeof(desc));
    CHECK(strstr(desc, "chosen: ") != NULL);
    /* Rendering before prepare is an error, not a crash. */
    struct reel_engine_cfg cfg = {
        .width = 64, .height = 64, .pix_fmt = AV_PIX_FMT_YUV420P, .gpu_index = -1};
    struct reel_engine *fresh = NULL;
    CHECK_INT_EQ(reel_engine_create("gl", &cfg, NULL, &fresh, &err), 0);
    if (fresh) {
        AVFrame *f = NULL;
        CHECK(fresh->ops->render(fresh, 0, &f) < 0);
        CHECK(f == NULL);
    }
    reel_engine_destroy(&fresh);
    /* An output format it cannot make, or an odd size, is refused at create. */
    cfg.pix_fmt = AV_PIX_FMT_YUV444P16LE;
    CHECK_INT_EQ(reel_engine_create("gl", &cfg, NULL, &fresh, &err), -REEL_EENGINE_UNAVAILABLE);
    CHECK(fresh == NULL);
    CHECK(strstr(err.msg, "format") != NULL);
}

static void test_background(void)
{
    struct reel_color bg = {0x33, 0x66, 0x99, 255};
    struct reel_timeline *tl = new_timeline(W, H, bg, 0);
    AVFrame *f = render_gl(tl, NULL, 0);
    if (f) {
        CHECK_INT_EQ(f->width, W);
        CHECK_INT_EQ(f->height, H);
        CHECK_INT_EQ(f->format, AV_PIX_FMT_RGBA);
        int n_bg, n_other;
        census(f, bg, bg, &n_bg, &n_other);
        CHECK_INT_EQ(n_bg, W * H);
    }
    av_frame_free(&f);
    /* A translucent background comes out straight (un-premultiplied) in RGBA. */
    struct reel_color half = {200, 100, 50, 128};
    reel_timeline_destroy(&tl);
    tl = new_timeline(W, H, half, 0);
    f = render_gl(tl, NULL, 0);
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

static void test_anchor_box(void)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->color = RED;
    set_box(l, 50, 50, 100, 100, 0, 0);
    AVFrame *f = render_gl(tl, NULL, 0);
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
    set_box(l, 100, 100, 50, 20, 0.5, 0.5);
    f = render_gl(tl, NULL, 0);
    if (f) {
        CHECK_PX(f, 75, 90, RED);
        CHECK_PX(f, 124, 109, RED);
        CHECK_PX(f, 74, 100, BLACK);
        CHECK_PX(f, 100, 110, BLACK);
    }
    av_frame_free(&f);
    l->start_us = REEL_US;
    l->duration_us = REEL_US;
    int64_t times[3] = {999999, REEL_US, 2 * REEL_US};
    for (int i = 0; i < 3; i++) {
        f = render_gl(tl, NULL, times[i]);
        if (f)
            CHECK_PX(f, 100, 100, i == 1 ? RED : BLACK);
        av_frame_free(&f);
    }
    reel_timeline_destroy(&tl);
}

static void test_opacity(void)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    tl->layers[0].opacity = 0.5;
    AVFrame *f = render_gl(tl, NULL, 0);
    if (f) {
        const uint8_t *p = px(f, 10, 10);
        CHECK_NEAR(p[0], 128, 1);
        CHECK_NEAR(p[1], 128, 1);
        CHECK_NEAR(p[2], 128, 1);
        CHECK_INT_EQ(p[3], 255);
    }
    av_frame_free(&f);
    struct reel_layer *l = &tl->layers[0];
    l->opacity = 1.0;
    animate(l, REEL_PROP_OPACITY, make_key(0, 0.0, REEL_EASE_LINEAR),
            make_key(REEL_US, 1.0, REEL_EASE_LINEAR));
    f = render_gl(tl, NULL, REEL_US / 4);
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
    l->tr_in = make_tr(type, REEL_US, REEL_EASE_LINEAR);
    return tl;
}

static void test_transitions(void)
{
    struct reel_timeline *tl = transition_tl(REEL_TR_WIPE_LEFT, true);
    AVFrame *f = render_gl(tl, NULL, REEL_US / 2);
    if (f) {
        for (int y = 0; y < H; y += 60) {
            CHECK_PX(f, W / 2 - 1, y, BLACK);
            CHECK_PX(f, W / 2, y, RED);
            CHECK_PX(f, 0, y, BLACK);
            CHECK_PX(f, W - 1, y, RED);
        }
    }
    av_frame_free(&f);
    f = render_gl(tl, NULL, REEL_US);
    if (f)
        CHECK_PX(f, 0, 0, RED);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    tl = transition_tl(REEL_TR_WIPE_RIGHT, true);
    f = render_gl(tl, NULL, REEL_US / 4);
    if (f) {
        CHECK_PX(f, W / 4 - 1, 10, RED);
        CHECK_PX(f, W / 4, 10, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    tl = transition_tl(REEL_TR_WIPE_UP, true);
    f = render_gl(tl, NULL, REEL_US / 4);
    if (f) {
        CHECK_PX(f, 10, H - H / 4 - 1, BLACK);
        CHECK_PX(f, 10, H - H / 4, RED);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    tl = transition_tl(REEL_TR_WIPE_DOWN, true);
    f = render_gl(tl, NULL, REEL_US / 4);
    if (f) {
        CHECK_PX(f, 10, H / 4 - 1, RED);
        CHECK_PX(f, 10, H / 4, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    /* Slides: at p = 0.5 a 100x100 box at (110, 70) is half a frame away from its place. */
    struct {
        enum reel_transition_type type;
        int x, y; /* a pixel inside the displaced box */
    } slides[] = {{REEL_TR_SLIDE_LEFT, 275, 75},
                  {REEL_TR_SLIDE_RIGHT, 10, 75},
                  {REEL_TR_SLIDE_UP, 115, 195},
                  {REEL_TR_SLIDE_DOWN, 115, 10}};
    for (int i = 0; i < 4; i++) {
        tl = transition_tl(slides[i].type, false);
        set_box(&tl->layers[0], 110, 70, 100, 100, 0, 0);
        f = render_gl(tl, NULL, REEL_US / 2);
        if (f) {
            CHECK_PX(f, slides[i].x, slides[i].y, RED);
            CHECK_PX(f, 160, 120, BLACK);
        }
        av_frame_free(&f);
        reel_timeline_destroy(&tl);
    }

    tl = transition_tl(REEL_TR_CIRCLE_OPEN, true);
    f = render_gl(tl, NULL, REEL_US / 2);
    if (f) {
        CHECK_PX(f, W / 2, H / 2, RED);
        CHECK_PX(f, W / 2 + 95, H / 2, RED);
        CHECK_PX(f, W / 2 + 105, H / 2, BLACK);
        CHECK_PX(f, W / 2, H / 2 + 101, BLACK);
        CHECK_PX(f, 0, 0, BLACK);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    tl = transition_tl(REEL_TR_CIRCLE_CLOSE, true);
    f = render_gl(tl, NULL, REEL_US / 2);
    if (f) {
        CHECK_PX(f, W / 2, H / 2, BLACK);
        CHECK_PX(f, W / 2 + 95, H / 2, BLACK);
        CHECK_PX(f, W / 2 + 105, H / 2, RED);
        CHECK_PX(f, 0, 0, RED);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);

    tl = transition_tl(REEL_TR_RADIAL, true);
    f = render_gl(tl, NULL, REEL_US / 4);
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

    tl = transition_tl(REEL_TR_NONE, true);
    tl->layers[0].tr_out = make_tr(REEL_TR_FADE, REEL_US, REEL_EASE_LINEAR);
    f = render_gl(tl, NULL, 10 * REEL_US - REEL_US / 2);
    if (f)
        CHECK_NEAR(px(f, 10, 10)[0], 128, 1);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void test_rotation_scale(void)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->color = RED;
    set_box(l, 160, 120, 200, 20, 0.5, 0.5);
    l->rotation_deg = 90;
    AVFrame *f = render_gl(tl, NULL, 0);
    if (f) {
        CHECK_PX(f, 160, 25, RED);
        CHECK_PX(f, 160, 214, RED);
        CHECK_PX(f, 150, 120, RED);
        CHECK_PX(f, 169, 120, RED);
        CHECK_PX(f, 149, 120, BLACK);
        CHECK_PX(f, 170, 120, BLACK);
        int n_red, n_other;
        census(f, RED, BLACK, &n_red, &n_other);
        CHECK_INT_EQ(n_red, 200 * 20);
        CHECK_INT_EQ(n_other, 0);
    }
    av_frame_free(&f);

    l->rotation_deg = 45;
    f = render_gl(tl, NULL, 0);
    if (f) {
        double area = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                area += px(f, x, y)[0] / 255.0;
        CHECK_NEAR(area, 200 * 20, 200 * 20 * 0.01);
        CHECK_PX(f, 160, 120, RED);
        CHECK_PX(f, 210, 170, RED);
        CHECK_PX(f, 210, 70, BLACK);
    }
    av_frame_free(&f);

    l->rotation_deg = 0;
    set_box(l, 160, 120, 40, 20, 0.5, 0.5);
    l->scale = 2.0;
    f = render_gl(tl, NULL, 0);
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
    l->scale = 1.0;
    l->scale_x = 3.0;
    l->scale_y = 0.5;
    f = render_gl(tl, NULL, 0);
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
    struct reel_image content[1];
    split_image(&content[0], 60, 30, RED, BLUE);
    struct reel_timeline *tl = new_timeline(100, 100, BLACK, 1);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_IMAGE;
    set_box(l, 0, 0, 40, 40, 0, 0);

    l->fit = REEL_FIT_FILL;
    AVFrame *f = render_gl(tl, content, 0);
    if (f) {
        CHECK_PX(f, 2, 2, RED);
        CHECK_PX(f, 2, 37, RED);
        CHECK_PX(f, 37, 2, BLUE);
        CHECK_PX(f, 37, 37, BLUE);
        CHECK_PX(f, 40, 20, BLACK);
        CHECK_PX(f, 20, 40, BLACK);
    }
    av_frame_free(&f);

    l->fit = REEL_FIT_CONTAIN;
    f = render_gl(tl, content, 0);
    if (f) {
        CHECK_PX(f, 5, 9, BLACK);
        CHECK_PX(f, 5, 10, RED);
        CHECK_PX(f, 5, 29, RED);
        CHECK_PX(f, 35, 15, BLUE);
        CHECK_PX(f, 5, 30, BLACK);
    }
    av_frame_free(&f);

    l->fit = REEL_FIT_COVER;
    f = render_gl(tl, content, 0);
    if (f) {
        CHECK_PX(f, 0, 0, RED);
        CHECK_PX(f, 16, 39, RED);
        CHECK_PX(f, 24, 0, BLUE);
        CHECK_PX(f, 39, 39, BLUE);
        CHECK_PX(f, 40, 20, BLACK);
    }
    av_frame_free(&f);

    l->fit = REEL_FIT_NATURAL;
    f = render_gl(tl, content, 0);
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

static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

/* On a colour layer and on an image layer, the formula within 2 code values. */
static void expect_effect(struct reel_effect e, struct reel_color in, const double want[3])
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
        AVFrame *f = render_gl(tl, pass ? content : NULL, 0);
        if (f) {
            const uint8_t *p = px(f, 32, 32);
            for (int c = 0; c < 3; c++)
                CHECK_MSG(fabs(p[c] - want[c] * 255.0) <= 2.0,
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

    /* A blur leaves a flat colour flat. */
    e = (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 3};
    want[0] = r, want[1] = g, want[2] = b;
    expect_effect(e, in, want);

    /* Chroma key: pure green disappears (white shows through), red stays. */
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
        AVFrame *f = render_gl(tl, content, 0);
        if (f)
            CHECK_PX(f, 32, 32, pass ? RED : WHITE);
        av_frame_free(&f);
        reel_image_uninit(&content[0]);
        reel_timeline_destroy(&tl);
    }
    /* Between the two: alpha is clamp((d - similarity) / smoothness) = 0.5. */
    struct reel_color near = {40, 200, 40, 255};
    double nr = 40 / 255.0, ng = 200 / 255.0, nb = 40 / 255.0;
    double ny = 0.2126 * nr + 0.7152 * ng + 0.0722 * nb, ky = 0.7152;
    double cb = (nb - ny) / 1.8556 + 0.5, cr = (nr - ny) / 1.5748 + 0.5;
    double kcb = (0 - ky) / 1.8556 + 0.5, kcr = (0 - ky) / 1.5748 + 0.5;
    double d = sqrt(((cb - kcb) * (cb - kcb) + (cr - kcr) * (cr - kcr)) / 2);
    struct reel_effect soft = key;
    soft.similarity = d - 0.05;
    struct reel_timeline *tl = new_timeline(64, 64, BLACK, 1);
    tl->layers[0].color = near;
    add_effect(&tl->layers[0], soft);
    AVFrame *f = render_gl(tl, NULL, 0);
    if (f) {
        CHECK_NEAR(px(f, 5, 5)[0], 40 * 0.5, 2);
        CHECK_NEAR(px(f, 5, 5)[1], 200 * 0.5, 2);
    }
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

static void test_blur(void)
{
    struct reel_image content[1];
    split_image(&content[0], 40, 20, WHITE, BLACK);
    struct reel_timeline *tl = new_timeline(64, 32, BLUE, 1);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_IMAGE;
    set_box(l, 0, 0, 40, 20, 0, 0);
    add_effect(l, (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 2.0});
    AVFrame *f = render_gl(tl, content, 0);
    if (f) {
        int y = 10;
        CHECK_PX(f, 0, 0, WHITE);
        CHECK_PX(f, 2, y, WHITE);
        CHECK_PX(f, 39, 19, BLACK);
        for (int k = 0; k < 8; k++) {
            int a = px(f, 19 - k, y)[0], b = px(f, 20 + k, y)[0];
            CHECK_MSG(abs(a + b - 255) <= 1, "k=%d: %d + %d", k, a, b);
        }
        for (int x = 14; x < 26; x++)
            CHECK_MSG(px(f, x, y)[0] > px(f, x + 1, y)[0], "not falling at %d", x);
        double s = 0, t = 0;
        for (int k = -6; k <= 6; k++) {
            double w = exp(-k * k / 8.0);
            s += w;
            if (k <= 0)
                t += w;
        }
        CHECK_NEAR(px(f, 19, y)[0], 255 * t / s, 1);
        CHECK(!memcmp(px(f, 0, 0), px(f, 0, 19), 40 * 4));
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
    } cases[] = {{WHITE, 235, 128, 128}, {BLACK, 16, 128, 128}, {RED, 63, 102, 240}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int nv12 = 0; nv12 < 2; nv12++) {
            struct reel_timeline *tl = new_timeline(64, 32, cases[i].c, 0);
            AVFrame *f =
                render_with("gl", tl, NULL, nv12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P, 0);
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

/* ---- a busy scene for parity, threads and pipelining ---- */

#define CLIP_W 160
#define CLIP_H 120

static char clip_dir[64], clip_path[128];

/* A moving test pattern (FFmpeg's testsrc2), 3 s at 25 fps. */
static int make_clip(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1") != 0)
        return -1;
    snprintf(clip_dir, sizeof(clip_dir), "/tmp/reel_gl_XXXXXX");
    if (!mkdtemp(clip_dir))
        return -1;
    snprintf(clip_path, sizeof(clip_path), "%s/clip.mp4", clip_dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=%dx%d:rate=25 -t 3 "
             "-c:v libx264 -crf 18 -g 25 -pix_fmt yuv420p %s || ffmpeg -nostdin -loglevel error "
             "-y -f lavfi -i testsrc2=size=%dx%d:rate=25 -t 3 -c:v mpeg4 -q:v 2 -pix_fmt yuv420p "
             "%s",
             CLIP_W, CLIP_H, clip_path, CLIP_W, CLIP_H, clip_path);
    return system(cmd) == 0 ? 0 : -1;
}

static char turned_path[160], rgb_path[160];

/* Variants of the clip: turned by a display matrix (stream copy, so the pictures are the same),
 * and coded as RGB (which the engine converts on the CPU before upload). */
static int make_variants(void)
{
    char cmd[1024];
    snprintf(turned_path, sizeof(turned_path), "%s/turned.mp4", clip_dir);
    snprintf(rgb_path, sizeof(rgb_path), "%s/rgb.mkv", clip_dir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -i %s -c copy -metadata:s:v:0 rotate=90 %s && "
             "ffmpeg -nostdin -loglevel error -y -i %s -c:v png -pix_fmt rgb24 %s",
             clip_path, turned_path, clip_path, rgb_path);
    return system(cmd) == 0 ? 0 : -1;
}

static void remove_clip(void)
{
    if (!clip_dir[0])
        return;
    unlink(clip_path);
    unlink(turned_path);
    unlink(rgb_path);
    rmdir(clip_dir);
}

/* A clip drawn the two engines' ways, rotated and scaled, at a few times: luma PSNR >= 35 dB. */
static void test_video_variant(const char *path, const char *what)
{
    struct reel_timeline *tl = new_timeline(W, H, BLACK, 2);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_VIDEO;
    l->src_path = strdup(path);
    l->media_duration_us = 3 * REEL_US;
    l->fit = REEL_FIT_CONTAIN;
    l = &tl->layers[1];
    l->type = REEL_LAYER_VIDEO;
    l->src_path = strdup(path);
    l->media_duration_us = 3 * REEL_US;
    l->fit = REEL_FIT_COVER;
    set_box(l, 220, 70, 150, 90, 0.5, 0.5);
    l->rotation_deg = -15;
    l->trim_us = REEL_US;
    double worst = 99;
    for (int i = 0; i < 3; i++) {
        int64_t t = 300000 + 700000 * i;
        AVFrame *a = render_with("cpu", tl, NULL, AV_PIX_FMT_YUV420P, t);
        AVFrame *b = render_with("gl", tl, NULL, AV_PIX_FMT_YUV420P, t);
        if (a && b) {
            double db = luma_psnr(a, b);
            worst = fmin(worst, db);
            CHECK_MSG(db >= PARITY_MIN_DB, "%s video at %lld us: luma PSNR %.2f dB", what,
                      (long long)t, db);
        }
        av_frame_free(&a);
        av_frame_free(&b);
    }
    printf("%s video: luma PSNR worst %.2f dB\n", what, worst);
    reel_timeline_destroy(&tl);
}

/*
 * Every transition, every effect, fit modes, rotation, scale, anchors and animation, over 3 s:
 * layer i starts at 0.2 i s so that transitions overlap at different phases.
 */
static struct reel_timeline *busy_tl(struct reel_image *content, bool with_video)
{
    enum { N = 14 };
    struct reel_timeline *tl = new_timeline(W, H, (struct reel_color){10, 20, 30, 255}, N);
    tl->out.duration_us = 3 * REEL_US;
    static const enum reel_transition_type tr[] = {
        REEL_TR_FADE,       REEL_TR_WIPE_LEFT,   REEL_TR_WIPE_RIGHT,   REEL_TR_WIPE_UP,
        REEL_TR_WIPE_DOWN,  REEL_TR_SLIDE_LEFT,  REEL_TR_SLIDE_RIGHT,  REEL_TR_SLIDE_UP,
        REEL_TR_SLIDE_DOWN, REEL_TR_CIRCLE_OPEN, REEL_TR_CIRCLE_CLOSE, REEL_TR_RADIAL,
        REEL_TR_FADE,       REEL_TR_WIPE_LEFT};
    static const enum reel_easing_kind ease[] = {REEL_EASE_LINEAR, REEL_EASE_IN, REEL_EASE_OUT,
                                                 REEL_EASE_IN_OUT, REEL_EASE_OUT_BACK};
    for (int i = 0; i < N; i++) {
        struct reel_layer *l = &tl->layers[i];
        l->start_us = i * REEL_US / 5;
        l->duration_us = 3 * REEL_US - l->start_us;
        l->tr_in = make_tr(tr[i], 600000, ease[i % 5]);
        l->tr_out = make_tr(tr[(i + 5) % N], 500000, ease[(i + 2) % 5]);
        l->color = (struct reel_color){(uint8_t)(40 + 15 * i), (uint8_t)(200 - 12 * i),
                                       (uint8_t)(90 + 9 * i), (uint8_t)(i % 3 ? 255 : 200)};
        set_box(l, 30 + 19 * i, 25 + 14 * i, 90 + 3 * i, 60 + 2 * i, 0.1 * (i % 6), 0.5);
        l->rotation_deg = 17.0 * (i % 5) - 20.0;
        l->scale = 0.8 + 0.05 * (i % 7);
        l->opacity = 0.6 + 0.03 * i;
    }
    /* Images: gradients through every fit mode, with effects. */
    static const enum reel_fit fits[] = {REEL_FIT_COVER, REEL_FIT_CONTAIN, REEL_FIT_FILL,
                                         REEL_FIT_NATURAL};
    static const struct reel_effect fx[] = {
        {.type = REEL_FX_BRIGHTNESS, .value = 0.15},
        {.type = REEL_FX_CONTRAST, .value = 1.6},
        {.type = REEL_FX_SATURATION, .value = 2.2},
        {.type = REEL_FX_GRAYSCALE},
        {.type = REEL_FX_SEPIA},
        {.type = REEL_FX_INVERT},
        {.type = REEL_FX_CHROMA_KEY,
         .color = {255, 0, 0, 255},
         .similarity = 0.2,
         .smoothness = 0.15},
        {.type = REEL_FX_BLUR, .sigma = 1.7},
    };
    for (int k = 0; k < 4; k++) {
        int i = 1 + 3 * k;
        struct reel_layer *l = &tl->layers[i];
        l->type = REEL_LAYER_IMAGE;
        l->fit = fits[k];
        gradient_image(&content[i], 50 + 37 * k, 40 + 23 * k);
        add_effect(l, fx[(2 * k) % 8]);
        add_effect(l, fx[(2 * k + 1) % 8]);
        if (k == 2)
            add_effect(l, fx[7]);
    }
    /* A text-like layer at its own size (fit none, no box given). */
    struct reel_layer *t = &tl->layers[2];
    t->type = REEL_LAYER_TEXT;
    t->width = t->height = 0;
    split_image(&content[2], 70, 24, WHITE, (struct reel_color){255, 255, 0, 160});
    add_effect(t, fx[7]);
    /* Animated position, rotation and scale. */
    struct reel_layer *a = &tl->layers[5];
    animate(a, REEL_PROP_X, make_key(0, 40, REEL_EASE_LINEAR),
            make_key(2 * REEL_US, 280, REEL_EASE_IN_OUT));
    animate(a, REEL_PROP_ROTATION, make_key(0, 0, REEL_EASE_LINEAR),
            make_key(2 * REEL_US, 270, REEL_EASE_OUT_BOUNCE));
    animate(a, REEL_PROP_SCALE, make_key(0, 0.5, REEL_EASE_LINEAR),
            make_key(REEL_US, 1.4, REEL_EASE_OUT_BACK));
    /* Colour layers with effects. */
    add_effect(&tl->layers[6], fx[4]);
    add_effect(&tl->layers[8], fx[5]);
    add_effect(&tl->layers[8], fx[0]);
    if (with_video) {
        struct reel_layer *v = &tl->layers[11];
        v->type = REEL_LAYER_VIDEO;
        v->src_path = strdup(clip_path);
        v->media_duration_us = 3 * REEL_US;
        v->loop = true;
        v->speed = 1.5;
        v->fit = REEL_FIT_COVER;
        set_box(v, 160, 120, 200, 130, 0.5, 0.5);
        v->rotation_deg = 8;
        add_effect(v, fx[2]);
        struct reel_layer *v2 = &tl->layers[0];
        v2->type = REEL_LAYER_VIDEO;
        v2->src_path = strdup(clip_path);
        v2->media_duration_us = 3 * REEL_US;
        v2->fit = REEL_FIT_CONTAIN;
        set_box(v2, 0, 0, W, H, 0, 0);
        v2->rotation_deg = 0;
        v2->scale = 1.0;
        v2->opacity = 1.0;
    }
    return tl;
}

static void free_content(struct reel_image *content, int n)
{
    for (int i = 0; i < n; i++)
        reel_image_uninit(&content[i]);
}

static void test_parity(bool with_video)
{
    struct reel_image content[16];
    memset(content, 0, sizeof(content));
    struct reel_timeline *tl = busy_tl(content, with_video);
    struct reel_scene scene = {.tl = tl, .content = content};
    struct reel_engine_cfg cfg = {
        .width = W, .height = H, .pix_fmt = AV_PIX_FMT_YUV420P, .threads = 2, .gpu_index = -1};
    struct reel_engine *cpu = NULL;
    struct reel_err err = {0};
    struct reel_engine *gl = gl_engine(W, H);
    int ret = reel_engine_create("cpu", &cfg, NULL, &cpu, &err);
    CHECK_MSG(ret == 0, "cpu: %s", err.msg);
    if (!gl || ret < 0)
        goto out;
    gl->cfg.pix_fmt = AV_PIX_FMT_YUV420P;
    ret = cpu->ops->prepare(cpu, &scene);
    CHECK_MSG(ret == 0, "cpu prepare: %s", cpu->err.msg);
    ret = ret < 0 ? ret : gl->ops->prepare(gl, &scene);
    CHECK_MSG(ret == 0, "gl prepare: %s at %s", gl->err.msg, gl->err.path);
    double worst = 99, sum = 0;
    int n = 0, exact = 0;
    for (int64_t i = 0; ret == 0 && i < 75; i += 2) {
        int64_t t = reel_timeline_frame_time_us(tl, i);
        AVFrame *a = NULL, *b = NULL;
        ret = cpu->ops->render(cpu, t, &a);
        if (ret == 0)
            ret = gl->ops->render(gl, t, &b);
        CHECK_MSG(ret == 0, "render at %lld: %s / %s", (long long)t, cpu->err.msg, gl->err.msg);
        if (a && b) {
            double db = luma_psnr(a, b);
            CHECK_MSG(db >= PARITY_MIN_DB, "frame %lld: luma PSNR %.2f dB < %.1f", (long long)i, db,
                      PARITY_MIN_DB);
            worst = fmin(worst, db);
            sum += db;
            exact += db >= 99;
            n++;
        }
        av_frame_free(&a);
        av_frame_free(&b);
    }
    printf("parity%s: %d frames, luma PSNR worst %.2f dB, mean %.2f dB, %d identical\n",
           with_video ? " (with video)" : "", n, worst, n ? sum / n : 0, exact);
out:
    reel_engine_destroy(&cpu);
    free_content(content, 16);
    reel_timeline_destroy(&tl);
}

/* ---- pipelining ---- */

static void test_pipeline(void)
{
    struct reel_image content[16];
    memset(content, 0, sizeof(content));
    struct reel_timeline *tl = busy_tl(content, false);
    struct reel_scene scene = {.tl = tl, .content = content};
    struct reel_engine *eng = gl_engine(W, H);
    AVFrame *ref[6] = {0}, *got[6] = {0};
    if (!eng)
        goto out;
    eng->cfg.pix_fmt = AV_PIX_FMT_NV12;
    int ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "prepare: %s", eng->err.msg);
    if (ret < 0)
        goto out;
    for (int i = 0; i < 6; i++) {
        ret = eng->ops->render(eng, reel_timeline_frame_time_us(tl, 10 * i), &ref[i]);
        CHECK_INT_EQ(ret, 0);
    }
    AVFrame *f = NULL;
    CHECK_INT_EQ(eng->ops->receive_frame(eng, &f), -REEL_EAGAIN); /* nothing queued */
    int sent = 0, received = 0;
    /* Fill the ring until it refuses, then alternate receive and send. */
    while ((ret = eng->ops->send_time(eng, reel_timeline_frame_time_us(tl, 10 * sent))) == 0)
        sent++;
    CHECK_INT_EQ(ret, -REEL_EAGAIN);
    CHECK(sent >= 2 && sent < 6);
    /* render() is refused while frames are queued. */
    CHECK(eng->ops->render(eng, 0, &f) < 0);
    while (sent < 6) {
        ret = eng->ops->receive_frame(eng, &got[received]);
        CHECK_INT_EQ(ret, 0);
        if (ret < 0)
            break;
        received++;
        CHECK_INT_EQ(eng->ops->send_time(eng, reel_timeline_frame_time_us(tl, 10 * sent)), 0);
        sent++;
    }
    CHECK_INT_EQ(eng->ops->send_time(eng, INT64_MIN), 0);
    CHECK_INT_EQ(eng->ops->send_time(eng, 0), -REEL_EEOF);
    while (received < 6 && (ret = eng->ops->receive_frame(eng, &got[received])) == 0)
        received++;
    CHECK_INT_EQ(received, 6);
    CHECK_INT_EQ(eng->ops->receive_frame(eng, &f), -REEL_EEOF);
    CHECK(f == NULL);
    for (int i = 0; i < 6; i++) {
        if (!ref[i] || !got[i])
            continue;
        CHECK_INT_EQ(got[i]->pts, reel_timeline_frame_time_us(tl, 10 * i));
        CHECK_INT_EQ(got[i]->format, AV_PIX_FMT_NV12);
        bool same = true;
        for (int y = 0; y < H && same; y++)
            same = !memcmp(ref[i]->data[0] + y * ref[i]->linesize[0],
                           got[i]->data[0] + y * got[i]->linesize[0], W) &&
                   (y >= H / 2 || !memcmp(ref[i]->data[1] + y * ref[i]->linesize[1],
                                          got[i]->data[1] + y * got[i]->linesize[1], W));
        CHECK_MSG(same, "pipelined frame %d differs from render()", i);
    }
    /* After the flush the engine starts a new sequence. */
    CHECK_INT_EQ(eng->ops->send_time(eng, 0), 0);
    CHECK_INT_EQ(eng->ops->send_time(eng, INT64_MIN), 0);
    ret = eng->ops->receive_frame(eng, &f);
    CHECK_INT_EQ(ret, 0);
    av_frame_free(&f);
    CHECK_INT_EQ(eng->ops->receive_frame(eng, &f), -REEL_EEOF);
out:
    for (int i = 0; i < 6; i++) {
        av_frame_free(&ref[i]);
        av_frame_free(&got[i]);
    }
    free_content(content, 16);
    reel_timeline_destroy(&tl);
}

/* ---- four jobs on four threads ---- */

#define N_THREADS 4
#define N_TIMES 5

struct job {
    const struct reel_timeline *tl;
    struct reel_image *content;
    AVFrame *frames[N_TIMES];
    int ret;
    char msg[600];
};

static const int64_t job_times[N_TIMES] = {300000, 900000, 1400000, 2100000, 2800000};

/* One job: its own engine, prepare, render every time in order. */
static void *job_main(void *arg)
{
    struct job *j = arg;
    struct reel_engine_cfg cfg = {
        .width = W, .height = H, .pix_fmt = AV_PIX_FMT_YUV420P, .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    struct reel_scene scene = {.tl = j->tl, .content = j->content};
    j->ret = reel_engine_create("gl", &cfg, NULL, &eng, &err);
    if (j->ret < 0) {
        snprintf(j->msg, sizeof(j->msg), "create: %s", err.msg);
        return NULL;
    }
    j->ret = eng->ops->prepare(eng, &scene);
    for (int i = 0; j->ret == 0 && i < N_TIMES; i++)
        j->ret = eng->ops->render(eng, job_times[i], &j->frames[i]);
    if (j->ret < 0)
        snprintf(j->msg, sizeof(j->msg), "%s", eng->err.msg);
    reel_engine_destroy(&eng);
    return NULL;
}

static void test_threads(bool with_video)
{
    struct reel_image content[16];
    memset(content, 0, sizeof(content));
    struct reel_timeline *tl = busy_tl(content, with_video);
    struct job alone = {.tl = tl, .content = content};
    struct job jobs[N_THREADS];
    pthread_t th[N_THREADS];
    job_main(&alone);
    CHECK_MSG(alone.ret == 0, "alone: %s", alone.msg);
    for (int k = 0; k < N_THREADS; k++) {
        jobs[k] = (struct job){.tl = tl, .content = content};
        CHECK_INT_EQ(pthread_create(&th[k], NULL, job_main, &jobs[k]), 0);
    }
    for (int k = 0; k < N_THREADS; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < N_THREADS; k++) {
        CHECK_MSG(jobs[k].ret == 0, "thread %d: %s", k, jobs[k].msg);
        for (int i = 0; i < N_TIMES; i++) {
            AVFrame *a = alone.frames[i], *b = jobs[k].frames[i];
            if (!a || !b)
                continue;
            double db = luma_psnr(a, b);
            CHECK_MSG(same_yuv(a, b) || db >= 50.0,
                      "thread %d frame %d differs from the lone job (%.2f dB)", k, i, db);
            av_frame_free(&jobs[k].frames[i]);
        }
    }
    for (int i = 0; i < N_TIMES; i++)
        av_frame_free(&alone.frames[i]);
    free_content(content, 16);
    reel_timeline_destroy(&tl);
}

/* ---- a broken shader ---- */

struct lines {
    int n_info, n_numbered;
};

static void sink(void *opaque, const char *line)
{
    struct lines *l = opaque;
    if (strstr(line, "info log"))
        l->n_info++;
    if (strstr(line, "   1| "))
        l->n_numbered++;
}

static void test_broken_shader(void)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/reel_shaders_XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[256], sub[128];
    snprintf(sub, sizeof(sub), "%s/include", dir);
    mkdir(sub, 0700);
    for (const struct reel_gl_shader_file *sf = reel_gl_shader_files; sf->name; sf++) {
        snprintf(path, sizeof(path), "%s/%s", dir, sf->name);
        FILE *f = fopen(path, "wb");
        if (!f)
            continue;
        fwrite(sf->data, 1, sf->len, f);
        if (!strcmp(sf->name, "compose.frag"))
            fputs("\nthis is not GLSL;\n", f);
        fclose(f);
    }
    setenv("REEL_SHADER_DIR", dir, 1);
    struct lines seen = {0};
    struct reel_log log;
    reel_log_init(&log, NULL, "broken-shader", "gl");
    log.level = REEL_LOG_ERROR;
    log.sink = sink;
    log.sink_opaque = &seen;
    struct reel_timeline *tl = new_timeline(64, 64, BLACK, 1);
    struct reel_scene scene = {.tl = tl, .content = no_content};
    struct reel_engine_cfg cfg = {
        .width = 64, .height = 64, .pix_fmt = AV_PIX_FMT_RGBA, .gpu_index = -1, .log = &log};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    int ret = reel_engine_create("gl", &cfg, &log, &eng, &err);
    CHECK_MSG(ret == 0, "create: %s", err.msg);
    if (ret == 0) {
        ret = eng->ops->prepare(eng, &scene);
        CHECK_INT_EQ(ret, -REEL_ERENDER);
        CHECK_MSG(strstr(eng->err.msg, "compose.frag") != NULL, "message: %s", eng->err.msg);
        CHECK(seen.n_info >= 1);
        CHECK(seen.n_numbered >= 1);
        AVFrame *f = NULL;
        CHECK(eng->ops->render(eng, 0, &f) < 0);
        CHECK(f == NULL);
    }
    reel_engine_destroy(&eng);
    unsetenv("REEL_SHADER_DIR");
    /* The same sources unbroken work, so the failure above came from the edit. */
    for (const struct reel_gl_shader_file *sf = reel_gl_shader_files; sf->name; sf++) {
        snprintf(path, sizeof(path), "%s/%s", dir, sf->name);
        unlink(path);
    }
    rmdir(sub);
    rmdir(dir);
    AVFrame *f = render_gl(tl, NULL, 0);
    if (f)
        CHECK_PX(f, 32, 32, WHITE);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

/* ---- memory ---- */

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

static void test_memory(bool with_video)
{
    struct reel_image content[16];
    memset(content, 0, sizeof(content));
    struct reel_timeline *tl = busy_tl(content, with_video);
    struct reel_scene scene = {.tl = tl, .content = content};
    struct reel_engine *eng = gl_engine(W, H);
    if (!eng)
        goto out;
    eng->cfg.pix_fmt = AV_PIX_FMT_YUV420P;
    int ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "prepare: %s", eng->err.msg);
    long before = 0;
    int64_t sent = 0, received = 0, total = 300;
    while (ret == 0 && received < total) {
        if (sent < total) {
            /* 3 s of timeline, looped, so video keeps decoding and seeking. */
            ret = eng->ops->send_time(eng, reel_timeline_frame_time_us(tl, sent % 75));
            if (ret == 0) {
                sent++;
                continue;
            }
            if (ret != -REEL_EAGAIN)
                break;
        } else if (sent == total) {
            ret = eng->ops->send_time(eng, INT64_MIN);
            sent++;
        }
        AVFrame *f = NULL;
        ret = eng->ops->receive_frame(eng, &f);
        if (ret == -REEL_EAGAIN) {
            ret = 0;
            continue;
        }
        av_frame_free(&f);
        if (ret == 0 && ++received == 50)
            before = rss_kb();
    }
    CHECK_MSG(ret == 0 || ret == -REEL_EEOF, "pipelined render: %d %s", ret, eng->err.msg);
    CHECK_INT_EQ(received, total);
    long after = rss_kb();
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer holds freed memory in quarantine, so RSS says nothing there. */
    printf("RSS check skipped under AddressSanitizer (%ld KiB)\n", after - before);
#else
    if (before > 0 && after > 0)
        CHECK_MSG(after - before < 16 * 1024, "RSS grew by %ld KiB over 250 frames",
                  after - before);
#endif
out:
    free_content(content, 16);
    reel_timeline_destroy(&tl);
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    struct reel_engine_cfg cfg = {
        .width = 64, .height = 64, .pix_fmt = AV_PIX_FMT_RGBA, .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    if (reel_engine_create("gl", &cfg, NULL, &eng, &err) < 0) {
        printf("SKIP: the gl engine cannot start on this host: %s\n", err.msg);
        return 77;
    }
    reel_engine_destroy(&eng);

    test_basics();
    test_background();
    test_anchor_box();
    test_opacity();
    test_transitions();
    test_rotation_scale();
    test_fit();
    test_effects();
    test_blur();
    test_yuv();
    bool video = make_clip() == 0;
    if (!video)
        printf("video layers skipped in the busy scene: the ffmpeg tool is missing or failed\n");
    test_parity(false);
    if (video)
        test_parity(true);
    if (video && make_variants() == 0) {
        test_video_variant(turned_path, "display-matrix");
        test_video_variant(rgb_path, "RGB-coded");
    } else if (video) {
        printf("turned and RGB video checks skipped: the ffmpeg tool could not make them\n");
    }
    test_pipeline();
    test_threads(video);
    test_broken_shader();
    test_memory(video);
    drop_engines();
    remove_clip();
    CHECK_DONE();
}

#endif
