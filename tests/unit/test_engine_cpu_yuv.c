/* The cpu compositor's YUV 4:2:0 canvas: colour conversion, drawing RGBA layers and opaque YUV
 * pictures, against the RGBA canvas converted with the BT.709 formula in floating point. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engines/cpu/compose.h"

#define W 96
#define H 64

/* Premultiplied RGBA over black to limited-range BT.709, in double precision. */
static void ref_yuv(double r, double g, double b, double a, double *y, double *u, double *v)
{
    double ly = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    *y = 16.0 * a / 255.0 + 219.0 / 255.0 * ly;
    *u = 128.0 * a / 255.0 + 224.0 / 255.0 * (b - ly) / 1.8556;
    *v = 128.0 * a / 255.0 + 224.0 / 255.0 * (r - ly) / 1.5748;
    /* over black: the rest of the pixel is (16, 128, 128) */
    *y += 16.0 * (255.0 - a) / 255.0;
    *u += 128.0 * (255.0 - a) / 255.0;
    *v += 128.0 * (255.0 - a) / 255.0;
}

static void test_colour(void)
{
    uint8_t yuv[3];
    reel_cpu_rgba_to_yuv((const uint8_t[4]){255, 255, 255, 255}, yuv);
    CHECK_INT_EQ(yuv[0], 235);
    CHECK_INT_EQ(yuv[1], 128);
    CHECK_INT_EQ(yuv[2], 128);
    reel_cpu_rgba_to_yuv((const uint8_t[4]){0, 0, 0, 255}, yuv);
    CHECK_INT_EQ(yuv[0], 16);
    CHECK_INT_EQ(yuv[1], 128);
    CHECK_INT_EQ(yuv[2], 128);
    reel_cpu_rgba_to_yuv((const uint8_t[4]){0, 0, 0, 0}, yuv);
    CHECK_INT_EQ(yuv[0], 16);
    CHECK_INT_EQ(yuv[1], 128);
    reel_cpu_rgba_to_yuv((const uint8_t[4]){128, 128, 128, 255}, yuv);
    CHECK_INT_EQ(yuv[1], 128); /* greys stay neutral */
    CHECK_INT_EQ(yuv[2], 128);
    /* Saturated primaries reach the ends of the chroma range. */
    reel_cpu_rgba_to_yuv((const uint8_t[4]){0, 0, 255, 255}, yuv);
    CHECK_INT_EQ(yuv[1], 240);
    reel_cpu_rgba_to_yuv((const uint8_t[4]){255, 0, 0, 255}, yuv);
    CHECK_INT_EQ(yuv[2], 240);

    int worst = 0;
    srand(7);
    for (int i = 0; i < 20000; i++) {
        int a = rand() % 256;
        uint8_t px[4] = {(uint8_t)(rand() % (a + 1)), (uint8_t)(rand() % (a + 1)),
                         (uint8_t)(rand() % (a + 1)), (uint8_t)a};
        double y, u, v;
        ref_yuv(px[0], px[1], px[2], px[3], &y, &u, &v);
        reel_cpu_rgba_to_yuv(px, yuv);
        int d = (int)fmax(fabs(yuv[0] - y), fmax(fabs(yuv[1] - u), fabs(yuv[2] - v)) + 0.5);
        worst = d > worst ? d : worst;
    }
    CHECK_MSG(worst <= 1, "conversion off by %d from the formula", worst);
}

struct yuv_buf {
    uint8_t y[W * H], u[W * H / 4], v[W * H / 4];
    struct reel_cpu_yuv_canvas c;
};

static void yuv_init(struct yuv_buf *b)
{
    b->c = (struct reel_cpu_yuv_canvas){{b->y, b->u, b->v}, {W, W / 2, W / 2}, W, H};
}

/* Draw rows [0, H) in bands of `band` rows (even), as the engine's threads would. */
static void yuv_draw(struct yuv_buf *b, const struct reel_cpu_draw *d, int n, int band,
                     const uint8_t bg[3])
{
    for (int y0 = 0; y0 < H; y0 += band) {
        int y1 = y0 + band < H ? y0 + band : H;
        reel_cpu_yuv_fill_rows(&b->c, y0, y1, bg);
        for (int i = 0; i < n; i++)
            reel_cpu_yuv_draw_rows(&b->c, &d[i], y0, y1);
    }
}

