/*
 * The compositor's inner loops, in one table per instruction-set level: the plain C reference
 * (compose.c) and, on x86-64, SSE4.1 and AVX2 versions (compose_x86.c) that give exactly the
 * same bytes. The level is chosen once, at first use, from what the CPU supports, or forced lower
 * with REEL_SIMD=c|sse4.1|avx2 (docs/engines.md).
 */
#ifndef REEL_ENGINES_CPU_COMPOSE_SIMD_H
#define REEL_ENGINES_CPU_COMPOSE_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "engines/cpu/compose.h"

/*
 * BT.709 limited range in 16-bit fixed point, for premultiplied R'G'B' and alpha in 0..255:
 *   Y  = 16 a/255 + 219/255 (0.2126 r + 0.7152 g + 0.0722 b)                 + Y_dst (255 - a)/255
 *   Cb = 128 a/255 + 224/255 (-0.2126 r - 0.7152 g + 0.9278 b) / 1.8556      + Cb_dst (255 - a)/255
 *   Cr = 128 a/255 + 224/255 (0.7874 r - 0.7152 g - 0.0722 b) / 1.5748       + Cr_dst (255 - a)/255
 * Each row of coefficients is rounded so that it sums exactly to the value for white (219/255 for
 * Y, 0 for Cb and Cr): greys stay neutral and white is exactly 235. 65536/255 is taken as 257.
 */
enum {
    REEL_CPU_YR = 11966,
    REEL_CPU_YG = 40254,
    REEL_CPU_YB = 4064,
    REEL_CPU_UR = -6596,
    REEL_CPU_UG = -22189,
    REEL_CPU_UB = 28785,
    REEL_CPU_VR = 28784,
    REEL_CPU_VG = -26145,
    REEL_CPU_VB = -2639,
};

/* An alpha factor in 0..1 as the 16-bit q of the kernels: 0 (nothing drawn) to 65536 (opaque). */
static inline uint32_t reel_cpu_quantise(double f)
{
    if (!(f > 0.0))
        return 0;
    if (f >= 1.0)
        return 65536;
    return (uint32_t)(f * 65536.0 + 0.5);
}

enum reel_cpu_simd {
    REEL_CPU_SIMD_C = 0,
    REEL_CPU_SIMD_SSE41 = 1,
    REEL_CPU_SIMD_AVX2 = 2,
};

/*
 * One row of the general path (scaled or rotated, no masks), as row_source in compose.c sets it
 * up: pixel centres (x + 0.5, py), box position (u, v) = (a px + bu, d px + bv).
 */
struct reel_cpu_row {
    double py, bu, bv;
    double half_gu;
    /* Upright (inv.d == 0): v, its coverage and the texture row pair are the row's. */
    bool is_upright;
    double cv_row;
    const uint8_t *r0, *r1;
    uint32_t wy, iwy;
};

struct reel_cpu_kernels {
    enum reel_cpu_simd level;
    /* The source words (s of "over") of pixels [x0, x1) of a general row into out[0..x1-x0);
     * pixels the layer does not reach are left as they are (the caller cleared them). */
    void (*general_row)(const struct reel_cpu_draw *d, const struct reel_cpu_row *r, int x0, int x1,
                        uint32_t *out);
    /* dst = s over dst for n RGBA pixels, s = src scaled by q / 65536 (q in 1..65536). */
    void (*over_span)(uint8_t *dst, const uint8_t *src, int n, uint32_t q);
    /* Luma of n source words over the luma row y. */
    void (*over_y_row)(uint8_t *y, const uint32_t *src, int n);
    /* Chroma of n 2x2 blocks (words s0[2i], s0[2i+1], s1[2i], s1[2i+1]) over u[i], v[i]. */
    void (*over_uv_row)(uint8_t *u, uint8_t *v, const uint32_t *s0, const uint32_t *s1, int n);
    /* dst = (src q + dst (65536 - q) + 32768) >> 16 over n bytes, q in 1..65535. */
    void (*lerp_row)(uint8_t *dst, const uint8_t *src, int n, uint32_t q);
};

/* The table in use (chosen at first call). */
const struct reel_cpu_kernels *reel_cpu_kernels(void);

/* The best level this CPU runs. */
enum reel_cpu_simd reel_cpu_simd_best(void);

/* Use level l from now on (capped at the best level); returns the level in force. For tests and
 * benchmarks: call it while no draw is running. */
enum reel_cpu_simd reel_cpu_simd_force(enum reel_cpu_simd l);

/* "c", "sse4.1" or "avx2". */
const char *reel_cpu_simd_name(enum reel_cpu_simd l);

/* The C reference, and a general-row pixel for the SIMD versions' rare lanes (far outside the
 * texture, where the C conversion of an out-of-range weight decides the result). */
extern const struct reel_cpu_kernels reel_cpu_kernels_c;
uint32_t reel_cpu_general_px(const struct reel_cpu_draw *d, const struct reel_cpu_row *r, int x);

#if defined(__x86_64__) || defined(__i386__)
#define REEL_CPU_HAVE_X86 1
extern const struct reel_cpu_kernels reel_cpu_kernels_sse41;
extern const struct reel_cpu_kernels reel_cpu_kernels_avx2;
#endif

#endif
