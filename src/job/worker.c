/*
 * The worker pool. cfg.concurrency slot threads each claim a job, run it and publish the result;
 * one keeper thread renews the leases of running jobs (twice a second, which is also how
 * soon a cancel or a lost lease is noticed), enforces the run-time limit, reclaims other workers'
 * expired leases, and one webhook thread delivers callbacks so a slow receiver never holds a
 * slot.
 *
 * Each attempt renders to its own file, <output_dir>/<id>/output-<n>.<ext> (and its poster to
 * output-<n>.jpg); the encoder writes a hidden .partial beside it and renames it only once the
 * file is complete. The attempt whose fenced reel_queue_finish succeeds publishes its file by
 * recording that path: the status never names a file that is not whole, and no other attempt
 * ever writes to it. Every other attempt deletes its own files; the winner also removes what
 * attempts killed mid-render left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "assets/assets.h"
#include "core/clock.h"
#include "core/thread.h"
#include "encode/encoder.h"
#include "job/webhook.h"
#include "job/worker.h"
#include "queue/queue.h"
#include "render/render.h"

#define MAX_LIST 64

enum stop_reason {
    STOP_NONE = 0,
    STOP_CANCEL,   /* the user canceled the job */
    STOP_STALE,    /* the lease was lost: another attempt owns the job */
    STOP_TIMEOUT,  /* the run-time limit passed */
    STOP_SHUTDOWN, /* the pool is stopping: hand the job back */
};

struct slot {
    struct reel_worker_pool *pool;
    pthread_t thread;
    int index;
    struct reel_queue *q;
    /* The running job, guarded by pool->lock (cancel and reason are atomics for the render loop).
     */
    bool active;
    char id[40];
    int attempt;
    int64_t deadline_ms;
    int64_t next_beat_ms;
    atomic_int cancel;
    atomic_int reason;
    bool locks_ready;
    uint64_t gen; /* which job the pending lines belong to (guarded by out_lock) */
    /* The job's log lines and latest progress, written by the job's threads and sent to Redis
     * by the keeper, so that a slow or unreachable Redis never stalls a render. out_lock guards
     * them; flush_lock makes one flusher at a time (keeping lines in order). */
    pthread_mutex_t out_lock, flush_lock;
    struct line *lines, **lines_tail;
    int n_lines, dropped_lines;
    bool has_progress;
    struct reel_progress progress;
    int64_t last_progress_ms;
};

struct line {
    struct line *next;
    char text[];
};

#define MAX_PENDING_LINES 2000

struct hook {
    struct hook *next;
    char id[40];
    char *url;
    char *body;
};

struct reel_worker_pool {
    struct reel_worker_cfg cfg;
    struct reel_limits limits;
    char *output_dir, *cache_dir, *engine, *encoder, *hwdec, *tags, *secret;
    char worker_id[128];
    char *roots[MAX_LIST + 1];
    char *allow_hosts[MAX_LIST + 1];
    struct reel_log log;
    int64_t lease_ms;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_int stopping;  /* no new claims */
    atomic_int finishing; /* keeper and webhook threads end */
    struct slot *slots;
    int n_slots;
    pthread_t keeper;
    struct reel_queue *keeper_q;

    pthread_t hook_thread;
    struct hook *hooks, **hooks_tail;
    struct reel_queue *hook_q;

