/* Layer geometry: box defaults, fit rectangles, the box <-> output affine maps. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "timeline/eval.h"
#include "timeline/geometry.h"
#include "timeline/timeline.h"

static void apply(const struct reel_affine *m, double x, double y, double *u, double *v)
{
    *u = m->a * x + m->b * y + m->c;
    *v = m->d * x + m->e * y + m->f;
}

static void test_layer_box(void)
{
    struct reel_timeline tl = {.out = {.width = 1280, .height = 720}};
    struct reel_layer l = {0};
    double bw = -1.0, bh = -1.0;

    static const enum reel_layer_type frame_types[] = {REEL_LAYER_VIDEO, REEL_LAYER_IMAGE,
                                                       REEL_LAYER_COLOR};
    for (size_t i = 0; i < sizeof(frame_types) / sizeof(frame_types[0]); i++) {
        l = (struct reel_layer){.type = frame_types[i]};
        reel_layer_box(&tl, &l, 200, 50, &bw, &bh);
        CHECK_NEAR(bw, 1280.0, 0.0);
        CHECK_NEAR(bh, 720.0, 0.0);
        l.width = 640.0; /* each side defaults on its own */
        reel_layer_box(&tl, &l, 200, 50, &bw, &bh);
        CHECK_NEAR(bw, 640.0, 0.0);
        CHECK_NEAR(bh, 720.0, 0.0);
    }

    l = (struct reel_layer){.type = REEL_LAYER_TEXT};
    reel_layer_box(&tl, &l, 200, 50, &bw, &bh);
    CHECK_NEAR(bw, 200.0, 0.0);
    CHECK_NEAR(bh, 50.0, 0.0);
    l.width = 300.0;
    reel_layer_box(&tl, &l, 200, 50, &bw, &bh);
    CHECK_NEAR(bw, 300.0, 0.0);
    CHECK_NEAR(bh, 50.0, 0.0);

    l = (struct reel_layer){.type = REEL_LAYER_SHAPE, .width = 100.0, .height = 80.0};
    reel_layer_box(&tl, &l, 104, 84, &bw, &bh);
    CHECK_NEAR(bw, 100.0, 0.0);
    CHECK_NEAR(bh, 80.0, 0.0);
}

static void check_rect(enum reel_fit fit, double cw, double ch, double bw, double bh, double x,
                       double y, double w, double h)
{
    double dx = NAN, dy = NAN, dw = NAN, dh = NAN;
    reel_fit_rect(fit, cw, ch, bw, bh, &dx, &dy, &dw, &dh);
    CHECK_MSG(fabs(dx - x) < 1e-9 && fabs(dy - y) < 1e-9 && fabs(dw - w) < 1e-9 &&
                  fabs(dh - h) < 1e-9,
              "fit %d %gx%g in %gx%g: got (%g, %g, %g, %g), want (%g, %g, %g, %g)", (int)fit, cw,
              ch, bw, bh, dx, dy, dw, dh, x, y, w, h);
}

static void test_fit(void)
{
    /* 2:1 content in a square box */
    check_rect(REEL_FIT_COVER, 200, 100, 100, 100, -50, 0, 200, 100);
    check_rect(REEL_FIT_CONTAIN, 200, 100, 100, 100, 0, 25, 100, 50);
    check_rect(REEL_FIT_FILL, 200, 100, 100, 100, 0, 0, 100, 100);
    check_rect(REEL_FIT_NATURAL, 200, 100, 100, 100, -50, 0, 200, 100);
    check_rect(REEL_FIT_NONE_, 200, 100, 100, 100, -50, 0, 200, 100); /* unset = cover */

    /* 1:4 content in a 2:1 box, content smaller than the box */
    check_rect(REEL_FIT_COVER, 50, 200, 400, 200, 0, -700, 400, 1600);
    check_rect(REEL_FIT_CONTAIN, 50, 200, 400, 200, 175, 0, 50, 200);
    check_rect(REEL_FIT_FILL, 50, 200, 400, 200, 0, 0, 400, 200);
    check_rect(REEL_FIT_NATURAL, 50, 200, 400, 200, 175, 0, 50, 200);

    /* 16:9 source in a 4:3 box */
    check_rect(REEL_FIT_COVER, 1920, 1080, 640, 480, -106.66666666666667, 0, 853.3333333333334,
               480);
    check_rect(REEL_FIT_CONTAIN, 1920, 1080, 640, 480, 0, 60, 640, 360);
    check_rect(REEL_FIT_NATURAL, 1920, 1080, 640, 480, -640, -300, 1920, 1080);

    /* empty content */
    check_rect(REEL_FIT_COVER, 0, 100, 640, 480, 320, 240, 0, 0);
}

