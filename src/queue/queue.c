/*
 * The API side of the queue: submit, status, list, cancel, job logs, counts, templates and the
 * submission rate limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "queue/internal.h"
#include "queue/keys.h"

static const char *const state_names[] = {"",          "queued", "running",
                                          "succeeded", "failed", "canceled"};
static const char *const prio_names[] = {"", "high", "normal", "low"};

const char *reel_job_state_name(enum reel_job_state s)
{
    return (unsigned)s <= REEL_JOB_CANCELED ? state_names[s] : "";
}

enum reel_job_state reel_job_state_parse(const char *s)
{
    for (int i = REEL_JOB_QUEUED; s && i <= REEL_JOB_CANCELED; i++)
        if (!strcmp(s, state_names[i]))
            return (enum reel_job_state)i;
    return REEL_JOB_NONE;
}

const char *reel_job_priority_name(enum reel_job_priority p)
{
    return (unsigned)p <= REEL_PRIO_LOW ? prio_names[p] : "";
}

enum reel_job_priority reel_job_priority_parse(const char *s)
{
    for (int i = REEL_PRIO_HIGH; s && i <= REEL_PRIO_LOW; i++)
        if (!strcmp(s, prio_names[i]))
            return (enum reel_job_priority)i;
    return REEL_PRIO_NONE;
}

static void cpy(char *dst, size_t cap, const redisReply *v)
{
    snprintf(dst, cap, "%.*s", (int)v->len, v->str ? v->str : "");
}

static void fill_status(struct reel_job_status *st, const char *id, const redisReply *r)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", id);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str;
        const redisReply *v = r->element[i + 1];
        const char *s = v->str ? v->str : "";
        if (!f)
            continue;
        if (!strcmp(f, REEL_F_STATE))
            st->state = reel_job_state_parse(s);
        else if (!strcmp(f, REEL_F_PRIORITY))
            st->priority = reel_job_priority_parse(s);
        else if (!strcmp(f, REEL_F_PROGRESS))
            st->progress = atof(s);
        else if (!strcmp(f, REEL_F_FRAMES_DONE))
            st->frames_done = atoll(s);
        else if (!strcmp(f, REEL_F_FRAMES_TOTAL))
            st->frames_total = atoll(s);
        else if (!strcmp(f, REEL_F_FPS))
            st->fps = atof(s);
        else if (!strcmp(f, REEL_F_ETA_S))
            st->eta_s = atof(s);
        else if (!strcmp(f, REEL_F_ATTEMPT))
            st->attempt = atoi(s);
        else if (!strcmp(f, REEL_F_ENGINE))
            cpy(st->engine, sizeof(st->engine), v);
        else if (!strcmp(f, REEL_F_ENCODER))
            cpy(st->encoder, sizeof(st->encoder), v);
        else if (!strcmp(f, REEL_F_WORKER))
            cpy(st->worker, sizeof(st->worker), v);
        else if (!strcmp(f, REEL_F_CREATED_AT))
            st->created_at_ms = atoll(s);
        else if (!strcmp(f, REEL_F_STARTED_AT))
            st->started_at_ms = atoll(s);
        else if (!strcmp(f, REEL_F_FINISHED_AT))
            st->finished_at_ms = atoll(s);
        else if (!strcmp(f, REEL_F_RENDER_TIME_S))
            st->render_time_s = atof(s);
        else if (!strcmp(f, REEL_F_ERROR_CODE))
            st->error.code = s[0] ? reel_err_from_code_str(s) : 0;
        else if (!strcmp(f, REEL_F_ERROR_MESSAGE))
            cpy(st->error.msg, sizeof(st->error.msg), v);
        else if (!strcmp(f, REEL_F_ERROR_PATH))
            cpy(st->error.path, sizeof(st->error.path), v);
        else if (!strcmp(f, REEL_F_OUTPUT_PATH))
            cpy(st->output_path, sizeof(st->output_path), v);
        else if (!strcmp(f, REEL_F_POSTER_PATH))
            cpy(st->poster_path, sizeof(st->poster_path), v);
        else if (!strcmp(f, REEL_F_CONTENT_TYPE))
            cpy(st->content_type, sizeof(st->content_type), v);
        else if (!strcmp(f, REEL_F_OUTPUT_BYTES))
            st->output_bytes = atoll(s);
        else if (!strcmp(f, REEL_F_OUTPUT_DURATION_S))
            st->output_duration_s = atof(s);
        else if (!strcmp(f, REEL_F_WIDTH))
            st->width = atoi(s);
        else if (!strcmp(f, REEL_F_HEIGHT))
            st->height = atoi(s);
        else if (!strcmp(f, REEL_F_CODEC))
            cpy(st->codec, sizeof(st->codec), v);
        else if (!strcmp(f, REEL_F_FETCH_S))
            st->fetch_s = atof(s);
        else if (!strcmp(f, REEL_F_RENDER_S))
            st->render_s = atof(s);
        else if (!strcmp(f, REEL_F_ENCODE_S))
            st->encode_s = atof(s);
        else if (!strcmp(f, REEL_F_TAGS))
            cpy(st->tags, sizeof(st->tags), v);
        else if (!strcmp(f, REEL_F_CALLBACK_URL))
            cpy(st->callback_url, sizeof(st->callback_url), v);
        else if (!strcmp(f, REEL_F_CALLBACK_EVENTS))
            cpy(st->callback_events, sizeof(st->callback_events), v);
        else if (!strcmp(f, REEL_F_CANCEL))
            st->cancel_requested = !strcmp(s, "1");
    }
    /* An error code the table does not know still reads as an error. */
    if (!st->error.code && st->error.msg[0] && st->state == REEL_JOB_FAILED)
        st->error.code = REEL_EINTERNAL;
}

