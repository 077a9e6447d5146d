/*
 * Layers that draw nothing, on every engine and through the yuv420p path that `reel render`
 * uses as well as the RGBA path of `reel frame`:
 *  - every transition at progress 0 (the layer absent: the frame is what lies beneath) and at
 *    progress 1 (the layer whole), as the in and the out transition, with and without a layer
 *    beneath it;
 *  - layers wholly off the canvas on each side (left, right, top, bottom), touching the edge or
 *    far from it, solid or image, upright or turned and scaled, at whole or fractional offsets.
 * Each case prepares one engine and renders several frames in a row, as the render loop does,
 * so a frame that is not painted shows the previous frame's pixels or a pool buffer's garbage.
 * Every pixel of every plane is checked: exactly on the cpu engine, within 2 code values on gl.
 * The gl engine must start (Mesa llvmpipe is installed by scripts/install-deps.sh); only a build
 * without it (REEL_WITH_GL=OFF) leaves it out.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "check.h"
#include "core/log.h"
#include "engines/cpu/compose.h"
#include "raster/raster.h"
#include "render/engine.h"
#include "render/scene.h"
#include "timeline/timeline.h"

#define OW 160
#define OH 96
#define SEC REEL_US

static const struct reel_color BLACK = {0, 0, 0, 255};
static const struct reel_color RED = {255, 0, 0, 255};
static const struct reel_color BLUE = {0, 0, 255, 255};

/* ---- engines, one per name, re-prepared for each scene ---- */

struct engine_under_test {
    const char *name;
    int tol; /* code values a sample may stray from the exact value */
    struct reel_engine *eng;
};

static int open_engine(struct engine_under_test *e)
{
    struct reel_engine_cfg cfg = {
        .width = OW, .height = OH, .pix_fmt = AV_PIX_FMT_YUV420P, .threads = 2, .gpu_index = -1};
    struct reel_err err = {0};
    int ret = reel_engine_create(e->name, &cfg, NULL, &e->eng, &err);
    CHECK_MSG(ret == 0, "create %s: %s", e->name, err.msg);
    return ret;
}

/* ---- timelines built by hand, with the parser's defaults ---- */

static void init_layer(struct reel_layer *l, int i)
{
    l->type = REEL_LAYER_COLOR;
    l->index = i;
    snprintf(l->path, sizeof(l->path), "layers[%d]", i);
    l->duration_us = 10 * SEC;
    l->x = OW / 2.0;
    l->y = OH / 2.0;
    l->anchor_x = l->anchor_y = 0.5;
    l->fit = REEL_FIT_COVER;
    l->scale = l->scale_x = l->scale_y = 1.0;
    l->opacity = 1.0;
    l->speed = 1.0;
    l->volume = 1.0;
}

/* A black frame with an optional blue layer filling it, then a red layer on top (the one under
 * test, layers[n - 1]). */
static struct reel_timeline *new_scene(bool with_under)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->out.width = OW;
    tl->out.height = OH;
    tl->out.fps_num = 25;
    tl->out.fps_den = 1;
    tl->out.duration_us = 10 * SEC;
    tl->out.background = BLACK;
    tl->n_layers = with_under ? 2 : 1;
    tl->layers = calloc(3, sizeof(*tl->layers));
    for (int i = 0; i < tl->n_layers; i++)
        init_layer(&tl->layers[i], i);
    tl->layers[0].color = with_under ? BLUE : RED;
    tl->layers[tl->n_layers - 1].color = RED;
    return tl;
}

static struct reel_layer *top(struct reel_timeline *tl)
{
    return &tl->layers[tl->n_layers - 1];
}

/* ---- checking whole frames ---- */

