/* Shape rasterisation: exact coverage, corners, strokes, ellipse area, speed, determinism. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "raster/raster.h"

static const uint8_t *px(const struct reel_image *img, int x, int y)
{
    return img->data + (size_t)y * img->stride + 4 * x;
}

static bool px_is(const struct reel_image *img, int x, int y, int r, int g, int b, int a)
{
    const uint8_t *p = px(img, x, y);
    bool ok = p[0] == r && p[1] == g && p[2] == b && p[3] == a;
    if (!ok)
        fprintf(stderr, "  pixel (%d,%d) = %d,%d,%d,%d expected %d,%d,%d,%d\n", x, y, p[0], p[1],
                p[2], p[3], r, g, b, a);
    return ok;
}

static double alpha_area(const struct reel_image *img)
{
    double sum = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            sum += px(img, x, y)[3];
    return sum / 255.0;
}

static struct reel_shape_style style(enum reel_shape_kind kind, struct reel_color fill)
{
    struct reel_shape_style s;
    memset(&s, 0, sizeof(s));
    s.kind = kind;
    s.fill = fill;
    return s;
}

static const struct reel_color red = {255, 0, 0, 255};
static const struct reel_color blue = {0, 0, 255, 255};

static void test_rect(void)
{
    struct reel_shape_style s = style(REEL_SHAPE_RECT, red);
    struct reel_image img;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_raster_shape(&s, 100, 50, &img, &err), 0);
    CHECK_INT_EQ(img.width, 100);
    CHECK_INT_EQ(img.height, 50);
    CHECK(px_is(&img, 50, 25, 255, 0, 0, 255));
    CHECK(px_is(&img, 0, 0, 255, 0, 0, 255));
    CHECK(px_is(&img, 99, 49, 255, 0, 0, 255));
    CHECK(px_is(&img, 99, 0, 255, 0, 0, 255));
    CHECK_NEAR(alpha_area(&img), 5000, 1e-9);
    reel_image_uninit(&img);

    /* A fractional size: the image is rounded up and the last column is half covered. */
    CHECK_INT_EQ(reel_raster_shape(&s, 10.5, 4, &img, &err), 0);
    CHECK_INT_EQ(img.width, 11);
    CHECK_INT_EQ(img.height, 4);
    CHECK(px_is(&img, 9, 2, 255, 0, 0, 255));
    CHECK(px_is(&img, 10, 2, 128, 0, 0, 128));
    reel_image_uninit(&img);

    /* Translucent fill: premultiplied output. */
    struct reel_shape_style t = style(REEL_SHAPE_RECT, (struct reel_color){255, 255, 255, 128});
    CHECK_INT_EQ(reel_raster_shape(&t, 8, 8, &img, &err), 0);
    CHECK(px_is(&img, 4, 4, 128, 128, 128, 128));
    reel_image_uninit(&img);
}

static void test_rounded(void)
{
    struct reel_shape_style s = style(REEL_SHAPE_RECT, red);
    s.corner_radius = 20;
    struct reel_image img, big;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_raster_shape(&s, 100, 60, &img, &err), 0);
    CHECK(px_is(&img, 0, 0, 0, 0, 0, 0));
    CHECK(px_is(&img, 99, 0, 0, 0, 0, 0));
    CHECK(px_is(&img, 0, 59, 0, 0, 0, 0));
    CHECK(px_is(&img, 99, 59, 0, 0, 0, 0));
    CHECK(px_is(&img, 2, 2, 0, 0, 0, 0));
    CHECK(px_is(&img, 50, 30, 255, 0, 0, 255));
    CHECK(px_is(&img, 50, 0, 255, 0, 0, 255));  /* straight part of the top edge */
    CHECK(px_is(&img, 0, 30, 255, 0, 0, 255));  /* straight part of the left edge */
    CHECK(px_is(&img, 10, 10, 255, 0, 0, 255)); /* inside the corner arc */
    /* Area: the rect minus four corners of (1 - pi/4) r^2. */
    double expect = 100.0 * 60 - 4 * (1 - M_PI / 4) * 400;
    CHECK_NEAR(alpha_area(&img), expect, expect * 0.002);
    /* The pixel on the arc's diagonal is partly covered. */
    int a = px(&img, 5, 5)[3];
    CHECK(a > 0 && a < 255);
    reel_image_uninit(&img);

    /* The radius is clamped to half the smaller side: 1000 draws the same pill as 30. */
    s.corner_radius = 30;
    CHECK_INT_EQ(reel_raster_shape(&s, 100, 60, &img, &err), 0);
    s.corner_radius = 1000;
    CHECK_INT_EQ(reel_raster_shape(&s, 100, 60, &big, &err), 0);
    CHECK(!memcmp(img.data, big.data, (size_t)img.stride * img.height));
    reel_image_uninit(&img);
    reel_image_uninit(&big);
}

