/*
 * Layer geometry shared by the engines: where a layer's box sits, how content fits into it, and
 * the affine map from output pixels back to box coordinates. Pure math; thread-safe.
 */
#ifndef REEL_TIMELINE_GEOMETRY_H
#define REEL_TIMELINE_GEOMETRY_H

#include "timeline/eval.h"
#include "timeline/timeline.h"

/* 2x3 affine: (u, v) = (a*x + b*y + c, d*x + e*y + f) */
struct reel_affine {
    double a, b, c, d, e, f;
};

/* The layer's box size in px: its width/height, or the defaults (whole frame for video/image/color;
 * content_w/h, the rasterised size, for text and shape). */
void reel_layer_box(const struct reel_timeline *tl, const struct reel_layer *l, int content_w,
                    int content_h, double *box_w, double *box_h);

/*
 * Where content of size cw x ch lands inside a box bw x bh for a fit mode, in box coordinates:
 * the destination rectangle (dx, dy, dw, dh), which may extend beyond the box (cover, none), in
 * which case it is cropped to the box.
 */
void reel_fit_rect(enum reel_fit fit, double cw, double ch, double bw, double bh, double *dx,
                   double *dy, double *dw, double *dh);

/*
 * Map from output pixel coordinates to box coordinates (0..bw, 0..bh) for a layer in state st with
 * box size bw x bh: box origin at anchor, scaled, rotated clockwise about the anchor, placed at
 * (x, y) plus any slide offset. Returns the inverse map (output -> box) in *inv and the forward map
 * (box -> output) in *fwd (either may be NULL). Returns -1 if the scale is 0 (nothing to draw).
 */
int reel_layer_transform(const struct reel_layer *l, const struct reel_layer_state *st, double bw,
                         double bh, int out_w, int out_h, struct reel_affine *fwd,
                         struct reel_affine *inv);

#endif
