/*
 * cpu engine: the pixel probes every engine runs (engine_probes.h: geometry, opacity, transitions,
 * fit, effects within 1 code value, blur, colour conversion), determinism across runs and thread
 * counts, bounded memory, and video layers (trim, speed, loop, rotation metadata) on generated
 * clips made with the ffmpeg command-line tool (and its libx264), which scripts/install-deps.sh
 * installs: the test fails when it is missing or cannot make them.
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
#include "engine_probes.h"
#include "render/engine.h"
#include "render/scene.h"
#include "render/video_source.h"
#include "timeline/timeline.h"

/* This test links the engine alone, so it supplies the registry the executable normally has. */
extern const struct reel_engine_ops reel_engine_cpu_ops;
const struct reel_engine_ops *const reel_engine_registry[] = {&reel_engine_cpu_ops, NULL};

/* The probes render each frame with an engine of its own, on two threads. */
static AVFrame *render_cpu(const struct reel_timeline *tl, struct reel_image *content,
                           enum AVPixelFormat fmt, int64_t t_us)
{
    return render_fresh("cpu", tl, content, fmt, 2, t_us);
}

static const struct probe_engine cpu_probes = {
    .name = "cpu", .render = render_cpu, .effect_tol = 1.0};

static AVFrame *render_rgba(const struct reel_timeline *tl, struct reel_image *content,
                            int64_t t_us)
{
    return render_cpu(tl, content, AV_PIX_FMT_RGBA, t_us);
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
    AVFrame *a = render_fresh("cpu", tl, content, AV_PIX_FMT_RGBA, 1, 1234567);
    AVFrame *b = render_fresh("cpu", tl, content, AV_PIX_FMT_RGBA, 3, 1234567);
    AVFrame *c = render_fresh("cpu", tl, content, AV_PIX_FMT_RGBA, 2, 1234567);
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
    a = render_fresh("cpu", tl, content, AV_PIX_FMT_YUV420P, 2, 1500000);
    b = render_fresh("cpu", tl, content, AV_PIX_FMT_YUV420P, 2, 1500000);
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
        CHECK_MSG(0, "the ffmpeg tool could not make the split clip: the rotation checks cannot "
                     "run");
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

    /* Plain: output time t shows source frame floor((t - start) * 25), a frame due within half a
     * millisecond counting as due (rounding of either time to microseconds). */
    struct {
        int64_t t_us;
        int index;
    } plain[] = {{500000, 0},   {539400, 0},   {539999, 1},   {540000, 1},
                 {1500000, 25}, {2499000, 49}, {4000000, 49}, {700000, 5}};
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
        CHECK_MSG(0, "the ffmpeg tool could not make the BT.709 clip with libx264: the BT.709 "
                     "decode check cannot run");
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
        /* A translucent colour: BGRA is the RGBA picture's bytes in B, G, R, A order, straight
         * alpha in both (not premultiplied). */
        tl->out.background = (struct reel_color){200, 100, 50, 128};
        uint8_t rgba[4] = {0}, bgra[4] = {0};
        eng->cfg.pix_fmt = AV_PIX_FMT_RGBA;
        CHECK_INT_EQ(eng->ops->prepare(eng, &scene), 0);
        CHECK_INT_EQ(eng->ops->render(eng, 0, &f), 0);
        if (f)
            memcpy(rgba, f->data[0] + 10 * f->linesize[0] + 4 * 10, 4);
        av_frame_free(&f);
        eng->cfg.pix_fmt = AV_PIX_FMT_BGRA;
        CHECK_INT_EQ(eng->ops->prepare(eng, &scene), 0);
        CHECK_INT_EQ(eng->ops->render(eng, 0, &f), 0);
        if (f)
            memcpy(bgra, f->data[0] + 10 * f->linesize[0] + 4 * 10, 4);
        av_frame_free(&f);
        CHECK_MSG(abs(rgba[0] - 200) <= 1 && rgba[1] == 100 && rgba[2] == 50 && rgba[3] == 128,
                  "RGBA %d %d %d %d", rgba[0], rgba[1], rgba[2], rgba[3]);
        CHECK_MSG(bgra[0] == rgba[2] && bgra[1] == rgba[1] && bgra[2] == rgba[0] &&
                      bgra[3] == rgba[3],
                  "BGRA %d %d %d %d, RGBA %d %d %d %d", bgra[0], bgra[1], bgra[2], bgra[3], rgba[0],
                  rgba[1], rgba[2], rgba[3]);
        tl->out.background = WHITE;
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
    run_probes(&cpu_probes);
    test_determinism();
    if (make_clip() == 0) {
        test_video();
        test_video_rotation();
        test_memory(clip_path);
    } else {
        CHECK_MSG(0, "the ffmpeg command-line tool is missing or failed to make the test clip "
                     "(install-deps installs it): the video checks cannot run");
        test_memory(NULL);
    }
    remove_clip();
    CHECK_DONE();
}