    struct reel_worker_stats stats;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static struct reel_queue *open_queue(struct reel_worker_pool *p)
{
    struct reel_queue_cfg qc = {
        .url = p->cfg.redis_url,
        .prefix = p->cfg.redis_prefix,
        .lease_ms = p->lease_ms,
        .retry_base_ms = p->cfg.retry_base_ms,
        .max_attempts = p->limits.max_attempts,
        .log = &p->log,
    };
    return reel_queue_create(&qc);
}

/* Retryable: failures a second attempt (perhaps on another node) may not repeat. */
static bool retryable(int code)
{
    switch (code) {
    case REEL_ERENDER:
    case REEL_EDECODE:
    case REEL_EASSET_FETCH:
    case REEL_EINTERNAL:
    case REEL_ENOMEM:
    case REEL_EOUTPUT:
    case REEL_EENGINE_UNAVAILABLE:
    case REEL_EENCODER_UNAVAILABLE:
    case REEL_EUNAVAILABLE:
        return true;
    default:
        return false;
    }
}

static const char *ext_of(enum reel_format f)
{
    switch (f) {
    case REEL_FORMAT_MOV:
        return "mov";
    case REEL_FORMAT_WEBM:
        return "webm";
    case REEL_FORMAT_GIF:
        return "gif";
    default:
        return "mp4";
    }
}

static const char *mime_of(enum reel_format f)
{
    switch (f) {
    case REEL_FORMAT_MOV:
        return "video/quicktime";
    case REEL_FORMAT_WEBM:
        return "video/webm";
    case REEL_FORMAT_GIF:
        return "image/gif";
    default:
        return "video/mp4";
    }
}

/* ---- webhooks ---- */

static void hook_enqueue(struct reel_worker_pool *p, struct reel_queue *q, const char *id,
                         struct reel_log *log)
{
    struct reel_job_status st;
    struct reel_err err = {0};
    if (reel_queue_status(q, id, &st, &err) < 0) {
        REEL_WARN(log, "webhook: cannot read the status of job %s: %s", id, err.msg);
        return;
    }
    if (!st.callback_url[0] || !reel_webhook_wanted(st.callback_events, st.state))
        return;
    cJSON *doc = reel_job_status_to_json(&st, "");
    char *body = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    struct hook *h = calloc(1, sizeof(*h));
    if (!body || !h || !(h->url = strdup(st.callback_url))) {
        REEL_ERROR(log, "webhook: out of memory for job %s", id);
        free(body);
        if (h)
            free(h->url);
        free(h);
        return;
    }
    snprintf(h->id, sizeof(h->id), "%s", id);
    h->body = body;
    pthread_mutex_lock(&p->lock);
    *p->hooks_tail = h;
    p->hooks_tail = &h->next;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void *hook_main(void *arg)
{
    struct reel_worker_pool *p = arg;
    reel_thread_name("reel-hooks");
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->hooks && !atomic_load(&p->finishing))
            pthread_cond_wait(&p->cond, &p->lock);
        struct hook *h = p->hooks;
        if (h) {
            p->hooks = h->next;
            if (!p->hooks)
                p->hooks_tail = &p->hooks;
        }
        pthread_mutex_unlock(&p->lock);
        if (!h)
            break;
        struct reel_log log;
        reel_log_init(&log, &p->log, h->id, "webhook");
        log.sink = NULL;
        struct reel_webhook_cfg wc = {
            .secret = p->secret,
            .allow_hosts = (const char *const *)p->allow_hosts,
            .stop = &p->finishing,
            .log = &log,
        };
        wc.tries = p->cfg.webhook_tries;
        wc.base_delay_ms = p->cfg.webhook_base_delay_ms;
        struct reel_err err = {0};
        char line[700];
        if (reel_webhook_deliver(&wc, h->url, h->body, &err) == 0) {
            REEL_INFO(&log, "webhook: delivered to the callback URL");
            snprintf(line, sizeof(line), "webhook delivered");
        } else {
            REEL_WARN(&log, "webhook: not delivered: %s", err.msg);
            snprintf(line, sizeof(line), "webhook not delivered: %s", err.msg);
        }
        reel_queue_log_append(p->hook_q, h->id, line);
        free(h->url);
        free(h->body);
        free(h);
    }
    return NULL;
}

static void flush_slot(struct slot *s, struct reel_queue *q, const char *id, int attempt,
                       uint64_t gen, bool final);

/* ---- output retention ---- */

static void remove_tree(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno == EISDIR)
            remove_tree(dirfd(d), e->d_name);
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    unlinkat(parent, name, AT_REMOVEDIR);
}

/*
 * Remove job folders (named by a job id) not modified for keep_ms: the status of such a job has
 * expired too. Several workers sharing the volume may do this at once; each removal is harmless
 * to repeat.
 */
static void prune_outputs(const char *dir, int64_t keep_ms, struct reel_log *log)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    time_t cutoff = time(NULL) - (time_t)(keep_ms / 1000);
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n != 32 || strspn(e->d_name, "0123456789abcdef") != n)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode) ||
            sb.st_mtime > cutoff)
            continue;
        remove_tree(dirfd(d), e->d_name);
        REEL_INFO(log, "outputs: removed %s/%s (older than %lld s)", dir, e->d_name,
                  (long long)(keep_ms / 1000));
    }
    if (d)
        closedir(d);
}

/* ---- the keeper: leases, cancels, run-time limit, reclaim ---- */

