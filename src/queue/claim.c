/*
 * The worker side of the queue: claim with a lease, heartbeat, fenced progress and terminal
 * transitions, hand-back, and the reclaim of expired leases.
 *
 * Each transition is two steps. First a per-job script changes the job's hash, checking the
 * attempt atomically (the fence; the job's hash is the truth). Then an index script on the "{q}"
 * keys moves the id between the ready, delayed and running sets. A crash between the two leaves
 * an index entry that disagrees with the hash; reel_queue_reclaim repairs it from the hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue/internal.h"
#include "queue/keys.h"

void reel_claim_uninit(struct reel_claim *c)
{
    if (!c)
        return;
    free(c->job_json);
    c->job_json = NULL;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void job_keys(const struct reel_queue *q, const char *id, char k[3][REEL_KEY_CAP],
                     const char *keys[3])
{
    q_key_job(q, id, k[0]);
    q_key_doc(q, id, k[1]);
    q_key_log(q, id, k[2]);
    for (int i = 0; i < 3; i++)
        keys[i] = k[i];
}

/* Normalised caps: tags compared as exact words. */
static void norm_caps(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = in ? in : ""; *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (!n || o + n + 2 > cap)
            break;
        if (o)
            out[o++] = ',';
        memcpy(out + o, p, n);
        o += n;
        out[o] = '\0';
        p += n;
    }
}

/* One claim try, lock held. 0 claimed, -REEL_EAGAIN nothing claimable, other negatives. */
static int claim_once(struct reel_queue *q, const char *worker_id, const char *caps,
                      struct reel_claim *c)
{
    char kq[6][REEL_KEY_CAP];
    const char *qkeys[6];
    int ret;
    q_queue_keys(q, kq);
    for (int i = 0; i < 6; i++)
        qkeys[i] = kq[i];
    for (int tries = 0; tries < 32; tries++) {
        struct qargs a = {0};
        qargs_str(&a, caps);
        qargs_int(&a, q->lease_ms);
        qargs_int(&a, 200);
        redisReply *r = q_script(q, SCRIPT_CLAIM, 6, qkeys, &a, &ret);
        if (!r)
            return ret;
        if (r->type != REDIS_REPLY_STRING || !q_id_valid(r->str)) {
            freeReplyObject(r);
            return -REEL_EAGAIN;
        }
        char id[40];
        snprintf(id, sizeof(id), "%s", r->str);
        freeReplyObject(r);

        char k[3][REEL_KEY_CAP];
        const char *keys[3];
        job_keys(q, id, k, keys);
        struct qargs s = {0};
        qargs_str(&s, worker_id);
        qargs_int(&s, q->lease_ms);
        r = q_script(q, SCRIPT_START, 1, keys, &s, &ret);
        if (!r)
            return ret; /* the id stays in running; reclaim puts it back (its hash is queued) */
        long long attempt =
            r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? q_reply_ll(r->element[0], 0) : 0;
        long long created = attempt > 0 ? q_reply_ll(r->element[1], 0) : 0;
        bool running_elsewhere = attempt == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                                 r->element[1]->str && !strcmp(r->element[1]->str, "running");
        freeReplyObject(r);
        if (attempt <= 0) {
            /* Canceled, finished or expired while queued: never starts. */
            if (!running_elsewhere)
                q_drop(q, id);
            continue;
        }
        q_index_state(q, id, created, REEL_JOB_RUNNING);

        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", id);
        c->attempt = (int)attempt;
        struct qargs g = {0};
        qargs_str(&g, "GET");
        qargs_str(&g, k[1]);
        r = q_cmd(q, &g, &ret);
        if (!r) {
            /* Redis went away mid-claim: the job stays running under a lease nobody renews, so
             * reclaim queues it again once Redis is back and the lease has run out. */
            return ret;
        }
        if (r->type == REDIS_REPLY_STRING)
            c->job_json = strndup(r->str, r->len);
        else
            c->job_json = strdup(""); /* the document expired: the worker fails the job */
        freeReplyObject(r);
        int rs = q_read_status(q, id, &c->status);
        if (rs == -REEL_EUNAVAILABLE) {
            reel_claim_uninit(c);
            return rs;
        }
        if (rs < 0) {
            memset(&c->status, 0, sizeof(c->status));
            snprintf(c->status.id, sizeof(c->status.id), "%s", id);
            c->status.state = REEL_JOB_RUNNING;
            c->status.attempt = c->attempt;
        }
        if (!c->job_json) {
            /* Out of memory: give the attempt back rather than lose the job. */
            reel_claim_uninit(c);
            return -REEL_ENOMEM;
        }
        REEL_DEBUG(q->log, "queue: job %s claimed by %s (attempt %d)", id, worker_id, c->attempt);
        return 0;
    }
    return -REEL_EAGAIN;
}

