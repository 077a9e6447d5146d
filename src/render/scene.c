#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/scene.h"
#include "timeline/geometry.h"

/* Re-home a rasteriser error under the layer's JSON path, keeping its code and message. */
static int wrap_err(struct reel_err *err, int ret, const struct reel_layer *l, const char *field)
{
    if (!err)
        return ret;
    char path[sizeof(err->path)];
    snprintf(path, sizeof(path), "%s.%s", l->path, field);
    if (err->code == 0)
        reel_err_set(err, -ret, path, NULL);
    else
        snprintf(err->path, sizeof(err->path), "%s", path);
    return ret;
}

/* The engines' box image for a box of bw x bh: rounded, at most 8192 px a side (as they cap it). */
static int64_t box_bytes(double bw, double bh)
{
    double w = floor(bw + 0.5), h = floor(bh + 0.5);
    w = w < 1.0 ? 1.0 : (w > 8192.0 ? 8192.0 : w);
    h = h < 1.0 ? 1.0 : (h > 8192.0 ? 8192.0 : h);
    return (int64_t)w * (int64_t)h * 4;
}

/* What a layer's static content and box image take when the document alone says (shapes; text
 * and image boxes of a given size), in bytes; *field gets the field to blame. 0 when unknown. */
static int64_t known_bytes(const struct reel_timeline *tl, const struct reel_layer *l,
                           const char **field)
{
    double bw, bh;
    switch (l->type) {
    case REEL_LAYER_SHAPE:
        *field = "width";
        if (!(l->width > 0.0) || !(l->height > 0.0) || l->width > 16384.0 || l->height > 16384.0)
            return 0; /* the rasteriser refuses it with its own message */
        reel_layer_box(tl, l, (int)ceil(l->width), (int)ceil(l->height), &bw, &bh);
        return (int64_t)ceil(l->width) * (int64_t)ceil(l->height) * 4 + box_bytes(bw, bh);
    case REEL_LAYER_TEXT:
    case REEL_LAYER_IMAGE:
        *field = "width";
        if (!(l->width > 0.0) || !(l->height > 0.0))
            return 0;
        return box_bytes(l->width, l->height);
    default:
        return 0;
    }
}

/* What one more layer may take when used bytes are spoken for: the lesser of the per-layer limit
 * and what is left of the job's budget. */
static int64_t room(int64_t used)
{
    int64_t left = REEL_RASTER_BUDGET_BYTES - used;
    return left < REEL_RASTER_LAYER_BYTES ? left : REEL_RASTER_LAYER_BYTES;
}

static int over_budget(struct reel_err *err, const struct reel_layer *l, const char *field,
                       int64_t need, int64_t used)
{
    char path[sizeof(err->path)];
    snprintf(path, sizeof(path), "%s.%s", l->path, field);
    const char *what = l->type == REEL_LAYER_SHAPE  ? "shape"
                       : l->type == REEL_LAYER_TEXT ? "text"
                                                    : "image";
    long long mib = (long long)((need + (1 << 20) - 1) >> 20);
    if (need > REEL_RASTER_LAYER_BYTES)
        return reel_err_set(err, REEL_ELIMIT, path,
                            "the %s and its box image need %lld MiB, over the limit of %lld MiB "
                            "per layer",
                            what, mib, (long long)(REEL_RASTER_LAYER_BYTES >> 20));
    return reel_err_set(err, REEL_ELIMIT, path,
                        "the %s and its box image need %lld MiB, over the %lld MiB left of the "
                        "job's raster budget of %lld MiB",
                        what, mib, (long long)((REEL_RASTER_BUDGET_BYTES - used) >> 20),
                        (long long)(REEL_RASTER_BUDGET_BYTES >> 20));
}

