/*
 * The timeline evaluator, shared by every engine and by the audio mix: given a layer and an output
 * time, what is the layer's state. Pure functions of (timeline, time); thread-safe.
 */
#ifndef REEL_TIMELINE_EVAL_H
#define REEL_TIMELINE_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "timeline/timeline.h"

/* Apply an easing to progress p in [0,1] (clamped; NaN counts as 0). hold returns 0 for p < 1 and
 * 1 at p = 1. Back/bounce may leave [0,1] (overshoot), as in CSS/Penner. cubic-bezier solves
 * x(s) = p to 1e-12 (Newton, then bisection) and returns y(s); x1, x2 are clamped to [0,1].
 * e == NULL or kind NONE means linear. */
double reel_ease(const struct reel_easing *e, double p);

/*
 * Value of an animated property at local time t_us (relative to the layer's start).
 * Without keyframes returns base. Before the first keyframe: first value; after the last: last
 * value; between k[i-1] and k[i]: lerp with k[i].easing applied to the segment progress.
 * Exactly at a keyframe's time the value is that keyframe's (so hold jumps at that instant).
 * Keys must be strictly increasing in time (binary search).
 */
double reel_anim_value(const struct reel_anim *a, int64_t t_us, double base);

/* A transition active at a given time. */
struct reel_tr_state {
    enum reel_transition_type type; /* NONE when inactive */
    double p;                       /* eased progress: 0 = layer absent, 1 = fully shown */
};

struct reel_layer_state {
    bool visible;            /* start <= t < start + duration */
    int64_t local_us;        /* t - start */
    double x, y;             /* anchor position in output px */
    double scale_x, scale_y; /* effective (scale * scale_x, scale * scale_y) */
    double rotation_deg;
    double opacity;                     /* clamped 0..1 (transition fade not included) */
    double volume;                      /* 0..4 */
    struct reel_tr_state tr_in, tr_out; /* both may be active at once on short layers */
    int64_t source_us; /* video/audio: source time to show (trim, speed, loop applied) */
    bool source_ended; /* video past its media end without loop: hold the last frame */
};

/*
 * Evaluate layer l at output time t_us into *st (fully overwritten). Properties are evaluated even
 * when the layer is not visible. A transition is active only while the layer is visible: in while
 * local < in.duration (raw progress local/in.duration), out while local >= duration - out.duration
 * (raw progress (duration - local)/out.duration, running 1 -> 0); the raw progress goes through
 * the transition's easing. source_us/source_ended are filled for video and audio layers only.
 */
void reel_eval_layer(const struct reel_timeline *tl, const struct reel_layer *l, int64_t t_us,
                     struct reel_layer_state *st);

/*
 * Source time for a media layer at local time local_us:
 *   s = trim + local * speed; with loop and a known media duration D > trim,
 *   s = trim + fmod(local * speed, D - trim). Without loop, s is clamped to D (ended).
 * Integer microseconds; local * speed is rounded once per call (never accumulated). Without loop
 * and with a known D, s >= D gives s = D and *ended = true. D = 0 (unknown or still image): no
 * looping or clamping. Negative local counts as 0; speed <= 0 counts as 1. ended may be NULL.
 */
int64_t reel_eval_source_time(const struct reel_layer *l, int64_t local_us, bool *ended);

/* Transition mask: does pixel (px, py) (pixel centre coordinates, px+0.5) of a W x H frame show the
 * layer under transition state tr? Returns coverage 0..1 (1 for fade/slide, which act elsewhere).
 * This reference version returns a hard 0 or 1 from the SPEC 2.4 inequalities; tr NULL gives 1.
 * Radial angles are measured clockwise from 12 o'clock about the frame centre (W/2, H/2). */
double reel_transition_coverage(const struct reel_tr_state *tr, double px, double py, int w, int h);

/* Extra translation (dx, dy) in output px for one slide transition state; 0,0 otherwise (and for
 * tr NULL). slide-left: dx = (1-p)W, slide-right: -(1-p)W, slide-up: dy = (1-p)H, slide-down:
 * -(1-p)H. Call it once for tr_in and once for tr_out and add the results (reel_layer_transform
 * does this). dx or dy may be NULL. */
void reel_transition_offset(const struct reel_tr_state *tr, int w, int h, double *dx, double *dy);

/* Alpha multiplier from fade transitions (product of in and out, each p clamped to 0..1, so an
 * overshooting easing cannot push alpha past 1); 1 otherwise. */
double reel_transition_alpha(const struct reel_layer_state *st);

#endif
