/*
 * gl engine on whatever EGL display the host offers (Mesa's surfaceless llvmpipe in CI):
 *  - the pixel probes every engine runs (engine_probes.h), effects within 2 code values;
 *  - frame-by-frame parity with the cpu engine on a busy hand-built timeline with every
 *    transition and effect and a video layer (per-frame luma PSNR >= 35 dB);
 *  - four jobs on four threads in one process give the frames each gives alone;
 *  - the pipelined send_time / receive_frame contract, and render() on top of it;
 *  - a shader that fails to compile fails prepare with its info log logged, and nothing crashes;
 *  - memory does not grow with the number of frames.
 * Fails when the gl engine cannot start (scripts/install-deps.sh installs Mesa's llvmpipe) unless
 * REEL_TEST_NO_GL=1 turns it off on purpose (skip, 77, said loudly; see skip.h), and when the
 * ffmpeg tool cannot make the video clips. Skips when reel is built without the gl engine
 * (REEL_WITH_GL=OFF).
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
#include "engine_probes.h"
#include "engines/gl/context.h"
#include "engines/gl/shader_files.h"
#include "render/engine.h"
#include "render/scene.h"
#include "skip.h"
#include "timeline/timeline.h"

#define PARITY_MIN_DB 35.0

/* A premultiplied image with smooth gradients and some alpha, to exercise the resampler. */
static void gradient_image(struct reel_image *img, int w, int h)
{
    alloc_image(img, w, h);
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

/* The probes render with the cached engine of the timeline's size, in the format asked for. */
static AVFrame *render_gl(const struct reel_timeline *tl, struct reel_image *content,
                          enum AVPixelFormat fmt, int64_t t_us)
{
    struct reel_engine *eng = gl_engine(tl->out.width, tl->out.height);
    if (!eng)
        return NULL;
    eng->cfg.pix_fmt = fmt;
    return render_on(eng, tl, content, t_us);
}

static const struct probe_engine gl_probes = {.name = "gl", .render = render_gl, .effect_tol = 2.0};

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

/* ---- basics ---- */

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
        AVFrame *a = render_fresh("cpu", tl, NULL, AV_PIX_FMT_YUV420P, 2, t);
        AVFrame *b = render_gl(tl, NULL, AV_PIX_FMT_YUV420P, t);
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
    AVFrame *f = render_gl(tl, NULL, AV_PIX_FMT_RGBA, 0);
    if (f)
        CHECK_PX(f, 32, 32, WHITE);
    av_frame_free(&f);
    reel_timeline_destroy(&tl);
}

/* ---- memory ---- */

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
    if (skip_gl_opted_out("test_all_engine_gl"))
        return 77;
    if (reel_engine_create("gl", &cfg, NULL, &eng, &err) < 0)
        return skip_gl_unavailable(err.msg);
    reel_engine_destroy(&eng);

    test_basics();
    run_probes(&gl_probes);
    bool video = make_clip() == 0;
    CHECK_MSG(video, "the ffmpeg tool is missing or failed to make the test clip (install-deps "
                     "installs it): the video layer checks cannot run");
    test_parity(false);
    if (video)
        test_parity(true);
    if (video && make_variants() == 0) {
        test_video_variant(turned_path, "display-matrix");
        test_video_variant(rgb_path, "RGB-coded");
    } else if (video) {
        CHECK_MSG(0, "the ffmpeg tool could not make the turned and RGB clips: those checks "
                     "cannot run");
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
