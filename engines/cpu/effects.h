/*
 * Layer effects (SPEC 2.5) on a premultiplied RGBA8 image, in place. These are the reference
 * formulas the gl engine matches; see docs/engines.md for the exact arithmetic.
 */
#ifndef REEL_ENGINES_CPU_EFFECTS_H
#define REEL_ENGINES_CPU_EFFECTS_H

#include <stddef.h>
#include <stdint.h>

#include "engines/cpu/pool.h"
#include "raster/raster.h"
#include "timeline/timeline.h"

/* Reusable working memory for the blur (kept per layer so per-frame effects do not allocate). */
struct reel_cpu_scratch {
    uint16_t *buf;
    size_t cap; /* elements */
};

void reel_cpu_scratch_uninit(struct reel_cpu_scratch *s);

/*
 * Apply fx[0..n) in order to img. Consecutive colour effects (everything but blur) run as one pass
 * per pixel: un-premultiply, each formula in turn with its result clamped to 0..1, premultiply,
 * one rounding at the end. Blur runs on the 8-bit premultiplied image. pool may be NULL.
 * Returns 0 or -REEL_ENOMEM.
 */
int reel_cpu_effects_apply(const struct reel_effect *fx, int n, struct reel_image *img,
                           struct reel_cpu_pool *pool, struct reel_cpu_scratch *scratch);

/* A rectangle of image pixels: [x0, x1) x [y0, y1). */
struct reel_cpu_rect {
    int x0, y0, x1, y1;
};

/*
 * reel_cpu_effects_apply computing only the pixels of want (clamped to the image; NULL = all):
 * each effect works on what the next needs, a blur on its output grown by its radius. Pixels of
 * want come out exactly as when the whole image is processed; pixels outside it are left in an
 * unspecified intermediate state (never to be shown). Cost follows want, not the image.
 */
int reel_cpu_effects_apply_rect(const struct reel_effect *fx, int n, struct reel_image *img,
                                const struct reel_cpu_rect *want, struct reel_cpu_pool *pool,
                                struct reel_cpu_scratch *scratch);

/* Apply the colour effects of fx[0..n) to one premultiplied pixel (blur is skipped: it leaves a
 * solid colour unchanged). Used for solid colour layers. */
void reel_cpu_effects_pixel(const struct reel_effect *fx, int n, uint8_t px[4]);

#endif