static void rgba_draw(uint8_t *rgba, const struct reel_cpu_draw *d, int n, const uint8_t bg[4])
{
    struct reel_cpu_canvas c = {rgba, W * 4, W, H};
    reel_cpu_fill_rows(&c, 0, H, bg);
    for (int i = 0; i < n; i++)
        reel_cpu_draw_rows(&c, &d[i], 0, H);
}

/* A draw of an RGBA texture (or solid colour) placed by a forward transform. */
static struct reel_cpu_draw make_draw(const uint8_t *tex, int tw, int th, double bw, double bh,
                                      struct reel_affine fwd, double alpha)
{
    struct reel_cpu_draw d;
    memset(&d, 0, sizeof(d));
    d.data = tex;
    d.stride = tw * 4;
    d.tex_w = tw;
    d.tex_h = th;
    d.bw = bw;
    d.bh = bh;
    d.alpha = alpha;
    d.out_w = W;
    d.out_h = H;
    double det = fwd.a * fwd.e - fwd.b * fwd.d;
    d.inv.a = fwd.e / det;
    d.inv.b = -fwd.b / det;
    d.inv.d = -fwd.d / det;
    d.inv.e = fwd.a / det;
    d.inv.c = -(d.inv.a * fwd.c + d.inv.b * fwd.f);
    d.inv.f = -(d.inv.d * fwd.c + d.inv.e * fwd.f);
    CHECK(reel_cpu_draw_setup(&d, &fwd));
    return d;
}

/* The YUV canvas against the RGBA canvas converted by the formula (chroma: the 2x2 average of the
 * premultiplied result). Luma may differ by rounding per layer; chroma also where alpha changes
 * inside a 2x2 block, since the canvas blends the block's average. */
static void test_rgba_layers(void)
{
    static uint8_t tex[40 * 30 * 4], rgba[W * H * 4];
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            uint8_t *p = tex + 4 * (y * 40 + x);
            int a = (x * 255) / 39;
            p[3] = (uint8_t)a;
            p[0] = (uint8_t)(a * ((x * 7 + y * 3) % 256) / 255);
            p[1] = (uint8_t)(a * ((y * 11) % 256) / 255);
            p[2] = (uint8_t)(a * ((x * y) % 256) / 255);
        }
    double c = cos(0.4), s = sin(0.4);
    struct reel_cpu_draw d[4];
    /* fast path, general path with rotation and scale, a solid colour with a wipe, a fade */
    d[0] = make_draw(tex, 40, 30, 40, 30, (struct reel_affine){1, 0, 10, 0, 1, 6}, 1.0);
    d[1] = make_draw(tex, 40, 30, 40, 30, (struct reel_affine){1.3 * c, -s, 40.3, s, 1.3 * c, 9.7},
                     0.8);
    d[2] = make_draw(NULL, 1, 1, 50, 20, (struct reel_affine){1, 0, 30, 0, 1, 36}, 1.0);
    d[2].solid[0] = 200, d[2].solid[1] = 40, d[2].solid[2] = 90, d[2].solid[3] = 255;
    d[2].masks[0] = (struct reel_tr_state){REEL_TR_WIPE_LEFT, 0.5};
    d[2].n_masks = 1;
    d[3] = make_draw(tex, 40, 30, 40, 30, (struct reel_affine){1, 0, 50, 0, 1, 30}, 0.5);
    uint8_t bg[4] = {20, 60, 100, 255}, bg_yuv[3];
    reel_cpu_rgba_to_yuv(bg, bg_yuv);

    rgba_draw(rgba, d, 4, bg);
    static struct yuv_buf a, b;
    yuv_init(&a);
    yuv_init(&b);
    yuv_draw(&a, d, 4, H, bg_yuv);
    yuv_draw(&b, d, 4, 6, bg_yuv); /* bands of 6 rows give the same bytes */
    CHECK(memcmp(a.y, b.y, sizeof(a.y)) == 0 && memcmp(a.u, b.u, sizeof(a.u)) == 0 &&
          memcmp(a.v, b.v, sizeof(a.v)) == 0);

    int worst_y = 0;
    double se_c = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *p = rgba + 4 * (y * W + x);
            double ry, ru, rv;
            ref_yuv(p[0], p[1], p[2], p[3], &ry, &ru, &rv);
            int dy = (int)(fabs(a.y[y * W + x] - ry) + 0.5);
            worst_y = dy > worst_y ? dy : worst_y;
        }
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++) {
            double su = 0, sv = 0;
            for (int k = 0; k < 4; k++) {
                const uint8_t *p = rgba + 4 * ((2 * y + k / 2) * W + 2 * x + k % 2);
                double ry, ru, rv;
                ref_yuv(p[0], p[1], p[2], p[3], &ry, &ru, &rv);
                su += ru / 4;
                sv += rv / 4;
            }
            se_c += pow(a.u[y * W / 2 + x] - su, 2) + pow(a.v[y * W / 2 + x] - sv, 2);
        }
    double psnr_c = 10 * log10(255.0 * 255.0 / (se_c / (W * H / 2)));
    CHECK_MSG(worst_y <= 3, "luma differs by %d from RGBA composition", worst_y);
    CHECK_MSG(psnr_c >= 40.0, "chroma PSNR %.1f dB against RGBA composition", psnr_c);
}

