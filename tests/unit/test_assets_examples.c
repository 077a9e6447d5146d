/* The example jobs: each parses and resolves against the generated media, and together they use
 * every layer type, fit, easing, transition (in and out), effect and output format.
 * Media comes from examples/media when present, else scripts/gen-media.sh writes it to a temporary
 * folder (the test fails when the ffmpeg command it needs for that is missing). */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "assets/assets.h"
#include "check.h"
#include "timeline/parse.h"

static const char *const media_files[] = {
    "clips/a.mp4",      "clips/b.mp4",         "clips/green.mp4", "images/logo.png",
    "images/photo.jpg", "images/sticker.webp", "audio/music.wav",
};

struct coverage {
    unsigned types, fits, easings, tr_in, tr_out, effects;
    bool mp4_h264, mp4_hevc, mov, webm_vp9, gif;
    bool poster, stroke, shadow, background, max_width, cjk, arabic, devanagari;
    unsigned aligns;
    bool trim, speed, loop, volume, audio_fades, audio_volume_anim;
    bool data, merge_default;
};

static void add_easing(struct coverage *c, const struct reel_easing *e)
{
    c->easings |= 1u << (e->kind == REEL_EASE_NONE ? REEL_EASE_LINEAR : e->kind);
}

/* Code point ranges seen in UTF-8 text. */
static void scan_scripts(struct coverage *c, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp = *p, n = 0;
        if (cp >= 0xf0)
            cp &= 0x07, n = 3;
        else if (cp >= 0xe0)
            cp &= 0x0f, n = 2;
        else if (cp >= 0xc0)
            cp &= 0x1f, n = 1;
        p++;
        for (unsigned i = 0; i < n && (*p & 0xc0) == 0x80; i++, p++)
            cp = cp << 6 | (*p & 0x3f);
        if (cp >= 0x3040 && cp <= 0x9fff)
            c->cjk = true;
        if (cp >= 0x0600 && cp <= 0x06ff)
            c->arabic = true;
        if (cp >= 0x0900 && cp <= 0x097f)
            c->devanagari = true;
    }
}

static void collect(struct coverage *c, const struct reel_timeline *tl)
{
    const struct reel_output *o = &tl->out;
    c->mp4_h264 |= o->format == REEL_FORMAT_MP4 && o->codec == REEL_CODEC_H264;
    c->mp4_hevc |= o->format == REEL_FORMAT_MP4 && o->codec == REEL_CODEC_HEVC;
    c->mov |= o->format == REEL_FORMAT_MOV;
    c->webm_vp9 |= o->format == REEL_FORMAT_WEBM && o->codec == REEL_CODEC_VP9;
    c->gif |= o->format == REEL_FORMAT_GIF;
    c->poster |= o->has_poster;
    for (int i = 0; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        c->types |= 1u << l->type;
        if (l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_IMAGE)
            c->fits |= 1u << l->fit;
        for (int p = 0; p < REEL_PROP_COUNT; p++)
            for (int k = 0; k < l->anim[p].n_keys; k++)
                if (k > 0)
                    add_easing(c, &l->anim[p].keys[k].easing);
        if (l->tr_in.type) {
            c->tr_in |= 1u << l->tr_in.type;
            add_easing(c, &l->tr_in.easing);
        }
        if (l->tr_out.type) {
            c->tr_out |= 1u << l->tr_out.type;
            add_easing(c, &l->tr_out.easing);
        }
        for (int e = 0; e < l->n_effects; e++)
            c->effects |= 1u << l->effects[e].type;
        if (l->type == REEL_LAYER_TEXT) {
            c->stroke |= l->text.stroke.enabled;
            c->shadow |= l->text.has_shadow;
            c->background |= l->text.has_background;
            c->max_width |= l->text.max_width > 0;
            c->aligns |= 1u << l->text.align;
            if (l->text.text)
                scan_scripts(c, l->text.text);
        }
        if (l->type == REEL_LAYER_VIDEO) {
            c->trim |= l->trim_us > 0;
            c->speed |= l->speed != 1;
            c->loop |= l->loop;
            c->volume |= l->volume != 1;
        }
        if (l->type == REEL_LAYER_AUDIO) {
            c->audio_fades |= l->fade_in_us > 0 && l->fade_out_us > 0;
            c->audio_volume_anim |= l->anim[REEL_PROP_VOLUME].n_keys > 1;
        }
    }
}

