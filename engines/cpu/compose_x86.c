/*
 * SSE4.1 and AVX2 versions of the compositor's inner loops (compose_simd.h), compiled for those
 * targets function by function so that the rest of the build runs on any x86-64; the dispatcher
 * only hands them out where the CPU has the instructions. Each gives exactly the bytes of the C
 * reference in compose.c:
 *   - the double arithmetic of the general path is the same IEEE operations in the same order,
 *     two or four lanes wide (this file is compiled with -ffp-contract=off and neither target
 *     enables FMA); min/max of packed doubles select like the C conditionals;
 *   - floor_int becomes floor of the clamped value, the weights truncate like the C conversions;
 *     a lane whose texture coordinate is beyond +-1e8 (where the C conversion of the weight goes
 *     out of range) is redone by the C pixel function;
 *   - the integer steps (bilinear sums, scaling by q, "over", the YUV sums) keep the C formulas
 *     lane by lane; a transparent source word gives back the destination unchanged in every
 *     formula, which is what the C early-outs skip.
 *   - rows of a layer neither rotated nor sheared take the per-column values (coverage, texel
 *     column, weight) from a table worked out once per draw by those same operations.
 * Transition masks are not vectorised: rows with masks use the C loop.
 */
#include "engines/cpu/compose_simd.h"

#ifdef REEL_CPU_HAVE_X86

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define SSE41 __attribute__((target("sse4.1")))
#define AVX2 __attribute__((target("avx2")))

static inline uint32_t word_of(const uint8_t p[4])
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Copy n bytes, n at most 4 (8): a full word in one inlined move, the tail of a row bytewise. */
static inline void copy4(void *dst, const void *src, int n)
{
    if (n == 4)
        memcpy(dst, src, 4);
    else
        memcpy(dst, src, (size_t)n);
}

static inline void copy8(void *dst, const void *src, int n)
{
    if (n == 8)
        memcpy(dst, src, 8);
    else
        memcpy(dst, src, (size_t)n);
}

/* Whether texel offsets (bytes from the image start) fit the gathers' 32-bit indices. */
static bool offsets_fit(const struct reel_cpu_draw *d)
{
    return (int64_t)d->stride * d->tex_h + 4 * (int64_t)d->tex_w <= INT32_MAX;
}

/* ---- SSE4.1 ---- */

/* The double part of two lanes: the alpha factor q (0 outside the layer), texel column and
 * weight; row and weight when rotated; lanes to redo in C. */
struct lanes2 {
    __m128d q, fl_u, w_u, fl_v, w_v, odd;
};

struct consts2 {
    __m128d a, dd, bu, bv, bw, bh, hgu, gu, gv, cv_row, alpha, tsx, tsy;
};

SSE41 static inline void lanes2_at(const struct consts2 *k, __m128d px, bool rot, bool tex,
                                   struct lanes2 *o)
{
    const __m128d one = _mm_set1_pd(1.0), half = _mm_set1_pd(0.5), zero = _mm_setzero_pd();
    __m128d u = _mm_add_pd(_mm_mul_pd(k->a, px), k->bu);
    __m128d v = _mm_add_pd(_mm_mul_pd(k->dd, px), k->bv);
    __m128d eu = _mm_min_pd(u, _mm_sub_pd(k->bw, u));
    __m128d cu =
        _mm_blendv_pd(_mm_add_pd(_mm_div_pd(eu, k->gu), half), one, _mm_cmpge_pd(eu, k->hgu));
    __m128d ok = _mm_cmpgt_pd(cu, zero);
    __m128d cv = k->cv_row;
    if (rot) {
        __m128d ev = _mm_min_pd(v, _mm_sub_pd(k->bh, v));
        cv = _mm_add_pd(_mm_div_pd(ev, k->gv), half);
        ok = _mm_and_pd(ok, _mm_cmpgt_pd(cv, zero));
    }
    __m128d f = _mm_mul_pd(_mm_mul_pd(k->alpha, _mm_min_pd(cu, one)), _mm_min_pd(cv, one));
    __m128d q = _mm_add_pd(_mm_mul_pd(f, _mm_set1_pd(65536.0)), half);
    q = _mm_blendv_pd(q, _mm_set1_pd(65536.0), _mm_cmpge_pd(f, one));
    o->q = _mm_and_pd(q, _mm_and_pd(ok, _mm_cmpgt_pd(f, zero)));
    o->odd = zero;
    if (!tex)
        return;
    const __m128d lo = _mm_set1_pd(-1e8), hi = _mm_set1_pd(1e8), k256 = _mm_set1_pd(256.0);
    __m128d su = _mm_sub_pd(_mm_mul_pd(u, k->tsx), half);
    o->fl_u = _mm_floor_pd(_mm_min_pd(_mm_max_pd(su, lo), hi));
    o->w_u = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(su, o->fl_u), k256), half);
    o->odd = _mm_or_pd(_mm_cmplt_pd(su, lo), _mm_cmpgt_pd(su, hi));
    if (rot) {
        __m128d sv = _mm_sub_pd(_mm_mul_pd(v, k->tsy), half);
        o->fl_v = _mm_floor_pd(_mm_min_pd(_mm_max_pd(sv, lo), hi));
        o->w_v = _mm_add_pd(_mm_mul_pd(_mm_sub_pd(sv, o->fl_v), k256), half);
        o->odd = _mm_or_pd(o->odd, _mm_or_pd(_mm_cmplt_pd(sv, lo), _mm_cmpgt_pd(sv, hi)));
    }
}

/* Four int32 from two pairs of doubles (truncated). */
SSE41 static inline __m128i cvt4(__m128d a, __m128d b)
{
    return _mm_unpacklo_epi64(_mm_cvttpd_epi32(a), _mm_cvttpd_epi32(b));
}

/* Per channel (c q + 32768) >> 16 of words w, q in 0..65535 (q16 = q | q << 16). */
SSE41 static inline __m128i scale4(__m128i w, __m128i q16)
{
    const __m128i m = _mm_set1_epi32(0x00FF00FF);
    __m128i rb = _mm_and_si128(w, m), ga = _mm_and_si128(_mm_srli_epi32(w, 8), m);
    rb = _mm_add_epi16(_mm_mulhi_epu16(rb, q16), _mm_srli_epi16(_mm_mullo_epi16(rb, q16), 15));
    ga = _mm_add_epi16(_mm_mulhi_epu16(ga, q16), _mm_srli_epi16(_mm_mullo_epi16(ga, q16), 15));
    return _mm_or_si128(rb, _mm_slli_epi32(ga, 8));
}

/* (h0 (256 - wy) + h1 wy + 32768) >> 16 for 16-bit values h in 32-bit lanes, with the sum
 * written h0 256 + (h1 - h0) wy: the same integer (below 2^25), for one multiply instead of two. */
SSE41 static inline __m128i vert4(__m128i h0, __m128i h1, __m128i wy)
{
    __m128i s = _mm_add_epi32(_mm_slli_epi32(h0, 8), _mm_mullo_epi32(_mm_sub_epi32(h1, h0), wy));
    return _mm_srli_epi32(_mm_add_epi32(s, _mm_set1_epi32(32768)), 16);
}

