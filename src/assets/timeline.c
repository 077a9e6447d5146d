#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets/assets.h"
#include "assets/internal.h"
#include "core/thread.h"

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

/* What resolving one media layer found: its file and what the probe says, or its one problem. */
struct media_found {
    bool wanted; /* the layer is one to resolve */
    char path[PATH_MAX];
    struct reel_media_info mi;
    int code; /* the problem's, 0 when none */
    char msg[600];
};

static void find_media(const struct reel_assets_cfg *cfg, const struct reel_limits *lim,
                       const struct reel_layer *l, struct reel_log *log, struct media_found *f)
{
    struct reel_err e = {0};
    const char *noun = type_noun[l->type];
    if (!l->src || !l->src[0]) {
        f->code = REEL_EINVALID_JOB;
        snprintf(f->msg, sizeof(f->msg), "a media layer needs a src");
    } else if (reel_assets_resolve_src(cfg, l->src, f->path, sizeof(f->path), log, &e) < 0) {
        f->code = e.code;
        snprintf(f->msg, sizeof(f->msg), "%s", e.msg);
    } else if (reel_media_probe(f->path, lim, &f->mi, &e) < 0) {
        f->code = e.code;
        snprintf(f->msg, sizeof(f->msg), "'%s': %s", l->src, e.msg);
    } else if (l->type == REEL_LAYER_VIDEO && !f->mi.has_video) {
        f->code = REEL_EASSET_UNSUPPORTED;
        snprintf(f->msg, sizeof(f->msg), "'%s' has no video stream for a %s layer", l->src, noun);
    } else if (l->type == REEL_LAYER_AUDIO && !f->mi.has_audio) {
        f->code = REEL_EASSET_UNSUPPORTED;
        snprintf(f->msg, sizeof(f->msg), "'%s' has no audio stream for an %s layer", l->src, noun);
    } else if (l->type == REEL_LAYER_IMAGE && (!f->mi.has_video || !f->mi.is_still)) {
        f->code = REEL_EASSET_UNSUPPORTED;
        snprintf(f->msg, sizeof(f->msg),
                 "'%s' is not a still image (an image layer takes PNG, JPEG or WebP)", l->src);
    }
}

/* Put what find_media found into the layer, or report its problem. */
static int take_media(struct reel_layer *l, const struct media_found *f, struct reel_log *log,
                      struct reel_errlist *errs)
{
    char where[48];
    snprintf(where, sizeof(where), "%s.src", l->path);
    if (f->code)
        return problem(errs, log, f->code, where, f->msg);
    char *dup = strdup(f->path);
    if (!dup)
        return problem(errs, log, REEL_ENOMEM, where, "out of memory");
    free(l->src_path);
    l->src_path = dup;
    l->media_duration_us = f->mi.duration_us;
    l->media_width = f->mi.width;
    l->media_height = f->mi.height;
    l->media_has_video = f->mi.has_video;
    l->media_has_audio = f->mi.has_audio;
    return 0;
}

/*
 * The media layers are resolved and probed on up to MAX_FINDERS threads at once: a job's remote
 * files download side by side, and probing local ones (which decodes a few frames of each) is
 * spread over the cores. Problems are reported in layer order whatever order they were found in.
 */
#define MAX_FINDERS 4

struct finders {
    const struct reel_assets_cfg *cfg;
    const struct reel_limits *lim;
    const struct reel_timeline *tl;
    struct reel_log *log;
    const int *todo; /* indexes of the layers to resolve */
    int n_todo;
    struct media_found *found; /* one per layer */
    atomic_int next;
};

static void find_next(struct finders *fs)
{
    for (int k; (k = atomic_fetch_add(&fs->next, 1)) < fs->n_todo;)
        find_media(fs->cfg, fs->lim, &fs->tl->layers[fs->todo[k]], fs->log,
                   &fs->found[fs->todo[k]]);
}

static void *finder_main(void *arg)
{
    struct finders *fs = arg;
    reel_thread_name("reel-assets");
    reel_log_set_thread_logger(fs->log);
    find_next(fs);
    return NULL;
}

/* Fill found[todo[k]] for every k, on this thread and up to MAX_FINDERS - 1 more. */
static void find_all_media(struct finders *fs)
{
    pthread_t threads[MAX_FINDERS - 1];
    int n = 0;
    for (; n < MAX_FINDERS - 1 && n < fs->n_todo - 1; n++) {
        if (pthread_create(&threads[n], NULL, finder_main, fs) != 0)
            break; /* the threads there are (this one at least) do the rest */
    }
    find_next(fs);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
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

    int *todo = tl->n_layers ? calloc((size_t)tl->n_layers, sizeof(*todo)) : NULL;
    struct finders fs = {.cfg = &eff, .lim = lim, .tl = tl, .log = log, .todo = todo};
    fs.found = tl->n_layers ? calloc((size_t)tl->n_layers, sizeof(*fs.found)) : NULL;
    if (tl->n_layers && (!todo || !fs.found)) {
        free(todo);
        free(fs.found);
        return problem(errs, log, REEL_ENOMEM, "layers", "out of memory");
    }
    for (int i = 0; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        bool media = l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_IMAGE ||
                     l->type == REEL_LAYER_AUDIO;
        if (!media || (eff.sources_only && !l->src))
            continue; /* not media, or the parser has said why it has none */
        fs.found[i].wanted = true;
        todo[fs.n_todo++] = i;
    }
    if (fs.n_todo)
        find_all_media(&fs);
    for (int i = 0; i < tl->n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        ret = 0;
        if (fs.found[i].wanted)
            ret = take_media(l, &fs.found[i], log, errs);
        else if (l->type == REEL_LAYER_TEXT && l->text.font &&
                 (l->text.font_is_file || font_looks_like_file(l->text.font)))
            ret = resolve_font(&eff, l, log, errs);
        first = first ? first : ret;
    }
    free(fs.found);
    free(todo);
    /* Durations depend on every media length; with one missing they would only add noise. */
    if (first || eff.sources_only)
        return first;
    return resolve_durations(tl, lim, log, errs);
}