static bool all_bits(unsigned mask, int from, int to)
{
    for (int i = from; i <= to; i++)
        if (!(mask & (1u << i)))
            return false;
    return true;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static bool have_media(const char *media_dir)
{
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof(media_files) / sizeof(media_files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", media_dir, media_files[i]);
        if (access(p, R_OK) != 0)
            return false;
    }
    return true;
}

int main(void)
{
    const char *src = getenv("REEL_SOURCE_DIR") ? getenv("REEL_SOURCE_DIR") : REEL_SOURCE_DIR;
    char examples[PATH_MAX - 64], media[PATH_MAX], pattern[PATH_MAX], tmp[64] = "";
    char cmd[2 * PATH_MAX];
    struct coverage cov = {0};
    glob_t g;

    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_ERROR);
    av_log_set_level(AV_LOG_FATAL);
    snprintf(examples, sizeof(examples), "%s/examples", src);
    snprintf(media, sizeof(media), "%s/media", examples);
    const char *root = examples;
    if (!have_media(media)) {
        if (system("ffmpeg -hide_banner -version >/dev/null 2>&1") != 0) {
            printf("FAIL: examples/media is missing and the ffmpeg command to make it is not "
                   "installed (scripts/install-deps.sh installs it)\n");
            return 1;
        }
        snprintf(tmp, sizeof(tmp), "/tmp/reel-test-examples-XXXXXX");
        if (!mkdtemp(tmp)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(cmd, sizeof(cmd), "'%s/scripts/gen-media.sh' '%s/media' >/dev/null", src, tmp);
        if (system(cmd) != 0) {
            fprintf(stderr, "scripts/gen-media.sh failed\n");
            return 1;
        }
        snprintf(media, sizeof(media), "%s/media", tmp);
        CHECK(have_media(media));
        root = tmp;
    }

    snprintf(pattern, sizeof(pattern), "%s/*.json", examples);
    if (glob(pattern, 0, NULL, &g) != 0) {
        fprintf(stderr, "no example jobs in %s\n", examples);
        return 1;
    }
    CHECK(g.gl_pathc >= 8);
    CHECK(strstr(g.gl_pathv[0], "/01-") != NULL);

    const char *roots[] = {root, NULL};
    struct reel_assets_cfg cfg = {.roots = roots};
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        struct reel_errlist errs = {0};
        struct reel_timeline *tl = NULL;
        size_t len = 0;
        char *json = slurp(path, &len);
        CHECK_MSG(json != NULL, "cannot read %s", path);
        if (!json)
            continue;
        cov.data |= strstr(json, "\"data\"") != NULL;
        for (const char *m = strstr(json, "{{"); m; m = strstr(m + 2, "{{")) {
            const char *end = strstr(m, "}}"), *bar = strchr(m, '|');
            cov.merge_default |= end && bar && bar < end;
        }
        struct reel_parse_opts po = {.base_dir = examples};
        int ret = reel_timeline_parse(json, len, &po, &tl, &errs);
        if (ret == 0)
            ret = reel_assets_resolve_timeline(&cfg, tl, NULL, &errs);
        CHECK_MSG(ret == 0, "%s does not parse and resolve", path);
        for (size_t k = 0; k < errs.count; k++)
            fprintf(stderr, "  %s: %s %s: %s\n", path, reel_err_code_str(errs.items[k].code),
                    errs.items[k].path, errs.items[k].msg);
        if (ret == 0) {
            CHECK_MSG(tl->out.duration_us >= 2 * REEL_US && tl->out.duration_us <= 7 * REEL_US,
                      "%s lasts %lld us; keep examples short", path,
                      (long long)tl->out.duration_us);
            collect(&cov, tl);
        }
        reel_timeline_destroy(&tl);
        reel_errlist_uninit(&errs);
        free(json);
    }
    globfree(&g);

    CHECK_MSG(all_bits(cov.types, REEL_LAYER_VIDEO, REEL_LAYER_AUDIO), "layer types %#x",
              cov.types);
    CHECK_MSG(all_bits(cov.fits, REEL_FIT_COVER, REEL_FIT_NATURAL), "fits %#x", cov.fits);
    CHECK_MSG(all_bits(cov.easings, REEL_EASE_LINEAR, REEL_EASE_CUBIC_BEZIER), "easings %#x",
              cov.easings);
    CHECK_MSG(all_bits(cov.tr_in, REEL_TR_FADE, REEL_TR_RADIAL), "transitions in %#x", cov.tr_in);
    CHECK_MSG(all_bits(cov.tr_out, REEL_TR_FADE, REEL_TR_RADIAL), "transitions out %#x",
              cov.tr_out);
    CHECK_MSG(all_bits(cov.effects, REEL_FX_BRIGHTNESS, REEL_FX_BLUR), "effects %#x", cov.effects);
    CHECK(cov.mp4_h264 && cov.mp4_hevc && cov.mov && cov.webm_vp9 && cov.gif);
    CHECK(cov.poster);
    CHECK(cov.stroke && cov.shadow && cov.background && cov.max_width);
    CHECK_MSG(all_bits(cov.aligns, REEL_ALIGN_LEFT, REEL_ALIGN_RIGHT), "aligns %#x", cov.aligns);
    CHECK(cov.cjk && cov.arabic && cov.devanagari);
    CHECK(cov.trim && cov.speed && cov.loop && cov.volume);
    CHECK(cov.audio_fades && cov.audio_volume_anim);
    CHECK(cov.data && cov.merge_default);

    if (tmp[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
    }
    CHECK_DONE();
}