/* The bilinear sample of four texel quads with weights wx, wy (0..256). */
SSE41 static inline __m128i bilinear4(__m128i p00, __m128i p10, __m128i p01, __m128i p11,
                                      __m128i wx, __m128i wy)
{
    const __m128i m = _mm_set1_epi32(0x00FF00FF), lo16 = _mm_set1_epi32(0xFFFF);
    const __m128i k256 = _mm_set1_epi32(256);
    __m128i iwx = _mm_sub_epi32(k256, wx);
    __m128i wx16 = _mm_or_si128(wx, _mm_slli_epi32(wx, 16));
    __m128i iwx16 = _mm_or_si128(iwx, _mm_slli_epi32(iwx, 16));
#define H_(a, b)                                               \
    _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(a, m), iwx16), \
                  _mm_mullo_epi16(_mm_and_si128(b, m), wx16))
    __m128i rb0 = H_(p00, p10), rb1 = H_(p01, p11);
    __m128i ga0 = H_(_mm_srli_epi32(p00, 8), _mm_srli_epi32(p10, 8));
    __m128i ga1 = H_(_mm_srli_epi32(p01, 8), _mm_srli_epi32(p11, 8));
#undef H_
    __m128i r = vert4(_mm_and_si128(rb0, lo16), _mm_and_si128(rb1, lo16), wy);
    __m128i b = vert4(_mm_srli_epi32(rb0, 16), _mm_srli_epi32(rb1, 16), wy);
    __m128i g = vert4(_mm_and_si128(ga0, lo16), _mm_and_si128(ga1, lo16), wy);
    __m128i a = vert4(_mm_srli_epi32(ga0, 16), _mm_srli_epi32(ga1, 16), wy);
    return _mm_or_si128(_mm_or_si128(r, _mm_slli_epi32(g, 8)),
                        _mm_or_si128(_mm_slli_epi32(b, 16), _mm_slli_epi32(a, 24)));
}

/* The words at columns x[i] of rows t[i]. */
SSE41 static inline __m128i fetch4(const uint8_t *const t[4], const int32_t x[4])
{
    return _mm_set_epi32((int)word_of(t[3] + 4 * x[3]), (int)word_of(t[2] + 4 * x[2]),
                         (int)word_of(t[1] + 4 * x[1]), (int)word_of(t[0] + 4 * x[0]));
}

SSE41 static void general_row_sse41(const struct reel_cpu_draw *d, const struct reel_cpu_row *r,
                                    int x0, int x1, uint32_t *out)
{
    const struct reel_affine *m = &d->inv;
    const struct consts2 k = {
        _mm_set1_pd(m->a),       _mm_set1_pd(m->d),      _mm_set1_pd(r->bu),
        _mm_set1_pd(r->bv),      _mm_set1_pd(d->bw),     _mm_set1_pd(d->bh),
        _mm_set1_pd(r->half_gu), _mm_set1_pd(d->grad_u), _mm_set1_pd(d->grad_v),
        _mm_set1_pd(r->cv_row),  _mm_set1_pd(d->alpha),  _mm_set1_pd(d->tex_sx),
        _mm_set1_pd(d->tex_sy),
    };
    const bool rot = !r->is_upright, tex = d->data != NULL;
    if (tex && !rot && r->wy > 256) {
        /* the row's texture row is beyond +-1e8: its weight is out of range */
        reel_cpu_kernels_c.general_row(d, r, x0, x1, out);
        return;
    }
    const __m128i zero = _mm_setzero_si128(), tw1 = _mm_set1_epi32(d->tex_w - 1),
                  th1 = _mm_set1_epi32(d->tex_h - 1), one = _mm_set1_epi32(1),
                  full = _mm_set1_epi32(65536);
    const __m128i solid = _mm_set1_epi32((int)word_of(d->solid));
    for (int x = x0; x < x1; x += 4) {
        int n = x1 - x < 4 ? x1 - x : 4;
        __m128d bx = _mm_set1_pd((double)x);
        struct lanes2 l0, l1;
        lanes2_at(&k, _mm_add_pd(bx, _mm_set_pd(1.5, 0.5)), rot, tex, &l0);
        lanes2_at(&k, _mm_add_pd(bx, _mm_set_pd(3.5, 2.5)), rot, tex, &l1);
        __m128i q = cvt4(l0.q, l1.q);
        if (_mm_testz_si128(q, q))
            continue;
        __m128i w = solid;
        if (tex) {
            __m128i ix = cvt4(l0.fl_u, l1.fl_u), wx = cvt4(l0.w_u, l1.w_u);
            __m128i c0 = _mm_min_epi32(_mm_max_epi32(ix, zero), tw1);
            __m128i c1 = _mm_min_epi32(_mm_max_epi32(_mm_add_epi32(ix, one), zero), tw1);
            int32_t xa[4], xb[4], ya[4], yb[4];
            _mm_storeu_si128((__m128i *)xa, c0);
            _mm_storeu_si128((__m128i *)xb, c1);
            __m128i wy = _mm_set1_epi32((int)r->wy);
            const uint8_t *t0[4] = {r->r0, r->r0, r->r0, r->r0};
            const uint8_t *t1[4] = {r->r1, r->r1, r->r1, r->r1};
            if (rot) {
                __m128i iy = cvt4(l0.fl_v, l1.fl_v);
                wy = cvt4(l0.w_v, l1.w_v);
                _mm_storeu_si128((__m128i *)ya, _mm_min_epi32(_mm_max_epi32(iy, zero), th1));
                _mm_storeu_si128((__m128i *)yb,
                                 _mm_min_epi32(_mm_max_epi32(_mm_add_epi32(iy, one), zero), th1));
                for (int i = 0; i < 4; i++) {
                    t0[i] = d->data + (size_t)ya[i] * d->stride;
                    t1[i] = d->data + (size_t)yb[i] * d->stride;
                }
            }
            w = bilinear4(fetch4(t0, xa), fetch4(t0, xb), fetch4(t1, xa), fetch4(t1, xb), wx, wy);
        }
        __m128i q16 = _mm_or_si128(q, _mm_slli_epi32(q, 16));
        __m128i s = _mm_blendv_epi8(scale4(w, q16), w, _mm_cmpeq_epi32(q, full));
        int odd = _mm_movemask_pd(l0.odd) | _mm_movemask_pd(l1.odd) << 2;
        if (n == 4 && !odd) {
            _mm_storeu_si128((__m128i *)(out + (x - x0)), s);
            continue;
        }
        uint32_t tmp[4];
        _mm_storeu_si128((__m128i *)tmp, s);
        for (int i = 0; i < n; i++)
            out[x - x0 + i] = (odd >> i & 1) ? reel_cpu_general_px(d, r, x + i) : tmp[i];
    }
}

/* s over d for four words: every channel s + round(d (255 - a) / 255), at most 255. */
SSE41 static inline __m128i over4(__m128i s, __m128i d)
{
    const __m128i m = _mm_set1_epi32(0x00FF00FF), k80 = _mm_set1_epi16(0x80),
                  k255 = _mm_set1_epi16(255);
    __m128i ia = _mm_sub_epi32(_mm_set1_epi32(255), _mm_srli_epi32(s, 24));
    ia = _mm_or_si128(ia, _mm_slli_epi32(ia, 16));
    __m128i rb = _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(d, m), ia), k80);
    __m128i ga = _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(_mm_srli_epi32(d, 8), m), ia), k80);
    rb = _mm_srli_epi16(_mm_add_epi16(rb, _mm_srli_epi16(rb, 8)), 8);
    ga = _mm_srli_epi16(_mm_add_epi16(ga, _mm_srli_epi16(ga, 8)), 8);
    rb = _mm_min_epu16(_mm_add_epi16(rb, _mm_and_si128(s, m)), k255);
    ga = _mm_min_epu16(_mm_add_epi16(ga, _mm_and_si128(_mm_srli_epi32(s, 8), m)), k255);
    return _mm_or_si128(rb, _mm_slli_epi32(ga, 8));
}

