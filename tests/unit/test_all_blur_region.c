/*
 * A blur is computed only on the part of a layer's box the output can show over the layer's life
 * (src/timeline/geometry.h reel_layer_visible_box), on both engines. The part must be right: a
 * large blurred image box that moves, turns, scales and slides in is rendered at frame times and
 * between them, and each frame must equal the frame of the same layer standing still where the
 * moving one is at that instant (whose visible part is exactly what that one frame shows), in
 * RGBA and yuv420p: exactly on the cpu engine, within 2 code values on gl.
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
#include "raster/raster.h"
#include "render/engine.h"
#include "render/scene.h"
#include "timeline/eval.h"
#include "timeline/geometry.h"
#include "timeline/timeline.h"

#define OW 160
#define OH 96
#define SEC REEL_US

static struct reel_timeline *new_tl(void)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->out.width = OW;
    tl->out.height = OH;
    tl->out.fps_num = 25;
    tl->out.fps_den = 1;
    tl->out.duration_us = 2 * SEC;
    tl->out.background = (struct reel_color){20, 40, 60, 255};
    tl->n_layers = 1;
    tl->layers = calloc(2, sizeof(*tl->layers));
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_IMAGE;
    snprintf(l->path, sizeof(l->path), "layers[0]");
    l->start_us = SEC / 10;
    l->duration_us = 19 * SEC / 10;
    l->x = OW / 2.0;
    l->y = OH / 2.0;
    l->width = 600;
    l->height = 400;
    l->anchor_x = 0.3;
    l->anchor_y = 0.6;
    l->fit = REEL_FIT_FILL;
    l->scale = l->scale_x = l->scale_y = 1.0;
    l->opacity = 1.0;
    l->speed = 1.0;
    l->volume = 1.0;
    l->n_effects = 2;
    l->effects = calloc(2, sizeof(*l->effects));
    l->effects[0] = (struct reel_effect){.type = REEL_FX_BLUR, .sigma = 6};
    l->effects[1] = (struct reel_effect){.type = REEL_FX_BRIGHTNESS, .value = -0.1};
    return tl;
}

static void keys(struct reel_layer *l, enum reel_prop prop, double a, double b)
{
    l->anim[prop].keys = calloc(2, sizeof(struct reel_keyframe));
    l->anim[prop].n_keys = 2;
    l->anim[prop].keys[0] = (struct reel_keyframe){.time_us = 0, .value = a};
    l->anim[prop].keys[1] = (struct reel_keyframe){.time_us = 19 * SEC / 10, .value = b};
    l->anim[prop].keys[1].easing.kind = REEL_EASE_IN_OUT;
}

/* An opaque image with detail everywhere, so that a wrong blur shows. */
static void content_image(struct reel_image *img)
{
    CHECK_INT_EQ(reel_image_alloc(img, 300, 200), 0);
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + 4 * x;
            p[0] = (uint8_t)(x * 255 / 299);
            p[1] = (uint8_t)(((x / 8 + y / 8) & 1) ? 230 : 20);
            p[2] = (uint8_t)(y * 255 / 199);
            p[3] = 255;
        }
}

static AVFrame *render(struct reel_engine *eng, const struct reel_timeline *tl,
                       struct reel_image *content, enum AVPixelFormat fmt, int64_t t)
{
    struct reel_scene scene = {.tl = tl, .content = content};
    eng->cfg.pix_fmt = fmt;
    int ret = eng->ops->prepare(eng, &scene);
    CHECK_MSG(ret == 0, "%s prepare: %s", eng->ops->name, eng->err.msg);
    AVFrame *f = NULL;
    if (ret == 0) {
        ret = eng->ops->render(eng, t, &f);
        CHECK_MSG(ret == 0, "%s render: %s", eng->ops->name, eng->err.msg);
    }
    return ret == 0 ? f : NULL;
}

/* Largest difference between two frames of the same format and size, over every plane. */
static int max_diff(const AVFrame *a, const AVFrame *b)
{
    int planes = a->format == AV_PIX_FMT_RGBA ? 1 : 3, d = 0;
    for (int k = 0; k < planes; k++) {
        int w = a->format == AV_PIX_FMT_RGBA ? 4 * a->width : (k ? a->width / 2 : a->width);
        int h = k ? a->height / 2 : a->height;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = abs(a->data[k][(size_t)y * a->linesize[k] + x] -
                            b->data[k][(size_t)y * b->linesize[k] + x]);
                d = v > d ? v : d;
            }
    }
    return d;
}

static void run_engine(const char *name, int tol)
{
    struct reel_engine_cfg cfg = {
        .width = OW, .height = OH, .pix_fmt = AV_PIX_FMT_RGBA, .threads = 2, .gpu_index = -1};
    struct reel_engine *eng = NULL;
    struct reel_err err = {0};
    int ret = reel_engine_create(name, &cfg, NULL, &eng, &err);
    CHECK_MSG(ret == 0, "create %s: %s", name, err.msg);
    if (ret < 0)
        return;
    struct reel_image content[1] = {{0}};
    content_image(&content[0]);

    struct reel_timeline *moving = new_tl();
    struct reel_layer *ml = &moving->layers[0];
    keys(ml, REEL_PROP_X, -150, 330);
    keys(ml, REEL_PROP_Y, 30, 80);
    keys(ml, REEL_PROP_ROTATION, 0, 35);
    keys(ml, REEL_PROP_SCALE, 1.0, 0.6);
    ml->tr_in = (struct reel_transition){.type = REEL_TR_SLIDE_UP, .duration_us = SEC / 2};

    /* Frame times, and instants between frames (a still may be asked for at any time). */
    const int64_t times[] = {100000,  120000,  160000,  400000,  520000, 600000,
                             1000000, 1234567, 1600000, 1960000, 1999999};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct reel_layer_state st;
        reel_eval_layer(moving, ml, times[i], &st);
        double dx = 0.0, dy = 0.0;
        reel_transition_offset(&st.tr_in, OW, OH, &dx, &dy);
        /* The same layer standing still where the moving one is at this instant. */
        struct reel_timeline *still = new_tl();
        struct reel_layer *sl = &still->layers[0];
        sl->x = st.x + dx;
        sl->y = st.y + dy;
        sl->scale = 1.0;
        sl->scale_x = st.scale_x;
        sl->scale_y = st.scale_y;
        sl->rotation_deg = st.rotation_deg;
        for (int fmt = 0; fmt < 2; fmt++) {
            enum AVPixelFormat pf = fmt ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_RGBA;
            AVFrame *a = render(eng, moving, content, pf, times[i]);
            AVFrame *b = render(eng, still, content, pf, times[i]);
            if (a && b) {
                int d = max_diff(a, b);
                CHECK_MSG(d <= tol,
                          "%s %s at t=%.6f s: the moving blurred layer differs by %d from "
                          "the same layer standing still",
                          name, fmt ? "yuv420p" : "rgba", times[i] / 1e6, d);
            }
            av_frame_free(&a);
            av_frame_free(&b);
        }
        reel_timeline_destroy(&still);
    }
    reel_timeline_destroy(&moving);
    reel_image_uninit(&content[0]);
    reel_engine_destroy(&eng);
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    run_engine("cpu", 0);
#ifdef REEL_WITH_GL
    run_engine("gl", 2);
#else
    printf("note: built without the gl engine (REEL_WITH_GL=OFF): the cpu engine only\n");
#endif
    CHECK_DONE();
}