static void *keeper_main(void *arg)
{
    struct reel_worker_pool *p = arg;
    reel_thread_name("reel-keeper");
    int64_t beat_ms = p->lease_ms / 3 < 500 ? p->lease_ms / 3 : 500;
    int64_t next_reclaim = 0, next_prune = 0;
    int64_t keep_ms = p->cfg.keep_outputs_ms ? p->cfg.keep_outputs_ms : 7LL * 24 * 3600 * 1000;
    if (beat_ms < 50)
        beat_ms = 50;
    while (!atomic_load(&p->finishing)) {
        int64_t now = now_ms();
        for (int i = 0; i < p->n_slots; i++) {
            struct slot *s = &p->slots[i];
            char id[40];
            int attempt;
            pthread_mutex_lock(&p->lock);
            bool due = s->active && now >= s->next_beat_ms;
            bool active = s->active;
            bool late = s->active && s->deadline_ms && now >= s->deadline_ms;
            memcpy(id, s->id, sizeof(id));
            attempt = s->attempt;
            pthread_mutex_lock(&s->out_lock);
            uint64_t gen = s->gen;
            pthread_mutex_unlock(&s->out_lock);
            if (due)
                s->next_beat_ms = now + beat_ms;
            pthread_mutex_unlock(&p->lock);
            if (active)
                flush_slot(s, p->keeper_q, id, attempt, gen, false);
            if (late && atomic_load(&s->reason) == STOP_NONE) {
                atomic_store(&s->reason, STOP_TIMEOUT);
                atomic_store(&s->cancel, 1);
            }
            if (!due)
                continue;
            int ret = reel_queue_heartbeat(p->keeper_q, id, attempt);
            int expect = STOP_NONE;
            if (ret == -REEL_ECANCELED) {
                atomic_compare_exchange_strong(&s->reason, &expect, STOP_CANCEL);
                atomic_store(&s->cancel, 1);
            } else if (ret == -REEL_ECONFLICT) {
                /* Overrides any other reason: this attempt may publish nothing. */
                atomic_store(&s->reason, STOP_STALE);
                atomic_store(&s->cancel, 1);
            }
        }
        if (now >= next_reclaim && !atomic_load(&p->stopping)) {
            char done[16][40];
            int n = 0, nd = 0;
            if (reel_queue_reclaim_ex(p->keeper_q, &n, done, 16, &nd) == 0)
                for (int i = 0; i < nd; i++)
                    hook_enqueue(p, p->keeper_q, done[i], &p->log);
            next_reclaim = now + (p->lease_ms / 2 < 2000 ? p->lease_ms / 2 : 2000);
            /* Webhooks of jobs canceled while queued (the API only flags them). */
            char hid[40];
            for (int k = 0; k < 16 && reel_queue_hook_pop(p->keeper_q, hid) == 0; k++)
                hook_enqueue(p, p->keeper_q, hid, &p->log);
        }
        if (keep_ms > 0 && now >= next_prune && !atomic_load(&p->stopping)) {
            prune_outputs(p->output_dir, keep_ms, &p->log);
            next_prune = now + 10 * 60 * 1000;
        }
        sleep_ms(beat_ms < 100 ? beat_ms : 100);
    }
    return NULL;
}

/* ---- one job ---- */

struct job_ctx {
    struct slot *slot;
    struct reel_log log;
    const char *id;
    int attempt;
};

static void job_sink(void *opaque, const char *line)
{
    struct job_ctx *j = opaque;
    struct slot *s = j->slot;
    size_t n = strlen(line);
    /* Lines are stored without their trailing newline; the log route adds one per line. */
    if (n && line[n - 1] == '\n')
        n--;
    struct line *l = malloc(sizeof(*l) + n + 1);
    pthread_mutex_lock(&s->out_lock);
    if (l && s->n_lines < MAX_PENDING_LINES) {
        memcpy(l->text, line, n);
        l->text[n] = '\0';
        l->next = NULL;
        *s->lines_tail = l;
        s->lines_tail = &l->next;
        s->n_lines++;
        l = NULL;
    } else {
        s->dropped_lines++;
    }
    pthread_mutex_unlock(&s->out_lock);
    free(l);
}

static void on_progress(void *opaque, const struct reel_progress *pr)
{
    struct slot *s = ((struct job_ctx *)opaque)->slot;
    pthread_mutex_lock(&s->out_lock);
    s->progress = *pr;
    s->has_progress = true;
    pthread_mutex_unlock(&s->out_lock);
}

/*
 * Send the slot's pending log lines and (at most 4 times a second) its progress to Redis. Lines
 * that cannot be sent (Redis unreachable) are dropped with a count, never held back from the
 * render. A refused progress write means the attempt is stale: the job stops.
 */
static void flush_slot(struct slot *s, struct reel_queue *q, const char *id, int attempt,
                       uint64_t gen, bool final)
{
    pthread_mutex_lock(&s->flush_lock);
    pthread_mutex_lock(&s->out_lock);
    if (gen != s->gen) { /* that job is over; its lines were flushed by its own thread */
        pthread_mutex_unlock(&s->out_lock);
        pthread_mutex_unlock(&s->flush_lock);
        return;
    }
    struct line *lines = s->lines;
    int dropped = s->dropped_lines;
    s->lines = NULL;
    s->lines_tail = &s->lines;
    s->n_lines = 0;
    s->dropped_lines = 0;
    struct reel_progress pr = s->progress;
    int64_t now = now_ms();
    bool send_progress = s->has_progress && !final && now - s->last_progress_ms >= 250;
    if (send_progress) {
        s->has_progress = false;
        s->last_progress_ms = now;
    }
    pthread_mutex_unlock(&s->out_lock);

    bool down = false;
    for (struct line *l = lines, *next; l; l = next) {
        next = l->next;
        if (!down && reel_queue_log_append(q, id, l->text) == -REEL_EUNAVAILABLE)
            down = true;
        free(l);
    }
    if (dropped && !down) {
        char msg[96];
        snprintf(msg, sizeof(msg), "(%d log lines dropped)", dropped);
        reel_queue_log_append(q, id, msg);
    }
    if (send_progress) {
        double frac = pr.frames_total ? (double)pr.frames_done / (double)pr.frames_total : 1;
        if (reel_queue_progress(q, id, attempt, frac, pr.frames_done, pr.frames_total, pr.fps,
                                pr.eta_s) == -REEL_ECONFLICT) {
            atomic_store(&s->reason, STOP_STALE);
            atomic_store(&s->cancel, 1);
        }
    }
    pthread_mutex_unlock(&s->flush_lock);
}