int reel_queue_claim(struct reel_queue *q, const char *worker_id, const char *caps, int block_ms,
                     struct reel_claim *c)
{
    char ncaps[512];
    norm_caps(caps, ncaps, sizeof(ncaps));
    int64_t deadline = q_now_ms() + (block_ms > 0 ? block_ms : 0);
    for (;;) {
        pthread_mutex_lock(&q->lock);
        int ret = claim_once(q, worker_id ? worker_id : "", ncaps, c);
        pthread_mutex_unlock(&q->lock);
        if (ret != -REEL_EAGAIN)
            return ret;
        int64_t left = deadline - q_now_ms();
        if (left <= 0)
            return -REEL_EAGAIN;
        sleep_ms(left < 100 ? left : 100);
    }
}

/* Run a per-job script; returns the first element of its array reply (or INT64_MIN on error,
 * with *ret set) and copies the reply's 2nd and 3rd elements as integers. */
static long long job_script(struct reel_queue *q, enum script_id sid, const char *id, int nkeys,
                            const struct qargs *args, long long *e1, long long *e2, int *ret)
{
    char k[3][REEL_KEY_CAP];
    const char *keys[3];
    job_keys(q, id, k, keys);
    redisReply *r = q_script(q, sid, nkeys, keys, args, ret);
    if (!r)
        return INT64_MIN;
    long long v = INT64_MIN;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        v = q_reply_ll(r->element[0], 0);
        if (e1)
            *e1 = r->elements > 1 ? q_reply_ll(r->element[1], 0) : 0;
        if (e2)
            *e2 = r->elements > 2 ? q_reply_ll(r->element[2], 0) : 0;
    } else {
        *ret = -REEL_EINTERNAL;
    }
    freeReplyObject(r);
    return v;
}

int reel_queue_heartbeat(struct reel_queue *q, const char *id, int attempt)
{
    struct qargs a = {0};
    qargs_int(&a, attempt);
    qargs_int(&a, q->lease_ms);
    int ret = 0;
    pthread_mutex_lock(&q->lock);
    long long v = job_script(q, SCRIPT_HEARTBEAT, id, 1, &a, NULL, NULL, &ret);
    pthread_mutex_unlock(&q->lock);
    if (v == INT64_MIN)
        return ret;
    return v == 1 ? 0 : v == 2 ? -REEL_ECANCELED : -REEL_ECONFLICT;
}

int reel_queue_progress(struct reel_queue *q, const char *id, int attempt, double progress,
                        int64_t frames_done, int64_t frames_total, double fps, double eta_s)
{
    struct qargs a = {0};
    qargs_int(&a, attempt);
    qargs_dbl(&a, progress);
    qargs_int(&a, frames_done);
    qargs_int(&a, frames_total);
    qargs_dbl(&a, fps);
    qargs_dbl(&a, eta_s);
    int ret = 0;
    pthread_mutex_lock(&q->lock);
    long long v = job_script(q, SCRIPT_PROGRESS, id, 1, &a, NULL, NULL, &ret);
    pthread_mutex_unlock(&q->lock);
    if (v == INT64_MIN)
        return ret;
    return v == 1 ? 0 : -REEL_ECONFLICT;
}

