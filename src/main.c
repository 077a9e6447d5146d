/*
 * reel: command-line entry point. Options, wiring and signals only; the work lives in the modules.
 * Exit status: 0 success, 1 job or input error (one line on stderr naming the code, stage and
 * cause), 2 usage error. Every flag has an environment variable: --asset-root <-> REEL_ASSET_ROOT,
 * etc.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api/serve_cmd.h"
#include "assets/assets.h"
#include "bench/bench.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "encode/encoder.h"
#include "render/engine.h"
#include "render/render.h"
#include "timeline/parse.h"

#define MAX_ROOTS 16
#define MAX_DATA 64

enum progress_mode { PROGRESS_NONE_ = 0, PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_JSON, PROGRESS_OFF };

struct cli {
    const char *job_path;
    const char *out_path;
    const char *stats_path; /* --stats-json: the render result as JSON, for the bench suite */
    const char *engine;
    const char *encoder;
    const char *roots[MAX_ROOTS + 1];
    int n_roots;
    const char *data[MAX_DATA];
    int n_data;
    double at_s;
    bool has_at;
    int threads;
    int gpu;
    enum progress_mode progress;
    struct reel_log log;
};

static atomic_int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_cancel, 1);
}

static void usage(FILE *f)
{
    fputs(
        "usage: reel <command> [options]\n"
        "\n"
        "commands:\n"
        "  render JOB.json -o OUT [--engine auto|gl|cpu] [--encoder auto|nvenc|vaapi|software]\n"
        "                         [--data k=v ...] [--progress=bar|json|none] [--stats-json FILE]\n"
        "  frame JOB.json --at SECONDS -o OUT.png [--engine ...] [--data k=v ...]\n"
        "  validate JOB.json [--data k=v ...]\n"
        "  probe\n"
        "  bench [--engine cpu|gl|all] [--jobs a,b] [--runs N] [--json FILE] (bench --help)\n"
        "  version\n"
        "\n"
        "common options (each also read from the environment variable in brackets):\n"
        "  --asset-root DIR    extra asset folder, repeatable [REEL_ASSET_ROOT, ':'-separated]\n"
        "  --threads N         worker threads, 0 = all cores [REEL_THREADS]\n"
        "  --gpu N             GPU index for the gl engine [REEL_GPU]\n"
        "  --log-level L       error|warn|info|debug [REEL_LOG_LEVEL]\n"
        "  --log-format F      text|json [REEL_LOG_FORMAT]\n",
        f);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "reel: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\n(run 'reel help' for usage)\n");
    return 2;
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Fail with the one-line reason of SPEC section 1: code, stage, path and cause. */
static int job_error(const struct reel_err *e, const char *stage)
{
    const char *path = e->path[0] ? e->path : NULL;
    fprintf(stderr, "reel: error: %s (stage %s)%s%s: %s\n", reel_err_code_str(e->code), stage,
            path ? " at " : "", path ? path : "", e->msg);
    return 1;
}