static void remove_quiet(const char *path)
{
    if (path[0] && unlink(path) != 0 && errno != ENOENT)
        fprintf(stderr, "reel: cannot remove '%s': %s\n", path, strerror(errno));
}

/*
 * After publishing: files other attempts left in the job's folder (a worker killed mid-render
 * leaves its attempt file or the encoder's hidden .partial) are removed. A stale attempt still
 * running loses its file and fails its own publish, which the fence refuses anyway.
 */
static void remove_other_attempts(const char *dir, int attempt, struct reel_log *log)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char mine[32], mine_hidden[32];
    snprintf(mine, sizeof(mine), "output-%d.", attempt);
    snprintf(mine_hidden, sizeof(mine_hidden), ".output-%d.", attempt);
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        bool other = (!strncmp(n, "output-", 7) && strncmp(n, mine, strlen(mine))) ||
                     (!strncmp(n, ".output-", 8) && strncmp(n, mine_hidden, strlen(mine_hidden)));
        if (other && unlinkat(dirfd(d), n, 0) == 0)
            REEL_DEBUG(log, "removed %s/%s left by an earlier attempt", dir, n);
    }
    if (d)
        closedir(d);
}

/* Retry a queue call while Redis is unreachable (the job is done; its result must land). */
typedef int (*queue_call)(struct slot *s, struct job_ctx *j, void *arg);

static int until_reachable(struct slot *s, struct job_ctx *j, queue_call fn, void *arg)
{
    int64_t start = now_ms();
    bool logged = false;
    for (;;) {
        int ret = fn(s, j, arg);
        if (ret != -REEL_EUNAVAILABLE)
            return ret;
        /* Up to 10 minutes, or 10 s once the pool is stopping; after that the lease runs out
         * and another worker re-runs the job. */
        int64_t waited = now_ms() - start;
        if (waited > 10 * 60 * 1000 || (atomic_load(&s->pool->stopping) && waited > 10000)) {
            REEL_ERROR(&j->log, "stage=publish Redis unreachable; result of attempt %d dropped",
                       j->attempt);
            return ret;
        }
        if (!logged)
            REEL_WARN(&j->log, "Redis unreachable; keeping the result until it returns");
        logged = true;
        sleep_ms(500);
    }
}

static int call_finish(struct slot *s, struct job_ctx *j, void *arg)
{
    return reel_queue_finish(s->q, j->id, j->attempt, arg);
}

struct fail_arg {
    struct reel_job_status *st;
    bool retry;
    bool requeued;
};

static int call_fail(struct slot *s, struct job_ctx *j, void *arg)
{
    struct fail_arg *f = arg;
    return reel_queue_fail(s->q, j->id, j->attempt, f->st, f->retry, &f->requeued);
}

static int call_canceled(struct slot *s, struct job_ctx *j, void *arg)
{
    (void)arg;
    return reel_queue_canceled(s->q, j->id, j->attempt);
}

static int call_release(struct slot *s, struct job_ctx *j, void *arg)
{
    (void)arg;
    return reel_queue_release(s->q, j->id, j->attempt);
}

static void count(struct reel_worker_pool *p, int64_t *field, int64_t frames, double secs)
{
    pthread_mutex_lock(&p->lock);
    if (field)
        (*field)++;
    p->stats.frames_rendered += frames;
    p->stats.render_seconds += secs;
    pthread_mutex_unlock(&p->lock);
}

