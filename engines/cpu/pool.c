#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/thread.h"
#include "engines/cpu/pool.h"

struct worker {
    struct reel_cpu_pool *pool;
    int band;
    pthread_t thread;
};

struct reel_cpu_pool {
    int n_bands;
    int n_started; /* workers running, for a partial start */
    struct worker *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    /* The current job; a new generation number tells sleeping workers there is work. */
    reel_cpu_band_fn fn;
    void *ctx;
    uint64_t generation;
    int pending;
    bool quit;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct reel_cpu_pool *p = w->pool;
    reel_thread_name("reel-compose");
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        reel_cpu_band_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);
        fn(ctx, w->band, p->n_bands);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int reel_cpu_pool_create(int threads, struct reel_cpu_pool **out)
{
    *out = NULL;
    if (threads < 1)
        threads = 1;
    struct reel_cpu_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -REEL_ENOMEM;
    p->n_bands = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1 && !(p->workers = calloc((size_t)threads - 1, sizeof(*p->workers)))) {
        reel_cpu_pool_destroy(&p);
        return -REEL_ENOMEM;
    }
    for (int i = 1; i < threads; i++) {
        struct worker *w = &p->workers[i - 1];
        w->pool = p;
        w->band = i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            reel_cpu_pool_destroy(&p);
            return -REEL_EINTERNAL;
        }
        p->n_started++;
    }
    *out = p;
    return 0;
}

void reel_cpu_pool_destroy(struct reel_cpu_pool **pp)
{
    struct reel_cpu_pool *p = pp ? *pp : NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i].thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
    *pp = NULL;
}

int reel_cpu_pool_size(const struct reel_cpu_pool *p)
{
    return p ? p->n_bands : 1;
}

void reel_cpu_pool_run(struct reel_cpu_pool *p, reel_cpu_band_fn fn, void *ctx)
{
    if (!p || p->n_bands == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n_bands - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    fn(ctx, 0, p->n_bands);

    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void reel_cpu_band_rows(int lo, int hi, int band, int n_bands, int *y0, int *y1)
{
    int64_t n = hi > lo ? hi - lo : 0;
    *y0 = lo + (int)(n * band / n_bands);
    *y1 = lo + (int)(n * (band + 1) / n_bands);
}
