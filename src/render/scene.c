#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/scene.h"

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
    for (int i = 0; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        switch (l->type) {
        case REEL_LAYER_TEXT:
            ret = reel_raster_text(r, &l->text, &s->content[i], err);
            if (ret < 0)
                ret = wrap_err(err, ret, l, "text");
            break;
        case REEL_LAYER_SHAPE:
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
