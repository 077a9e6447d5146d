/*
 * Effects computed only where they can be seen (reel_cpu_effects_apply_rect): every pixel of the
 * asked-for rectangle is exactly what processing the whole image gives, for chains of colour
 * effects and blurs, rectangles at every edge, empty and whole, on 1 and 3 threads; and the cost
 * follows the rectangle, not the image (a sigma-100 blur of a 4096 px image, 64 px of it asked
 * for, finishes in well under a second where the whole image takes tens of seconds).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "engines/cpu/effects.h"
#include "engines/cpu/pool.h"

/* A premultiplied image with structure everywhere (so a wrong tap shows). */
static void fill(struct reel_image *img, int w, int h, unsigned seed)
{
    CHECK_INT_EQ(reel_image_alloc(img, w, h), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + 4 * x;
            seed = seed * 1103515245u + 12345u;
            int a = (int)((seed >> 16) & 255);
            if ((x / 5 + y / 3) % 4 == 0)
                a = 255;
            p[3] = (uint8_t)a;
            p[0] = (uint8_t)(((x * 7 + y) & 255) * a / 255);
            p[1] = (uint8_t)(((y * 5) & 255) * a / 255);
            p[2] = (uint8_t)((seed >> 8 & 255) * a / 255);
        }
}

static void copy(struct reel_image *dst, const struct reel_image *src)
{
    CHECK_INT_EQ(reel_image_alloc(dst, src->width, src->height), 0);
    memcpy(dst->data, src->data, (size_t)src->stride * src->height);
}

static void check_chain(const struct reel_effect *fx, int n, struct reel_cpu_pool *pool,
                        const char *what)
{
    const int w = 97, h = 61;
    struct reel_image src = {0}, whole = {0};
    fill(&src, w, h, 7);
    copy(&whole, &src);
    CHECK_INT_EQ(reel_cpu_effects_apply(fx, n, &whole, pool, NULL), 0);
    const struct reel_cpu_rect rects[] = {
        {0, 0, w, h},     {10, 7, 40, 30}, {0, 0, 5, 3},       {w - 4, h - 2, w, h},
        {0, 20, w, 21},   {50, 0, 51, h},  {-30, -30, 10, 10}, {90, 50, 500, 500},
        {30, 30, 30, 40}, {3, 3, 4, 4},
    };
    for (size_t k = 0; k < sizeof(rects) / sizeof(rects[0]); k++) {
        struct reel_image part = {0};
        struct reel_cpu_scratch scratch = {0};
        copy(&part, &src);
        CHECK_INT_EQ(reel_cpu_effects_apply_rect(fx, n, &part, &rects[k], pool, &scratch), 0);
        reel_cpu_scratch_uninit(&scratch);
        int x0 = rects[k].x0 < 0 ? 0 : rects[k].x0, y0 = rects[k].y0 < 0 ? 0 : rects[k].y0;
        int x1 = rects[k].x1 > w ? w : rects[k].x1, y1 = rects[k].y1 > h ? h : rects[k].y1;
        int n_bad = 0, bx = -1, by = -1;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                if (memcmp(part.data + (size_t)y * part.stride + 4 * x,
                           whole.data + (size_t)y * whole.stride + 4 * x, 4)) {
                    if (!n_bad++) {
                        bx = x;
                        by = y;
                    }
                }
        CHECK_MSG(n_bad == 0,
                  "%s, rect %zu: %d pixels differ from the whole image's, first (%d,%d)", what, k,
                  n_bad, bx, by);
        reel_image_uninit(&part);
    }
    reel_image_uninit(&src);
    reel_image_uninit(&whole);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    struct reel_cpu_pool *pools[2] = {NULL, NULL};
    CHECK_INT_EQ(reel_cpu_pool_create(1, &pools[0]), 0);
    CHECK_INT_EQ(reel_cpu_pool_create(3, &pools[1]), 0);
    const struct reel_effect blur4 = {.type = REEL_FX_BLUR, .sigma = 4};
    const struct reel_effect blur13 = {.type = REEL_FX_BLUR, .sigma = 1.3};
    const struct reel_effect bright = {.type = REEL_FX_BRIGHTNESS, .value = -0.1};
    const struct reel_effect contrast = {.type = REEL_FX_CONTRAST, .value = 1.7};
    const struct reel_effect big = {.type = REEL_FX_BLUR, .sigma = 30};
    for (int i = 0; i < 2; i++) {
        check_chain(&blur4, 1, pools[i], "blur 4");
        check_chain((const struct reel_effect[]){blur4, bright}, 2, pools[i], "blur, brightness");
        check_chain((const struct reel_effect[]){contrast, blur13, bright, blur4}, 4, pools[i],
                    "contrast, blur, brightness, blur");
        check_chain(&big, 1, pools[i], "blur 30 (reach past the image)");
        check_chain(&contrast, 1, pools[i], "contrast alone");
    }

    /* Cost follows the rectangle: a sigma-100 blur of 4096 x 4096, 64 x 64 of it asked for. */
    struct reel_image img = {0};
    CHECK_INT_EQ(reel_image_alloc(&img, 4096, 4096), 0);
    const struct reel_effect hostile = {.type = REEL_FX_BLUR, .sigma = 100};
    const struct reel_cpu_rect seen = {2016, 2016, 2080, 2080};
    double t0 = now_s();
    CHECK_INT_EQ(reel_cpu_effects_apply_rect(&hostile, 1, &img, &seen, pools[1], NULL), 0);
    double took = now_s() - t0;
    CHECK_MSG(took < 2.0, "a 64 px region of a sigma-100 blur took %.2f s", took);
    reel_image_uninit(&img);

    reel_cpu_pool_destroy(&pools[0]);
    reel_cpu_pool_destroy(&pools[1]);
    CHECK_DONE();
}
