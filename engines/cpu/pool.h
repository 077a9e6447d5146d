/*
 * A small persistent worker pool for the cpu engine: run one function over N row bands, the
 * calling thread taking band 0, and return when every band is done. Workers are started once per
 * engine and sleep between jobs, so no thread is created per frame. Results never depend on the
 * number of bands because every band writes disjoint rows with per-pixel arithmetic.
 */
#ifndef REEL_ENGINES_CPU_POOL_H
#define REEL_ENGINES_CPU_POOL_H

struct reel_cpu_pool;

/* Work for one band: band in [0, n_bands). */
typedef void (*reel_cpu_band_fn)(void *ctx, int band, int n_bands);

/* Start a pool of `threads` bands (threads - 1 workers). Returns 0 or -REEL_ENOMEM /
 * -REEL_EINTERNAL (thread creation failed). threads < 1 counts as 1. */
int reel_cpu_pool_create(int threads, struct reel_cpu_pool **out);
/* Stop and join the workers; accepts NULL. */
void reel_cpu_pool_destroy(struct reel_cpu_pool **pool);
/* Number of bands a job is split into (1 for a NULL pool). */
int reel_cpu_pool_size(const struct reel_cpu_pool *pool);
/* Run fn over every band and wait. A NULL pool runs fn(ctx, 0, 1) on the caller. Not reentrant:
 * one job at a time, from one thread. */
void reel_cpu_pool_run(struct reel_cpu_pool *pool, reel_cpu_band_fn fn, void *ctx);

/* Rows [*y0, *y1) of band `band` out of n_bands over [lo, hi). */
void reel_cpu_band_rows(int lo, int hi, int band, int n_bands, int *y0, int *y1);

#endif