int q_read_status(struct reel_queue *q, const char *id, struct reel_job_status *st)
{
    char key[REEL_KEY_CAP];
    struct qargs a = {0};
    int ret;
    q_key_job(q, id, key);
    qargs_str(&a, "HGETALL");
    qargs_str(&a, key);
    redisReply *r = q_cmd(q, &a, &ret);
    if (!r)
        return ret;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        freeReplyObject(r);
        return -REEL_ENOT_FOUND;
    }
    fill_status(st, id, r);
    freeReplyObject(r);
    return st->state == REEL_JOB_NONE ? -REEL_ENOT_FOUND : 0;
}

static int unavailable(struct reel_err *err)
{
    return reel_err_set(err, REEL_EUNAVAILABLE, NULL, "the job store (Redis) is unreachable");
}

static int fail_ret(int ret, struct reel_err *err, const char *what)
{
    if (ret == -REEL_EUNAVAILABLE)
        return unavailable(err);
    return reel_err_set(err, -ret, NULL, "%s failed (%s)", what, reel_err_default_msg(ret));
}

static int random_id(char out[40])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n <= 0)
            return -REEL_EINTERNAL;
        got += (size_t)n;
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static void sha256_hex(const char *a, const char *b, char out[65])
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t d[32];
    if (!sha || av_sha_init(sha, 256) < 0) {
        av_free(sha);
        snprintf(out, 65, "x");
        return;
    }
    av_sha_update(sha, (const uint8_t *)a, strlen(a));
    av_sha_update(sha, (const uint8_t *)"\n", 1);
    av_sha_update(sha, (const uint8_t *)b, strlen(b));
    av_sha_final(sha, d);
    av_free(sha);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* "gpu, nvenc" -> "gpu,nvenc": tags compared as exact words by the claim script. */
static void normalize_tags(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = in ? in : ""; *p && o + 1 < cap;) {
        p += strspn(p, " ,\t|");
        size_t n = strcspn(p, " ,\t|");
        if (!n)
            break;
        if (o + n + 2 > cap)
            break;
        if (o)
            out[o++] = ',';
        memcpy(out + o, p, n);
        o += n;
        out[o] = '\0';
        p += n;
    }
}

static int64_t queued_depth(struct reel_queue *q, int *ret)
{
    char k[6][REEL_KEY_CAP];
    struct qargs c[4] = {0};
    redisReply *r[4] = {0};
    q_queue_keys(q, k);
    for (int i = 0; i < 4; i++) {
        qargs_str(&c[i], "ZCARD");
        qargs_str(&c[i], k[i]);
    }
    *ret = q_pipeline(q, c, 4, r);
    int64_t n = 0;
    for (int i = 0; i < 4; i++) {
        n += q_reply_ll(r[i], 0);
        if (r[i])
            freeReplyObject(r[i]);
    }
    return n;
}

