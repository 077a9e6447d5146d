/* Media probing and timeline resolution against small files made with the ffmpeg command.
 * Fails when the ffmpeg command (scripts/install-deps.sh installs it) is missing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "assets/assets.h"
#include "check.h"

static char dir[128];

static int sh(const char *fmt, const char *a)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), fmt, a);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

#define FF "ffmpeg -nostdin -hide_banner -loglevel error -y "

/* All inputs in one go; each output is a few KiB. */
static int make_media(void)
{
    int rc = 0;
    rc |= sh("cd '%s' && " FF "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=1 "
             "-c:a pcm_s16le tone.wav",
             dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=64x48:rate=1 -frames:v 1 pic.png", dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=300x200:rate=1 -frames:v 1 wide.png", dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=64x48:rate=1 -frames:v 1 pic.jpg", dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=64x48:rate=1 -frames:v 1 "
             "-c:v libwebp pic.webp",
             dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc2=size=160x120:rate=25:duration=2 "
             "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 "
             "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest clip.mp4",
             dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc2=size=160x120:rate=25:duration=1 "
             "-c:v libx264 -preset ultrafast -pix_fmt yuv420p silent.mp4",
             dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=32x32:rate=5:duration=1 anim.gif", dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=32x32:rate=1 -frames:v 1 still.gif", dir);
    rc |= sh("cd '%s' && " FF "-f lavfi -i testsrc=size=32x32:rate=5:duration=1 clip.nut", dir);
    rc |= sh("cd '%s' && cp pic.png 'frame%%03d.png' && cp pic.png 'a:b.png' && "
             "printf 'just some text\\n' > notes.txt && : > empty.mp4",
             dir);
    return rc;
}

/* Deterministic noise: the same bytes on every run. */
static void write_noise(const char *name, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    uint32_t x = 0x12345678u;
    for (size_t i = 0; f && i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        fputc((int)(x & 0xff), f);
    }
    if (f)
        fclose(f);
}

static int probe(const char *name, const struct reel_limits *lim, struct reel_media_info *mi,
                 struct reel_err *e)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    memset(e, 0, sizeof(*e));
    return reel_media_probe(path, lim, mi, e);
}

static void test_probe(void)
{
    struct reel_media_info mi;
    struct reel_err e;
    struct reel_limits lim;
    int ret;

    ret = probe("tone.wav", NULL, &mi, &e);
    CHECK_MSG(ret == 0, "%s", e.msg);
    CHECK(mi.has_audio && !mi.has_video && !mi.is_still);
    CHECK_NEAR(mi.duration_us, 1000000, 1000);

    ret = probe("pic.png", NULL, &mi, &e);
    CHECK_MSG(ret == 0, "%s", e.msg);
    CHECK(mi.has_video && !mi.has_audio && mi.is_still);
    CHECK_INT_EQ(mi.width, 64);
    CHECK_INT_EQ(mi.height, 48);
    CHECK_INT_EQ(mi.duration_us, 0);

    static const char *const stills[] = {"pic.jpg", "pic.webp", "still.gif", "frame%03d.png",
                                         "a:b.png"};
    for (size_t i = 0; i < sizeof(stills) / sizeof(stills[0]); i++) {
        ret = probe(stills[i], NULL, &mi, &e);
        CHECK_MSG(ret == 0, "%s: %s", stills[i], e.msg);
        CHECK_MSG(mi.is_still && mi.width > 0, "%s", stills[i]);
    }

    ret = probe("anim.gif", NULL, &mi, &e);
    CHECK_MSG(ret == 0, "%s", e.msg);
    CHECK(mi.has_video && !mi.is_still);

    ret = probe("clip.mp4", NULL, &mi, &e);
    CHECK_MSG(ret == 0, "%s", e.msg);
    CHECK(mi.has_video && mi.has_audio && !mi.is_still);
    CHECK_INT_EQ(mi.width, 160);
    CHECK_INT_EQ(mi.height, 120);
    CHECK_NEAR(mi.duration_us, 2000000, 100000);

    /* Size limits. */
    reel_limits_default(&lim);
    lim.max_source_px = 256;
    CHECK_INT_EQ(probe("wide.png", &lim, &mi, &e), -REEL_ELIMIT);
    CHECK_INT_EQ(e.code, REEL_ELIMIT);
    CHECK_INT_EQ(probe("pic.png", &lim, &mi, &e), 0);
    reel_limits_default(&lim);
    lim.max_source_bytes = 100;
    CHECK_INT_EQ(probe("clip.mp4", &lim, &mi, &e), -REEL_ELIMIT);

    /* A file claiming to be MP4 that holds noise: the container is recognised by its name, and
     * reading it fails. */
    write_noise("noise.mp4", 64 * 1024);
    ret = probe("noise.mp4", NULL, &mi, &e);
    CHECK_MSG(ret == -REEL_EDECODE, "noise.mp4 -> %d (%s)", ret, e.msg);
    CHECK_MSG(strstr(e.msg, "AVERROR") != NULL, "%s", e.msg);
    /* Truncated real file. */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "head -c 3000 '%s/clip.mp4' > '%s/cut.mp4'", dir, dir);
    CHECK(system(cmd) == 0);
    CHECK_INT_EQ(probe("cut.mp4", NULL, &mi, &e), -REEL_EDECODE);
    CHECK_INT_EQ(probe("empty.mp4", NULL, &mi, &e), -REEL_EDECODE);

    /* Formats outside the allow-list, and nothing recognisable at all. */
    ret = probe("clip.nut", NULL, &mi, &e);
    CHECK_MSG(ret == -REEL_EASSET_UNSUPPORTED, "clip.nut -> %d (%s)", ret, e.msg);
    CHECK_MSG(strstr(e.msg, "nut") != NULL, "%s", e.msg);
    ret = probe("notes.txt", NULL, &mi, &e);
    CHECK_MSG(ret == -REEL_EASSET_UNSUPPORTED, "notes.txt -> %d (%s)", ret, e.msg);
    write_noise("noise", 4096);
    ret = probe("noise", NULL, &mi, &e);
    CHECK_MSG(ret == -REEL_EASSET_UNSUPPORTED, "noise -> %d (%s)", ret, e.msg);

    CHECK_INT_EQ(probe("missing.mp4", NULL, &mi, &e), -REEL_EASSET_NOT_FOUND);
}

