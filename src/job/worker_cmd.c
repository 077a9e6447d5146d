/*
 * `reel worker`: a render worker pulling jobs from Redis. Flags (each with a REEL_* environment
 * variable), the pool, and a graceful stop: the first SIGTERM/SIGINT stops claiming and lets
 * running jobs finish for --drain-timeout seconds before handing them back; a second one hands
 * them back at once.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "job/cli_common.h"
#include "job/worker.h"
#include "job/worker_cmd.h"
#include "timeline/parse.h"

#define LIST_MAX 32

enum opt_kind { OPT_NONE = 0, OPT_STR, OPT_INT, OPT_BYTES, OPT_LIST };

struct str_list {
    const char *v[LIST_MAX + 1];
    int n;
};

struct wopts {
    const char *redis, *prefix, *output_dir, *tags, *secret, *cache_dir, *worker_id;
    struct reel_cli_common common; /* engine, encoder, hwdec, log format and level */
    struct str_list roots, allow;
    int64_t concurrency, gpu, cache_size, lease_ms, drain_s, threads;
    /* Job limits: the same flags and variables as reel serve's, so the jobs a server accepts are
     * the jobs its workers will run. */
    struct reel_cli_limits limits;
};

struct wflag {
    const char *name, *env;
    enum opt_kind kind;
    size_t off;
    int64_t min, max;
    const char *help;
};

#define OFF(f) offsetof(struct wopts, f)
static const struct wflag wflags[] = {
    {"redis", "REEL_REDIS", OPT_STR, OFF(redis), 0, 0, "Redis URL (redis://127.0.0.1:6379)"},
    {"redis-prefix", "REEL_REDIS_PREFIX", OPT_STR, OFF(prefix), 0, 0, "key prefix (reel)"},
    {"concurrency", "REEL_CONCURRENCY", OPT_INT, OFF(concurrency), 1, 64, "jobs at once (1)"},
    {"output-dir", "REEL_OUTPUT_DIR", OPT_STR, OFF(output_dir), 0, 0,
     "where outputs are written (shared with reel serve; required)"},
    {"asset-root", "REEL_ASSET_ROOT", OPT_LIST, OFF(roots), 0, 0,
     "folder job srcs are relative to (repeatable; env: colon-separated)"},
    {"engine", "REEL_ENGINE", OPT_STR, OFF(common.engine), 0, 0, "auto | gl | cpu (the job's)"},
    {"encoder", "REEL_ENCODER", OPT_STR, OFF(common.encoder), 0, 0,
     "auto | nvenc | vaapi | software (the job's)"},
    {"hwdec", "REEL_HWDEC", OPT_STR, OFF(common.hwdec), 0, 0, "auto | none (auto)"},
    {"tags", "REEL_TAGS", OPT_STR, OFF(tags), 0, 0,
     "capabilities offered, e.g. gpu,nvenc (default: probed)"},
    {"gpu", "REEL_GPU", OPT_INT, OFF(gpu), -1, 64, "GPU index (-1 = auto; one worker per GPU)"},
    {"threads", "REEL_THREADS", OPT_INT, OFF(threads), 0, 256, "threads per job (0 = auto)"},
    {"webhook-secret", "REEL_WEBHOOK_SECRET", OPT_STR, OFF(secret), 0, 0,
     "HMAC key for X-Reel-Signature"},
    {"allow-url-host", "REEL_ALLOW_URL_HOST", OPT_LIST, OFF(allow), 0, 0,
     "host URLs and callbacks may reach despite the address rules (repeatable; env: "
     "comma-separated)"},
    {"cache-dir", "REEL_CACHE_DIR", OPT_STR, OFF(cache_dir), 0, 0, "URL cache folder"},
    {"cache-size", "REEL_CACHE_SIZE", OPT_BYTES, OFF(cache_size), 0, INT64_MAX,
     "URL cache size in bytes, K/M/G suffixes (10G)"},
    {"job-timeout", "REEL_JOB_TIMEOUT", OPT_INT, OFF(limits.job_timeout_s), 1, 7 * 86400,
     "run time of one job, seconds (3600)"},
    {"max-attempts", "REEL_MAX_ATTEMPTS", OPT_INT, OFF(limits.max_attempts), 1, 100,
     "attempts a job (3)"},
    {"max-layers", "REEL_MAX_LAYERS", OPT_INT, OFF(limits.max_layers), 1, 100000,
     "layers a job (500; as reel serve's)"},
    {"max-keyframes", "REEL_MAX_KEYFRAMES", OPT_INT, OFF(limits.max_keyframes), 1, 10000000,
     "keyframes a job (10000)"},
    {"max-text", "REEL_MAX_TEXT", OPT_INT, OFF(limits.max_text), 1, 10000000,
     "characters a text layer (10000)"},
    {"max-width", "REEL_MAX_WIDTH", OPT_INT, OFF(limits.max_width), 16, 16384,
     "output width (7680)"},
    {"max-height", "REEL_MAX_HEIGHT", OPT_INT, OFF(limits.max_height), 16, 16384,
     "output height (4320)"},
    {"max-fps", "REEL_MAX_FPS", OPT_INT, OFF(limits.max_fps), 1, 1000, "output frame rate (120)"},
    {"max-duration", "REEL_MAX_DURATION", OPT_INT, OFF(limits.max_duration_s), 1, 86400,
     "output duration, seconds (3600)"},
    {"lease", "REEL_LEASE_MS", OPT_INT, OFF(lease_ms), 300, 3600000, "lease, ms (30000)"},
    {"drain-timeout", "REEL_DRAIN_TIMEOUT", OPT_INT, OFF(drain_s), 0, 86400,
     "on SIGTERM, seconds running jobs may finish before being handed back (60)"},
    {"worker-id", "REEL_WORKER_ID", OPT_STR, OFF(worker_id), 0, 0, "name in job status"},
    {"log-format", "REEL_LOG_FORMAT", OPT_STR, OFF(common.log_format), 0, 0, "text | json (text)"},
    {"log-level", "REEL_LOG_LEVEL", OPT_STR, OFF(common.log_level), 0, 0,
     "error | warn | info | debug (info)"},
};
#define N_WFLAGS ((int)(sizeof(wflags) / sizeof(wflags[0])))