int reel_queue_submit(struct reel_queue *q, const struct reel_job_submit *sub, char id_out[40],
                      bool *existed, struct reel_err *err)
{
    char id[40], idem_key[REEL_KEY_CAP] = "", tags[256];
    int ret;
    if (existed)
        *existed = false;
    if (!sub || !sub->job_json)
        return reel_err_set(err, REEL_EINVALID_JOB, NULL, "no job document");
    if (random_id(id) < 0)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "no random source for job ids");
    enum reel_job_priority prio = sub->priority ? sub->priority : REEL_PRIO_NORMAL;
    normalize_tags(sub->tags, tags, sizeof(tags));

    pthread_mutex_lock(&q->lock);
    if (sub->idempotency_key && sub->idempotency_key[0]) {
        char h[65];
        sha256_hex(sub->owner ? sub->owner : "", sub->idempotency_key, h);
        snprintf(idem_key, sizeof(idem_key), REEL_KEY_IDEM, q->prefix, h);
        struct qargs a = {0};
        qargs_str(&a, "SET");
        qargs_str(&a, idem_key);
        qargs_str(&a, id);
        qargs_str(&a, "NX");
        qargs_str(&a, "EX");
        qargs_int(&a, REEL_IDEM_TTL_S);
        redisReply *r = q_cmd(q, &a, &ret);
        if (!r)
            goto fail;
        bool fresh = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!fresh) {
            struct qargs g = {0};
            qargs_str(&g, "GET");
            qargs_str(&g, idem_key);
            r = q_cmd(q, &g, &ret);
            if (!r)
                goto fail;
            char prev[40] = "";
            if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < 40)
                snprintf(prev, sizeof(prev), "%.*s", (int)r->len, r->str);
            freeReplyObject(r);
            /* The key may name a job whose submission failed half-way (Redis went away between
             * the key and the job) or that has expired: then this submission takes the key. */
            char kprev[REEL_KEY_CAP];
            q_key_job(q, q_id_valid(prev) ? prev : "0", kprev);
            struct qargs e = {0};
            qargs_str(&e, "EXISTS");
            qargs_str(&e, kprev);
            r = q_cmd(q, &e, &ret);
            if (!r)
                goto fail;
            bool alive = q_id_valid(prev) && q_reply_ll(r, 0) == 1;
            freeReplyObject(r);
            if (alive) {
                snprintf(id_out, 40, "%s", prev);
                if (existed)
                    *existed = true;
                pthread_mutex_unlock(&q->lock);
                return 0;
            }
            struct qargs t = {0};
            qargs_str(&t, "SET");
            qargs_str(&t, idem_key);
            qargs_str(&t, id);
            qargs_str(&t, "EX");
            qargs_int(&t, REEL_IDEM_TTL_S);
            r = q_cmd(q, &t, &ret);
            if (!r)
                goto fail;
            freeReplyObject(r);
        }
    }
    int64_t depth = queued_depth(q, &ret);
    if (ret < 0)
        goto fail;
    if (depth >= q->max_queued) {
        if (idem_key[0]) {
            struct qargs d = {0};
            qargs_str(&d, "DEL");
            qargs_str(&d, idem_key);
            redisReply *r = q_cmd(q, &d, &ret);
            if (r)
                freeReplyObject(r);
        }
        pthread_mutex_unlock(&q->lock);
        return reel_err_set(err, REEL_ELIMIT, "queue",
                            "the queue holds %lld jobs, the limit (max queued jobs) is %lld",
                            (long long)depth, (long long)q->max_queued);
    }

    /* One MULTI/EXEC: an accepted job is in its hash, its document, the ready set and the index
     * together, or not at all. */
    int64_t now = q_now_ms();
    char kjob[REEL_KEY_CAP], kdoc[REEL_KEY_CAP], kq[6][REEL_KEY_CAP], kidx[2][REEL_KEY_CAP];
    char meta[320];
    q_key_job(q, id, kjob);
    q_key_doc(q, id, kdoc);
    q_queue_keys(q, kq);
    snprintf(kidx[0], REEL_KEY_CAP, REEL_KEY_INDEX, q->prefix, "queued");
    snprintf(kidx[1], REEL_KEY_CAP, REEL_KEY_INDEX, q->prefix, "all");
    snprintf(meta, sizeof(meta), "%d|%lld|%s", (int)prio, (long long)now, tags);

    struct qargs c[10] = {0};
    int n = 0;
    qargs_str(&c[n++], "MULTI");
    struct qargs *h = &c[n++];
    qargs_str(h, "HSET");
    qargs_str(h, kjob);
    const char *kv[][2] = {
        {REEL_F_STATE, "queued"},
        {REEL_F_PRIORITY, reel_job_priority_name(prio)},
        {REEL_F_ATTEMPT, "0"},
        {REEL_F_TAGS, tags},
        {REEL_F_CALLBACK_URL, sub->callback_url},
        {REEL_F_CALLBACK_EVENTS, sub->callback_events},
        {REEL_F_OWNER, sub->owner},
        {REEL_F_PROGRESS, "0"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        qargs_str(h, kv[i][0]);
        qargs_str(h, kv[i][1] ? kv[i][1] : "");
    }
    qargs_str(h, REEL_F_CREATED_AT);
    qargs_int(h, now);
    qargs_str(h, REEL_F_FRAMES_TOTAL);
    qargs_int(h, sub->frames_total);
    qargs_str(&c[n], "SET");
    qargs_str(&c[n], kdoc);
    qargs_str(&c[n], sub->job_json);
    qargs_str(&c[n], "PX");
    qargs_int(&c[n++], q->keep_ms);
    qargs_str(&c[n], "PEXPIRE");
    qargs_str(&c[n], kjob);
    qargs_int(&c[n++], q->keep_ms);
    qargs_str(&c[n], "HSET");
    qargs_str(&c[n], kq[5]);
    qargs_str(&c[n], id);
    qargs_str(&c[n++], meta);
    qargs_str(&c[n], "ZADD");
    qargs_str(&c[n], kq[prio - 1]);
    qargs_int(&c[n], now);
    qargs_str(&c[n++], id);
    for (int i = 0; i < 2; i++) {
        qargs_str(&c[n], "ZADD");
        qargs_str(&c[n], kidx[i]);
        qargs_int(&c[n], now);
        qargs_str(&c[n++], id);
    }
    qargs_str(&c[n++], "EXEC");
    redisReply *rep[10] = {0};
    ret = q_pipeline(q, c, n, rep);
    bool ok = ret == 0 && rep[n - 1] && rep[n - 1]->type == REDIS_REPLY_ARRAY;
    for (int i = 0; i < n; i++)
        if (rep[i])
            freeReplyObject(rep[i]);
    if (!ok) {
        if (ret == 0)
            ret = -REEL_EINTERNAL;
        goto fail;
    }
    pthread_mutex_unlock(&q->lock);
    snprintf(id_out, 40, "%s", id);
    REEL_DEBUG(q->log, "queue: job %s queued (priority %s, tags '%s')", id,
               reel_job_priority_name(prio), tags);
    return 0;
fail:
    pthread_mutex_unlock(&q->lock);
    return fail_ret(ret, err, "submitting the job");
}