SSE41 static void over_span_sse41(uint8_t *dst, const uint8_t *src, int n, uint32_t q)
{
    const __m128i q16 = _mm_set1_epi32((int)(q | q << 16));
    for (int x = 0; x < n; x += 4) {
        int c = n - x < 4 ? n - x : 4;
        uint32_t sb[4] = {0}, db[4] = {0};
        const uint8_t *sp = src + 4 * x;
        uint8_t *dp = dst + 4 * x;
        if (c < 4) {
            memcpy(sb, sp, 4 * (size_t)c);
            memcpy(db, dp, 4 * (size_t)c);
            sp = (const uint8_t *)sb;
            dp = (uint8_t *)db;
        }
        __m128i s = _mm_loadu_si128((const __m128i *)sp);
        if (q < 65536)
            s = scale4(s, q16);
        if (_mm_testz_si128(s, s))
            continue;
        _mm_storeu_si128((__m128i *)dp, over4(s, _mm_loadu_si128((const __m128i *)dp)));
        if (c < 4)
            memcpy(dst + 4 * x, db, 4 * (size_t)c);
    }
}

/* Y of four words over four luma bytes (in the low 32 bits). */
SSE41 static inline __m128i over_y4(__m128i w, __m128i yd)
{
    const __m128i m = _mm_set1_epi32(0x00FF00FF), b8 = _mm_set1_epi32(0xFF);
    __m128i rb =
        _mm_madd_epi16(_mm_and_si128(w, m), _mm_set1_epi32(REEL_CPU_YR | REEL_CPU_YB << 16));
    __m128i g = _mm_and_si128(_mm_srli_epi32(w, 8), b8), a = _mm_srli_epi32(w, 24);
    __m128i keep = _mm_add_epi32(_mm_slli_epi32(a, 4),
                                 _mm_mullo_epi32(yd, _mm_sub_epi32(_mm_set1_epi32(255), a)));
    __m128i acc = _mm_add_epi32(rb, _mm_mullo_epi32(g, _mm_set1_epi32(REEL_CPU_YG)));
    acc = _mm_add_epi32(acc, _mm_add_epi32(_mm_slli_epi32(keep, 8), keep));
    acc = _mm_srai_epi32(_mm_add_epi32(acc, _mm_set1_epi32(32768)), 16);
    acc = _mm_packs_epi32(acc, acc);
    return _mm_packus_epi16(acc, acc);
}

SSE41 static void over_y_row_sse41(uint8_t *o, const uint32_t *src, int n)
{
    for (int x = 0; x < n; x += 4) {
        int c = n - x < 4 ? n - x : 4;
        uint32_t sb[4] = {0};
        const uint32_t *sp = src + x;
        if (c < 4) {
            memcpy(sb, sp, 4 * (size_t)c);
            sp = sb;
        }
        __m128i w = _mm_loadu_si128((const __m128i *)sp);
        if (_mm_testz_si128(w, w))
            continue;
        uint8_t yb[4] = {0};
        copy4(yb, o + x, c);
        int32_t y4;
        memcpy(&y4, yb, 4);
        __m128i r = over_y4(w, _mm_cvtepu8_epi32(_mm_cvtsi32_si128(y4)));
        y4 = _mm_cvtsi128_si32(r);
        copy4(o + x, &y4, c);
    }
}

/* One chroma plane's new values for four blocks: sums s (r, g, b, a; 0..1020) over bytes c. */
SSE41 static inline __m128i over_c4(__m128i sr, __m128i sg, __m128i sb, __m128i sa, __m128i c,
                                    int kr, int kg, int kb)
{
    __m128i keep = _mm_sub_epi32(_mm_set1_epi32(1020), sa);
    __m128i t = _mm_add_epi32(_mm_slli_epi32(sa, 7), _mm_mullo_epi32(c, keep));
    __m128i acc = _mm_add_epi32(_mm_mullo_epi32(sr, _mm_set1_epi32(kr)),
                                _mm_mullo_epi32(sg, _mm_set1_epi32(kg)));
    acc = _mm_add_epi32(acc, _mm_mullo_epi32(sb, _mm_set1_epi32(kb)));
    acc = _mm_add_epi32(acc, _mm_add_epi32(_mm_slli_epi32(t, 8), t));
    acc = _mm_srai_epi32(_mm_add_epi32(acc, _mm_set1_epi32(131072)), 18);
    acc = _mm_packs_epi32(acc, acc);
    return _mm_packus_epi16(acc, acc);
}

SSE41 static void over_uv_row_sse41(uint8_t *ou, uint8_t *ov, const uint32_t *s0,
                                    const uint32_t *s1, int n)
{
    const __m128i m = _mm_set1_epi32(0x00FF00FF), lo16 = _mm_set1_epi32(0xFFFF);
    for (int i = 0; i < n; i += 4) {
        int c = n - i < 4 ? n - i : 4;
        uint32_t w[2][8] = {{0}};
        const uint32_t *p0 = s0 + 2 * i, *p1 = s1 + 2 * i;
        if (c < 4) {
            memcpy(w[0], p0, 8 * (size_t)c);
            memcpy(w[1], p1, 8 * (size_t)c);
            p0 = w[0];
            p1 = w[1];
        }
        __m128i a0 = _mm_loadu_si128((const __m128i *)p0),
                a1 = _mm_loadu_si128((const __m128i *)(p0 + 4));
        __m128i b0 = _mm_loadu_si128((const __m128i *)p1),
                b1 = _mm_loadu_si128((const __m128i *)(p1 + 4));
        __m128i any = _mm_or_si128(_mm_or_si128(a0, a1), _mm_or_si128(b0, b1));
        if (_mm_testz_si128(any, any))
            continue;
        __m128i rb = _mm_hadd_epi32(_mm_add_epi16(_mm_and_si128(a0, m), _mm_and_si128(b0, m)),
                                    _mm_add_epi16(_mm_and_si128(a1, m), _mm_and_si128(b1, m)));
        __m128i ga = _mm_hadd_epi32(_mm_add_epi16(_mm_and_si128(_mm_srli_epi32(a0, 8), m),
                                                  _mm_and_si128(_mm_srli_epi32(b0, 8), m)),
                                    _mm_add_epi16(_mm_and_si128(_mm_srli_epi32(a1, 8), m),
                                                  _mm_and_si128(_mm_srli_epi32(b1, 8), m)));
        __m128i sr = _mm_and_si128(rb, lo16), sb = _mm_srli_epi32(rb, 16);
        __m128i sg = _mm_and_si128(ga, lo16), sa = _mm_srli_epi32(ga, 16);
        uint8_t cb[2][4] = {{0}};
        copy4(cb[0], ou + i, c);
        copy4(cb[1], ov + i, c);
        int32_t cu, cv;
        memcpy(&cu, cb[0], 4);
        memcpy(&cv, cb[1], 4);
        cu = _mm_cvtsi128_si32(over_c4(sr, sg, sb, sa, _mm_cvtepu8_epi32(_mm_cvtsi32_si128(cu)),
                                       REEL_CPU_UR, REEL_CPU_UG, REEL_CPU_UB));
        cv = _mm_cvtsi128_si32(over_c4(sr, sg, sb, sa, _mm_cvtepu8_epi32(_mm_cvtsi32_si128(cv)),
                                       REEL_CPU_VR, REEL_CPU_VG, REEL_CPU_VB));
        copy4(ou + i, &cu, c);
        copy4(ov + i, &cv, c);
    }
}

/* d + ((s - d) q + 32768) >> 16 for eight 16-bit lanes (qs: q as a signed 16-bit value, hq: all
 * ones when q >= 32768, where the signed product misses one (s - d) 65536). */
