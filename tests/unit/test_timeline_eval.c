/* Timeline evaluator: easings, keyframes, visibility, transitions, source time. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "timeline/eval.h"
#include "timeline/timeline.h"

#define EXACT 1e-9

static double ease_kind(enum reel_easing_kind kind, double p)
{
    struct reel_easing e = {.kind = kind};
    return reel_ease(&e, p);
}

static double ease_bezier(double x1, double y1, double x2, double y2, double p)
{
    struct reel_easing e = {.kind = REEL_EASE_CUBIC_BEZIER, .x1 = x1, .y1 = y1, .x2 = x2, .y2 = y2};
    return reel_ease(&e, p);
}

/* Reference CSS cubic-bezier in long double by plain bisection on x(s), independent of the
 * library's Newton/bisection solver and of its polynomial form. */
static long double ref_coord(long double s, long double c1, long double c2)
{
    long double u = 1.0L - s;
    return 3.0L * u * u * s * c1 + 3.0L * u * s * s * c2 + s * s * s;
}

static double ref_bezier(double x1, double y1, double x2, double y2, double p)
{
    long double lo = 0.0L, hi = 1.0L;
    for (int i = 0; i < 200; i++) {
        long double m = 0.5L * (lo + hi);
        if (ref_coord(m, x1, x2) < (long double)p)
            lo = m;
        else
            hi = m;
    }
    return (double)ref_coord(0.5L * (lo + hi), y1, y2);
}