int reel_queue_status(struct reel_queue *q, const char *id, struct reel_job_status *st,
                      struct reel_err *err)
{
    if (!q_id_valid(id))
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%.40s'", id ? id : "");
    pthread_mutex_lock(&q->lock);
    int ret = q_read_status(q, id, st);
    pthread_mutex_unlock(&q->lock);
    if (ret == -REEL_ENOT_FOUND)
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%s'", id);
    if (ret < 0)
        return fail_ret(ret, err, "reading the job status");
    return 0;
}

static int get_string(struct reel_queue *q, const char *cmd, const char *key, const char *field,
                      char **out)
{
    struct qargs a = {0};
    int ret;
    qargs_str(&a, cmd);
    qargs_str(&a, key);
    if (field)
        qargs_str(&a, field);
    pthread_mutex_lock(&q->lock);
    redisReply *r = q_cmd(q, &a, &ret);
    pthread_mutex_unlock(&q->lock);
    if (!r)
        return ret;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return -REEL_ENOT_FOUND;
    }
    *out = malloc(r->len + 1);
    if (*out) {
        memcpy(*out, r->str, r->len);
        (*out)[r->len] = '\0';
    }
    freeReplyObject(r);
    return *out ? 0 : -REEL_ENOMEM;
}

int reel_queue_job_json(struct reel_queue *q, const char *id, char **json_out, struct reel_err *err)
{
    char key[REEL_KEY_CAP];
    *json_out = NULL;
    if (!q_id_valid(id))
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%.40s'", id ? id : "");
    q_key_doc(q, id, key);
    int ret = get_string(q, "GET", key, NULL, json_out);
    if (ret == -REEL_ENOT_FOUND)
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%s'", id);
    return ret < 0 ? fail_ret(ret, err, "reading the job document") : 0;
}