static void run_job(struct slot *s, struct reel_claim *c)
{
    struct reel_worker_pool *p = s->pool;
    struct job_ctx j = {.slot = s, .id = c->id, .attempt = c->attempt};
    reel_log_init(&j.log, &p->log, c->id, "worker");
    j.log.sink = job_sink;
    j.log.sink_opaque = &j;

    pthread_mutex_lock(&p->lock);
    s->active = true;
    snprintf(s->id, sizeof(s->id), "%s", c->id);
    s->attempt = c->attempt;
    s->next_beat_ms = now_ms() + 500;
    s->deadline_ms =
        p->limits.max_job_runtime_us > 0 ? now_ms() + p->limits.max_job_runtime_us / 1000 : 0;
    atomic_store(&s->cancel, 0);
    atomic_store(&s->reason, STOP_NONE);
    pthread_mutex_lock(&s->out_lock);
    s->gen++;
    s->last_progress_ms = 0;
    s->has_progress = false;
    uint64_t gen = s->gen;
    pthread_mutex_unlock(&s->out_lock);
    p->stats.jobs_running++;
    pthread_mutex_unlock(&p->lock);
    reel_log_set_thread_logger(&j.log);

    REEL_INFO(&j.log, "attempt %d started on worker %s", c->attempt, p->worker_id);
    double t0 = reel_clock_s();
    struct reel_job_status st = {0};
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    struct reel_render_result res;
    memset(&res, 0, sizeof(res));
    char dir[960], attempt_out[1024] = "", attempt_poster[1024] = "";
    const char *stage = "parse";
    int ret;

    struct reel_parse_opts popts = {.limits = &p->limits};
    ret = reel_timeline_parse(c->job_json, strlen(c->job_json), &popts, &tl, &errs);
    if (ret == 0) {
        stage = "fetch";
        struct reel_assets_cfg acfg = {
            .roots = (const char *const *)p->roots,
            .cache_dir = p->cache_dir,
            .limits = &p->limits,
            .allow_hosts = (const char *const *)p->allow_hosts,
            .cache_max_bytes = p->cfg.cache_size_bytes,
        };
        ret = reel_assets_resolve_timeline(&acfg, tl, &j.log, &errs);
    }
    st.fetch_s = reel_clock_s() - t0;
    if (ret < 0) {
        if (errs.count)
            res.err = errs.items[0];
        else
            reel_err_set(&res.err, -ret, NULL, "%s", reel_err_default_msg(ret));
        snprintf(res.stage, sizeof(res.stage), "%s", stage);
    }

    if (ret == 0 && atomic_load(&s->cancel))
        ret = -REEL_ECANCELED;
    if (ret == 0) {
        stage = "output";
        snprintf(dir, sizeof(dir), "%s/%s", p->output_dir, c->id);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            ret = reel_err_set(&res.err, REEL_EOUTPUT, NULL, "cannot create '%s': %s", dir,
                               strerror(errno));
            snprintf(res.stage, sizeof(res.stage), "output");
        }
    }
    if (ret == 0) {
        const char *ext = ext_of(tl->out.format);
        snprintf(attempt_out, sizeof(attempt_out), "%s/output-%d.%s", dir, c->attempt, ext);
        if (tl->out.has_poster) {
            /* reel_render_job writes the poster beside the output: <output minus ext>.jpg */
            snprintf(attempt_poster, sizeof(attempt_poster), "%s/output-%d.jpg", dir, c->attempt);
        }
        enum reel_encoder_pref pref = REEL_ENCPREF_NONE;
        if (p->encoder && strcmp(p->encoder, "auto"))
            pref = !strcmp(p->encoder, "nvenc")   ? REEL_ENCPREF_NVENC
                   : !strcmp(p->encoder, "vaapi") ? REEL_ENCPREF_VAAPI
                                                  : REEL_ENCPREF_SOFTWARE;
        else if (p->encoder)
            pref = REEL_ENCPREF_AUTO;
        struct reel_render_opts ro = {
            .tl = tl,
            .out_path = attempt_out,
            .engine = p->engine,
            .encoder = pref,
            .threads = p->cfg.threads,
            .gpu_index = p->cfg.gpu_index,
            .hwdec = p->hwdec,
            .log = &j.log,
            .progress = on_progress,
            .progress_opaque = &j,
            .cancel = &s->cancel,
        };
        ret = reel_render_job(&ro, &res);
    }
    double total_s = reel_clock_s() - t0;

    int reason = atomic_load(&s->reason);
    snprintf(st.engine, sizeof(st.engine), "%s", res.engine);
    snprintf(st.encoder, sizeof(st.encoder), "%s", res.encoder);
    st.render_time_s = total_s;
    st.render_s = res.times.render_s + res.times.prepare_s;
    st.encode_s = res.times.encode_s + res.times.audio_s + res.times.mux_s;
    st.frames_done = res.frames;
    st.frames_total = tl ? reel_timeline_frame_count(tl) : 0;

    bool terminal = false;
    /* The job's log is complete up to here by the time its state turns terminal. */
    flush_slot(s, s->q, c->id, c->attempt, gen, true);
    if (ret == 0 && reason != STOP_CANCEL && reason != STOP_STALE) {
        /* Both fit: the output folder's length is checked when the pool starts. */
        memcpy(st.output_path, attempt_out, strlen(attempt_out) + 1);
        memcpy(st.poster_path, attempt_poster, strlen(attempt_poster) + 1);
        snprintf(st.content_type, sizeof(st.content_type), "%s", mime_of(tl->out.format));
        snprintf(st.codec, sizeof(st.codec), "%s", reel_codec_name(tl->out.codec));
        st.output_bytes = res.bytes;
        st.output_duration_s = (double)tl->out.duration_us / 1e6;
        st.width = tl->out.width;
        st.height = tl->out.height;
        int fr = until_reachable(s, &j, call_finish, &st);
        if (fr == 0) {
            /* Won: only this attempt can reach this line for this job. */
            remove_other_attempts(dir, c->attempt, &j.log);
            REEL_INFO(&j.log,
                      "succeeded: %s (%lld bytes, %lld frames, %.2f s, engine %s, "
                      "encoder %s)",
                      attempt_out, (long long)res.bytes, (long long)res.frames, total_s, res.engine,
                      res.encoder);
            count(p, &p->stats.jobs_succeeded, res.frames, total_s);
            terminal = true;
        } else {
            remove_quiet(attempt_out);
            remove_quiet(attempt_poster);
            if (fr == -REEL_ECANCELED) {
                REEL_INFO(&j.log, "canceled after rendering; output discarded");
                if (until_reachable(s, &j, call_canceled, NULL) == 0) {
                    count(p, &p->stats.jobs_canceled, 0, 0);
                    terminal = true;
                }
            } else {
                REEL_WARN(&j.log, "stage=publish attempt %d is stale (%s); output discarded",
                          c->attempt, reel_err_code_str(fr));
            }
        }
    } else {
        remove_quiet(attempt_out);
        remove_quiet(attempt_poster);
        if (reason == STOP_STALE) {
            REEL_WARN(&j.log, "stage=render attempt %d lost its lease; stopped, nothing published",
                      c->attempt);
        } else if (reason == STOP_CANCEL) {
            REEL_INFO(&j.log, "stage=render canceled; partial output removed");
            if (until_reachable(s, &j, call_canceled, NULL) == 0) {
                count(p, &p->stats.jobs_canceled, 0, 0);
                terminal = true;
            }
        } else if (reason == STOP_SHUTDOWN) {
            REEL_INFO(&j.log, "stage=render worker stopping; job handed back to the queue");
            until_reachable(s, &j, call_release, NULL);
        } else {
            if (reason == STOP_TIMEOUT) {
                reel_err_set(&st.error, REEL_ETIMEOUT, NULL,
                             "the job ran past its run-time limit of %.0f s",
                             (double)p->limits.max_job_runtime_us / 1e6);
                snprintf(res.stage, sizeof(res.stage), "render");
            } else {
                st.error = res.err;
                if (!st.error.code)
                    reel_err_set(&st.error, -ret, NULL, "%s", reel_err_default_msg(ret));
            }
            bool retry = reason != STOP_TIMEOUT && retryable(st.error.code);
            REEL_ERROR(&j.log, "stage=%s %s%s%s: %s (attempt %d, %s)",
                       res.stage[0] ? res.stage : "render", reel_err_code_str(st.error.code),
                       st.error.path[0] ? " at " : "", st.error.path, st.error.msg, c->attempt,
                       retry ? "retryable" : "not retryable");
            struct fail_arg fa = {.st = &st, .retry = retry};
            int fr = until_reachable(s, &j, call_fail, &fa);
            if (fr == 0 && !fa.requeued) {
                count(p, &p->stats.jobs_failed, 0, 0);
                terminal = true;
            } else if (fr == 0) {
                REEL_INFO(&j.log, "queued again for another attempt after a backoff");
            }
        }
    }
    if (terminal)
        hook_enqueue(p, s->q, c->id, &j.log);

    reel_log_set_thread_logger(NULL);
    flush_slot(s, s->q, c->id, c->attempt, gen, true);
    pthread_mutex_lock(&p->lock);
    s->active = false;
    p->stats.jobs_running--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    reel_errlist_uninit(&errs);
    reel_timeline_destroy(&tl);
}