static void test_easings(void)
{
    static const double ps[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    static const struct {
        enum reel_easing_kind kind;
        double want[5];
    } cases[] = {
        {REEL_EASE_NONE, {0.0, 0.25, 0.5, 0.75, 1.0}},
        {REEL_EASE_LINEAR, {0.0, 0.25, 0.5, 0.75, 1.0}},
        {REEL_EASE_HOLD, {0.0, 0.0, 0.0, 0.0, 1.0}},
        {REEL_EASE_IN, {0.0, 0.015625, 0.125, 0.421875, 1.0}},
        {REEL_EASE_OUT, {0.0, 0.578125, 0.875, 0.984375, 1.0}},
        {REEL_EASE_IN_OUT, {0.0, 0.0625, 0.5, 0.9375, 1.0}},
        /* c3 p^3 - c1 p^2 with c1 = 1.70158, c3 = 2.70158, worked by hand */
        {REEL_EASE_IN_BACK, {0.0, -0.0641365625, -0.0876975, 0.1825903125, 1.0}},
        /* 1 - in_back(1 - p) */
        {REEL_EASE_OUT_BACK, {0.0, 0.8174096875, 1.0876975, 1.0641365625, 1.0}},
        /* 7.5625 = 2.75^2, so each branch lands on simple fractions */
        {REEL_EASE_OUT_BOUNCE, {0.0, 0.47265625, 0.765625, 0.97265625, 1.0}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int i = 0; i < 5; i++) {
            double got = ease_kind(cases[c].kind, ps[i]);
            CHECK_MSG(fabs(got - cases[c].want[i]) <= EXACT, "kind %d p %.2f: got %.12f want %.12f",
                      (int)cases[c].kind, ps[i], got, cases[c].want[i]);
        }
    }

    /* Clamping of p, NULL easing and the hold jump right at 1. */
    CHECK_NEAR(ease_kind(REEL_EASE_IN, -3.0), 0.0, EXACT);
    CHECK_NEAR(ease_kind(REEL_EASE_IN, 7.0), 1.0, EXACT);
    CHECK_NEAR(reel_ease(NULL, 0.3), 0.3, EXACT);
    CHECK_NEAR(ease_kind(REEL_EASE_HOLD, 0.999999999), 0.0, 0.0);
    CHECK_NEAR(ease_kind(REEL_EASE_HOLD, 1.0), 1.0, 0.0);
    /* bounce branch boundaries are continuous */
    CHECK_NEAR(ease_kind(REEL_EASE_OUT_BOUNCE, 1.0 / 2.75 - 1e-12),
               ease_kind(REEL_EASE_OUT_BOUNCE, 1.0 / 2.75 + 1e-12), 1e-9);
    /* each bounce lands on 1 */
    CHECK_NEAR(ease_kind(REEL_EASE_OUT_BOUNCE, 1.0 / 2.75), 1.0, 1e-9);
    CHECK_NEAR(ease_kind(REEL_EASE_OUT_BOUNCE, 2.0 / 2.75), 1.0, 1e-9);
    CHECK_NEAR(ease_kind(REEL_EASE_OUT_BOUNCE, 2.5 / 2.75), 1.0, 1e-9);
    /* in-out is symmetric: f(p) + f(1 - p) = 1 */
    for (double p = 0.0; p <= 1.0; p += 0.0625)
        CHECK_NEAR(ease_kind(REEL_EASE_IN_OUT, p) + ease_kind(REEL_EASE_IN_OUT, 1.0 - p), 1.0,
                   1e-12);
}

static void test_cubic_bezier(void)
{
    /* The linear curve is the identity. */
    for (int i = 0; i <= 20; i++) {
        double p = i / 20.0;
        CHECK_NEAR(ease_bezier(0, 0, 1, 1, p), p, 1e-9);
    }
    /* CSS "ease" at x = 0.5: the reference value, cross-checked against the published figure. */
    double ease_half = ref_bezier(0.25, 0.1, 0.25, 1.0, 0.5);
    CHECK_NEAR(ease_half, 0.80240338758, 1e-9);
    CHECK_NEAR(ease_bezier(0.25, 0.1, 0.25, 1.0, 0.5), ease_half, 1e-7);

    static const double curves[][4] = {
        {0.25, 0.1, 0.25, 1.0},     /* ease */
        {0.42, 0.0, 1.0, 1.0},      /* ease-in */
        {0.0, 0.0, 0.58, 1.0},      /* ease-out */
        {0.42, 0.0, 0.58, 1.0},     /* ease-in-out */
        {0.68, -0.55, 0.265, 1.55}, /* overshoots both ways */
        {1.0, 0.0, 0.0, 1.0},       /* x'(0.5) = 0: Newton stalls, bisection must finish */
        {0.0, 1.0, 1.0, 0.0},
    };
    for (size_t c = 0; c < sizeof(curves) / sizeof(curves[0]); c++) {
        const double *k = curves[c];
        for (int i = 0; i <= 40; i++) {
            double p = i / 40.0;
            double got = ease_bezier(k[0], k[1], k[2], k[3], p);
            double want = ref_bezier(k[0], k[1], k[2], k[3], p);
            /* Near a flat spot of x(s) rounding in x becomes cbrt-sized error in s, in the
             * reference as well, so that one point gets a looser bound. */
            double tol = (c == 5 && i == 20) ? 1e-6 : 1e-7;
            CHECK_MSG(fabs(got - want) <= tol, "bezier(%g,%g,%g,%g) at %g: got %.12f want %.12f",
                      k[0], k[1], k[2], k[3], p, got, want);
        }
    }
    /* (1,0,0,1) is point-symmetric about (0.5, 0.5): f(p) + f(1 - p) = 1, f(0.5) = 0.5. */
    CHECK_NEAR(ease_bezier(1, 0, 0, 1, 0.5), 0.5, 1e-6);
    for (int i = 1; i < 40; i++) {
        double p = i / 40.0 + 0.003;
        CHECK_NEAR(ease_bezier(1, 0, 0, 1, p) + ease_bezier(1, 0, 0, 1, 1.0 - p), 1.0, 1e-9);
    }
    /* End points are exact whatever the control points. */
    CHECK_NEAR(ease_bezier(0.68, -0.55, 0.265, 1.55, 0.0), 0.0, 0.0);
    CHECK_NEAR(ease_bezier(0.68, -0.55, 0.265, 1.55, 1.0), 1.0, 0.0);
    /* The overshooting curve really leaves [0, 1]. */
    CHECK(ease_bezier(0.68, -0.55, 0.265, 1.55, 0.1) < 0.0);
    CHECK(ease_bezier(0.68, -0.55, 0.265, 1.55, 0.9) > 1.0);
}

static void test_anim_value(void)
{
    struct reel_keyframe k[4] = {
        {.time_us = 500000, .value = 2.0, .easing = {.kind = REEL_EASE_LINEAR}},
        {.time_us = 1500000, .value = 10.0, .easing = {.kind = REEL_EASE_IN}},
        {.time_us = 2500000, .value = 20.0, .easing = {.kind = REEL_EASE_HOLD}},
        {.time_us = 3000000, .value = 4.0, .easing = {.kind = REEL_EASE_NONE}},
    };
    struct reel_anim a = {.keys = k, .n_keys = 4};

    CHECK_NEAR(reel_anim_value(&a, -1000000, 99.0), 2.0, EXACT); /* before first */
    CHECK_NEAR(reel_anim_value(&a, 0, 99.0), 2.0, EXACT);
    CHECK_NEAR(reel_anim_value(&a, 500000, 99.0), 2.0, EXACT);
    /* mid-segment with ease-in arriving at k[1]: 2 + 8 * 0.5^3 */
    CHECK_NEAR(reel_anim_value(&a, 1000000, 99.0), 3.0, EXACT);
    /* 3/4 of the way: 2 + 8 * 0.421875 */
    CHECK_NEAR(reel_anim_value(&a, 1250000, 99.0), 5.375, EXACT);
    CHECK_NEAR(reel_anim_value(&a, 1500000, 99.0), 10.0, EXACT);
    /* hold keeps 10 through the segment and jumps to 20 exactly at 2.5 s */
    CHECK_NEAR(reel_anim_value(&a, 1500001, 99.0), 10.0, 0.0);
    CHECK_NEAR(reel_anim_value(&a, 2000000, 99.0), 10.0, 0.0);
    CHECK_NEAR(reel_anim_value(&a, 2499999, 99.0), 10.0, 0.0);
    CHECK_NEAR(reel_anim_value(&a, 2500000, 99.0), 20.0, 0.0);
    /* linear (NONE) from 20 to 4 */
    CHECK_NEAR(reel_anim_value(&a, 2750000, 99.0), 12.0, EXACT);
    CHECK_NEAR(reel_anim_value(&a, 3000000, 99.0), 4.0, EXACT);  /* at last */
    CHECK_NEAR(reel_anim_value(&a, 90000000, 99.0), 4.0, EXACT); /* after last */

    /* no keyframes: base; one keyframe: constant */
    struct reel_anim none = {0};
    CHECK_NEAR(reel_anim_value(&none, 1000, 7.5), 7.5, 0.0);
    CHECK_NEAR(reel_anim_value(NULL, 1000, 7.5), 7.5, 0.0);
    struct reel_anim one = {.keys = k + 2, .n_keys = 1};
    CHECK_NEAR(reel_anim_value(&one, 0, 7.5), 20.0, 0.0);
    CHECK_NEAR(reel_anim_value(&one, 9000000, 7.5), 20.0, 0.0);

    /* many keys: the search finds the right segment everywhere */
    struct reel_keyframe many[50];
    for (int i = 0; i < 50; i++)
        many[i] = (struct reel_keyframe){.time_us = i * 1000, .value = i * 3.0};
    struct reel_anim m = {.keys = many, .n_keys = 50};
    for (int64_t t = 0; t <= 49000; t += 250)
        CHECK_NEAR(reel_anim_value(&m, t, 0.0), (double)t * 3.0 / 1000.0, 1e-9);
}

/* A 4 s layer starting at 1 s with neutral properties. */
static struct reel_layer make_layer(enum reel_layer_type type)
{
    struct reel_layer l = {0};
    l.type = type;
    l.start_us = 1000000;
    l.duration_us = 4000000;
    l.x = 640.0;
    l.y = 360.0;
    l.anchor_x = 0.5;
    l.anchor_y = 0.5;
    l.scale = 1.0;
    l.scale_x = 1.0;
    l.scale_y = 1.0;
    l.opacity = 1.0;
    l.speed = 1.0;
    l.volume = 1.0;
    return l;
}

static void test_visibility_and_props(void)
{
    struct reel_timeline tl = {.out = {.width = 1280, .height = 720}};
    struct reel_layer l = make_layer(REEL_LAYER_IMAGE);
    struct reel_layer_state st;

    reel_eval_layer(&tl, &l, 999999, &st);
    CHECK(!st.visible);
    CHECK_INT_EQ(st.local_us, -1);
    reel_eval_layer(&tl, &l, 1000000, &st);
    CHECK(st.visible);
    CHECK_INT_EQ(st.local_us, 0);
    reel_eval_layer(&tl, &l, 4999999, &st);
    CHECK(st.visible);
    reel_eval_layer(&tl, &l, 5000000, &st);
    CHECK(!st.visible);

    /* base values: effective scale = scale * scale_x|y */
    l.scale = 2.0;
    l.scale_x = 1.5;
    l.scale_y = 0.5;
    l.rotation_deg = 30.0;
    l.opacity = 0.25;
    l.volume = 3.0;
    reel_eval_layer(&tl, &l, 2000000, &st);
    CHECK_NEAR(st.x, 640.0, 0.0);
    CHECK_NEAR(st.y, 360.0, 0.0);
    CHECK_NEAR(st.scale_x, 3.0, EXACT);
    CHECK_NEAR(st.scale_y, 1.0, EXACT);
    CHECK_NEAR(st.rotation_deg, 30.0, 0.0);
    CHECK_NEAR(st.opacity, 0.25, 0.0);
    CHECK_NEAR(st.volume, 3.0, 0.0);
    CHECK_INT_EQ(st.tr_in.type, REEL_TR_NONE);
    CHECK_NEAR(st.tr_in.p, 1.0, 0.0);
    CHECK_INT_EQ(st.tr_out.type, REEL_TR_NONE);
    CHECK_NEAR(st.tr_out.p, 1.0, 0.0);
    CHECK_NEAR(reel_transition_alpha(&st), 1.0, 0.0);

    /* animated scale replaces the uniform factor; animated scale_y replaces scale_y */
    struct reel_keyframe ks[2] = {{.time_us = 0, .value = 1.0}, {.time_us = 2000000, .value = 5.0}};
    struct reel_keyframe ky[1] = {{.time_us = 0, .value = 0.2}};
    struct reel_keyframe kx[2] = {{.time_us = 0, .value = 0.0},
                                  {.time_us = 1000000, .value = 100.0}};
    struct reel_keyframe ko[2] = {{.time_us = 0, .value = -1.0},
                                  {.time_us = 1000000, .value = 3.0}};
    struct reel_keyframe kv[1] = {{.time_us = 0, .value = 9.0}};
    struct reel_keyframe kr[2] = {{.time_us = 0, .value = 0.0},
                                  {.time_us = 4000000, .value = 360.0}};
    l.anim[REEL_PROP_SCALE] = (struct reel_anim){ks, 2};
    l.anim[REEL_PROP_SCALE_Y] = (struct reel_anim){ky, 1};
    l.anim[REEL_PROP_X] = (struct reel_anim){kx, 2};
    l.anim[REEL_PROP_OPACITY] = (struct reel_anim){ko, 2};
    l.anim[REEL_PROP_VOLUME] = (struct reel_anim){kv, 1};
    l.anim[REEL_PROP_ROTATION] = (struct reel_anim){kr, 2};
    reel_eval_layer(&tl, &l, 1500000, &st); /* local 0.5 s */
    CHECK_NEAR(st.x, 50.0, EXACT);
    CHECK_NEAR(st.y, 360.0, 0.0);
    CHECK_NEAR(st.scale_x, 2.0 * 1.5, EXACT); /* scale(0.5 s) = 2 */
    CHECK_NEAR(st.scale_y, 2.0 * 0.2, EXACT);
    CHECK_NEAR(st.rotation_deg, 45.0, EXACT);
    CHECK_NEAR(st.opacity, 1.0, 0.0);       /* -1 + 4 * 0.5 = 1 */
    CHECK_NEAR(st.volume, 4.0, 0.0);        /* 9 clamped */
    reel_eval_layer(&tl, &l, 1100000, &st); /* opacity -1 + 0.4 = -0.6 -> 0 */
    CHECK_NEAR(st.opacity, 0.0, 0.0);
    reel_eval_layer(&tl, &l, 1625000, &st); /* opacity -1 + 2.5 = 1.5 -> 1 */
    CHECK_NEAR(st.opacity, 1.0, 0.0);
    reel_eval_layer(&tl, &l, 1375000, &st); /* opacity -1 + 1.5 = 0.5 */
    CHECK_NEAR(st.opacity, 0.5, EXACT);

    /* only video and audio layers get a source time */
    CHECK_INT_EQ(st.source_us, 0);
    struct reel_layer v = make_layer(REEL_LAYER_VIDEO);
    v.trim_us = 250000;
    reel_eval_layer(&tl, &v, 1500000, &st);
    CHECK_INT_EQ(st.source_us, 750000);
    CHECK(!st.source_ended);
}

static void test_transitions(void)
{
    struct reel_timeline tl = {.out = {.width = 1280, .height = 720}};
    struct reel_layer l = make_layer(REEL_LAYER_COLOR); /* 1 s .. 5 s */
    l.tr_in = (struct reel_transition){
        .type = REEL_TR_FADE, .duration_us = 1000000, .easing = {.kind = REEL_EASE_LINEAR}};
    l.tr_out = (struct reel_transition){
        .type = REEL_TR_WIPE_LEFT, .duration_us = 2000000, .easing = {.kind = REEL_EASE_IN}};
    struct reel_layer_state st;

    reel_eval_layer(&tl, &l, 1000000, &st); /* in: start */
    CHECK_INT_EQ(st.tr_in.type, REEL_TR_FADE);
    CHECK_NEAR(st.tr_in.p, 0.0, 0.0);
    CHECK_NEAR(reel_transition_alpha(&st), 0.0, 0.0);
    CHECK_INT_EQ(st.tr_out.type, REEL_TR_NONE);
    reel_eval_layer(&tl, &l, 1500000, &st); /* in: middle */
    CHECK_NEAR(st.tr_in.p, 0.5, EXACT);
    CHECK_NEAR(reel_transition_alpha(&st), 0.5, EXACT);
    reel_eval_layer(&tl, &l, 1999999, &st); /* in: last instant */
    CHECK_NEAR(st.tr_in.p, 0.999999, EXACT);
    reel_eval_layer(&tl, &l, 2000000, &st); /* in: over */
    CHECK_INT_EQ(st.tr_in.type, REEL_TR_NONE);
    CHECK_NEAR(st.tr_in.p, 1.0, 0.0);
    CHECK_NEAR(reel_transition_alpha(&st), 1.0, 0.0);

    reel_eval_layer(&tl, &l, 2999999, &st); /* out: not yet */
    CHECK_INT_EQ(st.tr_out.type, REEL_TR_NONE);
    reel_eval_layer(&tl, &l, 3000000, &st); /* out: start, p = 1 */
    CHECK_INT_EQ(st.tr_out.type, REEL_TR_WIPE_LEFT);
    CHECK_NEAR(st.tr_out.p, 1.0, EXACT);
    reel_eval_layer(&tl, &l, 4000000, &st); /* out: middle, raw 0.5 through ease-in */
    CHECK_NEAR(st.tr_out.p, 0.125, EXACT);
    CHECK_NEAR(reel_transition_alpha(&st), 1.0, 0.0); /* wipes leave alpha alone */
    reel_eval_layer(&tl, &l, 4999999, &st);           /* out: last instant, raw 5e-7 */
    CHECK_NEAR(st.tr_out.p, 1.25e-19, 1e-20);
    reel_eval_layer(&tl, &l, 5000000, &st); /* gone: nothing active */
    CHECK(!st.visible);
    CHECK_INT_EQ(st.tr_out.type, REEL_TR_NONE);
    reel_eval_layer(&tl, &l, 500000, &st); /* not started: nothing active */
    CHECK_INT_EQ(st.tr_in.type, REEL_TR_NONE);

    /* both active on a short layer; fades multiply */
    l.duration_us = 1000000;
    l.tr_in.duration_us = 800000;
    l.tr_out = (struct reel_transition){.type = REEL_TR_FADE, .duration_us = 800000};
    reel_eval_layer(&tl, &l, 1500000, &st);
    CHECK_INT_EQ(st.tr_in.type, REEL_TR_FADE);
    CHECK_INT_EQ(st.tr_out.type, REEL_TR_FADE);
    CHECK_NEAR(st.tr_in.p, 0.625, EXACT);
    CHECK_NEAR(st.tr_out.p, 0.625, EXACT);
    CHECK_NEAR(reel_transition_alpha(&st), 0.390625, EXACT);
    reel_eval_layer(&tl, &l, 1300000, &st);
    CHECK_NEAR(st.tr_in.p, 0.375, EXACT);
    CHECK_NEAR(st.tr_out.p, 0.875, EXACT);
    CHECK_NEAR(reel_transition_alpha(&st), 0.375 * 0.875, EXACT);

    /* an overshooting fade cannot raise alpha past 1 */
    struct reel_layer_state os = {.tr_in = {REEL_TR_FADE, 1.08}, .tr_out = {REEL_TR_NONE, 1.0}};
    CHECK_NEAR(reel_transition_alpha(&os), 1.0, 0.0);
}

static double cov(enum reel_transition_type type, double p, int px, int py)
{
    struct reel_tr_state tr = {type, p};
    return reel_transition_coverage(&tr, px + 0.5, py + 0.5, 100, 50);
}

static void test_coverage(void)
{
    /* 100 x 50 frame at p = 0.5 */
    CHECK_NEAR(cov(REEL_TR_WIPE_LEFT, 0.5, 49, 10), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_LEFT, 0.5, 50, 10), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_RIGHT, 0.5, 49, 10), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_RIGHT, 0.5, 50, 10), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_UP, 0.5, 10, 24), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_UP, 0.5, 10, 25), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_DOWN, 0.5, 10, 24), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_WIPE_DOWN, 0.5, 10, 25), 0.0, 0.0);

    /* R = sqrt(100^2 + 50^2) / 2 = 55.9017, so p R = 27.951 about the centre (50, 25) */
    CHECK_NEAR(cov(REEL_TR_CIRCLE_OPEN, 0.5, 50, 25), 1.0, 0.0); /* dist 0.71 */
    CHECK_NEAR(cov(REEL_TR_CIRCLE_OPEN, 0.5, 77, 25), 1.0, 0.0); /* dist 27.50 */
    CHECK_NEAR(cov(REEL_TR_CIRCLE_OPEN, 0.5, 78, 25), 0.0, 0.0); /* dist 28.50 */
    CHECK_NEAR(cov(REEL_TR_CIRCLE_OPEN, 0.5, 0, 0), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_CLOSE, 0.5, 50, 25), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_CLOSE, 0.5, 77, 25), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_CLOSE, 0.5, 78, 25), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_CLOSE, 0.5, 0, 0), 1.0, 0.0);
    /* ends: open at 1 and close at 1 cover the corners; both at 0 show nothing */
    CHECK_NEAR(cov(REEL_TR_CIRCLE_OPEN, 1.0, 0, 0), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_CLOSE, 1.0, 50, 25), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_OPEN, 0.0, 50, 25), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_CIRCLE_CLOSE, 0.0, 99, 49), 0.0, 0.0);

    /* radial: half a turn clockwise from 12 o'clock covers the right half */
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.5, 75, 5), 1.0, 0.0);  /* upper right, 52.6 deg */
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.5, 75, 45), 1.0, 0.0); /* lower right, 128.8 deg */
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.5, 24, 45), 0.0, 0.0); /* lower left, 231.2 deg */
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.5, 24, 5), 0.0, 0.0);  /* upper left, 307.4 deg */
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.25, 75, 5), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.25, 75, 45), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.75, 24, 45), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.75, 24, 5), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_RADIAL, 0.0, 75, 5), 0.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_RADIAL, 1.0, 24, 5), 1.0, 0.0);

    /* count the covered pixels of the whole frame: wipes and radial at p = 0.5 cover half */
    static const enum reel_transition_type halves[] = {
        REEL_TR_WIPE_LEFT, REEL_TR_WIPE_RIGHT, REEL_TR_WIPE_UP, REEL_TR_WIPE_DOWN, REEL_TR_RADIAL};
    for (size_t i = 0; i < sizeof(halves) / sizeof(halves[0]); i++) {
        double sum = 0.0;
        for (int y = 0; y < 50; y++)
            for (int x = 0; x < 100; x++)
                sum += cov(halves[i], 0.5, x, y);
        CHECK_MSG(sum == 2500.0, "type %d covers %g pixels", (int)halves[i], sum);
    }

    /* fade, slide, none and a NULL state act elsewhere */
    CHECK_NEAR(cov(REEL_TR_FADE, 0.0, 0, 0), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_SLIDE_LEFT, 0.0, 0, 0), 1.0, 0.0);
    CHECK_NEAR(cov(REEL_TR_NONE, 0.0, 0, 0), 1.0, 0.0);
    CHECK_NEAR(reel_transition_coverage(NULL, 0.5, 0.5, 100, 50), 1.0, 0.0);
}