static atomic_int g_signals;

static void on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_signals, 1);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: reel worker --output-dir DIR [options]\n\n"
               "A render worker: claims jobs from the Redis queue, renders them and publishes\n"
               "one output per job. Every option also reads its environment variable.\n\n");
    for (int i = 0; i < N_WFLAGS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s", wflags[i].name,
                 wflags[i].kind == OPT_NONE ? "" : " V");
        fprintf(f, "  %-24s %s [%s]\n", left, wflags[i].help, wflags[i].env);
    }
    fprintf(f, "  %-24s this help\n", "-h, --help");
}

static int bad(const char *name, const char *val, const char *why)
{
    fprintf(stderr, "reel worker: --%s '%s': %s (run 'reel worker --help')\n", name, val, why);
    return 2;
}

static int parse_bytes(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return -1;
    double mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1024.0, end++;
    else if (*end == 'M' || *end == 'm')
        mult = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mult = 1024.0 * 1024 * 1024, end++;
    else if (*end == 'T' || *end == 't')
        mult = 1024.0 * 1024 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * mult > 9e18)
        return -1;
    *out = (int64_t)(v * mult);
    return 0;
}

/* Set one option from a flag or environment value; 0 or 2 (usage error, printed). */
static int set_opt(struct wopts *o, const struct wflag *f, const char *val, bool from_env)
{
    void *ptr = (char *)o + f->off;
    switch (f->kind) {
    case OPT_STR:
        *(const char **)ptr = val;
        return 0;
    case OPT_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (end == val || *end || errno)
            return bad(f->name, val, "not an integer");
        if (v < f->min || v > f->max) {
            char why[96];
            snprintf(why, sizeof(why), "must be %lld to %lld", (long long)f->min,
                     (long long)f->max);
            return bad(f->name, val, why);
        }
        *(int64_t *)ptr = v;
        return 0;
    }
    case OPT_BYTES:
        if (parse_bytes(val, (int64_t *)ptr) < 0)
            return bad(f->name, val, "not a size in bytes (e.g. 500M, 10G)");
        return 0;
    case OPT_LIST: {
        struct str_list *l = ptr;
        if (!from_env) {
            if (l->n == LIST_MAX)
                return bad(f->name, val, "given too many times");
            l->v[l->n++] = val;
            return 0;
        }
        /* Environment: asset roots are colon-separated (paths), hosts comma-separated. */
        const char *sep = !strcmp(f->name, "asset-root") ? ":" : ",";
        char *copy = strdup(val);
        if (!copy)
            return bad(f->name, val, "out of memory");
        for (char *save = NULL, *t = strtok_r(copy, sep, &save); t;
             t = strtok_r(NULL, sep, &save)) {
            if (l->n == LIST_MAX)
                return bad(f->name, val, "too many values");
            l->v[l->n++] = t; /* copy is kept for the life of the process */
        }
        return 0;
    }
    default:
        return 2;
    }
}

