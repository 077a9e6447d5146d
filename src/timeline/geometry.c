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
