#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "timeline/eval.h"

/* Penner's back overshoot constant; gives about 10% overshoot. */
#define BACK_C1 1.70158
#define BACK_C3 (BACK_C1 + 1.0)

/* Spelled out because M_PI is not part of C11. */
#define PI 3.14159265358979323846

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* One coordinate of a cubic Bezier with P0 = 0 and P3 = 1, in Horner form. */
static double bezier_coord(double s, double c1, double c2)
{
    /* 3(1-s)^2 s c1 + 3(1-s) s^2 c2 + s^3 expanded as ((A s + B) s + C) s */
    double cc = 3.0 * c1;
    double bb = 3.0 * (c2 - c1) - cc;
    double aa = 1.0 - cc - bb;
    return ((aa * s + bb) * s + cc) * s;
}

static double bezier_coord_deriv(double s, double c1, double c2)
{
    double cc = 3.0 * c1;
    double bb = 3.0 * (c2 - c1) - cc;
    double aa = 1.0 - cc - bb;
    return (3.0 * aa * s + 2.0 * bb) * s + cc;
}

/*
 * Find s with x(s) = p. With x1, x2 in [0,1] x(s) is non-decreasing on [0,1], so a bracket
 * [lo, hi] around the root always exists. Newton steps are taken while they stay inside it (fast
 * for ordinary curves); otherwise the bracket is halved, which also handles flat spots where
 * x'(s) = 0. Stops at double precision rather than at a fixed tolerance on x, because near a flat
 * spot a small error in x is a large error in s.
 */
static double bezier_solve_s(double p, double x1, double x2)
{
    double lo = 0.0, hi = 1.0;
    double s = p;
    for (int i = 0; i < 200; i++) {
        double err = bezier_coord(s, x1, x2) - p;
        if (err == 0.0)
            break;
        if (err < 0.0)
            lo = s;
        else
            hi = s;
        double d = bezier_coord_deriv(s, x1, x2);
        double next = d > 0.0 ? s - err / d : -1.0;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        if (next == s || !(hi - lo > 1e-16))
            break;
        s = next;
    }
    return s;
}

static double ease_out_bounce(double p)
{
    const double n1 = 7.5625, d1 = 2.75;
    if (p < 1.0 / d1)
        return n1 * p * p;
    if (p < 2.0 / d1) {
        p -= 1.5 / d1;
        return n1 * p * p + 0.75;
    }
    if (p < 2.5 / d1) {
        p -= 2.25 / d1;
        return n1 * p * p + 0.9375;
    }
    p -= 2.625 / d1;
    return n1 * p * p + 0.984375;
}

double reel_ease(const struct reel_easing *e, double p)
{
    if (isnan(p))
        p = 0.0;
    p = clamp(p, 0.0, 1.0);
    enum reel_easing_kind kind = e ? e->kind : REEL_EASE_LINEAR;
    switch (kind) {
    case REEL_EASE_HOLD:
        return p >= 1.0 ? 1.0 : 0.0;
    case REEL_EASE_IN:
        return p * p * p;
    case REEL_EASE_OUT: {
        double q = 1.0 - p;
        return 1.0 - q * q * q;
    }
    case REEL_EASE_IN_OUT: {
        if (p < 0.5)
            return 4.0 * p * p * p;
        double q = -2.0 * p + 2.0;
        return 1.0 - q * q * q / 2.0;
    }
    case REEL_EASE_IN_BACK:
        return BACK_C3 * p * p * p - BACK_C1 * p * p;
    case REEL_EASE_OUT_BACK: {
        double q = p - 1.0;
        return 1.0 + BACK_C3 * q * q * q + BACK_C1 * q * q;
    }
    case REEL_EASE_OUT_BOUNCE:
        return ease_out_bounce(p);
    case REEL_EASE_CUBIC_BEZIER: {
        /* The end points are exact by definition; skip the solver so they stay exact. */
        if (p <= 0.0)
            return 0.0;
        if (p >= 1.0)
            return 1.0;
        /* CSS requires x1, x2 in [0,1]; clamping keeps x(s) monotone if a caller strays. */
        double x1 = clamp(e->x1, 0.0, 1.0), x2 = clamp(e->x2, 0.0, 1.0);
        double s = bezier_solve_s(p, x1, x2);
        return bezier_coord(s, e->y1, e->y2);
    }
    case REEL_EASE_NONE:
    case REEL_EASE_LINEAR:
    default:
        return p;
    }
}

double reel_anim_value(const struct reel_anim *a, int64_t t_us, double base)
{
    if (!a || !a->keys || a->n_keys <= 0)
        return base;
    const struct reel_keyframe *k = a->keys;
    int n = a->n_keys;
    if (t_us <= k[0].time_us)
        return k[0].value;
    if (t_us >= k[n - 1].time_us)
        return k[n - 1].value;

    /* Smallest i with k[i].time > t; the loop invariant is k[lo-1].time <= t < k[hi].time. */
    int lo = 1, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (k[mid].time_us > t_us)
            hi = mid;
        else
            lo = mid + 1;
    }
    const struct reel_keyframe *k0 = &k[lo - 1], *k1 = &k[lo];
    double p = (double)(t_us - k0->time_us) / (double)(k1->time_us - k0->time_us);
    double w = reel_ease(&k1->easing, p);
    /* This form is exact at both ends (w = 0 gives v0, w = 1 gives v1), which hold relies on. */
    return (1.0 - w) * k0->value + w * k1->value;
}

