/*
 * Render workers: threads that claim jobs from the Redis queue (queue/queue.h), render them with
 * reel_render_job into the output folder, keep their lease alive, publish exactly one output per job,
 * and deliver webhooks. Used by `reel worker` and by `reel serve --workers N` (in-process).
 *
 * One pool runs cfg.concurrency jobs at once. A job that fails, times out or crashes its render
 * (a render error, not a process crash) ends that job only; the pool keeps claiming.
 */
#ifndef REEL_JOB_WORKER_H
#define REEL_JOB_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/parse.h"

struct reel_worker_pool;

struct reel_worker_cfg {
    const char *redis_url;            /* NULL = redis://127.0.0.1:6379 */
    const char *redis_prefix;         /* NULL = "reel" */
    int concurrency;                  /* jobs at once; 0 = 1 */
    const char *output_dir;           /* required: where outputs are written and published */
    const char *const *asset_roots;   /* NULL-terminated; may be NULL (then only URLs) */
    const char *cache_dir;            /* URL cache; NULL = default */
    int64_t cache_size_bytes;         /* URL cache pruned (LRU) to this; 0 = 10 GiB */
    const char *const *allow_url_hosts; /* NULL-terminated; hosts exempt from the address rules */
    const char *engine;               /* "auto", "gl", "cpu"; NULL = the job's */
    const char *encoder;              /* "auto", "nvenc", "vaapi", "software"; NULL = the job's */
    const char *hwdec;                /* "auto", "none"; NULL = auto */
    int gpu_index;                    /* -1 = auto */
    int threads;                      /* encoder/decoder threads per job; 0 = auto */
    const char *tags;                 /* capabilities offered, comma-separated ("gpu,nvenc");
                                         NULL = detected from the probes */
    const char *webhook_secret;       /* HMAC key for X-Reel-Signature; NULL = unsigned */
    const char *worker_id;            /* NULL = hostname:pid */
    const struct reel_limits *limits; /* NULL = defaults (job run time, attempts) */
    int64_t lease_ms;                 /* 0 = 30000 */
    int64_t retry_base_ms;            /* first retry delay, doubled per attempt; 0 = 2000 */
    int webhook_tries;                /* 0 = 5 */
    int64_t webhook_base_delay_ms;    /* first webhook retry delay, doubled; 0 = 1000 */
    int64_t keep_outputs_ms;          /* job folders in output_dir older than this are removed
                                         (SPEC 5: outputs kept 7 days); 0 = 7 days, < 0 = never */
    struct reel_log *log;             /* parent logger; borrowed for the pool's lifetime */
};

/* Start the pool's threads. Returns 0, or a negative code with err filled (bad config). A Redis
 * that cannot be reached is not an error: the workers wait and retry. */
int reel_worker_pool_start(const struct reel_worker_cfg *cfg, struct reel_worker_pool **out,
                           struct reel_err *err);
/*
 * Stop claiming and end the pool. graceful: running jobs finish (up to their time limit) or, when
 * drain_timeout_ms passes first, are stopped and handed back to the queue (not counted as an
 * attempt). Not graceful: running jobs are stopped and handed back at once. Frees *p, sets NULL.
 */
void reel_worker_pool_stop(struct reel_worker_pool **p, bool graceful, int64_t drain_timeout_ms);

/* Stop claiming new jobs; running jobs go on. Then reel_worker_pool_stop ends the pool. */
void reel_worker_pool_quiesce(struct reel_worker_pool *p);

/* Figures of this process's workers for /metrics (cumulative since start). */
struct reel_worker_stats {
    int64_t jobs_running, jobs_succeeded, jobs_failed, jobs_canceled;
    int64_t frames_rendered;
    double render_seconds;
};
void reel_worker_pool_stats(struct reel_worker_pool *p, struct reel_worker_stats *out);

#endif
