/*
 * The job queue, status and templates in Redis (SPEC 3, 4). The only module that includes hiredis;
 * every key and field name is a constant in queue/keys.h, and the keys of one job share the hash tag
 * "{<id>}" so the per-job scripts run on Redis Cluster too.
 *
 * A struct reel_queue is one logical connection: thread-safe (calls are serialised on an internal
 * lock), reconnecting by itself. When Redis cannot be reached every call returns -REEL_EUNAVAILABLE
 * at once (after at most cfg.timeout_ms) and the next call tries again; nothing blocks for longer.
 *
 * Lifecycle of a job: queued -> running -> succeeded | failed | canceled. A claim takes the job with
 * a lease (attempt number + deadline); the worker renews it with reel_queue_heartbeat. A lease that
 * runs out (the worker died) is found by reel_queue_reclaim and the job is queued again (attempt + 1)
 * until max_attempts, then failed. Every write a worker makes for an attempt is fenced: it names the
 * attempt and is refused (-REEL_ECONFLICT) once the job has moved on to another attempt or state, so a
 * stale worker can never overwrite a newer attempt's progress or output.
 */
#ifndef REEL_QUEUE_QUEUE_H
#define REEL_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"

struct cJSON;
struct reel_queue;

enum reel_job_state {
    REEL_JOB_NONE = 0,
    REEL_JOB_QUEUED,
    REEL_JOB_RUNNING,
    REEL_JOB_SUCCEEDED,
    REEL_JOB_FAILED,
    REEL_JOB_CANCELED,
};
/* "queued", "running", ... ; "" for NONE. parse returns NONE for unknown names. */
const char *reel_job_state_name(enum reel_job_state s);
enum reel_job_state reel_job_state_parse(const char *s);

enum reel_job_priority { REEL_PRIO_NONE = 0, REEL_PRIO_HIGH, REEL_PRIO_NORMAL, REEL_PRIO_LOW };
const char *reel_job_priority_name(enum reel_job_priority p);
enum reel_job_priority reel_job_priority_parse(const char *s); /* NONE when unknown */

struct reel_queue_cfg {
    const char *url;        /* redis://[:password@]host:port[/db]; NULL = redis://127.0.0.1:6379 */
    int timeout_ms;         /* connect and command timeout; 0 = 2000 */
    const char *prefix;     /* key prefix; NULL = "reel" (tests use their own) */
    int64_t lease_ms;       /* a claim's lease; 0 = 30000 */
    int max_attempts;       /* 0 = 3 */
    int64_t retry_base_ms;  /* first retry delay, doubled per attempt; 0 = 2000 */
    int64_t keep_ms;        /* how long finished jobs' status is kept; 0 = 7 days */
    int64_t max_queued;     /* queued jobs at most; 0 = 100000 */
    struct reel_log *log;   /* borrowed; may be NULL */
};

/* Open (connects lazily: an unreachable Redis is not an error here). Returns NULL only on ENOMEM. */
struct reel_queue *reel_queue_create(const struct reel_queue_cfg *cfg);
void reel_queue_destroy(struct reel_queue **q);
/* 0 when Redis answers PING, else -REEL_EUNAVAILABLE. */
int reel_queue_ping(struct reel_queue *q);

/* ---- the status of one job (what GET /v1/jobs/{id} and the webhook carry) ---- */
struct reel_job_status {
    char id[40];
    enum reel_job_state state;
    enum reel_job_priority priority;
    double progress; /* 0..1 */
    int64_t frames_done, frames_total;
    double fps, eta_s;
    int attempt; /* 0 while never claimed */
    char engine[16], encoder[32], worker[128];
    int64_t created_at_ms, started_at_ms, finished_at_ms; /* Unix ms; 0 = not yet */
    double render_time_s;
    struct reel_err error;                 /* code 0 = none */
    char output_path[1024];                /* local path of the published output ("" = none) */
    char poster_path[1024];                /* "" = none */
    char content_type[48];                 /* of the output, e.g. "video/mp4" */
    int64_t output_bytes;
    double output_duration_s;
    int width, height;
    char codec[16];
    double fetch_s, render_s, encode_s;
    char tags[256];         /* comma-separated, as submitted */
    char callback_url[1024];
    char callback_events[128]; /* comma-separated; "" = terminal states */
    bool cancel_requested;
};