static void test_ellipse(void)
{
    struct reel_shape_style s = style(REEL_SHAPE_ELLIPSE, blue);
    struct reel_image img;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_raster_shape(&s, 200, 100, &img, &err), 0);
    double area = alpha_area(&img), expect = M_PI * 100 * 50;
    CHECK_MSG(fabs(area - expect) <= expect * 0.005, "ellipse area %.2f vs %.2f", area, expect);
    CHECK(px_is(&img, 100, 50, 0, 0, 255, 255));
    CHECK(px_is(&img, 0, 0, 0, 0, 0, 0));
    CHECK(px_is(&img, 199, 99, 0, 0, 0, 0));
    CHECK(px(&img, 199, 50)[3] > 0 && px(&img, 199, 50)[3] < 255); /* the tip of the long axis */
    /* Symmetric about both axes. */
    int asym = 0;
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 200; x++)
            asym += px(&img, x, y)[3] != px(&img, 199 - x, 99 - y)[3];
    CHECK_INT_EQ(asym, 0);
    reel_image_uninit(&img);

    /* Small odd circle. */
    CHECK_INT_EQ(reel_raster_shape(&s, 21, 21, &img, &err), 0);
    area = alpha_area(&img);
    expect = M_PI * 10.5 * 10.5;
    CHECK_MSG(fabs(area - expect) <= expect * 0.005, "circle area %.2f vs %.2f", area, expect);
    reel_image_uninit(&img);
}

static void test_stroke(void)
{
    struct reel_shape_style s = style(REEL_SHAPE_RECT, red);
    s.stroke.enabled = true;
    s.stroke.color = blue;
    s.stroke.width = 5;
    struct reel_image img;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_raster_shape(&s, 100, 50, &img, &err), 0);
    CHECK(px_is(&img, 0, 25, 0, 0, 255, 255));
    CHECK(px_is(&img, 4, 25, 0, 0, 255, 255));
    CHECK(px_is(&img, 5, 25, 255, 0, 0, 255));
    CHECK(px_is(&img, 50, 0, 0, 0, 255, 255));
    CHECK(px_is(&img, 50, 49, 0, 0, 255, 255));
    CHECK(px_is(&img, 95, 25, 0, 0, 255, 255));
    CHECK(px_is(&img, 94, 25, 255, 0, 0, 255));
    CHECK(px_is(&img, 50, 25, 255, 0, 0, 255));
    reel_image_uninit(&img);

    /* A half-pixel stroke edge mixes the two colours. */
    s.stroke.width = 2.5;
    CHECK_INT_EQ(reel_raster_shape(&s, 100, 50, &img, &err), 0);
    CHECK(px_is(&img, 2, 25, 128, 0, 128, 255));
    reel_image_uninit(&img);

    /* Circle ring: the stroke colour between radius 40 and 50, the fill inside. */
    struct reel_shape_style c = style(REEL_SHAPE_ELLIPSE, red);
    c.stroke = (struct reel_stroke){true, blue, 10};
    CHECK_INT_EQ(reel_raster_shape(&c, 100, 100, &img, &err), 0);
    CHECK(px_is(&img, 5, 50, 0, 0, 255, 255));
    CHECK(px_is(&img, 50, 94, 0, 0, 255, 255));
    CHECK(px_is(&img, 50, 50, 255, 0, 0, 255));
    CHECK(px_is(&img, 12, 50, 255, 0, 0, 255));
    double blue_area = 0;
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 100; x++)
            blue_area += px(&img, x, y)[2] / 255.0;
    double ring = M_PI * (50 * 50 - 40 * 40);
    CHECK_MSG(fabs(blue_area - ring) <= ring * 0.005, "ring area %.2f vs %.2f", blue_area, ring);
    reel_image_uninit(&img);

    /* Transparent fill with a stroke leaves a hole. */
    struct reel_shape_style h = style(REEL_SHAPE_RECT, (struct reel_color){0, 0, 0, 0});
    h.stroke = (struct reel_stroke){true, blue, 3};
    h.corner_radius = 8;
    CHECK_INT_EQ(reel_raster_shape(&h, 40, 40, &img, &err), 0);
    CHECK(px_is(&img, 20, 20, 0, 0, 0, 0));
    CHECK(px_is(&img, 20, 1, 0, 0, 255, 255));
    reel_image_uninit(&img);
}

static void test_limits_and_speed(void)
{
    struct reel_shape_style s = style(REEL_SHAPE_ELLIPSE, red);
    struct reel_image img, again;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_raster_shape(&s, 0, 10, &img, &err), -REEL_EINVALID_JOB);
    CHECK_INT_EQ(reel_raster_shape(&s, 10, -1, &img, &err), -REEL_EINVALID_JOB);
    CHECK_INT_EQ(reel_raster_shape(&s, 20000, 10, &img, &err), -REEL_ELIMIT);
    CHECK(img.data == NULL);

    s.stroke = (struct reel_stroke){true, blue, 12};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT_EQ(reel_raster_shape(&s, 1920, 1080, &img, &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
#if defined(__SANITIZE_ADDRESS__)
    double budget = 500;
#else
    double budget = 50;
#endif
    fprintf(stderr, "1920x1080 stroked ellipse: %.1f ms\n", ms);
    CHECK_MSG(ms < budget, "%.1f ms", ms);

    s.kind = REEL_SHAPE_RECT;
    s.corner_radius = 40;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT_EQ(reel_raster_shape(&s, 1920, 1080, &again, &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "1920x1080 stroked rounded rect: %.1f ms\n", ms);
    CHECK_MSG(ms < budget, "%.1f ms", ms);
    reel_image_uninit(&again);

    /* Bit-exact when repeated. */
    s.kind = REEL_SHAPE_ELLIPSE;
    s.corner_radius = 0;
    CHECK_INT_EQ(reel_raster_shape(&s, 1920, 1080, &again, &err), 0);
    CHECK(!memcmp(img.data, again.data, (size_t)img.stride * img.height));
    reel_image_uninit(&img);
    reel_image_uninit(&again);
}

int main(void)
{
    test_rect();
    test_rounded();
    test_ellipse();
    test_stroke();
    test_limits_and_speed();
    CHECK_DONE();
}
