/*
 * The cpu engine's compositor: draws one layer's box content, transformed, into a premultiplied
 * RGBA8 canvas with "over" blending. Pure arithmetic over rows, so any row band can be drawn
 * independently and the result does not depend on how rows are split across threads.
 */
#ifndef REEL_ENGINES_CPU_COMPOSE_H
#define REEL_ENGINES_CPU_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeline/eval.h"
#include "timeline/geometry.h"

/* A premultiplied RGBA8 canvas. */
struct reel_cpu_canvas {
    uint8_t *data;
    int stride;
    int width, height;
};

/*
 * A YUV 4:2:0 canvas in the encoder's layout: 8-bit planes, BT.709 matrix, limited range, chroma
 * sited at the centre of each 2x2 block. It has no alpha: what is drawn is the picture over black,
 * as when a finished RGBA canvas is converted. Even width and height.
 */
struct reel_cpu_yuv_canvas {
    uint8_t *data[3];
    int stride[3];
    int width, height;
};

/*
 * Where a box image has anything to show: a summed-area table of the cells of
 * REEL_CPU_CELL x REEL_CPU_CELL texels that hold a non-zero texel, so that a draw can pass over
 * pixels whose bilinear footprint only meets clear cells (they would add nothing). Built once per
 * static box image (text, shapes and images are mostly clear around their content).
 */
#define REEL_CPU_CELL_SHIFT 3
#define REEL_CPU_CELL (1 << REEL_CPU_CELL_SHIFT)

struct reel_cpu_occupancy {
    uint32_t *sat; /* (cells_w + 1) x (cells_h + 1): occupied cells above and left of each */
    int cells_w, cells_h;
};

/* Build o for the w x h texels at data (premultiplied RGBA8). 0, or -REEL_ENOMEM. */
int reel_cpu_occupancy_build(struct reel_cpu_occupancy *o, const uint8_t *data, int stride, int w,
                             int h);
void reel_cpu_occupancy_free(struct reel_cpu_occupancy *o);

/* Whether every texel of columns x0..x1 and rows y0..y1 (inclusive, inside the image) is clear. */
static inline bool reel_cpu_occupancy_clear(const struct reel_cpu_occupancy *o, int x0, int y0,
                                            int x1, int y1)
{
    int cx0 = x0 >> REEL_CPU_CELL_SHIFT, cx1 = (x1 >> REEL_CPU_CELL_SHIFT) + 1;
    int cy0 = y0 >> REEL_CPU_CELL_SHIFT, cy1 = (y1 >> REEL_CPU_CELL_SHIFT) + 1;
    size_t w = (size_t)o->cells_w + 1;
    const uint32_t *s = o->sat;
    return s[cy1 * w + cx1] - s[cy0 * w + cx1] - s[cy1 * w + cx0] + s[cy0 * w + cx0] == 0;
}

/* One layer, ready to draw: what to sample and how output pixels map onto it. */
struct reel_cpu_draw {
    /* The layer's box image: premultiplied RGBA8 covering the box (0..bw, 0..bh), tex_w x tex_h
     * texels. data NULL means a solid colour (solid[]) filling the box. */
    const uint8_t *data;
    int stride, tex_w, tex_h;
    /* Optional: where data has anything to show (NULL: anywhere). Only a shortcut; the pixels
     * drawn are the same with or without it. */
    const struct reel_cpu_occupancy *occ;
    /* Or, on a YUV canvas only: an opaque picture already in the canvas's layout (yuv420p, BT.709
     * limited; tex_w x tex_h), drawn on the fast path at an even offset (see
     * reel_cpu_draw_takes_yuv). planes[0] NULL otherwise. */
    const uint8_t *planes[3];
    int plane_stride[3];
    uint8_t solid[4];
    double bw, bh;
    struct reel_affine inv; /* output px -> box */
    double alpha;           /* opacity x fade, 0..1 */
    struct reel_tr_state masks[2];
    int n_masks; /* masks with a per-pixel shape (wipe, circle, radial) */
    int out_w, out_h;

    /* Filled by reel_cpu_draw_setup. */
    int x0, y0, x1, y1;    /* output pixels touched, clipped to the canvas */
    double tex_sx, tex_sy; /* texels per box unit */
    double grad_u, grad_v; /* box units per output pixel along each box axis */
    bool is_fast;          /* integer translation, texel = (x + fast_dx, y + fast_dy) */
    int fast_dx, fast_dy;
};

/* Complete a draw whose content, box, inv, alpha and masks are set. Returns false when it touches
 * no pixel (then there is nothing to draw). */
bool reel_cpu_draw_setup(struct reel_cpu_draw *d, const struct reel_affine *fwd);

/* Fill rows [y0, y1) of the canvas with one premultiplied colour. */
void reel_cpu_fill_rows(const struct reel_cpu_canvas *c, int y0, int y1, const uint8_t rgba[4]);

/* Draw d over rows [y0, y1) of the canvas (clipped to d's own rows). */
void reel_cpu_draw_rows(const struct reel_cpu_canvas *c, const struct reel_cpu_draw *d, int y0,
                        int y1);

/* Whether a set-up draw could sample a YUV picture instead of an RGBA box image: the fast path at
 * an even offset, so that its chroma samples land on the canvas's. */
bool reel_cpu_draw_takes_yuv(const struct reel_cpu_draw *d);

/* A premultiplied RGBA8 colour over black, as BT.709 limited-range Y, Cb, Cr. */
void reel_cpu_rgba_to_yuv(const uint8_t rgba[4], uint8_t yuv[3]);

/* Fill rows [y0, y1) of a YUV canvas (y0 even) with one colour. */
void reel_cpu_yuv_fill_rows(const struct reel_cpu_yuv_canvas *c, int y0, int y1,
                            const uint8_t yuv[3]);

/*
 * Draw d over rows [y0, y1) of a YUV canvas (y0 even; y1 even or the height). Each luma sample
 * gets the RGBA "over" of the source pixel converted to Y; each chroma sample the same with the
 * source's premultiplied colour and alpha averaged over its 2x2 block (docs/engines.md).
 */
void reel_cpu_yuv_draw_rows(const struct reel_cpu_yuv_canvas *c, const struct reel_cpu_draw *d,
                            int y0, int y1);

/* Premultiply rows of straight RGBA8 from src into dst (may alias). */
void reel_cpu_premultiply_row(uint8_t *dst, const uint8_t *src, int width);
/* Un-premultiply a row of RGBA8 in place (for straight-alpha RGBA output). */
void reel_cpu_unpremultiply_row(uint8_t *row, int width);

/* round(v / 255) for v in 0..65025. */
static inline uint32_t reel_cpu_div255(uint32_t v)
{
    v += 128;
    return (v + (v >> 8)) >> 8;
}

#endif