/* ---- timelines built by hand (no parser needed) ------------------------------------------- */

static struct reel_timeline *tl_new(int n)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->layers = calloc((size_t)n, sizeof(*tl->layers));
    tl->n_layers = n;
    tl->out.width = 320;
    tl->out.height = 240;
    tl->out.fps_num = 30;
    tl->out.fps_den = 1;
    for (int i = 0; i < n; i++) {
        struct reel_layer *l = &tl->layers[i];
        l->index = i;
        snprintf(l->path, sizeof(l->path), "layers[%d]", i);
        l->type = REEL_LAYER_COLOR;
        l->speed = 1;
        l->volume = 1;
        l->scale = l->scale_x = l->scale_y = 1;
        l->opacity = 1;
    }
    return tl;
}

static void set_media(struct reel_layer *l, enum reel_layer_type t, const char *src)
{
    l->type = t;
    free(l->src);
    l->src = strdup(src);
}

static void set_duration(struct reel_layer *l, double s)
{
    l->has_duration = true;
    l->duration_us = (int64_t)(s * REEL_US);
}

static bool has_problem(const struct reel_errlist *errs, int code, const char *path)
{
    for (size_t i = 0; i < errs->count; i++)
        if (errs->items[i].code == code && !strcmp(errs->items[i].path, path))
            return true;
    return false;
}

static void dump(const struct reel_errlist *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "  problem: %s %s: %s\n", reel_err_code_str(errs->items[i].code),
                errs->items[i].path, errs->items[i].msg);
}

