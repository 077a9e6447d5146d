/*
 * The queue's Redis connection: lazy connect, drop-and-reconnect on any I/O error, scripts by SHA
 * with an EVAL fallback (Redis forgets loaded scripts when it restarts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "queue/internal.h"
#include "queue/keys.h"

void qargs_str(struct qargs *a, const char *s)
{
    if (a->n >= QARGS_MAX)
        return;
    a->v[a->n] = s ? s : "";
    a->len[a->n] = strlen(a->v[a->n]);
    a->n++;
}

void qargs_int(struct qargs *a, long long v)
{
    if (a->n >= QARGS_MAX)
        return;
    snprintf(a->num[a->n], sizeof(a->num[0]), "%lld", v);
    qargs_str(a, a->num[a->n]);
}

void qargs_dbl(struct qargs *a, double v)
{
    if (a->n >= QARGS_MAX)
        return;
    snprintf(a->num[a->n], sizeof(a->num[0]), "%.6f", v);
    qargs_str(a, a->num[a->n]);
}

int64_t q_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool q_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

void q_key_job(const struct reel_queue *q, const char *id, char out[REEL_KEY_CAP])
{
    snprintf(out, REEL_KEY_CAP, REEL_KEY_JOB, q->prefix, id);
}

void q_key_doc(const struct reel_queue *q, const char *id, char out[REEL_KEY_CAP])
{
    snprintf(out, REEL_KEY_CAP, REEL_KEY_JOB_DOC, q->prefix, id);
}

void q_key_log(const struct reel_queue *q, const char *id, char out[REEL_KEY_CAP])
{
    snprintf(out, REEL_KEY_CAP, REEL_KEY_JOB_LOG, q->prefix, id);
}

long long q_reply_ll(const redisReply *r, long long def)
{
    if (!r)
        return def;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING && r->len > 0)
        return strtoll(r->str, NULL, 10);
    return def;
}

/* redis://[:password@]host[:port][/db] (a user name before the colon is ignored: Redis 5 AUTH). */
static int parse_url(struct reel_queue *q, const char *url)
{
    const char *p = url;
    if (!strncmp(p, "redis://", 8))
        p += 8;
    else if (strstr(p, "://"))
        return -1;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        snprintf(q->password, sizeof(q->password), "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(q->host))
        return -1;
    memcpy(q->host, p, hl);
    q->host[hl] = '\0';
    p += hl;
    q->port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535)
            return -1;
        q->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (*end || db < 0)
            return -1;
        q->db = (int)db;
    }
    return 0;
}

static void sha1_hex(const char *s, char out[41])
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t d[20];
    if (!sha || av_sha_init(sha, 160) < 0) {
        out[0] = '\0';
        av_free(sha);
        return;
    }
    av_sha_update(sha, (const uint8_t *)s, strlen(s));
    av_sha_final(sha, d);
    av_free(sha);
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

struct reel_queue *reel_queue_create(const struct reel_queue_cfg *cfg)
{
    struct reel_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    const char *url = cfg && cfg->url && cfg->url[0] ? cfg->url : "redis://127.0.0.1:6379";
    if (parse_url(q, url) < 0) {
        /* Reported on every call as unavailable; the CLI validates URLs before this. */
        REEL_ERROR(cfg ? cfg->log : NULL, "queue: cannot parse Redis URL '%s'", url);
        q->host[0] = '\0';
    }
    q->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    snprintf(q->prefix, sizeof(q->prefix), "%s",
             cfg && cfg->prefix && cfg->prefix[0] ? cfg->prefix : "reel");
    q->lease_ms = cfg && cfg->lease_ms > 0 ? cfg->lease_ms : 30000;
    q->max_attempts = cfg && cfg->max_attempts > 0 ? cfg->max_attempts : 3;
    q->retry_base_ms = cfg && cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 2000;
    q->keep_ms = cfg && cfg->keep_ms > 0 ? cfg->keep_ms : 7LL * 24 * 3600 * 1000;
    q->max_queued = cfg && cfg->max_queued > 0 ? cfg->max_queued : 100000;
    q->log = cfg ? cfg->log : NULL;
    for (int i = 0; i < SCRIPT_COUNT_; i++)
        sha1_hex(reel_queue_scripts[i], q->sha[i]);
    return q;
}

void reel_queue_destroy(struct reel_queue **qp)
{
    if (!qp || !*qp)
        return;
    struct reel_queue *q = *qp;
    if (q->ctx)
        redisFree(q->ctx);
    pthread_mutex_destroy(&q->lock);
    free(q);
    *qp = NULL;
}