SSE41 static inline __m128i lerp8(__m128i s, __m128i d, __m128i qs, __m128i hq)
{
    __m128i diff = _mm_sub_epi16(s, d);
    __m128i hi = _mm_add_epi16(_mm_mulhi_epi16(diff, qs), _mm_and_si128(diff, hq));
    return _mm_add_epi16(_mm_add_epi16(d, hi), _mm_srli_epi16(_mm_mullo_epi16(diff, qs), 15));
}

SSE41 static void lerp_row_sse41(uint8_t *dst, const uint8_t *src, int n, uint32_t q)
{
    const __m128i qs = _mm_set1_epi16((short)(uint16_t)q);
    const __m128i hq = _mm_set1_epi16(q >= 32768 ? -1 : 0), z = _mm_setzero_si128();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i s = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i d = _mm_loadu_si128((const __m128i *)(dst + i));
        __m128i lo = lerp8(_mm_unpacklo_epi8(s, z), _mm_unpacklo_epi8(d, z), qs, hq);
        __m128i hi = lerp8(_mm_unpackhi_epi8(s, z), _mm_unpackhi_epi8(d, z), qs, hq);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi16(lo, hi));
    }
    uint32_t iq = 65536 - q;
    for (; i < n; i++)
        dst[i] = (uint8_t)((src[i] * q + dst[i] * iq + 32768) >> 16);
}

const struct reel_cpu_kernels reel_cpu_kernels_sse41 = {
    .level = REEL_CPU_SIMD_SSE41,
    .general_row = general_row_sse41,
    .over_span = over_span_sse41,
    .over_y_row = over_y_row_sse41,
    .over_uv_row = over_uv_row_sse41,
    .lerp_row = lerp_row_sse41,
};

/* ---- AVX2 ---- */

struct lanes4 {
    __m256d u, v, q, fl_u, w_u, fl_v, w_v, odd;
};

struct consts4 {
    __m256d a, dd, bu, bv, bw, bh, hgu, hgv, gu, gv, cv_row, alpha, tsx, tsy;
};

/* The box coordinates u, v of four lanes at pixel centres px. */
AVX2 static inline void uv4(const struct consts4 *k, __m256d px, struct lanes4 *o)
{
    o->u = _mm256_add_pd(_mm256_mul_pd(k->a, px), k->bu);
    o->v = _mm256_add_pd(_mm256_mul_pd(k->dd, px), k->bv);
}

/*
 * All four lanes at least half a pixel inside the box along u (and along v when rotated): the
 * coverage factors are then exactly 1, as the C computes them (eu >= g / 2 gives eu / g >= 0.5
 * exactly, so eu / g + 0.5 >= 1), and the lanes' factor is the row's constant. hgv is -1 when
 * grad_v is not positive, which keeps every lane off this shortcut.
 */
AVX2 static inline __m256d inside4(const struct consts4 *k, const struct lanes4 *l, bool rot)
{
    __m256d in = _mm256_cmp_pd(_mm256_min_pd(l->u, _mm256_sub_pd(k->bw, l->u)), k->hgu, _CMP_GE_OQ);
    if (rot)
        in = _mm256_and_pd(
            in, _mm256_cmp_pd(_mm256_min_pd(l->v, _mm256_sub_pd(k->bh, l->v)), k->hgv, _CMP_GE_OQ));
    return in;
}

/* reel_cpu_quantise() of four factors, as doubles (0 where not ok or not positive). */
AVX2 static inline __m256d quantise4(__m256d f, __m256d ok)
{
    const __m256d one = _mm256_set1_pd(1.0), half = _mm256_set1_pd(0.5);
    const __m256d full = _mm256_set1_pd(65536.0);
    __m256d q = _mm256_add_pd(_mm256_mul_pd(f, full), half);
    q = _mm256_blendv_pd(q, full, _mm256_cmp_pd(f, one, _CMP_GE_OQ));
    return _mm256_and_pd(q, _mm256_and_pd(ok, _mm256_cmp_pd(f, _mm256_setzero_pd(), _CMP_GT_OQ)));
}

/* The alpha factor of four lanes with the edge coverage worked out per lane. */
AVX2 static inline void coverage4(const struct consts4 *k, bool rot, struct lanes4 *o)
{
    const __m256d one = _mm256_set1_pd(1.0), half = _mm256_set1_pd(0.5), zero = _mm256_setzero_pd();
    __m256d eu = _mm256_min_pd(o->u, _mm256_sub_pd(k->bw, o->u));
    __m256d cu = _mm256_blendv_pd(_mm256_add_pd(_mm256_div_pd(eu, k->gu), half), one,
                                  _mm256_cmp_pd(eu, k->hgu, _CMP_GE_OQ));
    __m256d ok = _mm256_cmp_pd(cu, zero, _CMP_GT_OQ);
    __m256d cv = k->cv_row;
    if (rot) {
        __m256d ev = _mm256_min_pd(o->v, _mm256_sub_pd(k->bh, o->v));
        cv = _mm256_add_pd(_mm256_div_pd(ev, k->gv), half);
        ok = _mm256_and_pd(ok, _mm256_cmp_pd(cv, zero, _CMP_GT_OQ));
    }
    __m256d f =
        _mm256_mul_pd(_mm256_mul_pd(k->alpha, _mm256_min_pd(cu, one)), _mm256_min_pd(cv, one));
    o->q = quantise4(f, ok);
}

/* Texel coordinates and weights of four lanes; odd marks lanes beyond +-1e8 (left to the C). */
AVX2 static inline void texcoords4(const struct consts4 *k, bool rot, struct lanes4 *o)
{
    const __m256d half = _mm256_set1_pd(0.5), lo = _mm256_set1_pd(-1e8), hi = _mm256_set1_pd(1e8),
                  k256 = _mm256_set1_pd(256.0);
    __m256d su = _mm256_sub_pd(_mm256_mul_pd(o->u, k->tsx), half);
    o->fl_u = _mm256_floor_pd(_mm256_min_pd(_mm256_max_pd(su, lo), hi));
    o->w_u = _mm256_add_pd(_mm256_mul_pd(_mm256_sub_pd(su, o->fl_u), k256), half);
    o->odd = _mm256_or_pd(_mm256_cmp_pd(su, lo, _CMP_LT_OQ), _mm256_cmp_pd(su, hi, _CMP_GT_OQ));
    if (rot) {
        __m256d sv = _mm256_sub_pd(_mm256_mul_pd(o->v, k->tsy), half);
        o->fl_v = _mm256_floor_pd(_mm256_min_pd(_mm256_max_pd(sv, lo), hi));
        o->w_v = _mm256_add_pd(_mm256_mul_pd(_mm256_sub_pd(sv, o->fl_v), k256), half);
        o->odd = _mm256_or_pd(o->odd, _mm256_or_pd(_mm256_cmp_pd(sv, lo, _CMP_LT_OQ),
                                                   _mm256_cmp_pd(sv, hi, _CMP_GT_OQ)));
    }
}

AVX2 static inline __m256i cvt8(__m256d a, __m256d b)
{
    return _mm256_set_m128i(_mm256_cvttpd_epi32(b), _mm256_cvttpd_epi32(a));
}