static void test_timeline(void)
{
    const char *roots[] = {dir, NULL};
    struct reel_assets_cfg cfg = {.roots = roots};
    struct reel_errlist errs = {0};
    struct reel_media_info clip, tone;
    struct reel_err e;
    int ret;

    CHECK_INT_EQ(probe("clip.mp4", NULL, &clip, &e), 0);
    CHECK_INT_EQ(probe("tone.wav", NULL, &tone, &e), 0);

    /* Default durations: video (D - trim) / speed, audio its length, others to the end. */
    struct reel_timeline *tl = tl_new(5);
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "clip.mp4");
    tl->layers[0].start_us = 1 * REEL_US;
    tl->layers[0].trim_us = 500000;
    tl->layers[0].speed = 2;
    set_media(&tl->layers[1], REEL_LAYER_AUDIO, "tone.wav");
    set_media(&tl->layers[2], REEL_LAYER_IMAGE, "pic.png");
    tl->layers[2].start_us = 500000;
    tl->layers[3].type = REEL_LAYER_TEXT;
    set_media(&tl->layers[4], REEL_LAYER_AUDIO, "clip.mp4"); /* a video file's sound */
    tl->layers[4].loop = true;
    ret = reel_assets_resolve_timeline(&cfg, tl, NULL, &errs);
    CHECK_INT_EQ(ret, 0);
    if (ret)
        dump(&errs);
    int64_t vdur = (clip.duration_us - 500000) / 2;
    CHECK_NEAR(tl->layers[0].duration_us, vdur, 1);
    CHECK_NEAR(tl->layers[1].duration_us, tone.duration_us, 0);
    int64_t out = 1 * REEL_US + tl->layers[0].duration_us;
    CHECK_INT_EQ(tl->out.duration_us, out);
    CHECK_INT_EQ(tl->layers[2].duration_us, out - 500000);
    CHECK_INT_EQ(tl->layers[3].duration_us, out);
    CHECK_INT_EQ(tl->layers[4].duration_us, out); /* looped: runs to the end */
    CHECK(tl->layers[0].src_path && tl->layers[0].src_path[0] == '/');
    CHECK(tl->layers[0].src_path && strstr(tl->layers[0].src_path, "clip.mp4"));
    CHECK_INT_EQ(tl->layers[0].media_width, 160);
    CHECK(tl->layers[0].media_has_video && tl->layers[0].media_has_audio);
    CHECK_INT_EQ(tl->layers[0].media_duration_us, clip.duration_us);
    CHECK(tl->layers[2].media_has_video && tl->layers[2].media_duration_us == 0);
    CHECK(tl->layers[1].media_has_audio && !tl->layers[1].media_has_video);
    CHECK(tl->layers[3].src_path == NULL);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* Given durations win; the output runs to the end of the last layer. */
    tl = tl_new(2);
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "clip.mp4");
    set_duration(&tl->layers[0], 5);
    tl->layers[1].start_us = 6 * REEL_US;
    set_duration(&tl->layers[1], 1.5);
    CHECK_INT_EQ(reel_assets_resolve_timeline(&cfg, tl, NULL, &errs), 0);
    CHECK_INT_EQ(tl->out.duration_us, 7500000);
    CHECK_INT_EQ(tl->layers[0].duration_us, 5 * REEL_US);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* Nothing has a length of its own: the output duration cannot be known. */
    tl = tl_new(3);
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "clip.mp4");
    tl->layers[0].loop = true;
    tl->layers[1].type = REEL_LAYER_TEXT;
    set_media(&tl->layers[2], REEL_LAYER_IMAGE, "pic.png");
    ret = reel_assets_resolve_timeline(&cfg, tl, NULL, &errs);
    CHECK_INT_EQ(ret, -REEL_EINVALID_JOB);
    CHECK(has_problem(&errs, REEL_EINVALID_JOB, "output.duration"));
    CHECK(errs.count == 1 && strstr(errs.items[0].msg, "cannot be known"));
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* ... but a given output duration makes them all run to its end. */
    tl = tl_new(2);
    tl->out.has_duration = true;
    tl->out.duration_us = 3 * REEL_US;
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "clip.mp4");
    tl->layers[0].loop = true;
    tl->layers[1].start_us = 1 * REEL_US;
    CHECK_INT_EQ(reel_assets_resolve_timeline(&cfg, tl, NULL, &errs), 0);
    CHECK_INT_EQ(tl->layers[0].duration_us, 3 * REEL_US);
    CHECK_INT_EQ(tl->layers[1].duration_us, 2 * REEL_US);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* Every media problem is reported, each at its layer's src. */
    tl = tl_new(6);
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "tone.wav");
    set_media(&tl->layers[1], REEL_LAYER_AUDIO, "silent.mp4");
    set_media(&tl->layers[2], REEL_LAYER_IMAGE, "clip.mp4");
    set_media(&tl->layers[3], REEL_LAYER_IMAGE, "anim.gif");
    set_media(&tl->layers[4], REEL_LAYER_VIDEO, "nope/missing.mp4");
    set_media(&tl->layers[5], REEL_LAYER_VIDEO, "noise.mp4");
    ret = reel_assets_resolve_timeline(&cfg, tl, NULL, &errs);
    CHECK_INT_EQ(ret, -REEL_EASSET_UNSUPPORTED);
    CHECK_INT_EQ(errs.count, 6);
    if (errs.count != 6)
        dump(&errs);
    CHECK(has_problem(&errs, REEL_EASSET_UNSUPPORTED, "layers[0].src"));
    CHECK(has_problem(&errs, REEL_EASSET_UNSUPPORTED, "layers[1].src"));
    CHECK(has_problem(&errs, REEL_EASSET_UNSUPPORTED, "layers[2].src"));
    CHECK(has_problem(&errs, REEL_EASSET_UNSUPPORTED, "layers[3].src"));
    CHECK(has_problem(&errs, REEL_EASSET_NOT_FOUND, "layers[4].src"));
    CHECK(has_problem(&errs, REEL_EDECODE, "layers[5].src"));
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* Trim at or past the end of the media. */
    tl = tl_new(1);
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "clip.mp4");
    tl->layers[0].trim_us = clip.duration_us;
    CHECK_INT_EQ(reel_assets_resolve_timeline(&cfg, tl, NULL, &errs), -REEL_EINVALID_JOB);
    CHECK(has_problem(&errs, REEL_EINVALID_JOB, "layers[0].trim"));
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* The output may not exceed the duration limit. */
    struct reel_limits lim;
    reel_limits_default(&lim);
    lim.max_duration_us = 1 * REEL_US;
    struct reel_assets_cfg capped = cfg;
    capped.limits = &lim;
    tl = tl_new(1);
    set_media(&tl->layers[0], REEL_LAYER_VIDEO, "clip.mp4");
    CHECK_INT_EQ(reel_assets_resolve_timeline(&capped, tl, NULL, &errs), -REEL_ELIMIT);
    CHECK(has_problem(&errs, REEL_ELIMIT, "output.duration"));
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* A layer starting after the end, with nothing to run to; a poster past the end. */
    tl = tl_new(2);
    tl->out.has_duration = true;
    tl->out.duration_us = 2 * REEL_US;
    tl->out.has_poster = true;
    tl->out.poster_us = 2 * REEL_US;
    tl->layers[0].start_us = 2 * REEL_US;
    tl->layers[1].start_us = 3 * REEL_US;
    set_duration(&tl->layers[1], 1); /* merely invisible: not an error */
    CHECK_INT_EQ(reel_assets_resolve_timeline(&cfg, tl, NULL, &errs), -REEL_EINVALID_JOB);
    CHECK(has_problem(&errs, REEL_EINVALID_JOB, "layers[0].start"));
    CHECK(has_problem(&errs, REEL_EINVALID_JOB, "output.poster"));
    CHECK_INT_EQ(errs.count, 2);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* No roots configured: the job's folder is searched. Font files resolve like media. */
    char fonts[300], font_file[400];
    snprintf(fonts, sizeof(fonts), "%s/fonts", dir);
    mkdir(fonts, 0755);
    snprintf(font_file, sizeof(font_file), "%s/Brand.ttf", fonts);
    FILE *f = fopen(font_file, "wb");
    if (f)
        fclose(f);
    tl = tl_new(3);
    tl->base_dir = strdup(dir);
    set_media(&tl->layers[0], REEL_LAYER_IMAGE, "pic.png");
    set_duration(&tl->layers[0], 1);
    tl->layers[1].type = REEL_LAYER_TEXT;
    tl->layers[1].text.font = strdup("fonts/Brand.ttf");
    tl->layers[2].type = REEL_LAYER_TEXT;
    tl->layers[2].text.font = strdup("DejaVu Sans");
    struct reel_assets_cfg noroots = {0};
    ret = reel_assets_resolve_timeline(&noroots, tl, NULL, &errs);
    CHECK_INT_EQ(ret, 0);
    if (ret)
        dump(&errs);
    CHECK(tl->layers[1].text.font_is_file);
    CHECK(tl->layers[1].text.font && tl->layers[1].text.font[0] == '/' &&
          strstr(tl->layers[1].text.font, "fonts/Brand.ttf"));
    CHECK(!tl->layers[2].text.font_is_file);
    CHECK_STR_EQ(tl->layers[2].text.font, "DejaVu Sans");
    free(tl->layers[1].text.font);
    tl->layers[1].text.font = strdup("fonts/Missing.otf");
    tl->layers[1].text.font_is_file = false;
    CHECK_INT_EQ(reel_assets_resolve_timeline(&noroots, tl, NULL, &errs), -REEL_EASSET_NOT_FOUND);
    CHECK(has_problem(&errs, REEL_EASSET_NOT_FOUND, "layers[1].font"));
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_ERROR);
    av_log_set_level(AV_LOG_FATAL);
    if (system("ffmpeg -hide_banner -version >/dev/null 2>&1") != 0) {
        printf("FAIL: the ffmpeg command is not installed (scripts/install-deps.sh installs it); "
               "it makes this test's media\n");
        return 1;
    }
    snprintf(dir, sizeof(dir), "/tmp/reel-test-media-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (make_media() != 0) {
        fprintf(stderr, "could not generate the test media\n");
        return 1;
    }
    test_probe();
    test_timeline();
    sh("rm -rf '%s'", dir);
    CHECK_DONE();
}