int reel_queue_list(struct reel_queue *q, enum reel_job_state state, int limit, const char *cursor,
                    char (*ids)[40], int *count, char next_cursor[64], struct reel_err *err)
{
    char key[REEL_KEY_CAP], max[48] = "+inf", cid[40] = "";
    long long cscore = 0;
    bool has_cursor = cursor && cursor[0];
    int ret = 0;
    *count = 0;
    next_cursor[0] = '\0';
    if (limit <= 0)
        return 0;
    if (has_cursor) {
        char *end;
        cscore = strtoll(cursor, &end, 10);
        if (end == cursor || *end != ':' || !q_id_valid(end + 1))
            return reel_err_set(err, REEL_EINVALID_JOB, "cursor", "malformed cursor '%.64s'",
                                cursor);
        snprintf(cid, sizeof(cid), "%s", end + 1);
        snprintf(max, sizeof(max), "%lld", cscore);
    }
    snprintf(key, sizeof(key), REEL_KEY_INDEX, q->prefix,
             state ? reel_job_state_name(state) : "all");
    const int batch = limit + 16;
    long long offset = 0;
    bool more = false;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        struct qargs a = {0};
        qargs_str(&a, "ZREVRANGEBYSCORE");
        qargs_str(&a, key);
        qargs_str(&a, max);
        qargs_str(&a, "-inf");
        qargs_str(&a, "WITHSCORES");
        qargs_str(&a, "LIMIT");
        qargs_int(&a, offset);
        qargs_int(&a, batch);
        redisReply *r = q_cmd(q, &a, &ret);
        if (!r)
            break;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;
        for (size_t i = 0; i < n; i++) {
            const char *id = r->element[2 * i]->str;
            long long score = strtoll(r->element[2 * i + 1]->str, NULL, 10);
            if (!id || !q_id_valid(id))
                continue;
            if (has_cursor && score == cscore && strcmp(id, cid) >= 0)
                continue;
            if (*count == limit) {
                more = true;
                break;
            }
            /* The index may lag a transition by a moment, and outlive an expired job. */
            char jk[REEL_KEY_CAP];
            q_key_job(q, id, jk);
            struct qargs g = {0};
            qargs_str(&g, "HGET");
            qargs_str(&g, jk);
            qargs_str(&g, REEL_F_STATE);
            redisReply *s = q_cmd(q, &g, &ret);
            if (!s)
                break;
            bool gone = s->type != REDIS_REPLY_STRING;
            bool match = !gone && (!state || reel_job_state_parse(s->str) == state);
            freeReplyObject(s);
            if (gone) {
                int dret = q_index_drop(q, key, id);
                if (dret < 0)
                    ret = dret;
                continue;
            }
            if (!match)
                continue;
            snprintf(ids[*count], 40, "%s", id);
            snprintf(next_cursor, 64, "%lld:%s", score, id);
            (*count)++;
        }
        freeReplyObject(r);
        if (ret < 0 || more || n < (size_t)batch)
            break;
        offset += batch;
    }
    pthread_mutex_unlock(&q->lock);
    if (ret < 0)
        return fail_ret(ret, err, "listing jobs");
    if (!more)
        next_cursor[0] = '\0';
    return 0;
}