static struct reel_layer_state plain_state(double x, double y, double sx, double sy, double deg)
{
    struct reel_layer_state st = {0};
    st.visible = true;
    st.x = x;
    st.y = y;
    st.scale_x = sx;
    st.scale_y = sy;
    st.rotation_deg = deg;
    st.opacity = 1.0;
    st.tr_in = (struct reel_tr_state){REEL_TR_NONE, 1.0};
    st.tr_out = (struct reel_tr_state){REEL_TR_NONE, 1.0};
    return st;
}

static void check_map(const struct reel_affine *m, double x, double y, double u, double v,
                      double tol)
{
    double gu, gv;
    apply(m, x, y, &gu, &gv);
    CHECK_MSG(fabs(gu - u) <= tol && fabs(gv - v) <= tol,
              "(%g, %g) -> (%.12g, %.12g), want (%g, %g)", x, y, gu, gv, u, v);
}

static void test_transform_basic(void)
{
    struct reel_layer l = {.anchor_x = 0.0, .anchor_y = 0.0};
    struct reel_layer_state st = plain_state(100.0, 50.0, 1.0, 1.0, 0.0);
    struct reel_affine fwd, inv;

    /* anchor [0, 0]: the box corner sits at (x, y) */
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), 0);
    check_map(&fwd, 0, 0, 100, 50, 0.0);
    check_map(&fwd, 10, 20, 110, 70, 0.0);
    check_map(&inv, 100, 50, 0, 0, 0.0);
    check_map(&inv, 300, 150, 200, 100, 0.0);

    /* centre anchor, scale 2 x 3: box centre at (x, y), corners spread by the scale */
    l.anchor_x = 0.5;
    l.anchor_y = 0.5;
    st = plain_state(640.0, 360.0, 2.0, 3.0, 0.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), 0);
    check_map(&fwd, 100, 50, 640, 360, 0.0);
    check_map(&fwd, 0, 0, 440, 210, 0.0);
    check_map(&fwd, 200, 100, 840, 510, 0.0);
    check_map(&inv, 440, 210, 0, 0, 1e-12);

    /* 90 degrees clockwise: the box's x axis points down the output, its y axis to the left */
    st = plain_state(640.0, 360.0, 1.0, 1.0, 90.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), 0);
    check_map(&fwd, 100, 50, 640, 360, 0.0);
    check_map(&fwd, 101, 50, 640, 361, 0.0);
    check_map(&fwd, 100, 51, 639, 360, 0.0);
    check_map(&fwd, 200, 50, 640, 460, 0.0);
    check_map(&inv, 640, 460, 200, 50, 0.0);

    /* -90 equals 270 (counter-clockwise quarter turn): x axis points up */
    st = plain_state(640.0, 360.0, 1.0, 1.0, -90.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 101, 50, 640, 359, 0.0);
    st.rotation_deg = 270.0;
    struct reel_affine fwd270;
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd270, NULL), 0);
    CHECK(memcmp(&fwd, &fwd270, sizeof(fwd)) == 0);

    /* 180 degrees: box corner (0,0) ends up at the bottom right */
    st = plain_state(640.0, 360.0, 1.0, 1.0, 180.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 0, 0, 740, 410, 0.0);

    /* 30 degrees clockwise: unit x goes to (cos 30, sin 30) from the anchor */
    st = plain_state(0.0, 0.0, 1.0, 1.0, 30.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 110, 50, 10 * sqrt(3.0) / 2.0, 5.0, 1e-12);
    check_map(&fwd, 100, 60, -5.0, 10 * sqrt(3.0) / 2.0, 1e-12);
}

static void test_transform_round_trip(void)
{
    static const double params[][7] = {
        /* ax, ay, x, y, sx, sy, deg */
        {0.5, 0.5, 640, 360, 1, 1, 0},         {0.25, 0.75, 100.5, -30, 2, 3, 30},
        {0, 1, 17, 900, 0.5, 4, -123.4},       {1, 0, -50, 20, -1, 1, 725},
        {0.3, 0.6, 1e3, 2e3, 1e-3, 7.5, 89.9},
    };
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        const double *q = params[i];
        struct reel_layer l = {.anchor_x = q[0], .anchor_y = q[1]};
        struct reel_layer_state st = plain_state(q[2], q[3], q[4], q[5], q[6]);
        struct reel_affine fwd, inv;
        double bw = 320, bh = 180;
        CHECK_INT_EQ(reel_layer_transform(&l, &st, bw, bh, 1280, 720, &fwd, &inv), 0);

        /* the anchor lands on (x, y) */
        check_map(&fwd, q[0] * bw, q[1] * bh, q[2], q[3], 1e-9);

        /* forward against the formula R(theta) S (p - anchor) + (x, y), written independently */
        double th = q[6] * acos(-1.0) / 180.0;
        for (int k = 0; k < 4; k++) {
            double px = (k & 1) ? bw : 0.0, py = (k & 2) ? bh : 0.0;
            double lx = q[4] * (px - q[0] * bw), ly = q[5] * (py - q[1] * bh);
            double want_u = cos(th) * lx - sin(th) * ly + q[2];
            double want_v = sin(th) * lx + cos(th) * ly + q[3];
            check_map(&fwd, px, py, want_u, want_v, 1e-9);
        }

        /* fwd o inv and inv o fwd are the identity */
        for (int k = 0; k < 9; k++) {
            double x = -300.0 + 250.0 * (k % 3), y = 40.0 + 333.0 * (k / 3);
            double u, v, x2, y2;
            apply(&inv, x, y, &u, &v);
            apply(&fwd, u, v, &x2, &y2);
            CHECK_NEAR(x2, x, 1e-7);
            CHECK_NEAR(y2, y, 1e-7);
            apply(&fwd, x, y, &u, &v);
            apply(&inv, u, v, &x2, &y2);
            CHECK_NEAR(x2, x, 1e-7);
            CHECK_NEAR(y2, y, 1e-7);
        }
        /* composed matrices too */
        double m00 = fwd.a * inv.a + fwd.b * inv.d, m01 = fwd.a * inv.b + fwd.b * inv.e;
        double m10 = fwd.d * inv.a + fwd.e * inv.d, m11 = fwd.d * inv.b + fwd.e * inv.e;
        CHECK_NEAR(m00, 1.0, 1e-12);
        CHECK_NEAR(m01, 0.0, 1e-12);
        CHECK_NEAR(m10, 0.0, 1e-12);
        CHECK_NEAR(m11, 1.0, 1e-12);
    }
}