/* The result fields a worker records at the end of an attempt. */
static void result_fields(struct qargs *a, const struct reel_job_status *st)
{
    qargs_str(a, REEL_F_ENGINE);
    qargs_str(a, st->engine);
    qargs_str(a, REEL_F_ENCODER);
    qargs_str(a, st->encoder);
    qargs_str(a, REEL_F_RENDER_TIME_S);
    qargs_dbl(a, st->render_time_s);
    qargs_str(a, REEL_F_FETCH_S);
    qargs_dbl(a, st->fetch_s);
    qargs_str(a, REEL_F_RENDER_S);
    qargs_dbl(a, st->render_s);
    qargs_str(a, REEL_F_ENCODE_S);
    qargs_dbl(a, st->encode_s);
    qargs_str(a, REEL_F_FRAMES_DONE);
    qargs_int(a, st->frames_done);
    if (st->frames_total > 0) {
        qargs_str(a, REEL_F_FRAMES_TOTAL);
        qargs_int(a, st->frames_total);
    }
}

static void add_metrics(struct reel_queue *q, double render_s, int64_t frames)
{
    static const double bounds[] = REEL_QUEUE_RENDER_BUCKETS;
    char key[REEL_KEY_CAP];
    snprintf(key, sizeof(key), REEL_KEY_METRICS, q->prefix);
    struct qargs c[REEL_QUEUE_RENDER_NBUCKETS + 3] = {0};
    char fields[REEL_QUEUE_RENDER_NBUCKETS][16];
    int n = 0;
    for (int i = 0; i < REEL_QUEUE_RENDER_NBUCKETS; i++) {
        bool in = i == REEL_QUEUE_RENDER_NBUCKETS - 1 || render_s <= bounds[i];
        if (!in)
            continue;
        snprintf(fields[i], sizeof(fields[i]), REEL_MF_BUCKET, i);
        qargs_str(&c[n], "HINCRBY");
        qargs_str(&c[n], key);
        qargs_str(&c[n], fields[i]);
        qargs_int(&c[n++], 1);
    }
    qargs_str(&c[n], "HINCRBYFLOAT");
    qargs_str(&c[n], key);
    qargs_str(&c[n], REEL_MF_SUM);
    qargs_dbl(&c[n++], render_s);
    qargs_str(&c[n], "HINCRBY");
    qargs_str(&c[n], key);
    qargs_str(&c[n], REEL_MF_COUNT);
    qargs_int(&c[n++], 1);
    qargs_str(&c[n], "HINCRBY");
    qargs_str(&c[n], key);
    qargs_str(&c[n], REEL_MF_FRAMES);
    qargs_int(&c[n++], frames);
    q_pipeline(q, c, n, NULL);
}

int reel_queue_finish(struct reel_queue *q, const char *id, int attempt,
                      const struct reel_job_status *st)
{
    struct qargs a = {0};
    qargs_int(&a, attempt);
    qargs_int(&a, q->keep_ms);
    result_fields(&a, st);
    qargs_str(&a, REEL_F_OUTPUT_PATH);
    qargs_str(&a, st->output_path);
    qargs_str(&a, REEL_F_POSTER_PATH);
    qargs_str(&a, st->poster_path);
    qargs_str(&a, REEL_F_CONTENT_TYPE);
    qargs_str(&a, st->content_type);
    qargs_str(&a, REEL_F_OUTPUT_BYTES);
    qargs_int(&a, st->output_bytes);
    qargs_str(&a, REEL_F_OUTPUT_DURATION_S);
    qargs_dbl(&a, st->output_duration_s);
    qargs_str(&a, REEL_F_WIDTH);
    qargs_int(&a, st->width);
    qargs_str(&a, REEL_F_HEIGHT);
    qargs_int(&a, st->height);
    qargs_str(&a, REEL_F_CODEC);
    qargs_str(&a, st->codec);
    int ret = 0;
    long long created = 0;
    pthread_mutex_lock(&q->lock);
    long long v = job_script(q, SCRIPT_FINISH, id, 3, &a, &created, NULL, &ret);
    if (v == 1) {
        q_drop(q, id);
        q_index_state(q, id, created, REEL_JOB_SUCCEEDED);
        add_metrics(q, st->render_time_s, st->frames_done);
    }
    pthread_mutex_unlock(&q->lock);
    if (v == INT64_MIN)
        return ret;
    if (v == -2)
        return -REEL_ECANCELED;
    if (v != 1) {
        REEL_WARN(q->log, "queue: job %s attempt %d is stale: its output is not published", id,
                  attempt);
        return -REEL_ECONFLICT;
    }
    return 0;
}