/* Every sample of f is colour c (opaque), in f's format, within tol. */
static bool frame_is(const AVFrame *f, struct reel_color c, int tol, char *why, size_t cap)
{
    if (f->format == AV_PIX_FMT_RGBA) {
        const uint8_t want[4] = {c.r, c.g, c.b, c.a};
        for (int y = 0; y < f->height; y++)
            for (int x = 0; x < f->width; x++) {
                const uint8_t *p = f->data[0] + (size_t)y * f->linesize[0] + 4 * x;
                for (int k = 0; k < 4; k++)
                    if (abs(p[k] - want[k]) > tol) {
                        snprintf(why, cap, "rgba pixel (%d,%d) = %d,%d,%d,%d, expected %d,%d,%d,%d",
                                 x, y, p[0], p[1], p[2], p[3], want[0], want[1], want[2], want[3]);
                        return false;
                    }
            }
        return true;
    }
    if (f->format != AV_PIX_FMT_YUV420P) {
        snprintf(why, cap, "unexpected format %d", f->format);
        return false;
    }
    const uint8_t rgba[4] = {c.r, c.g, c.b, 255};
    uint8_t yuv[3];
    reel_cpu_rgba_to_yuv(rgba, yuv);
    for (int k = 0; k < 3; k++) {
        int pw = k ? f->width / 2 : f->width, ph = k ? f->height / 2 : f->height;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                int v = f->data[k][(size_t)y * f->linesize[k] + x];
                if (abs(v - yuv[k]) > tol) {
                    snprintf(why, cap, "plane %d sample (%d,%d) = %d, expected %d", k, x, y, v,
                             yuv[k]);
                    return false;
                }
            }
    }
    return true;
}

/* One frame to render and what it must be. */
struct shot {
    int64_t t_us;
    struct reel_color want;
};

/*
 * Prepare e for tl once, then render the shots in order in fmt, each frame freed before the
 * next (the render loop's pattern: pooled buffers come back), and check each whole frame.
 */
static void run_shots(struct engine_under_test *e, const struct reel_timeline *tl,
                      struct reel_image *content, enum AVPixelFormat fmt, const struct shot *shots,
                      int n, const char *what)
{
    static struct reel_image none[4];
    struct reel_scene scene = {.tl = tl, .content = content ? content : none};
    e->eng->cfg.pix_fmt = fmt;
    int ret = e->eng->ops->prepare(e->eng, &scene);
    CHECK_MSG(ret == 0, "%s: %s prepare: %s", what, e->name, e->eng->err.msg);
    if (ret < 0)
        return;
    for (int i = 0; i < n; i++) {
        AVFrame *f = NULL;
        ret = e->eng->ops->render(e->eng, shots[i].t_us, &f);
        CHECK_MSG(ret == 0, "%s: %s render: %s", what, e->name, e->eng->err.msg);
        if (ret < 0)
            continue;
        char why[160] = "";
        bool ok = frame_is(f, shots[i].want, e->tol, why, sizeof(why));
        CHECK_MSG(ok, "%s: %s %s at t=%.3f s: %s", what, e->name,
                  fmt == AV_PIX_FMT_RGBA ? "rgba" : "yuv420p", shots[i].t_us / 1e6, why);
        av_frame_free(&f);
    }
}

static void run_both_formats(struct engine_under_test *e, const struct reel_timeline *tl,
                             struct reel_image *content, const struct shot *shots, int n,
                             const char *what)
{
    run_shots(e, tl, content, AV_PIX_FMT_YUV420P, shots, n, what);
    run_shots(e, tl, content, AV_PIX_FMT_RGBA, shots, n, what);
}

/* ---- transitions at progress 0 and 1 ---- */

static const struct {
    enum reel_transition_type type;
    const char *name;
} transitions[] = {
    {REEL_TR_FADE, "fade"},
    {REEL_TR_WIPE_LEFT, "wipe-left"},
    {REEL_TR_WIPE_RIGHT, "wipe-right"},
    {REEL_TR_WIPE_UP, "wipe-up"},
    {REEL_TR_WIPE_DOWN, "wipe-down"},
    {REEL_TR_SLIDE_LEFT, "slide-left"},
    {REEL_TR_SLIDE_RIGHT, "slide-right"},
    {REEL_TR_SLIDE_UP, "slide-up"},
    {REEL_TR_SLIDE_DOWN, "slide-down"},
    {REEL_TR_CIRCLE_OPEN, "circle-open"},
    {REEL_TR_CIRCLE_CLOSE, "circle-close"},
    {REEL_TR_RADIAL, "radial"},
};

static struct reel_transition make_tr(enum reel_transition_type type, enum reel_easing_kind ease)
{
    struct reel_transition t = {.type = type, .duration_us = SEC};
    t.easing.kind = ease;
    return t;
}

