/*
 * reel: command-line entry point. Options, wiring and signals only; the work lives in the modules.
 * Exit status: 0 success, 1 job or input error (one line on stderr naming the code, stage and
 * cause), 2 usage error (a bad option or option value; nothing done). Every flag has an environment
 * variable: --asset-root <-> REEL_ASSET_ROOT, etc. Every command takes -h/--help.
 */
#include <ctype.h>
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
#include "core/memory.h"
#include "encode/encoder.h"
#include "job/worker_cmd.h"
#include "raster/raster.h"
#include "render/engine.h"
#include "render/render.h"
#include "render/scene.h"
#include "render/video_source.h"
#include "timeline/parse.h"

#define MAX_ROOTS 16
#define MAX_ROOTS_STR "16"
#define MAX_DATA 64
#define MAX_DATA_STR "64"
#define MAX_THREADS 1024
#define MAX_THREADS_STR "1024"
#define MAX_GPU 255
#define MAX_GPU_STR "255"

enum progress_mode { PROGRESS_NONE_ = 0, PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_JSON, PROGRESS_OFF };

struct cli {
    const char *job_path;
    const char *out_path;
    const char *stats_path; /* --stats-json: the render result as JSON, for the bench suite */
    const char *engine;
    const char *encoder;
    const char *hwdec; /* --hwdec: "auto" or "none"; NULL = auto */
    const char *roots[MAX_ROOTS + 1];
    int n_roots;
    const char *data[MAX_DATA];
    int n_data;
    double at_s;
    bool has_at;
    int threads;
    int gpu;
    enum progress_mode progress;
    enum reel_log_level log_level;
    enum reel_log_format log_format;
    struct reel_log log;
};

static atomic_int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_cancel, 1);
}

/* ---- help: one usage text per command ---- */

#define COMMON_HELP                                                                            \
    "  --asset-root DIR          extra asset folder, repeatable [REEL_ASSET_ROOT, "            \
    "':'-separated]\n"                                                                         \
    "  --log-level L             error, warn, info or debug (default warn) [REEL_LOG_LEVEL]\n" \
    "  --log-format F            text or json (default text) [REEL_LOG_FORMAT]\n"              \
    "  -h, --help                this help\n"

#define ENGINE_HELP                                                                          \
    "  --engine auto|gl|cpu      render engine (default: the job's \"engine\", else auto)\n" \
    "                            [REEL_ENGINE]\n"                                            \
    "  --threads N               worker threads, 0 = all cores (default 0) [REEL_THREADS]\n" \
    "  --gpu N|auto              GPU index for the gl engine (default auto) [REEL_GPU]\n"    \
    "  --hwdec auto|none         decoding on a VAAPI/NVDEC device when one opens, else\n"    \
    "                            software (default auto); none: software [REEL_HWDEC]\n"

#define DATA_HELP                                                                        \
    "  --data KEY=VALUE          merge data, repeatable; overrides the job's \"data\"\n" \
    "                            [REEL_DATA: KEY=VALUE lines]\n"

static const char render_help[] =
    "usage: reel render JOB.json -o OUT [options]\n"
    "\n"
    "Render a job to a video file (mp4, mov, webm or gif, as the job's output.format says).\n"
    "Exit status 0 when written, 1 for a job or input error, 2 for a usage error.\n"
    "\n"
    "options (each also read from the environment variable in brackets; a flag wins):\n"
    "  -o, --output FILE         the video file to write [REEL_OUTPUT]\n" ENGINE_HELP
    "  --encoder auto|nvenc|vaapi|software\n"
    "                            video encoder (default: the job's output.encoder)\n"
    "                            [REEL_ENCODER]\n" DATA_HELP
    "  --progress bar|json|none  a progress bar on a terminal (default), or one JSON line a\n"
    "                            second on stdout [REEL_PROGRESS]\n"
    "  --stats-json FILE         also write the engine, encoder, frames and per-stage seconds\n"
    "                            as JSON [REEL_STATS_JSON]\n" COMMON_HELP;

