#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "raster/raster.h"

#define MAX_SIDE 16384
/* Sub-rows per pixel row: coverage is integrated exactly along x and by the midpoint rule along y,
 * which is exact for straight horizontal edges and within ~1/1000 of the area on curves. */
#define SUB_ROWS 16

/*
 * A convex outline symmetric about the centre: half-width a, half-height b, corner radius r (a rect
 * when r = 0), or an ellipse with semi-axes a, b. Its half-width at height y never grows as |y|
 * grows, which lets a row be classified with two numbers.
 */
struct outline {
    double a, b, r;
    bool is_ellipse;
    bool is_empty;
};

/* Half-width of the outline at |y| <= b. */
static double half_width(const struct outline *o, double ay)
{
    if (o->is_ellipse) {
        double t = ay / o->b;
        double s = 1.0 - t * t;
        return s > 0 ? o->a * sqrt(s) : 0.0;
    }
    double straight = o->b - o->r;
    if (ay <= straight)
        return o->a;
    double dy = ay - straight;
    double s = o->r * o->r - dy * dy;
    return o->a - o->r + (s > 0 ? sqrt(s) : 0.0);
}

/* Per-row precomputation of an outline's coverage. */
struct row {
    bool is_empty;
    bool is_full_height; /* the outline spans the whole pixel row */
    double hw_min, hw_max;
    double hw[SUB_ROWS];
    double weight; /* height of one sub-row */
};

static void row_setup(const struct outline *o, double y0, struct row *rw)
{
    double y1 = y0 + 1.0;
    double ya = y0 > -o->b ? y0 : -o->b;
    double yb = y1 < o->b ? y1 : o->b;
    rw->is_empty = o->is_empty || ya >= yb;
    if (rw->is_empty)
        return;
    rw->is_full_height = ya == y0 && yb == y1;
    double fa = fabs(ya), fb = fabs(yb);
    rw->hw_min = half_width(o, fa > fb ? fa : fb);
    rw->hw_max = half_width(o, (ya <= 0 && yb >= 0) ? 0.0 : (fa < fb ? fa : fb));
    rw->weight = (yb - ya) / SUB_ROWS;
    for (int k = 0; k < SUB_ROWS; k++)
        rw->hw[k] = half_width(o, fabs(ya + (k + 0.5) * rw->weight));
}

/* Area of the pixel [x0, x0+1] x row covered by the outline, 0..1. */
static double coverage(const struct row *rw, double x0)
{
    double x1 = x0 + 1.0;
    if (rw->is_empty || x1 <= -rw->hw_max || x0 >= rw->hw_max)
        return 0.0;
    if (rw->is_full_height && x0 >= -rw->hw_min && x1 <= rw->hw_min)
        return 1.0;
    double sum = 0.0;
    for (int k = 0; k < SUB_ROWS; k++) {
        double h = rw->hw[k];
        double l = x0 > -h ? x0 : -h;
        double r = x1 < h ? x1 : h;
        if (r > l)
            sum += r - l;
    }
    double c = sum * rw->weight;
    return c > 1.0 ? 1.0 : c;
}

static void outline_set(struct outline *o, double a, double b, double r, bool is_ellipse)
{
    o->a = a;
    o->b = b;
    o->is_ellipse = is_ellipse;
    o->is_empty = !(a > 0 && b > 0);
    double rmax = a < b ? a : b;
    o->r = is_ellipse ? 0.0 : (r < 0 ? 0.0 : (r > rmax ? rmax : r));
}

static int clamp_int(double v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

struct pm_color {
    double c[4]; /* premultiplied, 0..255 */
};

static struct pm_color premul(struct reel_color c)
{
    struct pm_color p;
    p.c[0] = c.r * (double)c.a / 255.0;
    p.c[1] = c.g * (double)c.a / 255.0;
    p.c[2] = c.b * (double)c.a / 255.0;
    p.c[3] = c.a;
    return p;
}

int reel_raster_shape(const struct reel_shape_style *style, double width, double height,
                      struct reel_image *out, struct reel_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!(width > 0) || !(height > 0) || !isfinite(width) || !isfinite(height))
        return reel_err_set(err, REEL_EINVALID_JOB, NULL,
                            "shape size %gx%g: width and height must be > 0", width, height);
    double wc = ceil(width), hc = ceil(height);
    if (wc > MAX_SIDE || hc > MAX_SIDE)
        return reel_err_set(err, REEL_ELIMIT, NULL, "shape %gx%g is larger than %d px per side",
                            width, height, MAX_SIDE);
    int ret = reel_image_alloc(out, (int)wc, (int)hc);
    if (ret < 0)
        return reel_err_set(err, -ret, NULL, "shape: cannot allocate %dx%d", (int)wc, (int)hc);

    bool is_ellipse = style->kind == REEL_SHAPE_ELLIPSE;
    double a = width / 2, b = height / 2;
    struct outline outer, inner;
    outline_set(&outer, a, b, style->corner_radius, is_ellipse);
    bool has_stroke = style->stroke.enabled && style->stroke.width > 0;
    double sw = has_stroke ? style->stroke.width : 0.0;
    /* The inner edge of an inside stroke: the outline inset by the stroke width. For a rounded
     * rect that is again a rounded rect; for an ellipse it is approximated by the ellipse with
     * both semi-axes reduced, exact for circles. */
    outline_set(&inner, a - sw, b - sw, outer.r - sw, is_ellipse);

    struct pm_color fill = premul(style->fill);
    struct pm_color stroke = premul(style->stroke.color);
    uint8_t solid[4];
    for (int k = 0; k < 4; k++)
        solid[k] = (uint8_t)(fill.c[k] + 0.5);

    struct row ro, ri;
    int w = out->width;
    for (int j = 0; j < out->height; j++) {
        double y0 = j - b;
        row_setup(&outer, y0, &ro);
        if (ro.is_empty)
            continue;
        if (has_stroke)
            row_setup(&inner, y0, &ri);
        /* Pixels outside [lo, hi) have no coverage; those in [flo, fhi) lie wholly inside the
         * fill region and take the solid colour; only the rest need integrating. */
        int lo = clamp_int(floor(a - ro.hw_max), 0, w), hi = clamp_int(ceil(a + ro.hw_max), 0, w);
        const struct row *rf = has_stroke ? &ri : &ro;
        int flo = hi, fhi = hi;
        if (!rf->is_empty && rf->is_full_height) {
            flo = clamp_int(ceil(a - rf->hw_min), lo, hi);
            fhi = clamp_int(floor(a + rf->hw_min), flo, hi);
        }
        uint8_t *row_px = out->data + (size_t)j * out->stride;
        for (int i = flo; i < fhi; i++)
            memcpy(row_px + 4 * i, solid, 4);
        for (int i = lo; i < hi; i++) {
            if (i == flo)
                i = fhi;
            if (i >= hi)
                break;
            uint8_t *p = row_px + 4 * i;
            double x0 = i - a;
            double co = coverage(&ro, x0);
            if (co <= 0.0)
                continue;
            double ci = has_stroke ? coverage(&ri, x0) : co;
            if (ci > co)
                ci = co;
            double cs = co - ci;
            for (int k = 0; k < 4; k++)
                p[k] = (uint8_t)(fill.c[k] * ci + stroke.c[k] * cs + 0.5);
        }
    }
    return 0;
}