static void test_transitions(struct engine_under_test *e)
{
    for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
        for (int under = 0; under < 2; under++) {
            struct reel_color beneath = under ? BLUE : BLACK;
            char what[96];
            struct reel_timeline *tl = new_scene(under);
            struct reel_layer *l = top(tl);

            /* In, linear: p = 0 on the layer's first frame; whole once it is over. A frame
             * that shows the layer comes first, so an unpainted frame would keep it. */
            l->tr_in = make_tr(transitions[i].type, REEL_EASE_LINEAR);
            const struct shot in_linear[] = {
                {5 * SEC, RED}, {0, beneath}, {0, beneath}, {SEC, RED}, {0, beneath}};
            snprintf(what, sizeof(what), "%s in (linear)%s", transitions[i].name,
                     under ? " over a layer" : "");
            run_both_formats(e, tl, NULL, in_linear, 5, what);

            /* In, hold: p stays 0 through the transition (mid-transition frames). */
            l->tr_in = make_tr(transitions[i].type, REEL_EASE_HOLD);
            const struct shot in_hold[] = {
                {2 * SEC, RED}, {SEC / 2, beneath}, {SEC - 40000, beneath}};
            snprintf(what, sizeof(what), "%s in (hold)%s", transitions[i].name,
                     under ? " over a layer" : "");
            run_both_formats(e, tl, NULL, in_hold, 3, what);

            /* Out, linear: p = 1 on its first frame (transition running, layer whole). */
            l->tr_in = make_tr(REEL_TR_NONE, REEL_EASE_LINEAR);
            l->tr_out = make_tr(transitions[i].type, REEL_EASE_LINEAR);
            const struct shot out_linear[] = {{9 * SEC, RED}, {9 * SEC - 40000, RED}};
            snprintf(what, sizeof(what), "%s out (linear)%s", transitions[i].name,
                     under ? " over a layer" : "");
            run_both_formats(e, tl, NULL, out_linear, 2, what);

            /* Out, hold: p = 0 on every frame after its first, the last frame included. */
            l->tr_out = make_tr(transitions[i].type, REEL_EASE_HOLD);
            const struct shot out_hold[] = {
                {5 * SEC, RED}, {9 * SEC + 40000, beneath}, {10 * SEC - 40000, beneath}};
            snprintf(what, sizeof(what), "%s out (hold)%s", transitions[i].name,
                     under ? " over a layer" : "");
            run_both_formats(e, tl, NULL, out_hold, 3, what);
            reel_timeline_destroy(&tl);
        }
    }
}

/* ---- layers wholly off the canvas ---- */

enum side { LEFT, RIGHT, TOP, BOTTOM };
static const char *side_names[] = {"left", "right", "top", "bottom"};

/* A red image of w x h (premultiplied, opaque). */
static void red_image(struct reel_image *img, int w, int h)
{
    img->width = w;
    img->height = h;
    img->stride = w * 4;
    img->data = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++)
        memcpy(img->data + 4 * i, (const uint8_t[4]){255, 0, 0, 255}, 4);
}

/*
 * Put l's box (bw x bh, centre anchor) just beyond `side` of the frame: gap pixels between the
 * edge and the nearest point of the box's bounding square of half-size reach (its half-diagonal
 * when turned, scaled). gap 0 touches the edge.
 */
static void place_off(struct reel_layer *l, enum side side, double reach, double gap, double along)
{
    switch (side) {
    case LEFT:
        l->x = -reach - gap;
        l->y = along;
        break;
    case RIGHT:
        l->x = OW + reach + gap;
        l->y = along;
        break;
    case TOP:
        l->x = along;
        l->y = -reach - gap;
        break;
    case BOTTOM:
        l->x = along;
        l->y = OH + reach + gap;
        break;
    }
}

