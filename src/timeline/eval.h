/*
 * The timeline evaluator, shared by every engine and by the audio mix: given a layer and an output
 * time, what is the layer's state. Pure functions of (timeline, time); thread-safe.
 */
#ifndef REEL_TIMELINE_EVAL_H
#define REEL_TIMELINE_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "timeline/timeline.h"

/* Apply an easing to progress p in [0,1] (clamped). hold returns 0 for p < 1 and 1 at p = 1.
 * Back/bounce may leave [0,1] (overshoot), as in CSS/Penner. */
double reel_ease(const struct reel_easing *e, double p);

/*
 * Value of an animated property at local time t_us (relative to the layer's start).
 * Without keyframes returns base. Before the first keyframe: first value; after the last: last
 * value; between k[i-1] and k[i]: lerp with k[i].easing applied to the segment progress.
 */
double reel_anim_value(const struct reel_anim *a, int64_t t_us, double base);

/* A transition active at a given time. */
struct reel_tr_state {
    enum reel_transition_type type; /* NONE when inactive */
    double p;                       /* eased progress: 0 = layer absent, 1 = fully shown */
};

struct reel_layer_state {
    bool visible;          /* start <= t < start + duration */
    int64_t local_us;      /* t - start */
    double x, y;           /* anchor position in output px */
    double scale_x, scale_y; /* effective (scale * scale_x, scale * scale_y) */
    double rotation_deg;
    double opacity;        /* clamped 0..1 (transition fade not included) */
    double volume;         /* 0..4 */
    struct reel_tr_state tr_in, tr_out; /* both may be active at once on short layers */
    int64_t source_us;     /* video/audio: source time to show (trim, speed, loop applied) */
    bool source_ended;     /* video past its media end without loop: hold the last frame */
};

/* Evaluate layer l at output time t_us. */
void reel_eval_layer(const struct reel_timeline *tl, const struct reel_layer *l, int64_t t_us,
                     struct reel_layer_state *st);

/*
 * Source time for a media layer at local time local_us:
 *   s = trim + local * speed; with loop and a known media duration D > trim,
 *   s = trim + fmod(local * speed, D - trim). Without loop, s is clamped to D (ended).
 * Integer microseconds; speed is applied once per call (never accumulated).
 */
int64_t reel_eval_source_time(const struct reel_layer *l, int64_t local_us, bool *ended);

/* Transition mask: does pixel (px, py) (pixel centre coordinates, px+0.5) of a W x H frame show the
 * layer under transition state tr? Returns coverage 0..1 (1 for fade/slide, which act elsewhere). */
double reel_transition_coverage(const struct reel_tr_state *tr, double px, double py, int w, int h);

/* Extra translation (dx, dy) in output px for slide transitions; 0,0 otherwise. */
void reel_transition_offset(const struct reel_tr_state *tr, int w, int h, double *dx, double *dy);

/* Alpha multiplier from fade transitions (product of in and out); 1 otherwise. */
double reel_transition_alpha(const struct reel_layer_state *st);

#endif
