/*
 * Which table of compositor loops runs: the best level the CPU supports (__builtin_cpu_supports),
 * or a lower one named by REEL_SIMD (c, sse4.1, avx2). Chosen once, at the first draw.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/cpu/compose_simd.h"

static _Atomic(const struct reel_cpu_kernels *) current;

enum reel_cpu_simd reel_cpu_simd_best(void)
{
#ifdef REEL_CPU_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return REEL_CPU_SIMD_AVX2;
    if (__builtin_cpu_supports("sse4.1"))
        return REEL_CPU_SIMD_SSE41;
#endif
    return REEL_CPU_SIMD_C;
}

const char *reel_cpu_simd_name(enum reel_cpu_simd l)
{
    switch (l) {
    case REEL_CPU_SIMD_AVX2:
        return "avx2";
    case REEL_CPU_SIMD_SSE41:
        return "sse4.1";
    default:
        return "c";
    }
}

static const struct reel_cpu_kernels *table(enum reel_cpu_simd l)
{
#ifdef REEL_CPU_HAVE_X86
    if (l == REEL_CPU_SIMD_AVX2)
        return &reel_cpu_kernels_avx2;
    if (l == REEL_CPU_SIMD_SSE41)
        return &reel_cpu_kernels_sse41;
#endif
    (void)l;
    return &reel_cpu_kernels_c;
}

enum reel_cpu_simd reel_cpu_simd_force(enum reel_cpu_simd l)
{
    enum reel_cpu_simd best = reel_cpu_simd_best();
    if (l > best)
        l = best;
    if (l < REEL_CPU_SIMD_C)
        l = REEL_CPU_SIMD_C;
    atomic_store(&current, table(l));
    return l;
}

/* The level REEL_SIMD asks for (the best one when unset or unknown, with a note on stderr). */
static enum reel_cpu_simd level_from_env(void)
{
    enum reel_cpu_simd best = reel_cpu_simd_best();
    const char *e = getenv("REEL_SIMD");
    if (!e || !*e)
        return best;
    for (int l = REEL_CPU_SIMD_C; l <= REEL_CPU_SIMD_AVX2; l++) {
        if (strcmp(e, reel_cpu_simd_name((enum reel_cpu_simd)l)) != 0)
            continue;
        if (l > (int)best)
            fprintf(stderr, "reel: note: REEL_SIMD=%s is not supported by this CPU, using %s\n", e,
                    reel_cpu_simd_name(best));
        return l > (int)best ? best : (enum reel_cpu_simd)l;
    }
    fprintf(stderr, "reel: note: REEL_SIMD=%s is not one of c, sse4.1, avx2; using %s\n", e,
            reel_cpu_simd_name(best));
    return best;
}

const struct reel_cpu_kernels *reel_cpu_kernels(void)
{
    const struct reel_cpu_kernels *k = atomic_load_explicit(&current, memory_order_acquire);
    if (k)
        return k;
    /* Several threads may get here first: they all pick the same table. */
    const struct reel_cpu_kernels *want = table(level_from_env());
    const struct reel_cpu_kernels *expected = NULL;
    if (!atomic_compare_exchange_strong(&current, &expected, want))
        return expected;
    return want;
}