int reel_scene_check_cost(const struct reel_timeline *tl, struct reel_err *err)
{
    int64_t used = 0;
    for (int i = 0; i < tl->n_layers; i++) {
        const char *field = NULL;
        int64_t need = known_bytes(tl, &tl->layers[i], &field);
        if (need > room(used))
            return over_budget(err, &tl->layers[i], field, need, used);
        used += need;
    }
    return 0;
}

static bool needs_fonts(const struct reel_timeline *tl)
{
    for (int i = 0; i < tl->n_layers; i++)
        if (tl->layers[i].type == REEL_LAYER_TEXT)
            return true;
    return false;
}

int reel_scene_init(struct reel_scene *s, const struct reel_timeline *tl,
                    const char *const *font_dirs, int max_source_px, struct reel_log *log,
                    struct reel_err *err)
{
    struct reel_raster *r = NULL;
    struct reel_err local;
    int ret = 0;

    memset(s, 0, sizeof(*s));
    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    s->tl = tl;
    s->content = calloc(tl->n_layers > 0 ? (size_t)tl->n_layers : 1, sizeof(*s->content));
    if (!s->content) {
        ret = reel_err_set(err, REEL_ENOMEM, "scene", "scene: out of memory");
        goto fail;
    }
    /* Fontconfig set-up costs tens of milliseconds; skip it for jobs without text. */
    if (needs_fonts(tl)) {
        r = reel_raster_create(font_dirs, log, err);
        if (!r) {
            ret = -(err->code ? err->code : REEL_EINTERNAL);
            snprintf(err->path, sizeof(err->path), "scene");
            goto fail;
        }
    }
    /* The raster budget: what the document says first, so that nothing is rasterised for a job
     * that cannot fit; then each layer's content and box before (shapes, text) or as soon as
     * (images: their size is in the file) they are known. */
    if ((ret = reel_scene_check_cost(tl, err)) < 0)
        goto fail;
    int64_t used = 0;
    for (int i = 0; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        const char *field = NULL;
        int64_t known = known_bytes(tl, l, &field);
        switch (l->type) {
        case REEL_LAYER_TEXT:
            reel_raster_set_budget(r, room(used) - known);
            ret = reel_raster_text(r, &l->text, &s->content[i], err);
            if (ret < 0)
                ret = wrap_err(err, ret, l, "text");
            break;
        case REEL_LAYER_SHAPE:
            if (known > room(used)) {
                ret = over_budget(err, l, field, known, used);
                goto fail;
            }
            ret = reel_raster_shape(&l->shape, l->width, l->height, &s->content[i], err);
            if (ret < 0)
                ret = wrap_err(err, ret, l, "shape");
            break;
        case REEL_LAYER_IMAGE:
            ret = reel_raster_image_load(l->src_path ? l->src_path : l->src, max_source_px,
                                         &s->content[i], err);
            if (ret < 0)
                ret = wrap_err(err, ret, l, "src");
            break;
        default:
            break;
        }
        if (ret < 0)
            goto fail;
        const struct reel_image *c = &s->content[i];
        int64_t need = known;
        if (c->data) {
            double bw, bh;
            reel_layer_box(tl, l, c->width, c->height, &bw, &bh);
            need = (int64_t)c->height * c->stride + box_bytes(bw, bh);
        }
        if (need > room(used)) {
            ret = over_budget(err, l, l->type == REEL_LAYER_IMAGE ? "src" : field, need, used);
            goto fail;
        }
        used += need;
    }
    reel_raster_destroy(&r);
    return 0;

fail:
    REEL_ERROR(log, "prepare: %s: %s", err->path[0] ? err->path : "scene", err->msg);
    reel_raster_destroy(&r);
    reel_scene_uninit(s);
    return ret;
}

void reel_scene_uninit(struct reel_scene *s)
{
    if (!s)
        return;
    if (s->content && s->tl)
        for (int i = 0; i < s->tl->n_layers; i++)
            reel_image_uninit(&s->content[i]);
    free(s->content);
    s->content = NULL;
    s->tl = NULL;
}