int reel_cmd_worker(int argc, char **argv)
{
    struct wopts o = {.gpu = -1, .drain_s = 60, .concurrency = 1};
    for (int i = 0; i < N_WFLAGS; i++) {
        const char *v = getenv(wflags[i].env);
        if (v && *v && set_opt(&o, &wflags[i], v, true))
            return 2;
    }
    struct option lopts[N_WFLAGS + 2];
    for (int i = 0; i < N_WFLAGS; i++)
        lopts[i] = (struct option){wflags[i].name, required_argument, NULL, 1000 + i};
    lopts[N_WFLAGS] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[N_WFLAGS + 1] = (struct option){NULL, 0, NULL, 0};
    /* Lists given as flags replace the environment's. */
    bool list_from_flag[N_WFLAGS] = {0};
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return 0;
        }
        if (ch < 1000 || ch >= 1000 + N_WFLAGS) {
            fprintf(stderr, "reel worker: bad option (run 'reel worker --help')\n");
            return 2;
        }
        const struct wflag *f = &wflags[ch - 1000];
        if (f->kind == OPT_LIST && !list_from_flag[ch - 1000]) {
            ((struct str_list *)((char *)&o + f->off))->n = 0;
            list_from_flag[ch - 1000] = true;
        }
        if (set_opt(&o, f, optarg, false))
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "reel worker: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    enum reel_log_level lvl;
    int r = reel_cli_common_check(&o.common, &lvl, bad, "not an allowed value",
                                  "not error, warn, info, debug or trace");
    if (r)
        return r;
    if (o.redis && strncmp(o.redis, "redis://", 8))
        return bad("redis", o.redis, "not a redis:// URL");
    if (!o.output_dir) {
        fprintf(stderr, "reel worker: --output-dir is required (run 'reel worker --help')\n");
        return 2;
    }
    reel_cli_log_setup(&o.common, lvl);
    reel_log_bridge_ffmpeg();
    struct reel_log log;
    reel_log_init(&log, NULL, "-", "worker");

    struct reel_limits lim;
    reel_limits_default(&lim);
    reel_cli_limits_apply(&o.limits, &lim);
    o.roots.v[o.roots.n] = NULL;
    o.allow.v[o.allow.n] = NULL;

    struct reel_worker_cfg cfg = {
        .redis_url = o.redis,
        .redis_prefix = o.prefix,
        .concurrency = (int)o.concurrency,
        .output_dir = o.output_dir,
        .asset_roots = o.roots.n ? o.roots.v : NULL,
        .cache_dir = o.cache_dir,
        .cache_size_bytes = o.cache_size ? o.cache_size : 10LL << 30,
        .allow_url_hosts = o.allow.n ? o.allow.v : NULL,
        .engine = o.common.engine,
        .encoder = o.common.encoder,
        .hwdec = o.common.hwdec,
        .gpu_index = (int)o.gpu,
        .threads = (int)o.threads,
        .tags = o.tags,
        .webhook_secret = o.secret,
        .worker_id = o.worker_id,
        .limits = &lim,
        .lease_ms = o.lease_ms,
        .log = &log,
    };

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct reel_worker_pool *pool = NULL;
    struct reel_err err = {0};
    if (reel_worker_pool_start(&cfg, &pool, &err) < 0) {
        fprintf(stderr, "reel worker: %s%s%s: %s\n", reel_err_code_str(err.code),
                err.path[0] ? " at " : "", err.path, err.msg);
        return err.code == REEL_EINVALID_JOB ? 2 : 1;
    }
    while (atomic_load(&g_signals) == 0) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    REEL_INFO(&log,
              "stopping: no new jobs; running jobs get %lld s to finish (signal again to "
              "hand them back now)",
              (long long)o.drain_s);
    /* A second signal during the drain hands the running jobs back at once. */
    reel_worker_pool_quiesce(pool);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct reel_worker_stats ws;
        reel_worker_pool_stats(pool, &ws);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        int64_t waited_ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ws.jobs_running == 0 || waited_ms >= o.drain_s * 1000 || atomic_load(&g_signals) > 1)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    reel_worker_pool_stop(&pool, false, 0);
    return 0;
}
