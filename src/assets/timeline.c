#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets/assets.h"
#include "assets/internal.h"

static const char *const type_noun[] = {
    [REEL_LAYER_VIDEO] = "video", [REEL_LAYER_IMAGE] = "image", [REEL_LAYER_AUDIO] = "audio"};

static int problem(struct reel_errlist *errs, struct reel_log *log, int code, const char *path,
                   const char *msg)
{
    REEL_WARN(log, "assets: %s: %s", path, msg);
    return reel_errlist_add(errs, code, path, "%s", msg);
}

static bool font_looks_like_file(const char *font)
{
    static const char *const exts[] = {".ttf", ".otf", ".ttc", ".otc"};
    size_t n = font ? strlen(font) : 0;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (n > 4 && !strcasecmp(font + n - 4, exts[i]))
            return true;
    return false;
}

static int resolve_font(const struct reel_assets_cfg *cfg, struct reel_layer *l,
                        struct reel_log *log, struct reel_errlist *errs)
{
    char path[PATH_MAX], where[48];
    struct reel_err e = {0};
    snprintf(where, sizeof(where), "%s.font", l->path);
    int ret = reel_assets_resolve_src(cfg, l->text.font, path, sizeof(path), log, &e);
    if (ret < 0)
        return problem(errs, log, e.code, where, e.msg);
    char *dup = strdup(path);
    if (!dup)
        return problem(errs, log, REEL_ENOMEM, where, "out of memory");
    free(l->text.font);
    l->text.font = dup;
    l->text.font_is_file = true;
    return 0;
}

static int resolve_media(const struct reel_assets_cfg *cfg, const struct reel_limits *lim,
                         struct reel_layer *l, struct reel_log *log, struct reel_errlist *errs)
{
    char path[PATH_MAX], where[48], msg[600];
    struct reel_media_info mi;
    struct reel_err e = {0};
    int ret;

    snprintf(where, sizeof(where), "%s.src", l->path);
    if (!l->src || !l->src[0])
        return problem(errs, log, REEL_EINVALID_JOB, where, "a media layer needs a src");
    if ((ret = reel_assets_resolve_src(cfg, l->src, path, sizeof(path), log, &e)) < 0)
        return problem(errs, log, e.code, where, e.msg);
    if ((ret = reel_media_probe(path, lim, &mi, &e)) < 0) {
        snprintf(msg, sizeof(msg), "'%s': %s", l->src, e.msg);
        return problem(errs, log, e.code, where, msg);
    }

    const char *noun = type_noun[l->type];
    if (l->type == REEL_LAYER_VIDEO && !mi.has_video) {
        snprintf(msg, sizeof(msg), "'%s' has no video stream for a %s layer", l->src, noun);
        return problem(errs, log, REEL_EASSET_UNSUPPORTED, where, msg);
    }
    if (l->type == REEL_LAYER_AUDIO && !mi.has_audio) {
        snprintf(msg, sizeof(msg), "'%s' has no audio stream for an %s layer", l->src, noun);
        return problem(errs, log, REEL_EASSET_UNSUPPORTED, where, msg);
    }
    if (l->type == REEL_LAYER_IMAGE && (!mi.has_video || !mi.is_still)) {
        snprintf(msg, sizeof(msg),
                 "'%s' is not a still image (an image layer takes PNG, JPEG or WebP)", l->src);
        return problem(errs, log, REEL_EASSET_UNSUPPORTED, where, msg);
    }

    char *dup = strdup(path);
    if (!dup)
        return problem(errs, log, REEL_ENOMEM, where, "out of memory");
    free(l->src_path);
    l->src_path = dup;
    l->media_duration_us = mi.duration_us;
    l->media_width = mi.width;
    l->media_height = mi.height;
    l->media_has_video = mi.has_video;
    l->media_has_audio = mi.has_audio;
    return 0;
}

static bool has_own_length(const struct reel_layer *l)
{
    return (l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_AUDIO) && !l->loop &&
           l->media_duration_us > 0;
}

static void fmt_s(char *buf, size_t cap, int64_t us)
{
    snprintf(buf, cap, "%.3f s", (double)us / REEL_US);
}