AVX2 static inline __m256i scale8(__m256i w, __m256i q16)
{
    const __m256i m = _mm256_set1_epi32(0x00FF00FF);
    __m256i rb = _mm256_and_si256(w, m), ga = _mm256_and_si256(_mm256_srli_epi32(w, 8), m);
    rb = _mm256_add_epi16(_mm256_mulhi_epu16(rb, q16),
                          _mm256_srli_epi16(_mm256_mullo_epi16(rb, q16), 15));
    ga = _mm256_add_epi16(_mm256_mulhi_epu16(ga, q16),
                          _mm256_srli_epi16(_mm256_mullo_epi16(ga, q16), 15));
    return _mm256_or_si256(rb, _mm256_slli_epi32(ga, 8));
}

/* (h0 (256 - wy) + h1 wy + 32768) >> 16, with the sum written h0 256 + (h1 - h0) wy: the same
 * integer (below 2^25), for one multiply instead of two. */
AVX2 static inline __m256i vert8(__m256i h0, __m256i h1, __m256i wy)
{
    __m256i s = _mm256_add_epi32(_mm256_slli_epi32(h0, 8),
                                 _mm256_mullo_epi32(_mm256_sub_epi32(h1, h0), wy));
    return _mm256_srli_epi32(_mm256_add_epi32(s, _mm256_set1_epi32(32768)), 16);
}

AVX2 static inline __m256i bilinear8(__m256i p00, __m256i p10, __m256i p01, __m256i p11, __m256i wx,
                                     __m256i wy)
{
    const __m256i m = _mm256_set1_epi32(0x00FF00FF), lo16 = _mm256_set1_epi32(0xFFFF);
    const __m256i k256 = _mm256_set1_epi32(256);
    __m256i iwx = _mm256_sub_epi32(k256, wx);
    __m256i wx16 = _mm256_or_si256(wx, _mm256_slli_epi32(wx, 16));
    __m256i iwx16 = _mm256_or_si256(iwx, _mm256_slli_epi32(iwx, 16));
#define H_(a, b)                                                        \
    _mm256_add_epi16(_mm256_mullo_epi16(_mm256_and_si256(a, m), iwx16), \
                     _mm256_mullo_epi16(_mm256_and_si256(b, m), wx16))
    __m256i rb0 = H_(p00, p10), rb1 = H_(p01, p11);
    __m256i ga0 = H_(_mm256_srli_epi32(p00, 8), _mm256_srli_epi32(p10, 8));
    __m256i ga1 = H_(_mm256_srli_epi32(p01, 8), _mm256_srli_epi32(p11, 8));
#undef H_
    __m256i r = vert8(_mm256_and_si256(rb0, lo16), _mm256_and_si256(rb1, lo16), wy);
    __m256i b = vert8(_mm256_srli_epi32(rb0, 16), _mm256_srli_epi32(rb1, 16), wy);
    __m256i g = vert8(_mm256_and_si256(ga0, lo16), _mm256_and_si256(ga1, lo16), wy);
    __m256i a = vert8(_mm256_srli_epi32(ga0, 16), _mm256_srli_epi32(ga1, 16), wy);
    return _mm256_or_si256(_mm256_or_si256(r, _mm256_slli_epi32(g, 8)),
                           _mm256_or_si256(_mm256_slli_epi32(b, 16), _mm256_slli_epi32(a, 24)));
}

/* For eight byte offsets from base: the 32-bit words at each offset (lo) and just after it (hi),
 * one 64-bit load per lane (plain loads: on some x86 cores a gather is slower than eight). */
AVX2 static inline void gather_pairs(const void *base, __m256i off, __m256i *lo, __m256i *hi)
{
    const uint8_t *b = base;
    int32_t o[8];
    _mm256_storeu_si256((__m256i *)o, off);
    long long v[8];
    for (int i = 0; i < 8; i++)
        memcpy(&v[i], b + o[i], 8);
    __m256 a = _mm256_castsi256_ps(_mm256_set_epi64x(v[3], v[2], v[1], v[0]));
    __m256 c = _mm256_castsi256_ps(_mm256_set_epi64x(v[7], v[6], v[5], v[4]));
    /* words of lanes 0 1 4 5 | 2 3 6 7, put back in order */
    *lo = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(a, c, 0x88)), 0xD8);
    *hi = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(a, c, 0xDD)), 0xD8);
}

AVX2 static inline double lane3(__m256d v)
{
    __m128d h = _mm256_extractf128_pd(v, 1);
    return _mm_cvtsd_f64(_mm_unpackhi_pd(h, h));
}

/*
 * Whether the eight lanes' bilinear footprints only meet clear cells of d->occ (their words are
 * then all 0, as the C finds them). u and v are monotonic along the row, so the texel columns
 * and rows the lanes reach lie between those of lanes 0 and 7 (plus one for the second texel),
 * clamped as the sampling clamps them.
 */
/* Whether the texels of columns ua .. ub (either order; the larger one's right neighbour too,
 * clamped as the sampling clamps) on rows y0 .. y1 (either order) are all clear in d->occ. */
static inline bool texels_clear(const struct reel_cpu_draw *d, int ua, int ub, int y0, int y1)
{
    int x0 = ua < ub ? ua : ub, x1 = (ua < ub ? ub : ua) + 1;
    x0 = x0 < 0 ? 0 : (x0 > d->tex_w - 1 ? d->tex_w - 1 : x0);
    x1 = x1 < 0 ? 0 : (x1 > d->tex_w - 1 ? d->tex_w - 1 : x1);
    return reel_cpu_occupancy_clear(d->occ, x0, y0 < y1 ? y0 : y1, x1, y0 < y1 ? y1 : y0);
}

AVX2 static inline bool footprint_clear(const struct reel_cpu_draw *d, const int upright_rows[2],
                                        const struct lanes4 *l0, const struct lanes4 *l1, bool rot)
{
    int ua = (int)_mm256_cvtsd_f64(l0->fl_u), ub = (int)lane3(l1->fl_u);
    if (!rot)
        return texels_clear(d, ua, ub, upright_rows[0], upright_rows[1]);
    int va = (int)_mm256_cvtsd_f64(l0->fl_v), vb = (int)lane3(l1->fl_v);
    int y0 = va < vb ? va : vb, y1 = (va < vb ? vb : va) + 1;
    y0 = y0 < 0 ? 0 : (y0 > d->tex_h - 1 ? d->tex_h - 1 : y0);
    y1 = y1 < 0 ? 0 : (y1 > d->tex_h - 1 ? d->tex_h - 1 : y1);
    return texels_clear(d, ua, ub, y0, y1);
}

/*
 * Upright rows of a texture drawn without rotation or shear (inv.b == inv.d == 0): u, and with it
 * the edge coverage, the texel column and its weight, depend on the column only, so they are
 * worked out once per draw (per thread; both compose bands keep their own) rather than on every
 * row. The values are the ones general_row_avx2 computes lane by lane, by the same double
 * operations in the same order, so the rows come out byte for byte the same. Rows whose v
 * coverage is below 1 (the box's top and bottom edge), columns beyond +-1e8 texels and draws wider
 * than the table keep the lane by lane path.
 */
#define UPRIGHT_COLS 4096

struct upright_cols {
    /* What the columns were worked out for (valid once built is set); the texels themselves
     * play no part. */
    double a, bu, bw, half_gu, grad_u, alpha, tex_sx;
    int tex_w, x0, n;
    bool built, usable;
    /* Columns x0 .. x0 + n - 1: the alpha factor (v coverage 1), the texel column (floor), the
     * byte offset of the texel pair loaded and the horizontal weight. */
    int32_t q[UPRIGHT_COLS], ix[UPRIGHT_COLS], pc[UPRIGHT_COLS], wx[UPRIGHT_COLS];
};

static _Thread_local struct upright_cols upright_cols;