int reel_queue_fail(struct reel_queue *q, const char *id, int attempt,
                    const struct reel_job_status *st, bool retryable, bool *requeued)
{
    struct qargs a = {0};
    if (requeued)
        *requeued = false;
    qargs_int(&a, attempt);
    qargs_int(&a, q->keep_ms);
    qargs_int(&a, retryable ? 1 : 0);
    qargs_int(&a, q->max_attempts);
    qargs_int(&a, q->retry_base_ms);
    qargs_str(&a, REEL_F_ERROR_CODE);
    qargs_str(&a, reel_err_code_str(st->error.code ? st->error.code : REEL_EINTERNAL));
    qargs_str(&a, REEL_F_ERROR_MESSAGE);
    qargs_str(&a, st->error.msg);
    qargs_str(&a, REEL_F_ERROR_PATH);
    qargs_str(&a, st->error.path);
    result_fields(&a, st);
    int ret = 0;
    long long due = 0, created = 0;
    pthread_mutex_lock(&q->lock);
    long long v = job_script(q, SCRIPT_FAIL, id, 3, &a, &due, &created, &ret);
    if (v == 1) {
        q_requeue(q, id, due);
        q_index_state(q, id, created, REEL_JOB_QUEUED);
    } else if (v == 2) {
        q_drop(q, id);
        q_index_state(q, id, created, REEL_JOB_FAILED);
    }
    pthread_mutex_unlock(&q->lock);
    if (v == INT64_MIN)
        return ret;
    if (v == -1)
        return -REEL_ECONFLICT;
    if (requeued)
        *requeued = v == 1;
    return 0;
}

int reel_queue_canceled(struct reel_queue *q, const char *id, int attempt)
{
    struct qargs a = {0};
    qargs_int(&a, attempt);
    qargs_int(&a, q->keep_ms);
    int ret = 0;
    long long created = 0;
    pthread_mutex_lock(&q->lock);
    long long v = job_script(q, SCRIPT_CANCELED, id, 3, &a, &created, NULL, &ret);
    if (v == 1) {
        q_drop(q, id);
        q_index_state(q, id, created, REEL_JOB_CANCELED);
    }
    pthread_mutex_unlock(&q->lock);
    if (v == INT64_MIN)
        return ret;
    return v == 1 ? 0 : -REEL_ECONFLICT;
}

int reel_queue_release(struct reel_queue *q, const char *id, int attempt)
{
    struct qargs a = {0};
    qargs_int(&a, attempt);
    int ret = 0;
    long long created = 0;
    pthread_mutex_lock(&q->lock);
    long long v = job_script(q, SCRIPT_RELEASE, id, 1, &a, &created, NULL, &ret);
    if (v == 1) {
        q_requeue(q, id, 0);
        q_index_state(q, id, created, REEL_JOB_QUEUED);
    }
    pthread_mutex_unlock(&q->lock);
    if (v == -2) /* a cancel arrived meanwhile: the job ends canceled instead */
        return reel_queue_canceled(q, id, attempt);
    if (v == INT64_MIN)
        return ret;
    return v == 1 ? 0 : -REEL_ECONFLICT;
}

static redisReply *range(struct reel_queue *q, const char *key, long long max, int *ret)
{
    struct qargs a = {0};
    qargs_str(&a, "ZRANGEBYSCORE");
    qargs_str(&a, key);
    qargs_str(&a, "-inf");
    qargs_int(&a, max);
    qargs_str(&a, "LIMIT");
    qargs_int(&a, 0);
    qargs_int(&a, 100);
    return q_cmd(q, &a, ret);
}

static int64_t redis_now_ms(struct reel_queue *q, int *ret)
{
    struct qargs a = {0};
    qargs_str(&a, "TIME");
    redisReply *r = q_cmd(q, &a, ret);
    if (!r)
        return 0;
    int64_t t = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        t = q_reply_ll(r->element[0], 0) * 1000 + q_reply_ll(r->element[1], 0) / 1000;
    freeReplyObject(r);
    return t;
}