/*
 * The status document of SPEC 3 as a new cJSON object (caller deletes). base_url (e.g.
 * "http://host:8080", may be "") prefixes output.url and links. Never returns NULL but on ENOMEM.
 */
struct cJSON *reel_job_status_to_json(const struct reel_job_status *st, const char *base_url);

/* ---- API side ---- */
struct reel_job_submit {
    const char *job_json;       /* the job document, already validated (with merge data applied) */
    enum reel_job_priority priority; /* NONE = normal */
    const char *tags;           /* comma-separated required worker capabilities; NULL = none */
    const char *callback_url;   /* NULL = none */
    const char *callback_events;
    const char *idempotency_key; /* NULL = none; scoped per owner */
    const char *owner;           /* token identity (a hash, never the token), "" without auth */
    int64_t frames_total;
};
/*
 * Enqueue a job. Writes its id (a random 32-hex string) to id_out. With an idempotency key already
 * seen for this owner (24 h), writes that job's id instead and sets *existed.
 * Errors: -REEL_EUNAVAILABLE, -REEL_ELIMIT (queue full: max_queued), -REEL_ENOMEM.
 */
int reel_queue_submit(struct reel_queue *q, const struct reel_job_submit *sub, char id_out[40],
                      bool *existed, struct reel_err *err);
/* Read a job's status. -REEL_ENOT_FOUND when unknown (or expired), -REEL_EUNAVAILABLE. */
int reel_queue_status(struct reel_queue *q, const char *id, struct reel_job_status *st,
                      struct reel_err *err);
/* The job document as submitted (new malloc'd string, caller frees). -REEL_ENOT_FOUND. */
int reel_queue_job_json(struct reel_queue *q, const char *id, char **json_out, struct reel_err *err);
/*
 * Newest first, optionally only one state (NONE = all). cursor: "" or NULL for the first page, else
 * the next_cursor of the previous page. Writes up to limit ids (each 40 bytes) and the next cursor
 * ("" at the end). *count receives how many ids were written.
 */
int reel_queue_list(struct reel_queue *q, enum reel_job_state state, int limit, const char *cursor,
                    char (*ids)[40], int *count, char next_cursor[64], struct reel_err *err);
/*
 * Cancel: a queued job becomes canceled at once (it will never start); a running one gets its
 * cancel flag set (its worker sees it on the next heartbeat, within a second) and becomes canceled
 * when the worker stops. -REEL_ECONFLICT when already finished, -REEL_ENOT_FOUND.
 */
int reel_queue_cancel(struct reel_queue *q, const char *id, struct reel_err *err);
/*
 * Jobs that reached a terminal state outside a worker (canceled while queued) are listed for a
 * worker to deliver their webhooks. Pop one id: 0 with id filled, -REEL_EAGAIN when none.
 */
int reel_queue_hook_pop(struct reel_queue *q, char id[40]);
/* Append lines to / read the job's own log (kept as long as its status). */
int reel_queue_log_append(struct reel_queue *q, const char *id, const char *line);
int reel_queue_log_read(struct reel_queue *q, const char *id, char **text_out, struct reel_err *err);

/* Counts for /metrics and /v1/info: jobs by state and the queue depth. */
struct reel_queue_stats {
    int64_t by_state[REEL_JOB_CANCELED + 1];
    int64_t queued_depth;
};
int reel_queue_stats(struct reel_queue *q, struct reel_queue_stats *out);

/*
 * Cluster-wide render figures kept in Redis for /metrics: every finish adds its render_time_s to a
 * histogram (upper bounds REEL_QUEUE_RENDER_BUCKETS in keys.h, the last one +Inf) and its frames to
 * a counter. buckets receives cumulative counts, nbuckets entries.
 */
int reel_queue_render_metrics(struct reel_queue *q, int64_t *buckets, int nbuckets, double *sum_s,
                              int64_t *count, int64_t *frames);