static bool upright_cols_match(const struct upright_cols *t, const struct reel_cpu_draw *d,
                               const struct reel_cpu_row *r, int n)
{
    return t->built && t->a == d->inv.a && t->bu == r->bu && t->bw == d->bw &&
           t->half_gu == r->half_gu && t->grad_u == d->grad_u && t->alpha == d->alpha &&
           t->tex_sx == d->tex_sx && t->tex_w == d->tex_w && t->x0 == d->x0 && t->n == n;
}

/* The column table for this draw's upright rows, or NULL where the lane by lane path must run. */
static const struct upright_cols *upright_cols_for(const struct reel_cpu_draw *d,
                                                   const struct reel_cpu_row *r)
{
    /* Lanes of the last group of a row reach up to 7 columns past the draw. */
    int n = d->x1 - d->x0 + 8;
    if (d->inv.b != 0.0 || !(r->cv_row >= 1.0) || d->tex_w < 2 || n > UPRIGHT_COLS)
        return NULL;
    struct upright_cols *t = &upright_cols;
    if (upright_cols_match(t, d, r, n))
        return t->usable ? t : NULL;
    /* The key, field by field: the columns themselves are all written below. */
    t->a = d->inv.a;
    t->bu = r->bu;
    t->bw = d->bw;
    t->half_gu = r->half_gu;
    t->grad_u = d->grad_u;
    t->alpha = d->alpha;
    t->tex_sx = d->tex_sx;
    t->tex_w = d->tex_w;
    t->x0 = d->x0;
    t->n = n;
    t->built = true;
    t->usable = false;
    for (int i = 0; i < n; i++) {
        double px = (double)(d->x0 + i) + 0.5;
        double u = d->inv.a * px + r->bu;
        double eu = u < d->bw - u ? u : d->bw - u;
        double cu = eu >= r->half_gu ? 1.0 : eu / d->grad_u + 0.5;
        /* The v coverage is 1 on these rows, and a factor of 1 changes no double. */
        t->q[i] = cu > 0.0 ? (int32_t)reel_cpu_quantise(d->alpha * (cu < 1.0 ? cu : 1.0)) : 0;
        double su = u * d->tex_sx - 0.5;
        if (!(su >= -1e8 && su <= 1e8))
            return NULL; /* usable stays false for this draw */
        double fl = floor(su);
        t->ix[i] = (int32_t)fl;
        t->wx[i] = (int32_t)((su - fl) * 256.0 + 0.5);
        int c = t->ix[i] < 0 ? 0 : (t->ix[i] > d->tex_w - 2 ? d->tex_w - 2 : t->ix[i]);
        t->pc[i] = 4 * c;
    }
    t->usable = true;
    return t;
}

/* An upright row from the column table: general_row_avx2's loop without the per-lane doubles. */
AVX2 static void upright_row_avx2(const struct reel_cpu_draw *d, const struct reel_cpu_row *r,
                                  const struct upright_cols *t, int x0, int x1, uint32_t *out)
{
    const __m256i zero = _mm256_setzero_si256(), tw2 = _mm256_set1_epi32(d->tex_w - 2),
                  full = _mm256_set1_epi32(65536), wy = _mm256_set1_epi32((int)r->wy);
    int rows[2] = {0, 0};
    if (d->occ) {
        rows[0] = (int)((r->r0 - d->data) / d->stride);
        rows[1] = (int)((r->r1 - d->data) / d->stride);
    }
    for (int x = x0; x < x1; x += 8) {
        int n = x1 - x < 8 ? x1 - x : 8, i = x - t->x0;
        __m256i q = _mm256_loadu_si256((const __m256i *)(t->q + i));
        if (_mm256_testz_si256(q, q))
            continue;
        /* The columns the lanes reach, as footprint_clear finds them from lanes 0 and 7. */
        if (d->occ && texels_clear(d, t->ix[i], t->ix[i + 7], rows[0], rows[1]))
            continue;
        __m256i ix = _mm256_loadu_si256((const __m256i *)(t->ix + i));
        __m256i pc = _mm256_loadu_si256((const __m256i *)(t->pc + i));
        __m256i lo0, hi0, lo1, hi1;
        gather_pairs(r->r0, pc, &lo0, &hi0);
        gather_pairs(r->r1, pc, &lo1, &hi1);
        __m256i right = _mm256_cmpgt_epi32(ix, tw2), left = _mm256_cmpgt_epi32(zero, ix);
        __m256i p00 = _mm256_blendv_epi8(lo0, hi0, right);
        __m256i p10 = _mm256_blendv_epi8(hi0, lo0, left);
        __m256i p01 = _mm256_blendv_epi8(lo1, hi1, right);
        __m256i p11 = _mm256_blendv_epi8(hi1, lo1, left);
        __m256i wx = _mm256_loadu_si256((const __m256i *)(t->wx + i));
        __m256i w = bilinear8(p00, p10, p01, p11, wx, wy);
        __m256i q16 = _mm256_or_si256(q, _mm256_slli_epi32(q, 16));
        __m256i s = _mm256_blendv_epi8(scale8(w, q16), w, _mm256_cmpeq_epi32(q, full));
        if (n == 8) {
            _mm256_storeu_si256((__m256i *)(out + (x - x0)), s);
            continue;
        }
        uint32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, s);
        memcpy(out + (x - x0), tmp, sizeof(uint32_t) * (size_t)n);
    }
}