int reel_queue_cancel(struct reel_queue *q, const char *id, struct reel_err *err)
{
    if (!q_id_valid(id))
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%.40s'", id ? id : "");
    char k[3][REEL_KEY_CAP];
    const char *keys[3] = {k[0], k[1], k[2]};
    q_key_job(q, id, k[0]);
    q_key_doc(q, id, k[1]);
    q_key_log(q, id, k[2]);
    struct qargs a = {0};
    qargs_str(&a, "");
    qargs_int(&a, q->keep_ms);
    int ret;
    pthread_mutex_lock(&q->lock);
    redisReply *r = q_script(q, SCRIPT_CANCEL, 3, keys, &a, &ret);
    long long code = r && r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]->integer : -1;
    long long created = r && r->elements > 1 ? q_reply_ll(r->element[1], 0) : 0;
    if (r)
        freeReplyObject(r);
    if (code == 1) {
        /* Index clean-up; the job is already canceled in its hash, which is what claims check. */
        q_drop(q, id);
        q_index_state(q, id, created, REEL_JOB_CANCELED);
        char hk[REEL_KEY_CAP];
        snprintf(hk, sizeof(hk), REEL_KEY_HOOKS, q->prefix);
        struct qargs h = {0};
        qargs_str(&h, "RPUSH");
        qargs_str(&h, hk);
        qargs_str(&h, id);
        int hret;
        redisReply *hr = q_cmd(q, &h, &hret);
        if (hr)
            freeReplyObject(hr);
    }
    pthread_mutex_unlock(&q->lock);
    if (!r)
        return fail_ret(ret, err, "canceling the job");
    switch (code) {
    case 0:
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%s'", id);
    case 1:
        REEL_INFO(q->log, "queue: job %s canceled before it started", id);
        return 0;
    case 2:
        REEL_INFO(q->log, "queue: cancel requested for running job %s", id);
        return 0;
    case 3:
        return reel_err_set(err, REEL_ECONFLICT, NULL, "job '%s' has already finished", id);
    default:
        return reel_err_set(err, REEL_EINTERNAL, NULL, "unexpected reply canceling job '%s'", id);
    }
}

int reel_queue_log_append(struct reel_queue *q, const char *id, const char *line)
{
    if (!q_id_valid(id))
        return -REEL_ENOT_FOUND;
    char key[REEL_KEY_CAP];
    q_key_log(q, id, key);
    struct qargs c[3] = {0};
    qargs_str(&c[0], "RPUSH");
    qargs_str(&c[0], key);
    qargs_str(&c[0], line);
    qargs_str(&c[1], "LTRIM");
    qargs_str(&c[1], key);
    qargs_int(&c[1], -REEL_JOB_LOG_MAX_LINES);
    qargs_int(&c[1], -1);
    qargs_str(&c[2], "PEXPIRE");
    qargs_str(&c[2], key);
    qargs_int(&c[2], q->keep_ms);
    pthread_mutex_lock(&q->lock);
    int ret = q_pipeline(q, c, 3, NULL);
    pthread_mutex_unlock(&q->lock);
    return ret;
}

int reel_queue_log_read(struct reel_queue *q, const char *id, char **text_out, struct reel_err *err)
{
    *text_out = NULL;
    if (!q_id_valid(id))
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%.40s'", id ? id : "");
    char kjob[REEL_KEY_CAP], klog[REEL_KEY_CAP];
    q_key_job(q, id, kjob);
    q_key_log(q, id, klog);
    struct qargs c[2] = {0};
    qargs_str(&c[0], "EXISTS");
    qargs_str(&c[0], kjob);
    qargs_str(&c[1], "LRANGE");
    qargs_str(&c[1], klog);
    qargs_int(&c[1], 0);
    qargs_int(&c[1], -1);
    redisReply *r[2] = {0};
    pthread_mutex_lock(&q->lock);
    int ret = q_pipeline(q, c, 2, r);
    pthread_mutex_unlock(&q->lock);
    if (ret == 0 && q_reply_ll(r[0], 0) == 0)
        ret = -REEL_ENOT_FOUND;
    if (ret == 0) {
        size_t total = 1;
        for (size_t i = 0; i < r[1]->elements; i++)
            total += r[1]->element[i]->len + 1;
        char *t = malloc(total);
        if (!t) {
            ret = -REEL_ENOMEM;
        } else {
            size_t o = 0;
            for (size_t i = 0; i < r[1]->elements; i++) {
                const redisReply *e = r[1]->element[i];
                memcpy(t + o, e->str, e->len);
                o += e->len;
                if (!e->len || e->str[e->len - 1] != '\n')
                    t[o++] = '\n';
            }
            t[o] = '\0';
            *text_out = t;
        }
    }
    for (int i = 0; i < 2; i++)
        if (r[i])
            freeReplyObject(r[i]);
    if (ret == -REEL_ENOT_FOUND)
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no job '%s'", id);
    return ret < 0 ? fail_ret(ret, err, "reading the job log") : 0;
}