int reel_queue_reclaim_ex(struct reel_queue *q, int *reclaimed, char (*finished)[40], int cap,
                          int *nfinished)
{
    char kq[6][REEL_KEY_CAP];
    int ret = 0, n = 0, nf = 0;
    q_queue_keys(q, kq);
    pthread_mutex_lock(&q->lock);
    int64_t now = redis_now_ms(q, &ret);
    redisReply *r = ret < 0 ? NULL : range(q, kq[4], now, &ret);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *id = r->element[i]->str;
        if (!q_id_valid(id))
            continue;
        struct qargs a = {0};
        qargs_str(&a, "");
        qargs_int(&a, q->keep_ms);
        qargs_int(&a, q->max_attempts);
        qargs_int(&a, q->retry_base_ms);
        long long e1 = 0, e2 = 0;
        long long v = job_script(q, SCRIPT_EXPIRE, id, 3, &a, &e1, &e2, &ret);
        if (v == INT64_MIN)
            break;
        if (v == 0) {
            q_drop(q, id);
        } else if (v == 1) {
            q_requeue(q, id, e1);
            q_index_state(q, id, e2, REEL_JOB_QUEUED);
            REEL_WARN(q->log, "queue: job %s lost its worker (lease expired); queued again", id);
            n++;
        } else if (v == 2) {
            struct qargs z = {0};
            qargs_str(&z, "ZADD");
            qargs_str(&z, kq[4]);
            qargs_str(&z, "XX");
            qargs_int(&z, e1);
            qargs_str(&z, id);
            redisReply *zr = q_cmd(q, &z, &ret);
            if (zr)
                freeReplyObject(zr);
        } else if (v == 3 || v == 4) {
            q_drop(q, id);
            q_index_state(q, id, e1, v == 3 ? REEL_JOB_FAILED : REEL_JOB_CANCELED);
            REEL_WARN(q->log, "queue: job %s lost its worker (lease expired) and is now %s", id,
                      v == 3 ? "failed: no attempts left" : "canceled");
            if (finished && nf < cap)
                snprintf(finished[nf++], 40, "%s", id);
            n++;
        }
    }
    if (r)
        freeReplyObject(r);

    /* Retries whose backoff has passed (the claim script does this too, for its own caps). */
    if (ret == 0 && (r = range(q, kq[3], now, &ret))) {
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
            if (q_id_valid(r->element[i]->str))
                q_requeue(q, r->element[i]->str, 0);
        freeReplyObject(r);
    }

    /* Index entries of jobs whose keys expired. */
    static const char *const pruned[] = {"succeeded", "failed", "canceled", "all"};
    for (size_t s = 0; ret == 0 && s < sizeof(pruned) / sizeof(pruned[0]); s++) {
        char key[REEL_KEY_CAP];
        snprintf(key, sizeof(key), REEL_KEY_INDEX, q->prefix, pruned[s]);
        if (!(r = range(q, key, q_now_ms() - q->keep_ms, &ret)))
            break;
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            const char *id = r->element[i]->str;
            if (!q_id_valid(id))
                continue;
            char jk[REEL_KEY_CAP];
            q_key_job(q, id, jk);
            struct qargs e = {0};
            qargs_str(&e, "EXISTS");
            qargs_str(&e, jk);
            redisReply *er = q_cmd(q, &e, &ret);
            bool gone = er && q_reply_ll(er, 1) == 0;
            if (er)
                freeReplyObject(er);
            int dret = gone ? q_index_drop(q, key, id) : 0;
            if (dret < 0)
                ret = dret;
        }
        freeReplyObject(r);
    }
    pthread_mutex_unlock(&q->lock);
    if (reclaimed)
        *reclaimed = n;
    if (nfinished)
        *nfinished = nf;
    return ret;
}

int reel_queue_reclaim(struct reel_queue *q, int *reclaimed)
{
    return reel_queue_reclaim_ex(q, reclaimed, NULL, 0, NULL);
}