static const char frame_help[] =
    "usage: reel frame JOB.json --at SECONDS -o OUT.png [options]\n"
    "\n"
    "Render the frame at one time of a job as a PNG (a template preview).\n"
    "\n"
    "options (each also read from the environment variable in brackets; a flag wins):\n"
    "  --at SECONDS              the time of the frame, from 0 to the end of the video\n"
    "                            [REEL_AT]\n"
    "  -o, --output FILE         the PNG file to write [REEL_OUTPUT]\n" ENGINE_HELP DATA_HELP
        COMMON_HELP;

static const char validate_help[] =
    "usage: reel validate JOB.json [options]\n"
    "\n"
    "Check a job and its assets without rendering. Prints every problem on stderr, one a line\n"
    "(PATH: CODE: message); exits 0 when the job is valid, 1 when it is not.\n"
    "\n"
    "options (each also read from the environment variable in brackets; a flag wins):\n" DATA_HELP
        COMMON_HELP;

static const char probe_help[] =
    "usage: reel probe [options]\n"
    "\n"
    "List the engines (with every EGL device seen and the one chosen) and the encoder drivers\n"
    "usable on this host, and why the others are not.\n"
    "\n"
    "options (each also read from the environment variable in brackets; a flag wins):\n"
    "  --gpu N|auto              GPU index for the gl engine (default auto) [REEL_GPU]\n"
    "  --log-level L             error, warn, info or debug (default warn) [REEL_LOG_LEVEL]\n"
    "  --log-format F            text or json (default text) [REEL_LOG_FORMAT]\n"
    "  -h, --help                this help\n";

static const char version_help[] = "usage: reel version\n\nPrint reel's version.\n";

static const char help_help[] = "usage: reel help [COMMAND]\n\n"
                                "The list of commands, or the usage of one (as COMMAND --help).\n";

/*
 * The subcommands. A command either is parsed here (run NULL: render, frame, validate, probe,
 * version, help) or parses its own options (run set: called with the whole argv, argv[1] being the
 * command's name). help: the text printed for `reel COMMAND -h|--help` and `reel help COMMAND`,
 * exit status 0; NULL when run prints its own help for --help. A new command adds one line here.
 */
struct command {
    const char *name;
    const char *summary; /* one line for `reel help` */
    const char *help;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"render", "render a job to a video file", render_help, NULL},
    {"frame", "render one frame as PNG (template preview)", frame_help, NULL},
    {"validate", "check a job and its assets; print every problem", validate_help, NULL},
    {"probe", "the engines and encoders usable on this host, and why", probe_help, NULL},
    {"bench", "the performance suite (bench/README.md)", NULL, reel_bench_main},
    {"serve", "the HTTP job API", NULL, reel_cmd_serve},
    {"worker", "a render worker pulling jobs from Redis", NULL, reel_cmd_worker},
    {"version", "print the version", version_help, NULL},
    {"help", "the list of commands, or the usage of one", help_help, NULL},
    {NULL, NULL, NULL, NULL},
};

static const struct command *find_command(const char *name)
{
    for (const struct command *k = commands; name && k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

static void usage(FILE *f)
{
    fputs("usage: reel <command> [options]\n\ncommands:\n", f);
    for (const struct command *k = commands; k->name; k++)
        fprintf(f, "  %-10s%s\n", k->name, k->summary);
    fputs("\n'reel help COMMAND' or 'reel COMMAND --help' shows a command's options. Every option\n"
          "also has an environment variable (--asset-root <-> REEL_ASSET_ROOT); a flag wins.\n",
          f);
}

/* Print a command's help on stdout; exit status 0. */
static int command_help(const struct command *k)
{
    if (k->help) {
        fputs(k->help, stdout);
        return 0;
    }
    char *args[] = {(char *)"reel", (char *)k->name, (char *)"--help", NULL};
    return k->run(3, args);
}

/* -h or --help among a command's arguments (before a "--"). */
static bool wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

static const char *g_cmd = ""; /* the command being run, for usage errors */

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "reel: ");
    fprintf(stderr, fmt, arg ? arg : "");
    if (g_cmd[0])
        fprintf(stderr, "\n(run 'reel %s --help' for usage)\n", g_cmd);
    else
        fprintf(stderr, "\n(run 'reel help' for usage)\n");
    return 2;
}