/* An opaque YUV picture: copied where fully shown, mixed by alpha, cut by a wipe. */
static void test_picture(void)
{
    static uint8_t py[W * H], pu[W * H / 4], pv[W * H / 4];
    for (int i = 0; i < W * H; i++)
        py[i] = (uint8_t)(16 + i % 200);
    for (int i = 0; i < W * H / 4; i++) {
        pu[i] = (uint8_t)(60 + i % 120);
        pv[i] = (uint8_t)(200 - i % 100);
    }
    struct reel_cpu_draw d;
    memset(&d, 0, sizeof(d));
    d.data = py; /* setup only asks whether there is content */
    d.tex_w = W;
    d.tex_h = H;
    d.bw = W;
    d.bh = H;
    d.alpha = 1.0;
    d.out_w = W;
    d.out_h = H;
    d.inv = (struct reel_affine){1, 0, 0, 0, 1, 0};
    struct reel_affine fwd = d.inv;
    CHECK(reel_cpu_draw_setup(&d, &fwd));
    CHECK(reel_cpu_draw_takes_yuv(&d));
    d.data = NULL;
    d.planes[0] = py, d.planes[1] = pu, d.planes[2] = pv;
    d.plane_stride[0] = W, d.plane_stride[1] = d.plane_stride[2] = W / 2;
    const uint8_t black[3] = {16, 128, 128};

    static struct yuv_buf a;
    yuv_init(&a);
    yuv_draw(&a, &d, 1, 8, black);
    CHECK(memcmp(a.y, py, sizeof(py)) == 0 && memcmp(a.u, pu, sizeof(pu)) == 0 &&
          memcmp(a.v, pv, sizeof(pv)) == 0);

    d.alpha = 0.5;
    yuv_draw(&a, &d, 1, 8, black);
    int bad = 0;
    for (int i = 0; i < W * H; i++)
        bad += abs(a.y[i] - (py[i] + 16 + 1) / 2) > 1;
    for (int i = 0; i < W * H / 4; i++)
        bad += abs(a.u[i] - (pu[i] + 128) / 2) > 1;
    CHECK_INT_EQ(bad, 0);

    /* wipe-left half-way (it enters from the right): the right half shows the picture, the left
     * half the background. */
    d.alpha = 1.0;
    d.masks[0] = (struct reel_tr_state){REEL_TR_WIPE_LEFT, 0.5};
    d.n_masks = 1;
    yuv_draw(&a, &d, 1, 8, black);
    int left = 0, right = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (x < W / 2)
                left += a.y[y * W + x] == 16;
            else
                right += a.y[y * W + x] == py[y * W + x];
        }
    int sides = H * (W / 2);
    CHECK_MSG(left == sides && right == sides, "wipe: %d / %d left, %d / %d right", left, sides,
              right, sides);
    bool chroma_ok = true;
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++)
            chroma_ok &= a.u[y * W / 2 + x] == (x < W / 4 ? 128 : pu[y * W / 2 + x]);
    CHECK(chroma_ok);

    /* An odd offset or an odd size cannot keep chroma in place. */
    d.n_masks = 0;
    d.is_fast = true;
    d.fast_dx = 1;
    CHECK(!reel_cpu_draw_takes_yuv(&d));
    d.fast_dx = 2;
    CHECK(reel_cpu_draw_takes_yuv(&d));
    d.tex_w = W - 1;
    CHECK(!reel_cpu_draw_takes_yuv(&d));
}

int main(void)
{
    test_colour();
    test_rgba_layers();
    test_picture();
    CHECK_DONE();
}