AVX2 static void general_row_avx2(const struct reel_cpu_draw *d, const struct reel_cpu_row *r,
                                  int x0, int x1, uint32_t *out)
{
    const bool rot = !r->is_upright, tex = d->data != NULL;
    /* Gather offsets past 32 bits, or the row's texture row beyond +-1e8 (its weight is out of
     * range): the C loop. */
    if (tex && (rot ? !offsets_fit(d) : r->wy > 256)) {
        reel_cpu_kernels_c.general_row(d, r, x0, x1, out);
        return;
    }
    const struct upright_cols *cols = tex && !rot ? upright_cols_for(d, r) : NULL;
    if (cols) {
        upright_row_avx2(d, r, cols, x0, x1, out);
        return;
    }
    const struct reel_affine *m = &d->inv;
    const struct consts4 k = {
        _mm256_set1_pd(m->a),       _mm256_set1_pd(m->d),
        _mm256_set1_pd(r->bu),      _mm256_set1_pd(r->bv),
        _mm256_set1_pd(d->bw),      _mm256_set1_pd(d->bh),
        _mm256_set1_pd(r->half_gu), _mm256_set1_pd(d->grad_v > 0.0 ? 0.5 * d->grad_v : -1.0),
        _mm256_set1_pd(d->grad_u),  _mm256_set1_pd(d->grad_v),
        _mm256_set1_pd(r->cv_row),  _mm256_set1_pd(d->alpha),
        _mm256_set1_pd(d->tex_sx),  _mm256_set1_pd(d->tex_sy),
    };
    /* The factor of lanes inside the box: alpha x 1 x the row's v coverage (1 when rotated). */
    const __m256d one_pd = _mm256_set1_pd(1.0);
    __m256d f_in = _mm256_mul_pd(_mm256_mul_pd(k.alpha, one_pd),
                                 rot ? one_pd : _mm256_min_pd(k.cv_row, one_pd));
    __m256d q_in4 = quantise4(f_in, rot ? _mm256_cmp_pd(one_pd, _mm256_setzero_pd(), _CMP_GT_OQ)
                                        : _mm256_cmp_pd(k.cv_row, _mm256_setzero_pd(), _CMP_GT_OQ));
    const __m256i q_in = cvt8(q_in4, q_in4);
    const __m256i zero = _mm256_setzero_si256(), tw2 = _mm256_set1_epi32(d->tex_w - 2),
                  th1 = _mm256_set1_epi32(d->tex_h - 1), one = _mm256_set1_epi32(1),
                  full = _mm256_set1_epi32(65536), stride = _mm256_set1_epi32(d->stride);
    const __m256i solid = _mm256_set1_epi32((int)word_of(d->solid));
    /* Without rotation the row's two texel rows are the same for every pixel. */
    int upright_rows[2] = {0, 0};
    if (tex && !rot && d->occ) {
        upright_rows[0] = (int)((r->r0 - d->data) / d->stride);
        upright_rows[1] = (int)((r->r1 - d->data) / d->stride);
    }
    const __m256d lane_lo = _mm256_set_pd(3.5, 2.5, 1.5, 0.5),
                  lane_hi = _mm256_set_pd(7.5, 6.5, 5.5, 4.5);
    for (int x = x0; x < x1; x += 8) {
        int n = x1 - x < 8 ? x1 - x : 8;
        __m256d bx = _mm256_set1_pd((double)x);
        struct lanes4 l0, l1;
        uv4(&k, _mm256_add_pd(bx, lane_lo), &l0);
        uv4(&k, _mm256_add_pd(bx, lane_hi), &l1);
        __m256i q;
        if (_mm256_movemask_pd(_mm256_and_pd(inside4(&k, &l0, rot), inside4(&k, &l1, rot))) ==
            0xF) {
            q = q_in;
        } else {
            coverage4(&k, rot, &l0);
            coverage4(&k, rot, &l1);
            q = cvt8(l0.q, l1.q);
        }
        if (_mm256_testz_si256(q, q))
            continue;
        l0.odd = l1.odd = _mm256_setzero_pd();
        if (tex) {
            texcoords4(&k, rot, &l0);
            texcoords4(&k, rot, &l1);
            if (d->occ && !(_mm256_movemask_pd(l0.odd) | _mm256_movemask_pd(l1.odd)) &&
                footprint_clear(d, upright_rows, &l0, &l1, rot))
                continue;
        }
        __m256i w = solid;
        if (tex) {
            __m256i ix = cvt8(l0.fl_u, l1.fl_u), wx = cvt8(l0.w_u, l1.w_u);
            __m256i p00, p10, p01, p11, wy, row0 = zero, row1 = zero;
            const void *b0 = d->data, *b1 = d->data;
            if (rot) {
                __m256i iy = cvt8(l0.fl_v, l1.fl_v);
                wy = cvt8(l0.w_v, l1.w_v);
                row0 =
                    _mm256_mullo_epi32(_mm256_min_epi32(_mm256_max_epi32(iy, zero), th1), stride);
                row1 = _mm256_mullo_epi32(
                    _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(iy, one), zero), th1),
                    stride);
            } else {
                wy = _mm256_set1_epi32((int)r->wy);
                b0 = r->r0;
                b1 = r->r1;
            }
            if (d->tex_w >= 2) {
                /* Texels x and x + 1 in one load from pc = clamp(ix, 0, tex_w - 2); lanes at
                 * the edges take the texel the C clamps give. */
                __m256i pc =
                    _mm256_slli_epi32(_mm256_min_epi32(_mm256_max_epi32(ix, zero), tw2), 2);
                __m256i lo0, hi0, lo1, hi1;
                gather_pairs(b0, _mm256_add_epi32(row0, pc), &lo0, &hi0);
                gather_pairs(b1, _mm256_add_epi32(row1, pc), &lo1, &hi1);
                __m256i right = _mm256_cmpgt_epi32(ix, tw2), left = _mm256_cmpgt_epi32(zero, ix);
                p00 = _mm256_blendv_epi8(lo0, hi0, right);
                p10 = _mm256_blendv_epi8(hi0, lo0, left);
                p01 = _mm256_blendv_epi8(lo1, hi1, right);
                p11 = _mm256_blendv_epi8(hi1, lo1, left);
            } else {
                /* one texel per row: both columns are column 0 */
                p00 = p10 = _mm256_i32gather_epi32((const int *)b0, row0, 1);
                p01 = p11 = _mm256_i32gather_epi32((const int *)b1, row1, 1);
            }
            w = bilinear8(p00, p10, p01, p11, wx, wy);
        }
        __m256i q16 = _mm256_or_si256(q, _mm256_slli_epi32(q, 16));
        __m256i s = _mm256_blendv_epi8(scale8(w, q16), w, _mm256_cmpeq_epi32(q, full));
        int odd = _mm256_movemask_pd(l0.odd) | _mm256_movemask_pd(l1.odd) << 4;
        if (n == 8 && !odd) {
            _mm256_storeu_si256((__m256i *)(out + (x - x0)), s);
            continue;
        }
        uint32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, s);
        for (int i = 0; i < n; i++)
            out[x - x0 + i] = (odd >> i & 1) ? reel_cpu_general_px(d, r, x + i) : tmp[i];
    }
}

AVX2 static inline __m256i over8(__m256i s, __m256i d)
{
    const __m256i m = _mm256_set1_epi32(0x00FF00FF), k80 = _mm256_set1_epi16(0x80),
                  k255 = _mm256_set1_epi16(255);
    __m256i ia = _mm256_sub_epi32(_mm256_set1_epi32(255), _mm256_srli_epi32(s, 24));
    ia = _mm256_or_si256(ia, _mm256_slli_epi32(ia, 16));
    __m256i rb = _mm256_add_epi16(_mm256_mullo_epi16(_mm256_and_si256(d, m), ia), k80);
    __m256i ga =
        _mm256_add_epi16(_mm256_mullo_epi16(_mm256_and_si256(_mm256_srli_epi32(d, 8), m), ia), k80);
    rb = _mm256_srli_epi16(_mm256_add_epi16(rb, _mm256_srli_epi16(rb, 8)), 8);
    ga = _mm256_srli_epi16(_mm256_add_epi16(ga, _mm256_srli_epi16(ga, 8)), 8);
    rb = _mm256_min_epu16(_mm256_add_epi16(rb, _mm256_and_si256(s, m)), k255);
    ga = _mm256_min_epu16(_mm256_add_epi16(ga, _mm256_and_si256(_mm256_srli_epi32(s, 8), m)), k255);
    return _mm256_or_si256(rb, _mm256_slli_epi32(ga, 8));
}

AVX2 static void over_span_avx2(uint8_t *dst, const uint8_t *src, int n, uint32_t q)
{
    const __m256i q16 = _mm256_set1_epi32((int)(q | q << 16));
    for (int x = 0; x < n; x += 8) {
        int c = n - x < 8 ? n - x : 8;
        uint32_t sb[8] = {0}, db[8] = {0};
        const uint8_t *sp = src + 4 * x;
        uint8_t *dp = dst + 4 * x;
        if (c < 8) {
            memcpy(sb, sp, 4 * (size_t)c);
            memcpy(db, dp, 4 * (size_t)c);
            sp = (const uint8_t *)sb;
            dp = (uint8_t *)db;
        }
        __m256i s = _mm256_loadu_si256((const __m256i *)sp);
        if (q < 65536)
            s = scale8(s, q16);
        if (_mm256_testz_si256(s, s))
            continue;
        _mm256_storeu_si256((__m256i *)dp, over8(s, _mm256_loadu_si256((const __m256i *)dp)));
        if (c < 8)
            memcpy(dst + 4 * x, db, 4 * (size_t)c);
    }
}

/* Eight int32 lanes (each 0..255 after clamping) to eight bytes. */
AVX2 static inline uint64_t bytes8(__m256i v)
{
    __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return (uint64_t)_mm_cvtsi128_si64(_mm_packus_epi16(p, p));
}

