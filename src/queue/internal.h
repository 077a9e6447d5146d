/*
 * Pieces of the queue module shared between its files: the connection (conn.c) and the Lua
 * scripts (scripts.c). Not part of the module's interface.
 */
#ifndef REEL_QUEUE_INTERNAL_H
#define REEL_QUEUE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "queue/queue.h"

enum script_id {
    SCRIPT_CLAIM,     /* {q}: promote due retries, pick and lease the next matching id */
    SCRIPT_START,     /* job: queued -> running, attempt + 1 */
    SCRIPT_HEARTBEAT, /* job: renew the lease of (attempt) */
    SCRIPT_PROGRESS,  /* job: progress of (attempt) */
    SCRIPT_FINISH,    /* job: running(attempt) -> succeeded */
    SCRIPT_FAIL,      /* job: running(attempt) -> queued (retry) | failed */
    SCRIPT_CANCELED,  /* job: running(attempt) -> canceled */
    SCRIPT_RELEASE,   /* job: running(attempt) -> queued, attempt not counted */
    SCRIPT_CANCEL,    /* job: queued -> canceled, running -> cancel flag */
    SCRIPT_EXPIRE,    /* job: a running job whose lease ran out -> queued | failed | canceled */
    SCRIPT_REQUEUE,   /* {q}: put an id back into its ready set or the delayed set */
    SCRIPT_DROP,      /* {q}: remove an id from the ready, delayed and running sets and meta */
    SCRIPT_INDEX,     /* {q}: move an id to the per-state index of its new state */
    SCRIPT_COUNT_,
};

extern const char *const reel_queue_scripts[SCRIPT_COUNT_];

struct reel_queue {
    pthread_mutex_t lock;
    redisContext *ctx; /* NULL while disconnected */
    char host[256];
    int port;
    char password[256];
    int db;
    int timeout_ms;
    char prefix[64];
    int64_t lease_ms, retry_base_ms, keep_ms, max_queued;
    int max_attempts;
    struct reel_log *log;
    char sha[SCRIPT_COUNT_][41];
    bool down_logged;
};

/* An argument vector for redisCommandArgv; strings are borrowed, numbers formatted in place. */
#define QARGS_MAX 96
struct qargs {
    int n;
    const char *v[QARGS_MAX];
    size_t len[QARGS_MAX];
    char num[QARGS_MAX][32];
};
void qargs_str(struct qargs *a, const char *s);
void qargs_int(struct qargs *a, long long v);
void qargs_dbl(struct qargs *a, double v);

/*
 * Run one command; the lock must be held. Connects first when disconnected. Returns the reply
 * (caller frees) or NULL with *ret = -REEL_EUNAVAILABLE (no connection; the context is dropped so
 * the next call reconnects) or -REEL_EINTERNAL (an error reply, logged).
 */
redisReply *q_cmd(struct reel_queue *q, const struct qargs *a, int *ret);
/* Remove id from the sorted set key (an index entry whose job hash has expired). Lock held.
 * Returns 0, or q_cmd's error (-REEL_EUNAVAILABLE, -REEL_EINTERNAL). */
int q_index_drop(struct reel_queue *q, const char *key, const char *id);
/* Run a script by SHA, falling back to EVAL when Redis lost its script cache. Lock held. */
redisReply *q_script(struct reel_queue *q, enum script_id id, int nkeys, const char *const *keys,
                     const struct qargs *args, int *ret);

/*
 * Send n commands at once and read every reply (lock held). replies (may be NULL) receives each
 * reply for the caller to free. Returns 0, -REEL_EUNAVAILABLE or -REEL_EINTERNAL (an error reply).
 */
int q_pipeline(struct reel_queue *q, const struct qargs *cmds, int n, redisReply **replies);

/* Key builders; buffers of REEL_KEY_CAP bytes. */
#define REEL_KEY_CAP 192
void q_key_job(const struct reel_queue *q, const char *id, char out[REEL_KEY_CAP]);
void q_key_doc(const struct reel_queue *q, const char *id, char out[REEL_KEY_CAP]);
void q_key_log(const struct reel_queue *q, const char *id, char out[REEL_KEY_CAP]);

/* The six {q} keys the claim/requeue/drop scripts take: ready high, normal, low, delayed,
 * running, meta. */
void q_queue_keys(const struct reel_queue *q, char k[6][REEL_KEY_CAP]);

/* True for the ids this queue hands out (1..39 of [0-9a-f]); other strings are never looked up. */
bool q_id_valid(const char *id);
int64_t q_now_ms(void);

/* Index helpers (lock held): move id to the index of state; put it back in the queue (due = 0
 * now, else the Redis-time ms it becomes claimable); drop it from the queue sets. */
int q_index_state(struct reel_queue *q, const char *id, int64_t created_ms,
                  enum reel_job_state state);
int q_requeue(struct reel_queue *q, const char *id, int64_t due_ms);
int q_drop(struct reel_queue *q, const char *id);

/* HGETALL of the job into *st (lock held). -REEL_ENOT_FOUND when the job is unknown. */
int q_read_status(struct reel_queue *q, const char *id, struct reel_job_status *st);

/* Integer / double of a reply element (string or integer), def when missing. */
long long q_reply_ll(const redisReply *r, long long def);

#endif