/* An option value that cannot be used. src names where it came from: the flag ("--threads") or
 * its environment variable ("REEL_THREADS"). Exit status 2, nothing done. */
static int bad_value(const char *src, const char *val, const char *want)
{
    fprintf(stderr, "reel: %s wants %s, got '%s'\n", src, want, val);
    fprintf(stderr, "(run 'reel %s --help' for usage)\n", g_cmd[0] ? g_cmd : "help");
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

/* Is there a problem about this layer (its path, or a field below it) already? */
static bool layer_has_problem(const struct reel_errlist *errs, const char *layer_path)
{
    size_t n = strlen(layer_path);
    for (size_t i = 0; i < errs->count; i++) {
        const char *p = errs->items[i].path;
        if (!strncmp(p, layer_path, n) && (p[n] == '\0' || p[n] == '.' || p[n] == '['))
            return true;
    }
    return false;
}

/*
 * Lay every text layer out with its fonts, as the render will, so that text the rasteriser cannot
 * hold (a word wider than its 16384 px limit at its font size, or a narrow max_width stacking more
 * lines than fit) is reported by validate, at layers[i].text, not when a render starts. Layers
 * with problems of their own are left out. Returns 0 or the first problem's code.
 */
static int check_text(const struct reel_timeline *tl, struct reel_log *log,
                      struct reel_errlist *errs)
{
    struct reel_raster *r = NULL;
    int first = 0;
    for (int i = 0; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        if (l->type != REEL_LAYER_TEXT || !l->text.text || layer_has_problem(errs, l->path))
            continue;
        struct reel_err e = {0};
        if (!r && !(r = reel_raster_create(NULL, log, &e))) {
            first = reel_errlist_add(errs, e.code ? e.code : REEL_EINTERNAL, l->path, "%s", e.msg);
            break;
        }
        struct reel_image img = {0};
        int ret = reel_raster_text(r, &l->text, &img, &e);
        reel_image_uninit(&img);
        if (ret < 0) {
            char path[sizeof(e.path)];
            snprintf(path, sizeof(path), "%s.text", l->path);
            ret = reel_errlist_add(errs, -ret, path, "%s", e.msg);
            first = first ? first : ret;
        }
    }
    reel_raster_destroy(&r);
    return first;
}

/*
 * Load, parse and resolve a job. Roots: the job file's folder, ./assets, then --asset-root folders.
 * A job with parse problems still has its assets checked, so that every problem is found at once.
 * validate (list_all) also lays out its text. On failure prints every problem (when list_all) or
 * the first as the one-line reason.
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
    struct reel_parse_opts popts = {
        .limits = &lim, .data = data, .base_dir = job_dir, .keep_partial = true};
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    int ret = reel_timeline_parse(doc, len, &popts, &tl, &errs);
    free(doc);
    cJSON_Delete(data);

    if (tl) { /* valid, or partial (ret < 0): check the sources either way */
        const char *roots[MAX_ROOTS + 3];
        int n = 0;
        roots[n++] = job_dir;
        if (access("assets", F_OK) == 0)
            roots[n++] = "assets";
        for (int i = 0; i < c->n_roots; i++)
            roots[n++] = c->roots[i];
        roots[n] = NULL;
        struct reel_assets_cfg acfg = {.roots = roots, .limits = &lim, .sources_only = ret < 0};
        int aret = reel_assets_resolve_timeline(&acfg, tl, &c->log, &errs);
        ret = ret < 0 ? ret : aret;
    }
    if (tl) { /* the raster budget, as far as the document says, before anything is drawn */
        struct reel_err ce = {0};
        if (reel_scene_check_cost(tl, &ce) < 0) {
            int cret = reel_errlist_add(&errs, ce.code, ce.path, "%s", ce.msg);
            ret = ret < 0 ? ret : cret;
        }
    }
    if (tl && list_all) {
        int tret = check_text(tl, &c->log, &errs);
        ret = ret < 0 ? ret : tret;
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
    bool ok; /* --engine and --encoder were checked when they were read */
    enum reel_encoder_pref pref = encoder_pref(c->encoder, &ok);

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
        .hwdec = c->hwdec,
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

/* ---- options: each flag and its environment variable go through set_option ---- */

/* A whole number lo..hi written as plain digits (an optional leading '-'). */
static bool parse_whole(const char *s, long lo, long hi, int *out)
{
    if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/*
 * Apply one option value. opt: the option's short code (see opts in main); src: where the value
 * came from, the flag ("--threads") or its environment variable ("REEL_THREADS"), named in the
 * usage error. Returns 0, or 2 after printing the usage error.
 */
static int set_option(struct cli *c, int opt, const char *src, const char *v)
{
    char *end;
    bool ok;
    switch (opt) {
    case 'o':
        c->out_path = v;
        break;
    case 'e':
        if (strcmp(v, "auto") && strcmp(v, "gl") && strcmp(v, "cpu"))
            return bad_value(src, v, "auto, gl or cpu");
        c->engine = v;
        break;
    case 'E':
        encoder_pref(v, &ok);
        if (!ok)
            return bad_value(src, v, "auto, nvenc, vaapi or software");
        c->encoder = v;
        break;
    case 'd':
        if (!strchr(v, '=') || v[0] == '=')
            return bad_value(src, v, "KEY=VALUE");
        if (c->n_data == MAX_DATA)
            return usage_error("too many --data values (at most %s)", MAX_DATA_STR);
        c->data[c->n_data++] = v;
        break;
    case 'a':
        c->at_s = strtod(v, &end);
        if (end == v || *end)
            return bad_value(src, v, "a time in seconds");
        c->has_at = true;
        break;
    case 'r':
        if (c->n_roots == MAX_ROOTS)
            return usage_error("too many asset roots (at most %s)", MAX_ROOTS_STR);
        c->roots[c->n_roots++] = v;
        break;
    case 't':
        if (!parse_whole(v, 0, MAX_THREADS, &c->threads))
            return bad_value(src, v,
                             "a whole number of threads, 0 (all cores) to " MAX_THREADS_STR);
        break;
    case 'g':
        if (!strcmp(v, "auto"))
            c->gpu = -1;
        else if (!parse_whole(v, -1, MAX_GPU, &c->gpu))
            return bad_value(src, v, "a GPU index, 0 to " MAX_GPU_STR ", or auto");
        break;
    case 'H':
        if (!reel_video_hwdec_valid(v))
            return bad_value(src, v, "auto or none");
        c->hwdec = v;
        break;
    case 'p':
        if (!strcmp(v, "json"))
            c->progress = PROGRESS_JSON;
        else if (!strcmp(v, "bar"))
            c->progress = PROGRESS_BAR;
        else if (!strcmp(v, "none"))
            c->progress = PROGRESS_OFF;
        else
            return bad_value(src, v, "bar, json or none");
        break;
    case 'S':
        c->stats_path = v;
        break;
    case 'l':
        c->log_level = reel_log_level_parse(v);
        if (c->log_level == REEL_LOG_NONE)
            return bad_value(src, v, "error, warn, info or debug");
        break;
    case 'f':
        c->log_format = !strcmp(v, "json")   ? REEL_LOG_FORMAT_JSON
                        : !strcmp(v, "text") ? REEL_LOG_FORMAT_TEXT
                                             : REEL_LOG_FORMAT_NONE;
        if (c->log_format == REEL_LOG_FORMAT_NONE)
            return bad_value(src, v, "text or json");
        break;
    default:
        return usage_error("internal: unknown option code%s", NULL);
    }
    return 0;
}

/* Environment variables, applied before the flags so that a flag wins. An empty one is unset. */
static int apply_env(struct cli *c)
{
    static const struct {
        int opt;
        const char *name;
    } vars[] = {
        {'o', "REEL_OUTPUT"},     {'e', "REEL_ENGINE"},     {'E', "REEL_ENCODER"},
        {'a', "REEL_AT"},         {'t', "REEL_THREADS"},    {'g', "REEL_GPU"},
        {'p', "REEL_PROGRESS"},   {'S', "REEL_STATS_JSON"}, {'l', "REEL_LOG_LEVEL"},
        {'f', "REEL_LOG_FORMAT"}, {'H', "REEL_HWDEC"},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = env_or(vars[i].name, NULL);
        if (v && set_option(c, vars[i].opt, vars[i].name, v))
            return 2;
    }
    /* Lists: REEL_ASSET_ROOT holds ':'-separated folders, REEL_DATA one KEY=VALUE a line. The
     * copies live as long as the process. */
    static char *roots_copy, *data_copy;
    const char *v = env_or("REEL_ASSET_ROOT", NULL);
    if (v && (roots_copy = strdup(v)) != NULL) {
        for (char *save = NULL, *tok = strtok_r(roots_copy, ":", &save); tok;
             tok = strtok_r(NULL, ":", &save))
            if (set_option(c, 'r', "REEL_ASSET_ROOT", tok))
                return 2;
    }
    v = env_or("REEL_DATA", NULL);
    if (v && (data_copy = strdup(v)) != NULL) {
        for (char *save = NULL, *tok = strtok_r(data_copy, "\n", &save); tok;
             tok = strtok_r(NULL, "\n", &save))
            if (set_option(c, 'd', "REEL_DATA", tok))
                return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    reel_memory_setup();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version"))
        cmd = "version";
    const struct command *k = find_command(cmd);
    if (!k)
        return usage_error("unknown command '%s'", cmd);
    if (strcmp(k->name, "help"))
        g_cmd = k->name;

    if (!strcmp(k->name, "help")) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))
            return command_help(k);
        if (argc > 3)
            return usage_error("unexpected argument '%s'", argv[3]);
        const struct command *t = find_command(argv[2]);
        if (!t)
            return usage_error("unknown command '%s'", argv[2]);
        return command_help(t);
    }
    if (k->help && wants_help(argc, argv)) {
        fputs(k->help, stdout);
        return 0;
    }
    if (k->run)
        return k->run(argc, argv);
    if (!strcmp(k->name, "version")) {
        if (argc > 2)
            return usage_error("unexpected argument '%s'", argv[2]);
        printf("reel %s\n", REEL_VERSION);
        return 0;
    }

    struct cli c = {
        .gpu = -1,
        .progress = PROGRESS_AUTO,
        .log_level = REEL_LOG_WARN,
        .log_format = REEL_LOG_FORMAT_TEXT,
    };
    if (apply_env(&c))
        return 2;

    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"engine", required_argument, NULL, 'e'},
        {"encoder", required_argument, NULL, 'E'},
        {"data", required_argument, NULL, 'd'},
        {"at", required_argument, NULL, 'a'},
        {"asset-root", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 't'},
        {"gpu", required_argument, NULL, 'g'},
        {"hwdec", required_argument, NULL, 'H'},
        {"progress", required_argument, NULL, 'p'},
        {"stats-json", required_argument, NULL, 'S'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 2;
    opterr = 0; /* unknown options and missing values are reported below, naming the option */
    int ch, idx;
    while ((idx = -1, ch = getopt_long(argc, argv, ":ho:", opts, &idx)) != -1) {
        char flag[64];
        if (idx >= 0)
            snprintf(flag, sizeof(flag), "--%s", opts[idx].name);
        else
            snprintf(flag, sizeof(flag), "-%c", ch);
        if (ch == 'h') {
            fputs(k->help, stdout);
            return 0;
        }
        if (ch == ':')
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        if (ch == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if (set_option(&c, ch, flag, optarg))
            return 2;
    }
    if (optind < argc)
        c.job_path = argv[optind++];
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);

    reel_log_setup(stderr, c.log_format, c.log_level);
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
    if (c.job_path)
        return usage_error("unexpected argument '%s'", c.job_path);
    return cmd_probe(&c);
}
