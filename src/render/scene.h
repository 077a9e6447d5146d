/*
 * A scene: a resolved timeline plus everything prepared once per job and shared by the engines:
 * the rasterised static content of each layer (text, shape, image), premultiplied RGBA.
 */
#ifndef REEL_RENDER_SCENE_H
#define REEL_RENDER_SCENE_H

#include "core/err.h"
#include "core/log.h"
#include "raster/raster.h"
#include "timeline/timeline.h"

struct reel_scene {
    const struct reel_timeline *tl; /* borrowed */
    /* One entry per layer (tl->n_layers): rasterised content for text, shape and image layers;
     * zeroed (data NULL) for others. */
    struct reel_image *content;
};

/*
 * Rasterise every static layer once. font_dirs as for reel_raster_create. Errors are reported with
 * the layer's path; returns 0 or a negative code (err filled).
 */
int reel_scene_init(struct reel_scene *s, const struct reel_timeline *tl,
                    const char *const *font_dirs, int max_source_px, struct reel_log *log,
                    struct reel_err *err);
void reel_scene_uninit(struct reel_scene *s);

/*
 * Check what the document alone says of the job's raster budget (REEL_RASTER_LAYER_BYTES per layer,
 * REEL_RASTER_BUDGET_BYTES per job):
 * shapes' content and box images, and the box images of text and image layers given a width and
 * height. Nothing is allocated. Returns 0 or -REEL_ELIMIT with err naming the field
 * (layers[i].width). reel_scene_init runs it first, then checks each layer's actual content.
 */
int reel_scene_check_cost(const struct reel_timeline *tl, struct reel_err *err);

#endif