static void drop(struct reel_queue *q, const char *why)
{
    if (!q->down_logged)
        REEL_WARN(q->log, "queue: Redis at %s:%d unavailable: %s", q->host, q->port, why);
    q->down_logged = true;
    if (q->ctx)
        redisFree(q->ctx);
    q->ctx = NULL;
}

static redisReply *raw_cmd(struct reel_queue *q, int argc, const char **argv, const size_t *len)
{
    return redisCommandArgv(q->ctx, argc, argv, len);
}

static int connect_now(struct reel_queue *q)
{
    if (q->ctx)
        return 0;
    if (!q->host[0])
        return -REEL_EUNAVAILABLE;
    struct timeval tv = {q->timeout_ms / 1000, (q->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(q->host, q->port, tv);
    if (!c || c->err) {
        char why[160];
        snprintf(why, sizeof(why), "connect: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        drop(q, why);
        return -REEL_EUNAVAILABLE;
    }
    redisSetTimeout(c, tv);
    redisEnableKeepAlive(c);
    q->ctx = c;
    if (q->password[0] || q->db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", q->db);
        const char *auth[] = {"AUTH", q->password};
        const char *sel[] = {"SELECT", db};
        for (int i = 0; i < 2; i++) {
            if ((i == 0 && !q->password[0]) || (i == 1 && !q->db))
                continue;
            const char **argv = i == 0 ? auth : sel;
            redisReply *r = raw_cmd(q, 2, argv, NULL);
            bool bad = !r || r->type == REDIS_REPLY_ERROR;
            char why[160];
            snprintf(why, sizeof(why), "%s: %s", argv[0],
                     !r                             ? q->ctx->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "");
            if (r)
                freeReplyObject(r);
            if (bad) {
                drop(q, why);
                return -REEL_EUNAVAILABLE;
            }
        }
    }
    if (q->down_logged)
        REEL_INFO(q->log, "queue: connected to Redis at %s:%d", q->host, q->port);
    q->down_logged = false;
    return 0;
}

/* Error replies that mean "Redis is not serving right now" rather than a bug. */
static bool transient_error(const char *s)
{
    return !strncmp(s, "LOADING", 7) || !strncmp(s, "BUSY", 4) || !strncmp(s, "MASTERDOWN", 10) ||
           !strncmp(s, "READONLY", 8) || !strncmp(s, "TRYAGAIN", 8) ||
           !strncmp(s, "CLUSTERDOWN", 11);
}

static redisReply *run(struct reel_queue *q, int argc, const char **argv, const size_t *len,
                       int *ret, bool quiet_noscript)
{
    *ret = 0;
    if (connect_now(q) < 0) {
        *ret = -REEL_EUNAVAILABLE;
        return NULL;
    }
    redisReply *r = redisCommandArgv(q->ctx, argc, argv, len);
    if (!r) {
        char why[160];
        snprintf(why, sizeof(why), "%s: %s", argv[0], q->ctx->errstr);
        drop(q, why);
        *ret = -REEL_EUNAVAILABLE;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (quiet_noscript && !strncmp(r->str, "NOSCRIPT", 8)) {
            *ret = -REEL_EAGAIN;
        } else if (transient_error(r->str)) {
            drop(q, r->str);
            *ret = -REEL_EUNAVAILABLE;
        } else {
            REEL_ERROR(q->log, "queue: Redis %s failed: %s", argv[0], r->str);
            *ret = -REEL_EINTERNAL;
        }
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *q_cmd(struct reel_queue *q, const struct qargs *a, int *ret)
{
    return run(q, a->n, (const char **)a->v, a->len, ret, false);
}

redisReply *q_script(struct reel_queue *q, enum script_id id, int nkeys, const char *const *keys,
                     const struct qargs *args, int *ret)
{
    struct qargs a = {0};
    qargs_str(&a, "EVALSHA");
    qargs_str(&a, q->sha[id]);
    qargs_int(&a, nkeys);
    for (int i = 0; i < nkeys; i++)
        qargs_str(&a, keys[i]);
    for (int i = 0; args && i < args->n; i++) {
        if (a.n >= QARGS_MAX) {
            *ret = -REEL_EINTERNAL;
            return NULL;
        }
        a.v[a.n] = args->v[i];
        a.len[a.n] = args->len[i];
        a.n++;
    }
    redisReply *r = run(q, a.n, (const char **)a.v, a.len, ret, true);
    if (!r && *ret == -REEL_EAGAIN) {
        a.v[0] = "EVAL";
        a.len[0] = 4;
        a.v[1] = reel_queue_scripts[id];
        a.len[1] = strlen(reel_queue_scripts[id]);
        r = run(q, a.n, (const char **)a.v, a.len, ret, false);
    }
    return r;
}

int reel_queue_ping(struct reel_queue *q)
{
    struct qargs a = {0};
    int ret;
    qargs_str(&a, "PING");
    pthread_mutex_lock(&q->lock);
    redisReply *r = q_cmd(q, &a, &ret);
    pthread_mutex_unlock(&q->lock);
    if (!r)
        return -REEL_EUNAVAILABLE;
    freeReplyObject(r);
    return 0;
}

/* ---- index helpers ---- */

static void queue_keys(const struct reel_queue *q, char k[6][REEL_KEY_CAP])
{
    snprintf(k[0], REEL_KEY_CAP, REEL_KEY_READY, q->prefix, "high");
    snprintf(k[1], REEL_KEY_CAP, REEL_KEY_READY, q->prefix, "normal");
    snprintf(k[2], REEL_KEY_CAP, REEL_KEY_READY, q->prefix, "low");
    snprintf(k[3], REEL_KEY_CAP, REEL_KEY_DELAYED, q->prefix);
    snprintf(k[4], REEL_KEY_CAP, REEL_KEY_RUNNING, q->prefix);
    snprintf(k[5], REEL_KEY_CAP, REEL_KEY_META, q->prefix);
}

void q_queue_keys(const struct reel_queue *q, char k[6][REEL_KEY_CAP])
{
    queue_keys(q, k);
}

static int run_index_script(struct reel_queue *q, enum script_id sid, const struct qargs *args)
{
    char k[6][REEL_KEY_CAP];
    const char *keys[6];
    queue_keys(q, k);
    for (int i = 0; i < 6; i++)
        keys[i] = k[i];
    int ret;
    redisReply *r = q_script(q, sid, 6, keys, args, &ret);
    if (r)
        freeReplyObject(r);
    return ret;
}

int q_requeue(struct reel_queue *q, const char *id, int64_t due_ms)
{
    struct qargs a = {0};
    qargs_str(&a, id);
    qargs_int(&a, due_ms);
    return run_index_script(q, SCRIPT_REQUEUE, &a);
}

int q_drop(struct reel_queue *q, const char *id)
{
    struct qargs a = {0};
    qargs_str(&a, id);
    return run_index_script(q, SCRIPT_DROP, &a);
}

int q_index_state(struct reel_queue *q, const char *id, int64_t created_ms,
                  enum reel_job_state state)
{
    char k[5][REEL_KEY_CAP];
    const char *keys[5];
    for (int i = 0; i < 5; i++) {
        snprintf(k[i], REEL_KEY_CAP, REEL_KEY_INDEX, q->prefix,
                 reel_job_state_name((enum reel_job_state)(REEL_JOB_QUEUED + i)));
        keys[i] = k[i];
    }
    struct qargs a = {0};
    qargs_str(&a, id);
    qargs_int(&a, created_ms);
    qargs_int(&a, (int)state - REEL_JOB_QUEUED + 1);
    int ret;
    redisReply *r = q_script(q, SCRIPT_INDEX, 5, keys, &a, &ret);
    if (r)
        freeReplyObject(r);
    return ret;
}

int q_pipeline(struct reel_queue *q, const struct qargs *cmds, int n, redisReply **replies)
{
    if (connect_now(q) < 0)
        return -REEL_EUNAVAILABLE;
    for (int i = 0; i < n; i++)
        if (redisAppendCommandArgv(q->ctx, cmds[i].n, (const char **)cmds[i].v, cmds[i].len) !=
            REDIS_OK) {
            drop(q, "pipeline: out of memory");
            return -REEL_EUNAVAILABLE;
        }
    int ret = 0;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(q->ctx, &r) != REDIS_OK || !r) {
            char why[160];
            snprintf(why, sizeof(why), "pipeline: %s", q->ctx ? q->ctx->errstr : "");
            drop(q, why);
            for (int j = i; replies && j < n; j++)
                replies[j] = NULL;
            return -REEL_EUNAVAILABLE;
        }
        redisReply *rr = r;
        if (rr->type == REDIS_REPLY_ERROR && ret == 0) {
            if (transient_error(rr->str)) {
                ret = -REEL_EUNAVAILABLE;
            } else {
                REEL_ERROR(q->log, "queue: Redis %s failed: %s", cmds[i].v[0], rr->str);
                ret = -REEL_EINTERNAL;
            }
        }
        if (replies)
            replies[i] = rr;
        else
            freeReplyObject(rr);
    }
    return ret;
}

int q_index_drop(struct reel_queue *q, const char *key, const char *id)
{
    struct qargs z = {0};
    qargs_str(&z, "ZREM");
    qargs_str(&z, key);
    qargs_str(&z, id);
    int ret = 0;
    redisReply *r = q_cmd(q, &z, &ret);
    if (r)
        freeReplyObject(r);
    return ret;
}
