/*
 * Shared rasterisation of static content: text (FreeType + HarfBuzz + fontconfig), shapes and still
 * images, into premultiplied RGBA8 images. Done once per job; both engines receive the same pixels,
 * so text looks identical in both.
 */
#ifndef REEL_RASTER_RASTER_H
#define REEL_RASTER_RASTER_H

#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/timeline.h"

/* A premultiplied RGBA8 image (byte order R, G, B, A). Owns data (malloc). */
struct reel_image {
    int width, height;
    int stride; /* bytes per row, >= width * 4 */
    uint8_t *data;
};

/*
 * The raster budget: the most memory static content may take, counted before anything is
 * allocated: per layer, its rasterised content together with the box image an engine keeps for it
 * (its box, at most 8192 px a side), and for the whole job, the sum over its text, shape and image
 * layers. A job over either fails with -REEL_ELIMIT naming the layer's field (docs/job-format.md,
 * "Limits").
 */
#define REEL_RASTER_LAYER_BYTES ((int64_t)512 << 20)
#define REEL_RASTER_BUDGET_BYTES ((int64_t)4 << 30)

/* Allocate a zeroed (transparent) image. Returns 0 or -REEL_ENOMEM / -REEL_ELIMIT (bad size). */
int reel_image_alloc(struct reel_image *img, int width, int height);
/* Free the pixels; accepts a zeroed image. */
void reel_image_uninit(struct reel_image *img);

/*
 * Text and font context. Holds FreeType, fontconfig configuration (the system's fonts plus the
 * project's assets/fonts and any extra font folders) and a face cache.
 * Not thread-safe: one context per job/thread.
 */
struct reel_raster;

/* font_dirs: NULL-terminated list of extra font folders (may be NULL). Returns NULL on failure with
 * err filled (-REEL_EINTERNAL). */
struct reel_raster *reel_raster_create(const char *const *font_dirs, struct reel_log *log,
                                       struct reel_err *err);
/* Bytes the next reel_raster_text may allocate for its image and masks (the part of the job's
 * raster budget left); <= 0 restores REEL_RASTER_LAYER_BYTES. */
void reel_raster_set_budget(struct reel_raster *r, int64_t bytes);
/* Free the context and its fonts; accepts NULL and *r == NULL; sets *r to NULL. */
void reel_raster_destroy(struct reel_raster **r);

/*
 * Rasterise a text layer's style into *out (the layer's own size: the text block plus stroke,
 * background padding and shadow). The block is laid out with the given alignment; lines wrap at
 * max_width on word boundaries (or between CJK characters); HarfBuzz shapes each run (script and
 * direction detected per run) with fontconfig fallback for characters the chosen font lacks.
 * Bundled fonts (assets/fonts, REEL_FONT_DIR, font_dirs) win over system fonts of the same family
 * and come first among fallbacks. Painting order: background box (block + padding), shadow (text
 * and stroke moved by shadow_x/y), stroke (outside the outline), fill. The image is the union of
 * all of these and of the block, so nothing is cut; reel_raster_text_ex reports where the block
 * lies. Deterministic: the same style and fonts give the same bytes.
 * Cost is bounded before anything is rendered: the glyphs' outline boxes may add up to at most
 * 256 million pixels (a letter with thousands of stacked combining marks at a large size is
 * refused), and the image with its masks must fit the budget set by reel_raster_set_budget.
 * Errors: -REEL_EASSET_NOT_FOUND (no font at all), -REEL_ELIMIT (image too large, too many glyph
 * pixels, over budget), -REEL_ENOMEM.
 */
int reel_raster_text(struct reel_raster *r, const struct reel_text_style *style,
                     struct reel_image *out, struct reel_err *err);

/* Facts about one rasterised text layer, for tests, logs and callers that place the block. */
struct reel_text_stats {
    int lines;           /* lines after wrapping */
    int glyphs;          /* glyphs placed */
    int missing_glyphs;  /* glyphs drawn as .notdef: no available font has the character */
    int fallback_glyphs; /* glyphs taken from a fallback font rather than the requested one */
    int runs;            /* shaped runs (same script, direction and font) */
    /* The laid-out block (lines x line advance, widest line) inside the output image, px. */
    int block_x, block_y, block_width, block_height;
    char font_file[256]; /* the requested font as resolved (file path) */
};

/* reel_raster_text, also filling *stats (may be NULL). */
int reel_raster_text_ex(struct reel_raster *r, const struct reel_text_style *style,
                        struct reel_image *out, struct reel_text_stats *stats,
                        struct reel_err *err);

/* Free fontconfig's process-wide caches. Call once at process exit, after every reel_raster has
 * been destroyed and when no other thread uses fontconfig (it only matters to leak checkers). */
void reel_raster_global_uninit(void);

/* Rasterise a shape (anti-aliased rect, rounded rect or ellipse with fill and stroke) of
 * width x height px. The stroke is drawn inside the shape's outline. */
int reel_raster_shape(const struct reel_shape_style *style, double width, double height,
                      struct reel_image *out, struct reel_err *err);

/*
 * Decode a still image file (PNG, JPEG, WebP; alpha respected) through libavcodec into
 * premultiplied RGBA, turned and mirrored upright as its EXIF orientation says (JPEG and WebP
 * EXIF, PNG eXIf): the image returned is the picture as shown. max_px limits each side. Errors: -REEL_EASSET_NOT_FOUND,
 * -REEL_EASSET_UNSUPPORTED, -REEL_EDECODE, -REEL_ELIMIT.
 */
int reel_raster_image_load(const char *path, int max_px, struct reel_image *out,
                           struct reel_err *err);

/* Encode an RGBA image as PNG into a file (used by `reel frame` and tests). Un-premultiplies. */
int reel_image_write_png(const struct reel_image *img, const char *path, struct reel_err *err);

#endif