int reel_queue_stats(struct reel_queue *q, struct reel_queue_stats *out)
{
    memset(out, 0, sizeof(*out));
    char k[5][REEL_KEY_CAP];
    struct qargs c[5] = {0};
    redisReply *r[5] = {0};
    for (int i = 0; i < 5; i++) {
        snprintf(k[i], REEL_KEY_CAP, REEL_KEY_INDEX, q->prefix,
                 reel_job_state_name((enum reel_job_state)(REEL_JOB_QUEUED + i)));
        qargs_str(&c[i], "ZCARD");
        qargs_str(&c[i], k[i]);
    }
    pthread_mutex_lock(&q->lock);
    int ret = q_pipeline(q, c, 5, r);
    int dret = 0;
    if (ret == 0)
        out->queued_depth = queued_depth(q, &dret);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < 5; i++) {
        out->by_state[REEL_JOB_QUEUED + i] = q_reply_ll(r[i], 0);
        if (r[i])
            freeReplyObject(r[i]);
    }
    return ret < 0 ? ret : dret;
}

int reel_queue_render_metrics(struct reel_queue *q, int64_t *buckets, int nbuckets, double *sum_s,
                              int64_t *count, int64_t *frames)
{
    char key[REEL_KEY_CAP];
    snprintf(key, sizeof(key), REEL_KEY_METRICS, q->prefix);
    struct qargs a = {0};
    qargs_str(&a, "HGETALL");
    qargs_str(&a, key);
    int ret;
    for (int i = 0; i < nbuckets; i++)
        buckets[i] = 0;
    *sum_s = 0;
    *count = 0;
    *frames = 0;
    pthread_mutex_lock(&q->lock);
    redisReply *r = q_cmd(q, &a, &ret);
    pthread_mutex_unlock(&q->lock);
    if (!r)
        return ret;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        if (!f || !v)
            continue;
        if (f[0] == 'b' && f[1] >= '0' && f[1] <= '9') {
            int b = atoi(f + 1);
            if (b >= 0 && b < nbuckets)
                buckets[b] = atoll(v);
        } else if (!strcmp(f, REEL_MF_SUM)) {
            *sum_s = atof(v);
        } else if (!strcmp(f, REEL_MF_COUNT)) {
            *count = atoll(v);
        } else if (!strcmp(f, REEL_MF_FRAMES)) {
            *frames = atoll(v);
        }
    }
    freeReplyObject(r);
    return 0;
}

int reel_queue_rate_take(struct reel_queue *q, const char *owner, int per_minute,
                         int *retry_after_s)
{
    int64_t now_s = q_now_ms() / 1000;
    char key[REEL_KEY_CAP];
    snprintf(key, sizeof(key), REEL_KEY_RATE, q->prefix, owner ? owner : "",
             (long long)(now_s / 60));
    struct qargs c[2] = {0};
    qargs_str(&c[0], "INCR");
    qargs_str(&c[0], key);
    qargs_str(&c[1], "EXPIRE");
    qargs_str(&c[1], key);
    qargs_int(&c[1], 120);
    redisReply *r[2] = {0};
    pthread_mutex_lock(&q->lock);
    int ret = q_pipeline(q, c, 2, r);
    pthread_mutex_unlock(&q->lock);
    long long n = q_reply_ll(r[0], 0);
    for (int i = 0; i < 2; i++)
        if (r[i])
            freeReplyObject(r[i]);
    if (ret < 0)
        return ret;
    if (per_minute > 0 && n > per_minute) {
        if (retry_after_s)
            *retry_after_s = (int)(60 - now_s % 60);
        return -REEL_ERATE_LIMITED;
    }
    return 0;
}