static char *read_file(const char *path, size_t max, size_t *len, struct reel_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        reel_err_set(err, REEL_ENOT_FOUND, NULL, "cannot open job file '%s': %s", path,
                     strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf) {
        reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    if (n > max) {
        free(buf);
        reel_err_set(err, REEL_ETOO_LARGE, "", "job file '%s' is larger than the %zu-byte limit",
                     path, max);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* --data k=v pairs become a JSON object of strings ("{{k}}" then takes the string's value). */
static cJSON *data_object(const struct cli *c)
{
    if (!c->n_data)
        return NULL;
    cJSON *obj = cJSON_CreateObject();
    for (int i = 0; obj && i < c->n_data; i++) {
        const char *eq = strchr(c->data[i], '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - c->data[i]), c->data[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
        cJSON_AddStringToObject(obj, key, eq + 1);
    }
    return obj;
}

static void print_problems(const struct reel_errlist *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        const struct reel_err *e = &errs->items[i];
        fprintf(stderr, "%s: %s: %s\n", e->path[0] ? e->path : "(document)",
                reel_err_code_str(e->code), e->msg);
    }
    if (errs->dropped)
        fprintf(stderr, "... and %zu more problems\n", errs->dropped);
}

/*
 * Load, parse and resolve a job. Roots: the job file's folder, ./assets, then --asset-root folders.
 * On failure prints every problem (when list_all) or the first as the one-line reason.
 */
static int load_job(struct cli *c, bool list_all, struct reel_timeline **out)
{
    struct reel_limits lim;
    reel_limits_default(&lim);
    struct reel_err err = {0};
    size_t len = 0;
    char *doc = read_file(c->job_path, lim.max_body_bytes, &len, &err);
    if (!doc)
        return job_error(&err, "load");

    char dir_buf[PATH_MAX];
    snprintf(dir_buf, sizeof(dir_buf), "%s", c->job_path);
    char *job_dir = dirname(dir_buf);

    cJSON *data = data_object(c);
    struct reel_parse_opts popts = {.limits = &lim, .data = data, .base_dir = job_dir};
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    int ret = reel_timeline_parse(doc, len, &popts, &tl, &errs);
    free(doc);
    cJSON_Delete(data);

    if (ret == 0) {
        const char *roots[MAX_ROOTS + 3];
        int n = 0;
        roots[n++] = job_dir;
        if (access("assets", F_OK) == 0)
            roots[n++] = "assets";
        for (int i = 0; i < c->n_roots; i++)
            roots[n++] = c->roots[i];
        roots[n] = NULL;
        struct reel_assets_cfg acfg = {.roots = roots, .limits = &lim};
        ret = reel_assets_resolve_timeline(&acfg, tl, &c->log, &errs);
    }
    if (ret < 0) {
        if (list_all) {
            print_problems(&errs);
        } else if (errs.count) {
            job_error(&errs.items[0], "validate");
            if (errs.count > 1)
                fprintf(stderr, "reel: %zu more problems; run 'reel validate %s' to list them\n",
                        errs.count - 1 + errs.dropped, c->job_path);
        }
        reel_errlist_uninit(&errs);
        reel_timeline_destroy(&tl);
        return 1;
    }
    reel_errlist_uninit(&errs);
    *out = tl;
    return 0;
}

struct bar_state {
    enum progress_mode mode;
    double last_json;
};

static void on_progress(void *opaque, const struct reel_progress *p)
{
    struct bar_state *b = opaque;
    double frac = p->frames_total ? (double)p->frames_done / (double)p->frames_total : 1;
    if (b->mode == PROGRESS_JSON) {
        bool last = p->frames_done == p->frames_total;
        if (!last && p->elapsed_s - b->last_json < 1.0)
            return;
        b->last_json = p->elapsed_s;
        printf("{\"progress\":%.4f,\"frames_done\":%lld,\"frames_total\":%lld,\"fps\":%.2f,"
               "\"eta_s\":%.2f,\"elapsed_s\":%.2f}\n",
               frac, (long long)p->frames_done, (long long)p->frames_total, p->fps, p->eta_s,
               p->elapsed_s);
        fflush(stdout);
    } else if (b->mode == PROGRESS_BAR) {
        char bar[31];
        int fill = (int)(frac * 30 + 0.5);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r[%s] %3.0f%%  %lld/%lld frames  %6.1f fps  ETA %4.0fs ", bar, frac * 100,
                (long long)p->frames_done, (long long)p->frames_total, p->fps, p->eta_s);
        if (p->frames_done == p->frames_total)
            fputc('\n', stderr);
        fflush(stderr);
    }
}

static enum reel_encoder_pref encoder_pref(const char *s, bool *ok)
{
    *ok = true;
    if (!s || !strcmp(s, "auto"))
        return s ? REEL_ENCPREF_AUTO : REEL_ENCPREF_NONE;
    if (!strcmp(s, "nvenc"))
        return REEL_ENCPREF_NVENC;
    if (!strcmp(s, "vaapi"))
        return REEL_ENCPREF_VAAPI;
    if (!strcmp(s, "software"))
        return REEL_ENCPREF_SOFTWARE;
    *ok = false;
    return REEL_ENCPREF_NONE;
}

/* --stats-json: the render result (engine, encoder, frames, bytes, per-stage seconds) as JSON. */
static int write_stats(const char *path, const struct reel_timeline *tl,
                       const struct reel_render_result *res, double load_s)
{
    struct reel_err err = {0};
    if (reel_bench_write_render_stats(path, tl, res, load_s, &err) < 0)
        return job_error(&err, "stats");
    return 0;
}

static int cmd_render(struct cli *c, bool still)
{
    if (!c->job_path)
        return usage_error("%smissing JOB.json", NULL);
    if (!c->out_path)
        return usage_error("%smissing -o OUT", NULL);
    if (still && !c->has_at)
        return usage_error("%smissing --at SECONDS", NULL);
    bool ok;
    enum reel_encoder_pref pref = encoder_pref(c->encoder, &ok);
    if (!ok)
        return usage_error("unknown --encoder '%s' (auto, nvenc, vaapi, software)", c->encoder);
    if (c->engine && strcmp(c->engine, "auto") && strcmp(c->engine, "gl") &&
        strcmp(c->engine, "cpu"))
        return usage_error("unknown --engine '%s' (auto, gl, cpu)", c->engine);

    struct reel_timeline *tl = NULL;
    double l0 = reel_clock_s();
    if (load_job(c, false, &tl))
        return 1;
    double load_s = reel_clock_s() - l0;

    struct bar_state bar = {.mode = c->progress};
    if (bar.mode == PROGRESS_AUTO)
        bar.mode = isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_OFF;
    struct reel_render_opts ro = {
        .tl = tl,
        .out_path = c->out_path,
        .engine = c->engine,
        .encoder = pref,
        .threads = c->threads,
        .gpu_index = c->gpu,
        .log = &c->log,
        .progress = still ? NULL : on_progress,
        .progress_opaque = &bar,
        .cancel = &g_cancel,
    };
    struct reel_render_result res;
    int ret;
    if (still) {
        if (!isfinite(c->at_s) || c->at_s < 0 ||
            (int64_t)llround(c->at_s * 1e6) >= tl->out.duration_us) {
            fprintf(stderr,
                    "reel: error: invalid_job (stage validate) at --at: %g s is outside the "
                    "video (0 to %.3f s)\n",
                    c->at_s, tl->out.duration_us / 1e6);
            reel_timeline_destroy(&tl);
            return 1;
        }
        ret = reel_render_still(&ro, (int64_t)llround(c->at_s * 1e6), c->out_path, &res);
    } else {
        ret = reel_render_job(&ro, &res);
    }
    if (ret < 0) {
        if (bar.mode == PROGRESS_BAR)
            fputc('\n', stderr);
        job_error(&res.err, res.stage[0] ? res.stage : "render");
        reel_timeline_destroy(&tl);
        return 1;
    }
    if (res.engine_fell_back)
        fprintf(stderr, "reel: note: engine fell back to %s (%s)\n", res.engine,
                res.fallback_reason);
    if (!still) {
        double dur = tl->out.duration_us / 1e6;
        fprintf(stderr,
                "reel: wrote %s (%lld bytes, %lld frames, %.2f s of video) in %.2f s "
                "[engine %s, encoder %s, %.2fx realtime]\n",
                c->out_path, (long long)res.bytes, (long long)res.frames, dur, res.times.total_s,
                res.engine, res.encoder, res.times.total_s > 0 ? dur / res.times.total_s : 0);
    } else {
        fprintf(stderr, "reel: wrote %s [engine %s]\n", c->out_path, res.engine);
    }
    int status = c->stats_path ? write_stats(c->stats_path, tl, &res, load_s) : 0;
    reel_timeline_destroy(&tl);
    return status;
}

static int cmd_validate(struct cli *c)
{
    if (!c->job_path)
        return usage_error("%smissing JOB.json", NULL);
    struct reel_timeline *tl = NULL;
    if (load_job(c, true, &tl))
        return 1;
    printf("valid: %dx%d, %.3f s, %lld frames at %d/%d fps, %d layers\n", tl->out.width,
           tl->out.height, tl->out.duration_us / 1e6, (long long)reel_timeline_frame_count(tl),
           tl->out.fps_num, tl->out.fps_den, tl->n_layers);
    reel_timeline_destroy(&tl);
    return 0;
}

static int cmd_probe(struct cli *c)
{
    printf("reel %s\n\nengines:\n", REEL_VERSION);
    struct reel_engine_cfg cfg = {.width = 64, .height = 64, .gpu_index = c->gpu, .log = &c->log};
    for (int i = 0; reel_engine_registry[i]; i++) {
        const struct reel_engine_ops *ops = reel_engine_registry[i];
        int ok = ops->probe(&cfg) == 0;
        printf("  %-6s %s\n", ops->name, ok ? "usable" : "not usable");
        if (ops->describe) {
            /* The devices the engine sees and the one it chose, indented under its name. */
            char desc[4096];
            ops->describe(&cfg, desc, sizeof(desc));
            for (char *line = strtok(desc, "\n"); line; line = strtok(NULL, "\n"))
                printf("         %s\n", line);
        }
    }
    printf("  auto   -> %s\n", reel_render_auto_engine(c->gpu, &c->log));
    printf("\nencoders:\n");
    reel_encoder_probe_all(&c->log);
    for (int i = 0; reel_encoder_drivers[i]; i++) {
        char reason[256] = "";
        bool ok = reel_encoder_usable(reel_encoder_drivers[i]->name, reason, sizeof(reason));
        printf("  %-12s %-5s %-9s %s%s%s\n", reel_encoder_drivers[i]->name,
               reel_codec_name(reel_encoder_drivers[i]->codec), reel_encoder_drivers[i]->family,
               ok ? "usable" : "not usable", ok ? "" : ": ", ok ? "" : reason);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("reel %s\n", REEL_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "bench"))
        return reel_bench_main(argc, argv); /* its own options; see bench/README.md */
    if (!strcmp(cmd, "serve"))
        return reel_cmd_serve(argc, argv); /* its own options; reel serve --help */

    struct cli c = {.gpu = -1, .progress = PROGRESS_AUTO};
    c.engine = env_or("REEL_ENGINE", NULL);
    c.encoder = env_or("REEL_ENCODER", NULL);
    c.threads = atoi(env_or("REEL_THREADS", "0"));
    c.gpu = atoi(env_or("REEL_GPU", "-1"));
    const char *log_level = env_or("REEL_LOG_LEVEL", "warn");
    const char *log_format = env_or("REEL_LOG_FORMAT", "text");
    static char env_roots[4096];
    snprintf(env_roots, sizeof(env_roots), "%s", env_or("REEL_ASSET_ROOT", ""));
    for (char *save = NULL, *tok = strtok_r(env_roots, ":", &save); tok && c.n_roots < MAX_ROOTS;
         tok = strtok_r(NULL, ":", &save))
        c.roots[c.n_roots++] = tok;

    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"engine", required_argument, NULL, 'e'},
        {"encoder", required_argument, NULL, 'E'},
        {"data", required_argument, NULL, 'd'},
        {"at", required_argument, NULL, 'a'},
        {"asset-root", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 't'},
        {"gpu", required_argument, NULL, 'g'},
        {"progress", required_argument, NULL, 'p'},
        {"stats-json", required_argument, NULL, 'S'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'o':
            c.out_path = optarg;
            break;
        case 'e':
            c.engine = optarg;
            break;
        case 'E':
            c.encoder = optarg;
            break;
        case 'd':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return usage_error("--data wants key=value, got '%s'", optarg);
            if (c.n_data == MAX_DATA)
                return usage_error("too many --data values%s", NULL);
            c.data[c.n_data++] = optarg;
            break;
        case 'a':
            c.at_s = strtod(optarg, &end);
            if (end == optarg || *end)
                return usage_error("--at wants seconds, got '%s'", optarg);
            c.has_at = true;
            break;
        case 'r':
            if (c.n_roots == MAX_ROOTS)
                return usage_error("too many --asset-root folders%s", NULL);
            c.roots[c.n_roots++] = optarg;
            break;
        case 't':
            c.threads = atoi(optarg);
            break;
        case 'g':
            c.gpu = atoi(optarg);
            break;
        case 'S':
            c.stats_path = optarg;
            break;
        case 'p':
            if (!strcmp(optarg, "json"))
                c.progress = PROGRESS_JSON;
            else if (!strcmp(optarg, "bar"))
                c.progress = PROGRESS_BAR;
            else if (!strcmp(optarg, "none"))
                c.progress = PROGRESS_OFF;
            else
                return usage_error("--progress wants bar, json or none, got '%s'", optarg);
            break;
        case 'l':
            log_level = optarg;
            break;
        case 'f':
            log_format = optarg;
            break;
        default:
            return usage_error("bad option%s", NULL);
        }
    }
    if (optind < argc)
        c.job_path = argv[optind++];
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);

    enum reel_log_level lvl = reel_log_level_parse(log_level);
    if (lvl == REEL_LOG_NONE)
        return usage_error("unknown log level '%s'", log_level);
    enum reel_log_format fmt = !strcmp(log_format, "json")   ? REEL_LOG_FORMAT_JSON
                               : !strcmp(log_format, "text") ? REEL_LOG_FORMAT_TEXT
                                                             : REEL_LOG_FORMAT_NONE;
    if (fmt == REEL_LOG_FORMAT_NONE)
        return usage_error("unknown log format '%s' (text, json)", log_format);
    reel_log_setup(stderr, fmt, lvl);
    reel_log_bridge_ffmpeg();
    /* The CLI's job id is the job file's name without folder and extension. */
    char job_id[64] = "-";
    if (c.job_path) {
        const char *base = strrchr(c.job_path, '/') ? strrchr(c.job_path, '/') + 1 : c.job_path;
        snprintf(job_id, sizeof(job_id), "%.*s", (int)strcspn(base, "."), base);
    }
    reel_log_init(&c.log, NULL, job_id, "cli");

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (!strcmp(cmd, "render"))
        return cmd_render(&c, false);
    if (!strcmp(cmd, "frame"))
        return cmd_render(&c, true);
    if (!strcmp(cmd, "validate"))
        return cmd_validate(&c);
    if (!strcmp(cmd, "probe"))
        return cmd_probe(&c);
    if (!strcmp(cmd, "serve") || !strcmp(cmd, "worker"))
        return usage_error("'%s' is not available in this version of reel", cmd);
    return usage_error("unknown command '%s'", cmd);
}
