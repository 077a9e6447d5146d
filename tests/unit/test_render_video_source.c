/*
 * Video source: frame selection ("the last frame whose pts <= t"), end of stream, and seeking
 * backwards and far ahead, on a generated clip whose flat grey level encodes the frame index.
 * Needs the ffmpeg command-line tool to make the clip (scripts/install-deps.sh installs it); fails
 * without it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/frame.h>

#include "check.h"
#include "render/video_source.h"

#define W 64
#define H 48
#define FPS 25
#define N_FRAMES 50

static char dir[64];
static char raw_path[128], clip_path[128];

static int level_of(int index)
{
    return 8 + index * 4;
}

/* Frame index encoded in a decoded frame's centre luma (yuv420p and friends keep luma in plane 0).
 */
static int index_of(const AVFrame *f)
{
    int y = f->data[0][(f->height / 2) * f->linesize[0] + f->width / 2];
    return (y - 8 + 2) / 4;
}

static int make_clip(void)
{
    snprintf(dir, sizeof(dir), "/tmp/reel_vs_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(raw_path, sizeof(raw_path), "%s/frames.yuv", dir);
    snprintf(clip_path, sizeof(clip_path), "%s/clip.mp4", dir);
    FILE *f = fopen(raw_path, "wb");
    if (!f)
        return -1;
    /* Raw yuv420p: grey level in luma, neutral chroma; lossless coding keeps it exact. */
    static uint8_t frame[W * H * 3 / 2];
    for (int i = 0; i < N_FRAMES; i++) {
        memset(frame, level_of(i), W * H);
        memset(frame + W * H, 128, W * H / 2);
        fwrite(frame, 1, sizeof(frame), f);
    }
    fclose(f);
    /* Lossless H.264 with B-frames and a short GOP, so decoding reorders frames and seeks land
     * on several keyframes. mpeg4 is the fallback where libx264 is not built in. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -r %d "
             "-i %s -c:v libx264 -qp 0 -g 10 -bf 2 -pix_fmt yuv420p %s",
             W, H, FPS, raw_path, clip_path);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd),
                 "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -r %d "
                 "-i %s -c:v mpeg4 -q:v 1 -g 10 -pix_fmt yuv420p %s",
                 W, H, FPS, raw_path, clip_path);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static void cleanup(void)
{
    unlink(raw_path);
    unlink(clip_path);
    rmdir(dir);
}

/* Check that get(t) returns frame `want` (index and pts). */
static void expect(struct reel_video_source *vs, double t, int want)
{
    const AVFrame *f = NULL;
    struct reel_err err = {0};
    int ret = reel_video_source_get(vs, (int64_t)(t * 1e6 + 0.5), &f, &err);
    CHECK_MSG(ret == 0 && f, "get(%g) failed: %s", t, err.msg);
    if (ret || !f)
        return;
    CHECK_MSG(index_of(f) == want, "get(%g): frame %d, expected %d", t, index_of(f), want);
    CHECK_MSG(f->pts == (int64_t)want * 40000, "get(%g): pts %lld, expected %lld", t,
              (long long)f->pts, (long long)want * 40000);
    CHECK_INT_EQ(f->width, W);
    CHECK_INT_EQ(f->height, H);
}

int main(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1") != 0) {
        printf("FAIL: the ffmpeg command-line tool is not installed (scripts/install-deps.sh "
               "installs it)\n");
        return 1;
    }
    if (make_clip() < 0) {
        printf("FAIL: could not generate a test clip with the ffmpeg command-line tool\n");
        cleanup();
        return 1;
    }

    struct reel_err err = {0};
    struct reel_video_source *vs = NULL;

    /* A missing file is an asset error that names the file. */
    int ret = reel_video_source_open("/nonexistent/clip.mp4", 0, NULL, &vs, &err);
    CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
    CHECK(vs == NULL);
    CHECK(strstr(err.msg, "/nonexistent/clip.mp4") != NULL);

    /* A file that is not media is unsupported or undecodable, never a crash. */
    ret = reel_video_source_open(raw_path, 0, NULL, &vs, &err);
    CHECK(ret == -REEL_EASSET_UNSUPPORTED || ret == -REEL_EDECODE);
    CHECK(vs == NULL);

    ret = reel_video_source_open(clip_path, 2, NULL, &vs, &err);
    CHECK_MSG(ret == 0, "open: %s", err.msg);
    if (ret == 0) {
        int w = 0, h = 0;
        reel_video_source_size(vs, &w, &h);
        CHECK_INT_EQ(w, W);
        CHECK_INT_EQ(h, H);

        expect(vs, 0.0, 0);
        expect(vs, 0.039, 0);
        expect(vs, 0.0394, 0);  /* 600 us early: still the previous frame */
        expect(vs, 0.03999, 1); /* 10 us early: rounding of either time, the frame is due */
        expect(vs, 0.04, 1);
        expect(vs, 0.041, 1);
        expect(vs, 1.0, 25);
        expect(vs, 1.999, 49);
        expect(vs, 5.0, 49); /* after the end: the last frame, repeatedly */
        expect(vs, 7.0, 49);
        expect(vs, 1.5, 37); /* backwards: a seek */
        expect(vs, 0.2, 5);
        expect(vs, -1.0, 0);  /* before the start: the first frame */
        expect(vs, 1.96, 49); /* far ahead of the current frame */
        expect(vs, 0.0, 0);
        /* Every frame in order, then stepping back one frame at a time. */
        for (int i = 0; i < N_FRAMES; i++)
            expect(vs, i * 0.04 + 0.02, i);
        for (int i = N_FRAMES - 1; i >= 0; i -= 3)
            expect(vs, i * 0.04, i);

        /* Suspended sources reopen on the next get, at any time, and keep their facts. */
        reel_video_source_suspend(vs);
        reel_video_source_suspend(vs); /* twice is fine */
        expect(vs, 1.0, 25);
        expect(vs, 1.04, 26);
        reel_video_source_suspend(vs);
        expect(vs, 0.0, 0);
        reel_video_source_suspend(vs);
        expect(vs, 9.0, 49);
        reel_video_source_suspend(vs);
        w = h = 0;
        reel_video_source_size(vs, &w, &h);
        CHECK_INT_EQ(w, W);
        CHECK_INT_EQ(h, H);
        reel_video_source_close(&vs); /* closing a suspended source */
        CHECK(vs == NULL);
    }
    reel_video_source_close(&vs); /* NULL is fine */

    cleanup();
    CHECK_DONE();
}