static void *slot_main(void *arg)
{
    struct slot *s = arg;
    reel_thread_name("reel-slot");
    struct reel_worker_pool *p = s->pool;
    bool down = false;
    while (!atomic_load(&p->stopping)) {
        struct reel_claim c;
        int ret = reel_queue_claim(s->q, p->worker_id, p->tags, 1000, &c);
        if (ret == -REEL_EAGAIN)
            continue;
        if (ret < 0) {
            if (!down)
                REEL_WARN(&p->log, "slot %d: cannot claim jobs (%s); retrying", s->index,
                          reel_err_code_str(ret));
            down = true;
            for (int i = 0; i < 10 && !atomic_load(&p->stopping); i++)
                sleep_ms(100);
            continue;
        }
        if (down)
            REEL_INFO(&p->log, "slot %d: claiming again", s->index);
        down = false;
        if (atomic_load(&p->stopping)) {
            /* Claimed just as the pool began stopping: hand it back untouched. */
            reel_queue_release(s->q, c.id, c.attempt);
            reel_claim_uninit(&c);
            break;
        }
        run_job(s, &c);
        reel_claim_uninit(&c);
    }
    return NULL;
}

/* ---- pool ---- */

/* Capabilities from the probes: "gpu" when auto picks the gl engine on a hardware device, and
 * each hardware encoder family with a usable driver. */