AVX2 static void over_y_row_avx2(uint8_t *o, const uint32_t *src, int n)
{
    const __m256i m = _mm256_set1_epi32(0x00FF00FF), b8 = _mm256_set1_epi32(0xFF);
    for (int x = 0; x < n; x += 8) {
        int c = n - x < 8 ? n - x : 8;
        uint32_t sb[8] = {0};
        const uint32_t *sp = src + x;
        if (c < 8) {
            memcpy(sb, sp, 4 * (size_t)c);
            sp = sb;
        }
        __m256i w = _mm256_loadu_si256((const __m256i *)sp);
        if (_mm256_testz_si256(w, w))
            continue;
        uint64_t y8 = 0;
        copy8(&y8, o + x, c);
        __m256i yd = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)y8));
        __m256i rb = _mm256_madd_epi16(_mm256_and_si256(w, m),
                                       _mm256_set1_epi32(REEL_CPU_YR | REEL_CPU_YB << 16));
        __m256i g = _mm256_and_si256(_mm256_srli_epi32(w, 8), b8), a = _mm256_srli_epi32(w, 24);
        __m256i keep =
            _mm256_add_epi32(_mm256_slli_epi32(a, 4),
                             _mm256_mullo_epi32(yd, _mm256_sub_epi32(_mm256_set1_epi32(255), a)));
        __m256i acc = _mm256_add_epi32(rb, _mm256_mullo_epi32(g, _mm256_set1_epi32(REEL_CPU_YG)));
        acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_slli_epi32(keep, 8), keep));
        acc = _mm256_srai_epi32(_mm256_add_epi32(acc, _mm256_set1_epi32(32768)), 16);
        y8 = bytes8(acc);
        copy8(o + x, &y8, c);
    }
}

AVX2 static inline uint64_t over_c8(__m256i sr, __m256i sg, __m256i sb, __m256i sa, __m256i c,
                                    int kr, int kg, int kb)
{
    __m256i keep = _mm256_sub_epi32(_mm256_set1_epi32(1020), sa);
    __m256i t = _mm256_add_epi32(_mm256_slli_epi32(sa, 7), _mm256_mullo_epi32(c, keep));
    __m256i acc = _mm256_add_epi32(_mm256_mullo_epi32(sr, _mm256_set1_epi32(kr)),
                                   _mm256_mullo_epi32(sg, _mm256_set1_epi32(kg)));
    acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(sb, _mm256_set1_epi32(kb)));
    acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_slli_epi32(t, 8), t));
    acc = _mm256_srai_epi32(_mm256_add_epi32(acc, _mm256_set1_epi32(131072)), 18);
    return bytes8(acc);
}

AVX2 static void over_uv_row_avx2(uint8_t *ou, uint8_t *ov, const uint32_t *s0, const uint32_t *s1,
                                  int n)
{
    const __m256i m = _mm256_set1_epi32(0x00FF00FF), lo16 = _mm256_set1_epi32(0xFFFF);
    for (int i = 0; i < n; i += 8) {
        int c = n - i < 8 ? n - i : 8;
        uint32_t w[2][16] = {{0}};
        const uint32_t *p0 = s0 + 2 * i, *p1 = s1 + 2 * i;
        if (c < 8) {
            memcpy(w[0], p0, 8 * (size_t)c);
            memcpy(w[1], p1, 8 * (size_t)c);
            p0 = w[0];
            p1 = w[1];
        }
        __m256i a0 = _mm256_loadu_si256((const __m256i *)p0),
                a1 = _mm256_loadu_si256((const __m256i *)(p0 + 8));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)p1),
                b1 = _mm256_loadu_si256((const __m256i *)(p1 + 8));
        __m256i any = _mm256_or_si256(_mm256_or_si256(a0, a1), _mm256_or_si256(b0, b1));
        if (_mm256_testz_si256(any, any))
            continue;
        /* hadd pairs within 128-bit halves: blocks come out as 0 1 4 5 2 3 6 7. */
        __m256i rb =
            _mm256_hadd_epi32(_mm256_add_epi16(_mm256_and_si256(a0, m), _mm256_and_si256(b0, m)),
                              _mm256_add_epi16(_mm256_and_si256(a1, m), _mm256_and_si256(b1, m)));
        __m256i ga =
            _mm256_hadd_epi32(_mm256_add_epi16(_mm256_and_si256(_mm256_srli_epi32(a0, 8), m),
                                               _mm256_and_si256(_mm256_srli_epi32(b0, 8), m)),
                              _mm256_add_epi16(_mm256_and_si256(_mm256_srli_epi32(a1, 8), m),
                                               _mm256_and_si256(_mm256_srli_epi32(b1, 8), m)));
        rb = _mm256_permute4x64_epi64(rb, _MM_SHUFFLE(3, 1, 2, 0));
        ga = _mm256_permute4x64_epi64(ga, _MM_SHUFFLE(3, 1, 2, 0));
        __m256i sr = _mm256_and_si256(rb, lo16), sb = _mm256_srli_epi32(rb, 16);
        __m256i sg = _mm256_and_si256(ga, lo16), sa = _mm256_srli_epi32(ga, 16);
        uint64_t cu = 0, cv = 0;
        copy8(&cu, ou + i, c);
        copy8(&cv, ov + i, c);
        cu = over_c8(sr, sg, sb, sa, _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)cu)),
                     REEL_CPU_UR, REEL_CPU_UG, REEL_CPU_UB);
        cv = over_c8(sr, sg, sb, sa, _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)cv)),
                     REEL_CPU_VR, REEL_CPU_VG, REEL_CPU_VB);
        copy8(ou + i, &cu, c);
        copy8(ov + i, &cv, c);
    }
}

AVX2 static inline __m256i lerp16(__m256i s, __m256i d, __m256i qs, __m256i hq)
{
    __m256i diff = _mm256_sub_epi16(s, d);
    __m256i hi = _mm256_add_epi16(_mm256_mulhi_epi16(diff, qs), _mm256_and_si256(diff, hq));
    return _mm256_add_epi16(_mm256_add_epi16(d, hi),
                            _mm256_srli_epi16(_mm256_mullo_epi16(diff, qs), 15));
}

AVX2 static void lerp_row_avx2(uint8_t *dst, const uint8_t *src, int n, uint32_t q)
{
    const __m256i qs = _mm256_set1_epi16((short)(uint16_t)q);
    const __m256i hq = _mm256_set1_epi16(q >= 32768 ? -1 : 0), z = _mm256_setzero_si256();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i s = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i d = _mm256_loadu_si256((const __m256i *)(dst + i));
        __m256i lo = lerp16(_mm256_unpacklo_epi8(s, z), _mm256_unpacklo_epi8(d, z), qs, hq);
        __m256i hi = lerp16(_mm256_unpackhi_epi8(s, z), _mm256_unpackhi_epi8(d, z), qs, hq);
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_packus_epi16(lo, hi));
    }
    uint32_t iq = 65536 - q;
    for (; i < n; i++)
        dst[i] = (uint8_t)((src[i] * q + dst[i] * iq + 32768) >> 16);
}

const struct reel_cpu_kernels reel_cpu_kernels_avx2 = {
    .level = REEL_CPU_SIMD_AVX2,
    .general_row = general_row_avx2,
    .over_span = over_span_avx2,
    .over_y_row = over_y_row_avx2,
    .over_uv_row = over_uv_row_avx2,
    .lerp_row = lerp_row_avx2,
};

#else

/* Only the C reference exists off x86. */
typedef int reel_compose_x86_unused;

#endif