/*
 * A fixed-window rate limit per owner: take one submission from owner's budget of per_minute.
 * Returns 0 when allowed, -REEL_ERATE_LIMITED with *retry_after_s filled when not.
 */
int reel_queue_rate_take(struct reel_queue *q, const char *owner, int per_minute,
                         int *retry_after_s);

/* Templates: a stored job document with {{...}} fields. get returns a malloc'd string. */
int reel_queue_template_put(struct reel_queue *q, const char *name, const char *json,
                            struct reel_err *err);
int reel_queue_template_get(struct reel_queue *q, const char *name, char **json_out,
                            struct reel_err *err);
int reel_queue_template_delete(struct reel_queue *q, const char *name, struct reel_err *err);
/* Names, sorted; *names_out is a malloc'd array of malloc'd strings (free each, then the array). */
int reel_queue_template_list(struct reel_queue *q, char ***names_out, int *count,
                             struct reel_err *err);

/* ---- worker side ---- */
struct reel_claim {
    char id[40];
    int attempt;      /* 1 for the first run */
    char *job_json;   /* malloc'd; reel_claim_uninit frees it */
    struct reel_job_status status; /* as read at claim time (tags, callback, priority...) */
};
void reel_claim_uninit(struct reel_claim *c);
/*
 * Take the next job this worker can run: highest priority first, oldest first within a priority,
 * only jobs whose tags are all in caps (comma-separated, e.g. "gpu,nvenc"; NULL = none), skipping
 * jobs whose retry delay has not passed. Waits up to block_ms for one. The job becomes running with
 * attempt + 1, worker = worker_id and a lease of cfg.lease_ms.
 * Returns 0 with *c filled, -REEL_EAGAIN when nothing was available, -REEL_EUNAVAILABLE.
 */
int reel_queue_claim(struct reel_queue *q, const char *worker_id, const char *caps, int block_ms,
                     struct reel_claim *c);
/*
 * Renew the lease of (id, attempt). Returns 0, -REEL_ECANCELED when a cancel was requested (the
 * worker must stop), -REEL_ECONFLICT when the attempt is no longer current (stop, publish nothing),
 * -REEL_EUNAVAILABLE.
 */
int reel_queue_heartbeat(struct reel_queue *q, const char *id, int attempt);
/* Progress of (id, attempt), fenced. The caller throttles to at most 4 writes a second. */
int reel_queue_progress(struct reel_queue *q, const char *id, int attempt, double progress,
                        int64_t frames_done, int64_t frames_total, double fps, double eta_s);
/*
 * Terminal transitions, fenced by attempt; each returns -REEL_ECONFLICT when the attempt is stale
 * (the caller then deletes its own files). st carries the fields to record (output_*, engine,
 * encoder, timings, render_time_s; error for fail).
 * - finish: succeeded; the published output is st->output_path. Exactly one attempt can win.
 * - fail: when retryable and attempts remain, back to queued after the backoff (*requeued = true);
 *   else failed with st->error.
 * - canceled: the worker stopped on a cancel request.
 * - release: graceful shutdown: hand the job back to the queue without counting the attempt.
 */
int reel_queue_finish(struct reel_queue *q, const char *id, int attempt,
                      const struct reel_job_status *st);
int reel_queue_fail(struct reel_queue *q, const char *id, int attempt,
                    const struct reel_job_status *st, bool retryable, bool *requeued);
int reel_queue_canceled(struct reel_queue *q, const char *id, int attempt);
int reel_queue_release(struct reel_queue *q, const char *id, int attempt);
/*
 * Find running jobs whose lease ran out and queue them again (or fail them with the last error when
 * no attempts remain). Safe to call from every worker; *reclaimed counts them. Also moves delayed
 * retries whose time has come back into the queue and prunes expired ids from the indexes.
 */
int reel_queue_reclaim(struct reel_queue *q, int *reclaimed);
/* Same, also writing (up to cap) the ids that reclaim moved to a terminal state (failed with no
 * attempts left, or canceled), so the caller can deliver their webhooks. */
int reel_queue_reclaim_ex(struct reel_queue *q, int *reclaimed, char (*finished)[40], int cap,
                          int *nfinished);

#endif