static void test_transform_slide_and_degenerate(void)
{
    struct reel_layer l = {.anchor_x = 0.5, .anchor_y = 0.5};
    struct reel_layer_state st = plain_state(640.0, 360.0, 1.0, 1.0, 0.0);
    struct reel_affine fwd, inv;

    /* slide-left in at p = 0.5 plus slide-up out at p = 0.25: offsets add up */
    st.tr_in = (struct reel_tr_state){REEL_TR_SLIDE_LEFT, 0.5};
    st.tr_out = (struct reel_tr_state){REEL_TR_SLIDE_UP, 0.25};
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), 0);
    check_map(&fwd, 100, 50, 640 + 640, 360 + 540, 0.0);
    check_map(&inv, 1280, 900, 100, 50, 0.0);
    /* a fade contributes no offset */
    st.tr_in = (struct reel_tr_state){REEL_TR_FADE, 0.5};
    st.tr_out = (struct reel_tr_state){REEL_TR_NONE, 1.0};
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 100, 50, 640, 360, 0.0);

    /* zero or vanishing scale: nothing to draw, outputs untouched */
    struct reel_affine keep = {1, 2, 3, 4, 5, 6};
    fwd = keep;
    inv = keep;
    st = plain_state(640.0, 360.0, 0.0, 1.0, 0.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), -1);
    st = plain_state(640.0, 360.0, 1.0, 0.0, 45.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), -1);
    st = plain_state(640.0, 360.0, 1e-7, 1e-7, 0.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, &fwd, &inv), -1);
    CHECK(memcmp(&fwd, &keep, sizeof(keep)) == 0);
    CHECK(memcmp(&inv, &keep, sizeof(keep)) == 0);
    /* both maps optional */
    st = plain_state(640.0, 360.0, 1.0, 1.0, 0.0);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, 200, 100, 1280, 720, NULL, NULL), 0);
}

/* The evaluator and the geometry together: a layer sliding in from the right. */
static void test_eval_then_transform(void)
{
    struct reel_timeline tl = {.out = {.width = 1280, .height = 720}};
    struct reel_layer l = {0};
    l.type = REEL_LAYER_COLOR;
    l.duration_us = 2000000;
    l.x = 640.0;
    l.y = 360.0;
    l.anchor_x = 0.5;
    l.anchor_y = 0.5;
    l.scale = 1.0;
    l.scale_x = 1.0;
    l.scale_y = 1.0;
    l.opacity = 1.0;
    l.tr_in = (struct reel_transition){.type = REEL_TR_SLIDE_LEFT, .duration_us = 1000000};

    struct reel_layer_state st;
    double bw, bh;
    struct reel_affine fwd;
    reel_layer_box(&tl, &l, 0, 0, &bw, &bh);
    reel_eval_layer(&tl, &l, 0, &st);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, bw, bh, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 0, 0, 1280, 0, 0.0); /* wholly off to the right */
    reel_eval_layer(&tl, &l, 250000, &st);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, bw, bh, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 0, 0, 960, 0, 1e-9);
    reel_eval_layer(&tl, &l, 1000000, &st);
    CHECK_INT_EQ(reel_layer_transform(&l, &st, bw, bh, 1280, 720, &fwd, NULL), 0);
    check_map(&fwd, 0, 0, 0, 0, 0.0); /* in place */
}

int main(void)
{
    test_layer_box();
    test_fit();
    test_transform_basic();
    test_transform_round_trip();
    test_transform_slide_and_degenerate();
    test_eval_then_transform();
    CHECK_DONE();
}