static void test_offsets(void)
{
    static const struct {
        enum reel_transition_type type;
        double dx, dy;
    } cases[] = {
        {REEL_TR_SLIDE_LEFT, 75.0, 0.0}, {REEL_TR_SLIDE_RIGHT, -75.0, 0.0},
        {REEL_TR_SLIDE_UP, 0.0, 37.5},   {REEL_TR_SLIDE_DOWN, 0.0, -37.5},
        {REEL_TR_FADE, 0.0, 0.0},        {REEL_TR_WIPE_LEFT, 0.0, 0.0},
        {REEL_TR_NONE, 0.0, 0.0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct reel_tr_state tr = {cases[i].type, 0.25};
        double dx = -1.0, dy = -1.0;
        reel_transition_offset(&tr, 100, 50, &dx, &dy);
        CHECK_MSG(dx == cases[i].dx && dy == cases[i].dy, "type %d: (%g, %g)", (int)cases[i].type,
                  dx, dy);
    }
    /* fully in place at p = 1 */
    struct reel_tr_state done = {REEL_TR_SLIDE_LEFT, 1.0};
    double dx = -1.0, dy = -1.0;
    reel_transition_offset(&done, 100, 50, &dx, &dy);
    CHECK_NEAR(dx, 0.0, 0.0);
    CHECK_NEAR(dy, 0.0, 0.0);
    /* a whole frame away at p = 0 */
    struct reel_tr_state start = {REEL_TR_SLIDE_DOWN, 0.0};
    reel_transition_offset(&start, 100, 50, &dx, &dy);
    CHECK_NEAR(dy, -50.0, 0.0);
}

static void test_source_time(void)
{
    struct reel_layer l = make_layer(REEL_LAYER_VIDEO);
    bool ended = true;

    /* trim 2 s, speed 1.5, 10 s of media, no loop */
    l.trim_us = 2000000;
    l.speed = 1.5;
    l.media_duration_us = 10000000;
    CHECK_INT_EQ(reel_eval_source_time(&l, 0, &ended), 2000000);
    CHECK(!ended);
    CHECK_INT_EQ(reel_eval_source_time(&l, 1000000, &ended), 3500000);
    /* 333333 * 1.5 = 499999.5 rounds once, away from zero */
    CHECK_INT_EQ(reel_eval_source_time(&l, 333333, &ended), 2500000);
    CHECK_INT_EQ(reel_eval_source_time(&l, 5333332, &ended), 9999998);
    CHECK(!ended);
    CHECK_INT_EQ(reel_eval_source_time(&l, 5333333, &ended), 10000000); /* reaches D */
    CHECK(ended);
    CHECK_INT_EQ(reel_eval_source_time(&l, 6000000, &ended), 10000000); /* clamped */
    CHECK(ended);
    CHECK_INT_EQ(reel_eval_source_time(&l, -40000, &ended), 2000000); /* before start */
    CHECK(!ended);
    CHECK_INT_EQ(reel_eval_source_time(&l, 1000000, NULL), 3500000);

    /* speed applied once: a long way in, no drift */
    l.media_duration_us = 0;
    l.speed = 1.1;
    CHECK_INT_EQ(reel_eval_source_time(&l, 3600000000LL, &ended), 2000000 + 3960000000LL);
    CHECK(!ended); /* unknown duration: no clamp */
    l.speed = 0.25;
    CHECK_INT_EQ(reel_eval_source_time(&l, 1000001, &ended), 2000000 + 250000);
    l.speed = 0.0; /* unset counts as 1 */
    CHECK_INT_EQ(reel_eval_source_time(&l, 1234567, &ended), 2000000 + 1234567);

    /* loop: trim 2 s, speed 2, 5 s of media -> a 3 s cycle starting at 2 s */
    l.loop = true;
    l.speed = 2.0;
    l.media_duration_us = 5000000;
    CHECK_INT_EQ(reel_eval_source_time(&l, 1000000, &ended), 4000000);
    CHECK(!ended);
    CHECK_INT_EQ(reel_eval_source_time(&l, 1499999, &ended), 4999998);
    CHECK_INT_EQ(reel_eval_source_time(&l, 1500000, &ended), 2000000);
    CHECK_INT_EQ(reel_eval_source_time(&l, 2000000, &ended), 3000000);
    CHECK_INT_EQ(reel_eval_source_time(&l, 10250000, &ended), 4500000); /* 2 + 20.5 s mod 3 s */
    CHECK(!ended);
    /* loop with unknown duration plays straight on */
    l.media_duration_us = 0;
    CHECK_INT_EQ(reel_eval_source_time(&l, 10250000, &ended), 22500000);
    CHECK(!ended);
    /* trim beyond the media: nothing to loop, ends */
    l.media_duration_us = 1500000;
    CHECK_INT_EQ(reel_eval_source_time(&l, 0, &ended), 1500000);
    CHECK(ended);
}

int main(void)
{
    test_easings();
    test_cubic_bezier();
    test_anim_value();
    test_visibility_and_props();
    test_transitions();
    test_coverage();
    test_offsets();
    test_source_time();
    CHECK_DONE();
}