static char *detect_tags(int gpu_index, struct reel_log *log)
{
    char tags[64] = "";
    if (!strcmp(reel_render_auto_engine(gpu_index, log), "gl"))
        snprintf(tags, sizeof(tags), "gpu");
    reel_encoder_probe_all(log);
    static const char *const families[] = {"nvenc", "vaapi"};
    for (int f = 0; f < 2; f++) {
        for (int i = 0; reel_encoder_drivers[i]; i++) {
            if (strcmp(reel_encoder_drivers[i]->family, families[f]) ||
                !reel_encoder_usable(reel_encoder_drivers[i]->name, NULL, 0))
                continue;
            size_t n = strlen(tags);
            snprintf(tags + n, sizeof(tags) - n, "%s%s", n ? "," : "", families[f]);
            break;
        }
    }
    return strdup(tags);
}

static int copy_list(char **dst, const char *const *src, const char *what, struct reel_err *err)
{
    int n = 0;
    for (; src && src[n]; n++) {
        if (n == MAX_LIST)
            return reel_err_set(err, REEL_ELIMIT, what, "more than %d values", MAX_LIST);
        if (!(dst[n] = strdup(src[n])))
            return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    }
    dst[n] = NULL;
    return 0;
}

static void pool_free(struct reel_worker_pool *p)
{
    if (!p)
        return;
    for (int i = 0; p->slots && i < p->n_slots; i++) {
        reel_queue_destroy(&p->slots[i].q);
        for (struct line *l = p->slots[i].lines, *next; l; l = next) {
            next = l->next;
            free(l);
        }
        if (p->slots[i].locks_ready) {
            pthread_mutex_destroy(&p->slots[i].out_lock);
            pthread_mutex_destroy(&p->slots[i].flush_lock);
        }
    }
    free(p->slots);
    reel_queue_destroy(&p->keeper_q);
    reel_queue_destroy(&p->hook_q);
    while (p->hooks) {
        struct hook *h = p->hooks;
        p->hooks = h->next;
        REEL_WARN(&p->log, "webhook for job %s dropped: the worker stopped", h->id);
        free(h->url);
        free(h->body);
        free(h);
    }
    for (int i = 0; p->roots[i]; i++)
        free(p->roots[i]);
    for (int i = 0; p->allow_hosts[i]; i++)
        free(p->allow_hosts[i]);
    free(p->output_dir);
    free(p->cache_dir);
    free(p->engine);
    free(p->encoder);
    free(p->hwdec);
    free(p->tags);
    free(p->secret);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

int reel_worker_pool_start(const struct reel_worker_cfg *cfg, struct reel_worker_pool **out,
                           struct reel_err *err)
{
    *out = NULL;
    if (!cfg || !cfg->output_dir || !cfg->output_dir[0])
        return reel_err_set(err, REEL_EINVALID_JOB, "output_dir", "an output folder is required");
    struct stat sb;
    /* <output_dir>/<id>/output-<n>.<ext> must fit the status's 1024-byte path. */
    if (strlen(cfg->output_dir) > 900)
        return reel_err_set(err, REEL_EINVALID_JOB, "output_dir",
                            "output folder path is longer than 900 bytes");
    if (stat(cfg->output_dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        access(cfg->output_dir, W_OK) != 0)
        return reel_err_set(err, REEL_EOUTPUT, "output_dir",
                            "output folder '%s' does not exist or is not writable",
                            cfg->output_dir);
    if (cfg->engine && strcmp(cfg->engine, "auto") && strcmp(cfg->engine, "gl") &&
        strcmp(cfg->engine, "cpu"))
        return reel_err_set(err, REEL_EINVALID_JOB, "engine", "unknown engine '%s'", cfg->engine);
    if (cfg->encoder && strcmp(cfg->encoder, "auto") && strcmp(cfg->encoder, "nvenc") &&
        strcmp(cfg->encoder, "vaapi") && strcmp(cfg->encoder, "software"))
        return reel_err_set(err, REEL_EINVALID_JOB, "encoder", "unknown encoder '%s'",
                            cfg->encoder);

    struct reel_worker_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->hooks_tail = &p->hooks;
    p->cfg = *cfg;
    if (cfg->limits)
        p->limits = *cfg->limits;
    else
        reel_limits_default(&p->limits);
    p->lease_ms = cfg->lease_ms > 0 ? cfg->lease_ms : 30000;
    reel_log_init(&p->log, cfg->log, NULL, "worker");
    p->log.sink = NULL;
    int ret;
    if ((ret = copy_list(p->roots, cfg->asset_roots, "asset_roots", err)) < 0 ||
        (ret = copy_list(p->allow_hosts, cfg->allow_url_hosts, "allow_url_hosts", err)) < 0)
        goto fail;
    p->output_dir = strdup(cfg->output_dir);
    p->cache_dir = dup_or_null(cfg->cache_dir);
    p->engine = dup_or_null(cfg->engine);
    p->encoder = dup_or_null(cfg->encoder);
    p->hwdec = dup_or_null(cfg->hwdec);
    p->tags = cfg->tags ? strdup(cfg->tags) : detect_tags(cfg->gpu_index, &p->log);
    p->secret = dup_or_null(cfg->webhook_secret);
    if (cfg->worker_id && cfg->worker_id[0]) {
        snprintf(p->worker_id, sizeof(p->worker_id), "%s", cfg->worker_id);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(p->worker_id, sizeof(p->worker_id), "%s:%ld", host, (long)getpid());
    }
    p->n_slots = cfg->concurrency > 0 ? cfg->concurrency : 1;
    p->slots = calloc((size_t)p->n_slots, sizeof(*p->slots));
    p->keeper_q = open_queue(p);
    p->hook_q = open_queue(p);
    if (!p->output_dir || !p->slots || !p->keeper_q || !p->hook_q) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    for (int i = 0; i < p->n_slots; i++) {
        p->slots[i].pool = p;
        p->slots[i].index = i;
        pthread_mutex_init(&p->slots[i].out_lock, NULL);
        pthread_mutex_init(&p->slots[i].flush_lock, NULL);
        p->slots[i].lines_tail = &p->slots[i].lines;
        p->slots[i].locks_ready = true;
        if (!(p->slots[i].q = open_queue(p))) {
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
            goto fail;
        }
    }
    if (pthread_create(&p->keeper, NULL, keeper_main, p) != 0) {
        ret = reel_err_set(err, REEL_EINTERNAL, NULL, "cannot start the lease thread");
        goto fail;
    }
    if (pthread_create(&p->hook_thread, NULL, hook_main, p) != 0) {
        atomic_store(&p->finishing, 1);
        pthread_join(p->keeper, NULL);
        ret = reel_err_set(err, REEL_EINTERNAL, NULL, "cannot start the webhook thread");
        goto fail;
    }
    int started = 0;
    for (; started < p->n_slots; started++)
        if (pthread_create(&p->slots[started].thread, NULL, slot_main, &p->slots[started]) != 0)
            break;
    if (started < p->n_slots) {
        atomic_store(&p->stopping, 1);
        for (int i = 0; i < started; i++)
            pthread_join(p->slots[i].thread, NULL);
        atomic_store(&p->finishing, 1);
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->keeper, NULL);
        pthread_join(p->hook_thread, NULL);
        ret = reel_err_set(err, REEL_EINTERNAL, NULL, "cannot start worker threads");
        goto fail;
    }
    REEL_INFO(&p->log,
              "worker %s: %d slot(s), output %s, engine %s, encoder %s, tags '%s', lease %lld ms",
              p->worker_id, p->n_slots, p->output_dir, p->engine ? p->engine : "(job's)",
              p->encoder ? p->encoder : "(job's)", p->tags ? p->tags : "", (long long)p->lease_ms);
    *out = p;
    return 0;
fail:
    pool_free(p);
    return ret;
}

void reel_worker_pool_stop(struct reel_worker_pool **pp, bool graceful, int64_t drain_timeout_ms)
{
    if (!pp || !*pp)
        return;
    struct reel_worker_pool *p = *pp;
    atomic_store(&p->stopping, 1);
    int64_t until = graceful ? now_ms() + (drain_timeout_ms > 0 ? drain_timeout_ms : 0) : 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        bool busy = false;
        for (int i = 0; i < p->n_slots; i++)
            busy |= p->slots[i].active;
        if (!busy || now_ms() >= until)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    for (int i = 0; i < p->n_slots; i++) {
        struct slot *s = &p->slots[i];
        if (s->active) {
            int expect = STOP_NONE;
            atomic_compare_exchange_strong(&s->reason, &expect, STOP_SHUTDOWN);
            atomic_store(&s->cancel, 1);
        }
    }
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_slots; i++)
        pthread_join(p->slots[i].thread, NULL);
    atomic_store(&p->finishing, 1);
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->keeper, NULL);
    pthread_join(p->hook_thread, NULL);
    REEL_INFO(&p->log, "worker %s stopped", p->worker_id);
    pool_free(p);
    *pp = NULL;
}

void reel_worker_pool_quiesce(struct reel_worker_pool *p)
{
    atomic_store(&p->stopping, 1);
}

void reel_worker_pool_stats(struct reel_worker_pool *p, struct reel_worker_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}