/* Layer and output durations once every media length is known (SPEC 2.2). */
static int resolve_durations(struct reel_timeline *tl, const struct reel_limits *lim,
                             struct reel_log *log, struct reel_errlist *errs)
{
    char where[48], msg[300], a[32], b[32];
    int first = 0, ret;
    /* Media time left after trim; checked even with an explicit duration, as a trim past the end
     * leaves nothing to show or play. */
    for (int i = 0; i < tl->n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        if (!has_own_length(l) || l->trim_us < l->media_duration_us)
            continue;
        snprintf(where, sizeof(where), "%s.trim", l->path);
        fmt_s(a, sizeof(a), l->trim_us);
        fmt_s(b, sizeof(b), l->media_duration_us);
        snprintf(msg, sizeof(msg), "trim (%s) is not before the end of the media (%s)", a, b);
        ret = problem(errs, log, REEL_EINVALID_JOB, where, msg);
        first = first ? first : ret;
    }
    if (first)
        return first;

    for (int i = 0; i < tl->n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        if (l->has_duration || !has_own_length(l))
            continue;
        double speed = l->speed > 0 ? l->speed : 1.0;
        int64_t d = llround((double)(l->media_duration_us - l->trim_us) / speed);
        l->duration_us = d > 0 ? d : 1;
    }

    if (!tl->out.has_duration) {
        int64_t end = 0;
        bool known = false;
        for (int i = 0; i < tl->n_layers; i++) {
            const struct reel_layer *l = &tl->layers[i];
            if (!l->has_duration && !has_own_length(l))
                continue;
            known = true;
            if (l->start_us + l->duration_us > end)
                end = l->start_us + l->duration_us;
        }
        if (!known)
            return problem(errs, log, REEL_EINVALID_JOB, "output.duration",
                           "the output duration cannot be known: no layer has a duration of "
                           "its own; give output.duration or a layer duration");
        if (end > lim->max_duration_us) {
            fmt_s(a, sizeof(a), end);
            fmt_s(b, sizeof(b), lim->max_duration_us);
            snprintf(msg, sizeof(msg), "the output would last %s, over the limit of %s", a, b);
            return problem(errs, log, REEL_ELIMIT, "output.duration", msg);
        }
        tl->out.duration_us = end;
    }

    for (int i = 0; i < tl->n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        if (l->has_duration || has_own_length(l))
            continue;
        l->duration_us = tl->out.duration_us - l->start_us;
        if (l->duration_us <= 0) {
            snprintf(where, sizeof(where), "%s.start", l->path);
            fmt_s(a, sizeof(a), l->start_us);
            fmt_s(b, sizeof(b), tl->out.duration_us);
            snprintf(msg, sizeof(msg),
                     "the layer starts at %s, at or after the end of the output (%s), and has "
                     "no duration",
                     a, b);
            ret = problem(errs, log, REEL_EINVALID_JOB, where, msg);
            first = first ? first : ret;
        }
    }
    if (tl->out.has_poster && tl->out.poster_us >= tl->out.duration_us) {
        fmt_s(a, sizeof(a), tl->out.poster_us);
        fmt_s(b, sizeof(b), tl->out.duration_us);
        snprintf(msg, sizeof(msg), "poster time %s is not before the end of the output (%s)", a, b);
        ret = problem(errs, log, REEL_EINVALID_JOB, "output.poster", msg);
        first = first ? first : ret;
    }
    return first;
}

int reel_assets_resolve_timeline(const struct reel_assets_cfg *cfg, struct reel_timeline *tl,
                                 struct reel_log *log, struct reel_errlist *errs)
{
    struct reel_limits tmp;
    const struct reel_limits *lim = reel_assets_limits(cfg, &tmp);
    struct reel_assets_cfg eff = cfg ? *cfg : (struct reel_assets_cfg){0};
    const char *fallback_roots[3] = {NULL, NULL, NULL};
    int first = 0, ret;

    if (!eff.roots || !eff.roots[0]) {
        int n = 0;
        if (tl->base_dir && tl->base_dir[0])
            fallback_roots[n++] = tl->base_dir;
        fallback_roots[n] = "assets";
        eff.roots = fallback_roots;
    }
    eff.limits = lim;

    for (int i = 0; i < tl->n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        ret = 0;
        bool media = l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_IMAGE ||
                     l->type == REEL_LAYER_AUDIO;
        if (media && eff.sources_only && !l->src)
            continue; /* the parser has said why it has none */
        if (media)
            ret = resolve_media(&eff, lim, l, log, errs);
        else if (l->type == REEL_LAYER_TEXT && l->text.font &&
                 (l->text.font_is_file || font_looks_like_file(l->text.font)))
            ret = resolve_font(&eff, l, log, errs);
        first = first ? first : ret;
    }
    /* Durations depend on every media length; with one missing they would only add noise. */
    if (first || eff.sources_only)
        return first;
    return resolve_durations(tl, lim, log, errs);
}