static void test_off_canvas(struct engine_under_test *e)
{
    struct {
        const char *name;
        bool is_image;
        double w, h;     /* box */
        double rotation; /* degrees */
        double scale;
        double gap;
    } kinds[] = {
        {"solid 40x30 touching", false, 40, 30, 0, 1, 0},
        {"solid frame-sized touching", false, OW, OH, 0, 1, 0},
        {"solid frame-sized far", false, OW, OH, 0, 1, 5000},
        {"solid twice the frame", false, 2 * OW, 2 * OH, 0, 1, 7},
        {"solid 40x30 at a fractional offset", false, 40, 30, 0, 1, 0.25},
        {"solid 40x30 turned and scaled", false, 40, 30, 30, 1.5, 0.5},
        {"image 40x30 touching", true, 40, 30, 0, 1, 0},
        {"image frame-sized touching", true, OW, OH, 0, 1, 0},
        {"image 40x30 turned and scaled", true, 40, 30, 30, 1.5, 0.5},
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (int s = LEFT; s <= BOTTOM; s++) {
            for (int under = 0; under < 2; under++) {
                struct reel_color beneath = under ? BLUE : BLACK;
                struct reel_timeline *tl = new_scene(under);
                struct reel_layer *l = top(tl);
                struct reel_image content[2] = {{0}};
                l->width = kinds[k].w;
                l->height = kinds[k].h;
                l->rotation_deg = kinds[k].rotation;
                l->scale = kinds[k].scale;
                if (kinds[k].is_image) {
                    l->type = REEL_LAYER_IMAGE;
                    red_image(&content[tl->n_layers - 1], (int)kinds[k].w, (int)kinds[k].h);
                }
                /* Half the extent across the edge: half the side facing it, or the half-diagonal
                 * of a turned box. */
                bool across_x = s == LEFT || s == RIGHT;
                double reach = (across_x ? kinds[k].w : kinds[k].h) / 2.0 * kinds[k].scale;
                if (kinds[k].rotation != 0.0)
                    reach = hypot(kinds[k].w, kinds[k].h) / 2.0 * kinds[k].scale;
                double along = across_x ? OH / 2.0 : OW / 2.0;
                place_off(l, (enum side)s, reach, kinds[k].gap, along);
                /* The layer shows (whole, at the centre) from 2 s on: frames before it must
                 * not keep it, and frames after must not lose it. */
                struct reel_keyframe kx[2] = {{.time_us = 2 * SEC - 1, .value = l->x},
                                              {.time_us = 2 * SEC, .value = OW / 2.0}};
                struct reel_keyframe ky[2] = {{.time_us = 2 * SEC - 1, .value = l->y},
                                              {.time_us = 2 * SEC, .value = OH / 2.0}};
                kx[1].easing.kind = ky[1].easing.kind = REEL_EASE_HOLD;
                l->anim[REEL_PROP_X].keys = kx;
                l->anim[REEL_PROP_X].n_keys = 2;
                l->anim[REEL_PROP_Y].keys = ky;
                l->anim[REEL_PROP_Y].n_keys = 2;
                const struct shot shots[] = {{0, beneath}, {SEC, beneath}, {SEC + 40000, beneath}};
                char what[128];
                snprintf(what, sizeof(what), "%s off the %s%s", kinds[k].name, side_names[s],
                         under ? " over a layer" : "");
                run_both_formats(e, tl, content, shots, 3, what);
                /* The same layer on screen does show (the case is not vacuous). */
                if (kinds[k].w >= OW) {
                    const struct shot on[] = {{SEC, beneath}, {3 * SEC, RED}, {SEC, beneath}};
                    run_shots(e, tl, content, AV_PIX_FMT_YUV420P, on, 3, what);
                }
                l->anim[REEL_PROP_X].keys = l->anim[REEL_PROP_Y].keys = NULL;
                l->anim[REEL_PROP_X].n_keys = l->anim[REEL_PROP_Y].n_keys = 0;
                for (int i = 0; i < 2; i++)
                    free(content[i].data);
                reel_timeline_destroy(&tl);
            }
        }
    }
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    struct engine_under_test engines[] = {
        {.name = "cpu", .tol = 0},
#ifdef REEL_WITH_GL
        {.name = "gl", .tol = 2},
#endif
    };
    for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
        if (open_engine(&engines[i]) < 0)
            continue;
        test_transitions(&engines[i]);
        test_off_canvas(&engines[i]);
        reel_engine_destroy(&engines[i].eng);
    }
#ifndef REEL_WITH_GL
    printf("note: built without the gl engine (REEL_WITH_GL=OFF): the cpu engine only\n");
#endif
    CHECK_DONE();
}
