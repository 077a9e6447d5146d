/*
 * Video source: frames no query shows are left undecoded, and the frames that are shown stay
 * bit-identical. A 60 fps clip read at 30 fps (as a 30 fps job reads it) against the same clip
 * with every frame decoded: same frames, same timestamps, fewer frames decoded. A query off the
 * steady step that lands on a frame left out still gets the right frame (the source decodes
 * again). Needs the ffmpeg command-line tool (scripts/install-deps.sh); fails without it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

#include "check.h"
#include "render/video_source.h"

#define SRC_FPS 60
#define OUT_FPS 30
#define SECONDS 3

static char dir[64], clip_path[128];

/* A moving picture at 60 fps, H.264 with B-frames that nothing refers to (no B-pyramid), as
 * cameras and x264's fast presets write them, and a keyframe every second. */
static int make_clip(void)
{
    snprintf(dir, sizeof(dir), "/tmp/reel_vskip_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(clip_path, sizeof(clip_path), "%s/clip60.mp4", dir);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=320x180:rate=%d:"
             "duration=%d -c:v libx264 -g %d -bf 3 -x264-params b-pyramid=none -pix_fmt yuv420p "
             "%s",
             SRC_FPS, SECONDS, SRC_FPS, clip_path);
    return system(cmd) == 0 ? 0 : -1;
}

/* Whether two frames have the same size, format, timestamp and samples. */
static int same_frame(const AVFrame *a, const AVFrame *b)
{
    if (a->width != b->width || a->height != b->height || a->format != b->format ||
        a->pts != b->pts)
        return 0;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(a->format);
    for (int p = 0; p < 3; p++) {
        int sub_w = p ? d->log2_chroma_w : 0, sub_h = p ? d->log2_chroma_h : 0;
        int w = AV_CEIL_RSHIFT(a->width, sub_w), h = AV_CEIL_RSHIFT(a->height, sub_h);
        for (int y = 0; y < h; y++)
            if (memcmp(a->data[p] + (ptrdiff_t)y * a->linesize[p],
                       b->data[p] + (ptrdiff_t)y * b->linesize[p], (size_t)w))
                return 0;
    }
    return 1;
}

/* Query both sources at t and compare; returns whether they agree. */
static int agree_at(struct reel_video_source *skip, struct reel_video_source *all, int64_t t)
{
    const AVFrame *a = NULL, *b = NULL;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_video_source_get(skip, t, &a, &err), 0);
    CHECK_INT_EQ(reel_video_source_get(all, t, &b, &err), 0);
    if (!a || !b)
        return 0;
    int ok = same_frame(a, b);
    CHECK_MSG(ok, "frame at %.4f s differs (pts %lld and %lld)", t / 1e6, (long long)a->pts,
              (long long)b->pts);
    return ok;
}

/* A 30 fps job's queries on the 60 fps clip, with the given decoder threads on the skipping
 * source (frame threads must see the per-packet choice too). */
static void steady(int threads)
{
    struct reel_err err = {0};
    struct reel_video_source *skip = NULL, *all = NULL;
    struct reel_video_source_opts so = {.hwdec = "none"};
    struct reel_video_source_opts ao = {.hwdec = "none", .no_skip = true};
    CHECK_INT_EQ(reel_video_source_open_opts(clip_path, threads, &so, NULL, &skip, &err), 0);
    CHECK_INT_EQ(reel_video_source_open_opts(clip_path, 1, &ao, NULL, &all, &err), 0);
    if (!skip || !all)
        goto out;
    int bad = 0;
    for (int n = 0; n < OUT_FPS * SECONDS; n++)
        bad += !agree_at(skip, all, (int64_t)n * 1000000 / OUT_FPS);
    /* Past the end: the last frame, which may itself have been a candidate to leave out. */
    bad += !agree_at(skip, all, SECONDS * 1000000LL + 500000);
    CHECK_INT_EQ(bad, 0);
    int64_t dec_skip, left_skip, dec_all, left_all;
    reel_video_source_counts(skip, &dec_skip, &left_skip);
    reel_video_source_counts(all, &dec_all, &left_all);
    printf("threads %d: %lld frames decoded (%lld left out); every frame: %lld\n", threads,
           (long long)dec_skip, (long long)left_skip, (long long)dec_all);
    CHECK_INT_EQ(left_all, 0);
    CHECK_MSG(dec_all >= SRC_FPS * SECONDS, "decoded %lld of %d frames", (long long)dec_all,
              SRC_FPS * SECONDS);
    /* Half the frames are never shown; most of those are B-frames nothing refers to. */
    CHECK_MSG(left_skip >= SRC_FPS * SECONDS / 4, "only %lld frames left out",
              (long long)left_skip);
    CHECK_MSG(dec_skip + left_skip <= dec_all + 8 && dec_skip < dec_all * 4 / 5,
              "decoded %lld with skipping, %lld without", (long long)dec_skip, (long long)dec_all);
out:
    reel_video_source_close(&skip);
    reel_video_source_close(&all);
}

/* Steady queries, then one that falls on odd (60 fps) frames the steady step would never show,
 * then steady again from there: every answer matches the source that decodes every frame. */
static void off_step(void)
{
    struct reel_err err = {0};
    struct reel_video_source *skip = NULL, *all = NULL;
    struct reel_video_source_opts so = {.hwdec = "none"};
    struct reel_video_source_opts ao = {.hwdec = "none", .no_skip = true};
    CHECK_INT_EQ(reel_video_source_open_opts(clip_path, 2, &so, NULL, &skip, &err), 0);
    CHECK_INT_EQ(reel_video_source_open_opts(clip_path, 1, &ao, NULL, &all, &err), 0);
    if (!skip || !all)
        goto out;
    int bad = 0;
    for (int n = 0; n < 10; n++)
        bad += !agree_at(skip, all, (int64_t)n * 1000000 / OUT_FPS);
    /* Frames 21, 23, 25: between the steady queries (frames 20, 22, 24, ...). */
    for (int f = 21; f <= 25; f += 2)
        bad += !agree_at(skip, all, (int64_t)f * 1000000 / SRC_FPS);
    for (int n = 13; n < 40; n++)
        bad += !agree_at(skip, all, (int64_t)n * 1000000 / OUT_FPS);
    CHECK_INT_EQ(bad, 0);
out:
    reel_video_source_close(&skip);
    reel_video_source_close(&all);
}

int main(void)
{
    if (make_clip() != 0) {
        fprintf(stderr, "cannot make the test clip with ffmpeg (scripts/install-deps.sh)\n");
        return 1;
    }
    steady(1);
    steady(2);
    off_step();
    CHECK(reel_video_hwdec_valid("auto") && reel_video_hwdec_valid("none"));
    CHECK(!reel_video_hwdec_valid("vaapi") && !reel_video_hwdec_valid("") &&
          !reel_video_hwdec_valid(NULL));
    unlink(clip_path);
    rmdir(dir);
    CHECK_DONE();
}