static int template_cmd(struct reel_queue *q, const char *cmd, const char *name, const char *json,
                        redisReply **out)
{
    char key[REEL_KEY_CAP];
    snprintf(key, sizeof(key), REEL_KEY_TEMPLATES, q->prefix);
    struct qargs a = {0};
    int ret;
    qargs_str(&a, cmd);
    qargs_str(&a, key);
    if (name)
        qargs_str(&a, name);
    if (json)
        qargs_str(&a, json);
    pthread_mutex_lock(&q->lock);
    redisReply *r = q_cmd(q, &a, &ret);
    pthread_mutex_unlock(&q->lock);
    *out = r;
    return r ? 0 : ret;
}

int reel_queue_template_put(struct reel_queue *q, const char *name, const char *json,
                            struct reel_err *err)
{
    redisReply *r;
    if (!name || !name[0] || !json)
        return reel_err_set(err, REEL_EINVALID_JOB, "name", "a template needs a name and a body");
    int ret = template_cmd(q, "HSET", name, json, &r);
    if (ret < 0)
        return fail_ret(ret, err, "storing the template");
    freeReplyObject(r);
    return 0;
}

int reel_queue_template_get(struct reel_queue *q, const char *name, char **json_out,
                            struct reel_err *err)
{
    redisReply *r;
    *json_out = NULL;
    int ret = template_cmd(q, "HGET", name ? name : "", NULL, &r);
    if (ret < 0)
        return fail_ret(ret, err, "reading the template");
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no template '%.100s'", name ? name : "");
    }
    *json_out = strndup(r->str, r->len);
    freeReplyObject(r);
    return *json_out ? 0 : reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
}

int reel_queue_template_delete(struct reel_queue *q, const char *name, struct reel_err *err)
{
    redisReply *r;
    int ret = template_cmd(q, "HDEL", name ? name : "", NULL, &r);
    if (ret < 0)
        return fail_ret(ret, err, "deleting the template");
    long long n = q_reply_ll(r, 0);
    freeReplyObject(r);
    if (n == 0)
        return reel_err_set(err, REEL_ENOT_FOUND, NULL, "no template '%.100s'", name ? name : "");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int reel_queue_template_list(struct reel_queue *q, char ***names_out, int *count,
                             struct reel_err *err)
{
    redisReply *r;
    *names_out = NULL;
    *count = 0;
    int ret = template_cmd(q, "HKEYS", NULL, NULL, &r);
    if (ret < 0)
        return fail_ret(ret, err, "listing templates");
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    char **names = calloc(n ? n : 1, sizeof(char *));
    if (!names) {
        freeReplyObject(r);
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = strndup(r->element[i]->str ? r->element[i]->str : "", r->element[i]->len);
        if (!names[i]) {
            for (size_t j = 0; j < i; j++)
                free(names[j]);
            free(names);
            freeReplyObject(r);
            return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        }
    }
    freeReplyObject(r);
    qsort(names, n, sizeof(char *), cmp_str);
    *names_out = names;
    *count = (int)n;
    return 0;
}

int reel_queue_hook_pop(struct reel_queue *q, char id[40])
{
    char key[REEL_KEY_CAP];
    snprintf(key, sizeof(key), REEL_KEY_HOOKS, q->prefix);
    struct qargs a = {0};
    qargs_str(&a, "LPOP");
    qargs_str(&a, key);
    int ret;
    pthread_mutex_lock(&q->lock);
    redisReply *r = q_cmd(q, &a, &ret);
    pthread_mutex_unlock(&q->lock);
    if (!r)
        return ret;
    ret = -REEL_EAGAIN;
    if (r->type == REDIS_REPLY_STRING && r->len < 40) {
        snprintf(id, 40, "%.*s", (int)r->len, r->str);
        ret = q_id_valid(id) ? 0 : -REEL_EAGAIN;
    }
    freeReplyObject(r);
    return ret;
}
