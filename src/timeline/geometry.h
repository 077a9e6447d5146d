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
 * which case it is cropped to the box. cover: scale max(bw/cw, bh/ch), contain: min, both
 * centred; fill: the box; natural: cw x ch centred. FIT_NONE_ counts as cover. Empty content
 * (cw or ch <= 0) gives a 0 x 0 rectangle at the box centre.
 */
void reel_fit_rect(enum reel_fit fit, double cw, double ch, double bw, double bh, double *dx,
                   double *dy, double *dw, double *dh);

/*
 * Map from output pixel coordinates to box coordinates (0..bw, 0..bh) for a layer in state st with
 * box size bw x bh: box origin at anchor, scaled, rotated clockwise about the anchor, placed at
 * (x, y) plus any slide offset. Returns the inverse map (output -> box) in *inv and the forward map
 * (box -> output) in *fwd (either may be NULL). Returns -1 if the scale is 0 (nothing to draw).
 * The forward map is p_out = R(theta) S (p_box - (anchor_x bw, anchor_y bh)) + (x, y) + slide,
 * where S = diag(sx, sy), R = [cos -sin; sin cos] (clockwise on a y-down screen), sx, sy, theta,
 * x, y come from st, and slide is the sum of reel_transition_offset for st->tr_in and st->tr_out
 * over an out_w x out_h frame.
 * Multiples of 90 degrees use exact sines and cosines. Returns 0 or -1 (fwd/inv untouched then).
 */
int reel_layer_transform(const struct reel_layer *l, const struct reel_layer_state *st, double bw,
                         double bh, int out_w, int out_h, struct reel_affine *fwd,
                         struct reel_affine *inv);

/*
 * The part of layer l's box (bw x bh, box units) that the output can show: the output rectangle
 * grown by margin px on every side, mapped into the box, for the layer's one transform, or, when
 * its position, scale or rotation is animated or it slides in or out, the bounding box of that
 * over every frame of its life (so the times between frames of continuous motion too). Clamped to
 * the box, in out[] = {x0, y0, x1, y1}. Returns false when it is empty. Effects whose cost grows
 * with the box (blur) are computed only there, plus their own reach.
 */
bool reel_layer_visible_box(const struct reel_timeline *tl, const struct reel_layer *l, double bw,
                            double bh, double margin, double out[4]);

#endif
