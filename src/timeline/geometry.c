#include <math.h>
#include <stddef.h>

#include "timeline/geometry.h"

void reel_layer_box(const struct reel_timeline *tl, const struct reel_layer *l, int content_w,
                    int content_h, double *box_w, double *box_h)
{
    bool own_size = l->type == REEL_LAYER_TEXT || l->type == REEL_LAYER_SHAPE;
    double def_w = own_size ? (double)content_w : (double)tl->out.width;
    double def_h = own_size ? (double)content_h : (double)tl->out.height;
    *box_w = l->width > 0.0 ? l->width : def_w;
    *box_h = l->height > 0.0 ? l->height : def_h;
}

void reel_fit_rect(enum reel_fit fit, double cw, double ch, double bw, double bh, double *dx,
                   double *dy, double *dw, double *dh)
{
    double w, h;
    if (!(cw > 0.0) || !(ch > 0.0)) {
        /* Empty content: nothing to place, so an empty rectangle at the box centre. */
        w = 0.0;
        h = 0.0;
    } else {
        switch (fit) {
        case REEL_FIT_CONTAIN: {
            double s = fmin(bw / cw, bh / ch);
            w = cw * s;
            h = ch * s;
            break;
        }
        case REEL_FIT_FILL:
            w = bw;
            h = bh;
            break;
        case REEL_FIT_NATURAL:
            w = cw;
            h = ch;
            break;
        case REEL_FIT_NONE_:
        case REEL_FIT_COVER:
        default: {
            double s = fmax(bw / cw, bh / ch);
            w = cw * s;
            h = ch * s;
            break;
        }
        }
    }
    *dx = 0.5 * (bw - w);
    *dy = 0.5 * (bh - h);
    *dw = w;
    *dh = h;
}

/*
 * cos/sin of an angle in degrees, exact at multiples of 90 so that quarter turns map pixel
 * centres onto pixel centres without rounding noise (the CPU path is held to bit-exact output).
 */
static void cos_sin_deg(double deg, double *c, double *s)
{
    double r = fmod(deg, 360.0);
    if (r < 0.0)
        r += 360.0;
    if (r == 0.0) {
        *c = 1.0;
        *s = 0.0;
    } else if (r == 90.0) {
        *c = 0.0;
        *s = 1.0;
    } else if (r == 180.0) {
        *c = -1.0;
        *s = 0.0;
    } else if (r == 270.0) {
        *c = 0.0;
        *s = -1.0;
    } else {
        double rad = r * (3.14159265358979323846 / 180.0);
        *c = cos(rad);
        *s = sin(rad);
    }
}

int reel_layer_transform(const struct reel_layer *l, const struct reel_layer_state *st, double bw,
                         double bh, int out_w, int out_h, struct reel_affine *fwd,
                         struct reel_affine *inv)
{
    double sx = st->scale_x, sy = st->scale_y;
    double det = sx * sy;
    if (sx == 0.0 || sy == 0.0 || !(fabs(det) >= 1e-12))
        return -1;

    double c, s;
    cos_sin_deg(st->rotation_deg, &c, &s);

    double dx_in, dy_in, dx_out, dy_out;
    reel_transition_offset(&st->tr_in, out_w, out_h, &dx_in, &dy_in);
    reel_transition_offset(&st->tr_out, out_w, out_h, &dx_out, &dy_out);
    double tx = st->x + dx_in + dx_out;
    double ty = st->y + dy_in + dy_out;

    /* Linear part R(theta) * diag(sx, sy); R = [c -s; s c] turns clockwise with y pointing down. */
    double a = c * sx, b = -s * sy;
    double d = s * sx, e = c * sy;
    double ax = l->anchor_x * bw, ay = l->anchor_y * bh;
    struct reel_affine f = {
        .a = a,
        .b = b,
        .c = tx - (a * ax + b * ay),
        .d = d,
        .e = e,
        .f = ty - (d * ax + e * ay),
    };
    if (fwd)
        *fwd = f;
    if (inv) {
        /* (R S)^-1 = S^-1 R^T, written out directly rather than through the determinant so that
         * quarter turns with integer scales invert exactly. */
        inv->a = c / sx;
        inv->b = s / sx;
        inv->d = -s / sy;
        inv->e = c / sy;
        inv->c = ax - (inv->a * tx + inv->b * ty);
        inv->f = ay - (inv->d * tx + inv->e * ty);
    }
    return 0;
}