int64_t reel_eval_source_time(const struct reel_layer *l, int64_t local_us, bool *ended)
{
    bool is_ended = false;
    double speed = l->speed > 0.0 ? l->speed : 1.0;
    if (local_us < 0)
        local_us = 0;
    int64_t off = (int64_t)llround((double)local_us * speed);
    int64_t trim = l->trim_us > 0 ? l->trim_us : 0;
    int64_t dur = l->media_duration_us;
    int64_t s = trim + off;

    if (dur > 0) {
        if (l->loop && dur > trim) {
            s = trim + off % (dur - trim);
        } else if (s >= dur) {
            s = dur;
            is_ended = true;
        }
    }
    if (ended)
        *ended = is_ended;
    return s;
}

static void eval_transition(const struct reel_transition *tr, bool active, double raw,
                            struct reel_tr_state *st)
{
    if (!active) {
        st->type = REEL_TR_NONE;
        st->p = 1.0;
        return;
    }
    st->type = tr->type;
    st->p = reel_ease(&tr->easing, raw);
}

void reel_eval_layer(const struct reel_timeline *tl, const struct reel_layer *l, int64_t t_us,
                     struct reel_layer_state *st)
{
    /* Everything the state needs lives on the layer; the output only matters to geometry. */
    (void)tl;

    *st = (struct reel_layer_state){0};
    int64_t local = t_us - l->start_us;
    int64_t dur = l->duration_us;
    st->local_us = local;
    st->visible = local >= 0 && local < dur;

    const struct reel_anim *an = l->anim;
    st->x = reel_anim_value(&an[REEL_PROP_X], local, l->x);
    st->y = reel_anim_value(&an[REEL_PROP_Y], local, l->y);
    double s = reel_anim_value(&an[REEL_PROP_SCALE], local, l->scale);
    double sx = reel_anim_value(&an[REEL_PROP_SCALE_X], local, l->scale_x);
    double sy = reel_anim_value(&an[REEL_PROP_SCALE_Y], local, l->scale_y);
    st->scale_x = s * sx;
    st->scale_y = s * sy;
    st->rotation_deg = reel_anim_value(&an[REEL_PROP_ROTATION], local, l->rotation_deg);
    st->opacity = clamp(reel_anim_value(&an[REEL_PROP_OPACITY], local, l->opacity), 0.0, 1.0);
    st->volume = clamp(reel_anim_value(&an[REEL_PROP_VOLUME], local, l->volume), 0.0, 4.0);

    const struct reel_transition *ti = &l->tr_in, *to = &l->tr_out;
    bool in_on =
        st->visible && ti->type != REEL_TR_NONE && ti->duration_us > 0 && local < ti->duration_us;
    bool out_on = st->visible && to->type != REEL_TR_NONE && to->duration_us > 0 &&
                  local >= dur - to->duration_us;
    eval_transition(ti, in_on, in_on ? (double)local / (double)ti->duration_us : 1.0, &st->tr_in);
    eval_transition(to, out_on, out_on ? (double)(dur - local) / (double)to->duration_us : 1.0,
                    &st->tr_out);

    if (l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_AUDIO)
        st->source_us = reel_eval_source_time(l, local, &st->source_ended);
}

double reel_transition_coverage(const struct reel_tr_state *tr, double px, double py, int w, int h)
{
    if (!tr)
        return 1.0;
    double p = tr->p;
    double fw = (double)w, fh = (double)h;
    double cx = 0.5 * fw, cy = 0.5 * fh;
    double r = 0.5 * sqrt(fw * fw + fh * fh);
    switch (tr->type) {
    case REEL_TR_WIPE_LEFT:
        return px >= (1.0 - p) * fw ? 1.0 : 0.0;
    case REEL_TR_WIPE_RIGHT:
        return px < p * fw ? 1.0 : 0.0;
    case REEL_TR_WIPE_UP:
        return py >= (1.0 - p) * fh ? 1.0 : 0.0;
    case REEL_TR_WIPE_DOWN:
        return py < p * fh ? 1.0 : 0.0;
    case REEL_TR_CIRCLE_OPEN:
        return hypot(px - cx, py - cy) < p * r ? 1.0 : 0.0;
    case REEL_TR_CIRCLE_CLOSE:
        return hypot(px - cx, py - cy) >= (1.0 - p) * r ? 1.0 : 0.0;
    case REEL_TR_RADIAL: {
        /* atan2(dx, -dy) is 0 at 12 o'clock and grows clockwise on a y-down screen. */
        double ang = atan2(px - cx, -(py - cy));
        if (ang < 0.0)
            ang += 2.0 * PI;
        return ang * (180.0 / PI) < p * 360.0 ? 1.0 : 0.0;
    }
    default:
        return 1.0;
    }
}

void reel_transition_offset(const struct reel_tr_state *tr, int w, int h, double *dx, double *dy)
{
    double ox = 0.0, oy = 0.0;
    double q = tr ? 1.0 - tr->p : 0.0;
    switch (tr ? tr->type : REEL_TR_NONE) {
    case REEL_TR_SLIDE_LEFT:
        ox = q * w;
        break;
    case REEL_TR_SLIDE_RIGHT:
        ox = -q * w;
        break;
    case REEL_TR_SLIDE_UP:
        oy = q * h;
        break;
    case REEL_TR_SLIDE_DOWN:
        oy = -q * h;
        break;
    default:
        break;
    }
    if (dx)
        *dx = ox;
    if (dy)
        *dy = oy;
}

static double fade_factor(const struct reel_tr_state *tr)
{
    return tr->type == REEL_TR_FADE ? clamp(tr->p, 0.0, 1.0) : 1.0;
}

double reel_transition_alpha(const struct reel_layer_state *st)
{
    return fade_factor(&st->tr_in) * fade_factor(&st->tr_out);
}