/* The output rectangle grown by margin px, mapped into box units by inv: its bounding box. */
static void output_in_box(const struct reel_affine *inv, int out_w, int out_h, double margin,
                          double r[4])
{
    double xs[2] = {-margin, out_w + margin}, ys[2] = {-margin, out_h + margin};
    r[0] = r[1] = INFINITY;
    r[2] = r[3] = -INFINITY;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double u = inv->a * xs[i] + inv->b * ys[j] + inv->c;
            double v = inv->d * xs[i] + inv->e * ys[j] + inv->f;
            r[0] = fmin(r[0], u);
            r[1] = fmin(r[1], v);
            r[2] = fmax(r[2], u);
            r[3] = fmax(r[3], v);
        }
}

static bool is_slide(enum reel_transition_type t)
{
    return t == REEL_TR_SLIDE_LEFT || t == REEL_TR_SLIDE_RIGHT || t == REEL_TR_SLIDE_UP ||
           t == REEL_TR_SLIDE_DOWN;
}

/* Whether the layer's transform changes with time. */
static bool geometry_moves(const struct reel_layer *l)
{
    static const enum reel_prop props[] = {REEL_PROP_X,       REEL_PROP_Y,
                                           REEL_PROP_SCALE,   REEL_PROP_SCALE_X,
                                           REEL_PROP_SCALE_Y, REEL_PROP_ROTATION};
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (l->anim[props[i]].n_keys > 0)
            return true;
    return is_slide(l->tr_in.type) || is_slide(l->tr_out.type);
}

bool reel_layer_visible_box(const struct reel_timeline *tl, const struct reel_layer *l, double bw,
                            double bh, double margin, double out[4])
{
    double u[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    int w = tl->out.width, h = tl->out.height;
    struct reel_layer_state st;
    struct reel_affine fwd, inv;
    if (!geometry_moves(l)) {
        reel_eval_layer(tl, l, l->start_us, &st);
        if (reel_layer_transform(l, &st, bw, bh, w, h, &fwd, &inv) == 0)
            output_in_box(&inv, w, h, margin, u);
    } else {
        /* Every frame the layer shows in. Between two frames continuous motion stays within the
         * bounding box of both, which the union holds. */
        int64_t n_frames = reel_timeline_frame_count(tl);
        int64_t end = l->start_us + l->duration_us;
        int64_t n = tl->out.fps_num > 0
                        ? l->start_us * tl->out.fps_num / ((int64_t)tl->out.fps_den * REEL_US)
                        : n_frames;
        /* The layer's first and last instants too, which need not be frame times. */
        int64_t last = (end < tl->out.duration_us ? end : tl->out.duration_us) - 1;
        for (int64_t k = -2; k < 0 || n < n_frames; k++) {
            int64_t t = k == -2   ? l->start_us
                        : k == -1 ? last
                                  : reel_timeline_frame_time_us(tl, n++);
            if (t >= end)
                break;
            reel_eval_layer(tl, l, t, &st);
            if (!st.visible || reel_layer_transform(l, &st, bw, bh, w, h, &fwd, &inv) < 0)
                continue;
            double r[4];
            output_in_box(&inv, w, h, margin, r);
            u[0] = fmin(u[0], r[0]);
            u[1] = fmin(u[1], r[1]);
            u[2] = fmax(u[2], r[2]);
            u[3] = fmax(u[3], r[3]);
        }
    }
    out[0] = fmax(u[0], 0.0);
    out[1] = fmax(u[1], 0.0);
    out[2] = fmin(u[2], bw);
    out[3] = fmin(u[3], bh);
    return out[0] < out[2] && out[1] < out[3];
}
