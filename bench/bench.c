/*
 * reel bench: options, the order runs are taken in, and collecting what each child reports.
 *
 * Order matters for fairness: per job and engine, one warm-up (page cache, fonts, encoder probe),
 * then N rounds of [reel, every FFmpeg CLI peer variant, encode floor] back to back, so that a
 * machine that speeds up or slows down during the session moves every side of a ratio alike;
 * ratios are taken pair by pair within a round, and the peer variants take turns going first.
 * Composition-only runs follow. The target against the peer is judged on the fastest variant.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libavutil/avutil.h>

#include "bench/bench.h"
#include "bench/internal.h"
#include "core/clock.h"
#include "core/memory.h"
#include "render/engine.h"

#define MAX_JOBS 32
#define MAX_ENGINES 4
#define MAX_PEERS 6
/* Pairs within one run spread by 10-25 % on a shared 2-core VM; with three, the median of a job
 * whose ratio sits a few per cent from its target lands on either side from run to run. */
#define DEFAULT_RUNS 5
#define LONG_RUNS 1

/* The speed targets reel is held to (reported, never enforced), for the cpu engine. */
#define TARGET_VS_PEER 0.8
#define TARGET_VS_FLOOR 1.3
#define TARGET_LAYERS_VS_FLOOR 1.5

struct job_ref {
    char name[32];
    char path[PATH_MAX];
    struct reel_bench_job spec; /* a copy: custom job files get a spec of their own */
};

struct bench {
    char exe[PATH_MAX];
    char dir[PATH_MAX]; /* the bench folder: jobs/, peer/, gen-media.sh */
    char out_dir[PATH_MAX];
    char media_dir[PATH_MAX];
    char font[PATH_MAX];
    char ffmpeg[PATH_MAX];
    char log_path[PATH_MAX];
    bool has_ffmpeg;
    char peers[MAX_PEERS][16]; /* variants of peer/w1.sh (its --list), "exact" first */
    int n_peers;
    const char *engines[MAX_ENGINES];
    int n_engines;
    int runs; /* 0: each job's default */
    bool do_peer, do_floor, do_compose, do_decode;
    struct job_ref jobs[MAX_JOBS];
    int n_jobs;
    struct reel_bench_results *res;
    struct reel_log *log;
    int failures;
};

static void usage(FILE *f)
{
    fputs(
        "usage: reel bench [--engine cpu|gl|all] [--jobs NAME|FILE,...] [--runs N] [--json FILE]\n"
        "                  [--svg FILE] [--no-peer] [--no-floor] [--no-compose] [--no-decode]\n"
        "                  [--list]\n"
        "\n"
        "  --engine E    cpu, gl, or all (every engine that starts here); default: cpu, plus gl\n"
        "                when it runs on a hardware GPU\n"
        "  --jobs LIST   comma-separated suite jobs (see --list) or job files; default: all\n"
        "  --runs N      measured runs per job and engine after one warm-up (default 5; the\n"
        "                long jobs 1)\n"
        "  --json FILE   results file (default bench/out/<machine>.json); the chart goes beside\n"
        "                it as .svg unless --svg says otherwise\n"
        "  --no-peer, --no-floor, --no-compose, --no-decode   leave out the FFmpeg CLI peer,\n"
        "                the encode floor, the composition-only or the decoding-only runs\n"
        "  --dir DIR     the bench folder (default: the source tree's bench/) [REEL_BENCH_DIR]\n"
        "\n"
        "Writes a Markdown report to stdout, children's logs to bench/out/bench.log.\n",
        f);
}

/* snprintf for names built from paths: a name that does not fit is cut, and says so once. */
static void fmt_into(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_into(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        fprintf(stderr, "reel bench: a path is too long and was cut: %s\n", buf);
}

static bool file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- reading what children report ---- */

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return cJSON_Parse(buf);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void str(const cJSON *o, const char *key, char *buf, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v) && cap)
        fmt_into(buf, cap, "%s", v->valuestring);
}

static void empty_run(struct reel_bench_run *r)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < REEL_BENCH_STAGE_COUNT; i++)
        r->stages[i] = NAN;
}

/* ---- the result tables ---- */

static struct reel_bench_series *series_for(struct bench *b, const char *job,
                                            enum reel_bench_kind kind, const char *engine)
{
    struct reel_bench_results *r = b->res;
    for (int i = 0; i < r->n_series; i++) {
        struct reel_bench_series *s = &r->series[i];
        if (s->kind == kind && !strcmp(s->job, job) && !strcmp(s->engine, engine))
            return s;
    }
    if (r->n_series == REEL_BENCH_MAX_SERIES)
        return NULL;
    struct reel_bench_series *s = &r->series[r->n_series++];
    memset(s, 0, sizeof(*s));
    fmt_into(s->job, sizeof(s->job), "%s", job);
    fmt_into(s->engine, sizeof(s->engine), "%s", engine);
    s->kind = kind;
    return s;
}

/* peer: the peer variant for PEER pairs, "" for FLOOR. */
static void add_pair(struct bench *b, const char *job, const char *engine, enum reel_bench_kind to,
                     const char *peer, double reel_s, double other_s)
{
    struct reel_bench_results *r = b->res;
    struct reel_bench_ratio *q = NULL;
    for (int i = 0; i < r->n_ratios && !q; i++)
        if (r->ratios[i].to_kind == to && !strcmp(r->ratios[i].job, job) &&
            !strcmp(r->ratios[i].engine, engine) && !strcmp(r->ratios[i].peer, peer))
            q = &r->ratios[i];
    if (!q) {
        if (r->n_ratios == REEL_BENCH_MAX_RATIOS)
            return;
        q = &r->ratios[r->n_ratios++];
        memset(q, 0, sizeof(*q));
        fmt_into(q->job, sizeof(q->job), "%s", job);
        fmt_into(q->engine, sizeof(q->engine), "%s", engine);
        fmt_into(q->peer, sizeof(q->peer), "%s", peer);
        q->of_kind = REEL_BENCH_KIND_RENDER;
        q->to_kind = to;
        /* Against the peer, every variant gets the target for now; reel_bench_pick_fastest_peers
         * keeps it on the fastest one only. */
        if (!strcmp(engine, "cpu")) {
            if (to == REEL_BENCH_KIND_PEER && (!strcmp(job, "w1-720") || !strcmp(job, "w1-1080")))
                q->target = TARGET_VS_PEER;
            if (to == REEL_BENCH_KIND_FLOOR && !strcmp(job, "w1-1080"))
                q->target = TARGET_VS_FLOOR;
            if (to == REEL_BENCH_KIND_FLOOR && !strcmp(job, "layers-1080"))
                q->target = TARGET_LAYERS_VS_FLOOR;
        }
    }
    if (q->n < REEL_BENCH_MAX_RUNS && other_s > 0)
        q->pairs[q->n++] = reel_s / other_s;
}

static void series_fail(struct bench *b, struct reel_bench_series *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void series_fail(struct bench *b, struct reel_bench_series *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (s) {
        vsnprintf(s->note, sizeof(s->note), fmt, ap);
        s->failed = true;
        progress("FAILED %s %s %s: %s", s->job, s->engine, reel_bench_kind_name(s->kind), s->note);
    }
    va_end(ap);
    b->failures++;
}

/* ---- one measurement each ---- */

static void out_path(const struct bench *b, char *buf, size_t cap, const char *job,
                     const char *what)
{
    fmt_into(buf, cap, "%s/%s-%s", b->out_dir, job, what);
}

/* reel render in a child. stats_json may be NULL (warm-up). */
static int spawn_render(struct bench *b, const struct job_ref *j, const char *engine,
                        const char *video, const char *stats_json, struct reel_bench_proc *p)
{
    char *argv[20];
    int n = 0;
    argv[n++] = b->exe;
    argv[n++] = "render";
    argv[n++] = (char *)j->path;
    argv[n++] = "-o";
    argv[n++] = (char *)video;
    argv[n++] = "--engine";
    argv[n++] = (char *)engine;
    argv[n++] = "--asset-root";
    argv[n++] = b->media_dir;
    argv[n++] = "--progress";
    argv[n++] = "none";
    if (stats_json) {
        argv[n++] = "--stats-json";
        argv[n++] = (char *)stats_json;
    }
    argv[n] = NULL;
    struct reel_err err = {0};
    if (stats_json)
        remove(stats_json);
    if (reel_bench_spawn(argv, b->log_path, p, &err) < 0) {
        progress("%s", err.msg);
        return -1;
    }
    return p->status == 0 ? 0 : -1;
}

/* A short warm-up for long jobs: one frame (opens every source, loads fonts and shaders). */
static int spawn_frame(struct bench *b, const struct job_ref *j, const char *engine)
{
    char png[PATH_MAX];
    out_path(b, png, sizeof(png), j->name, "warm.png");
    char *argv[] = {b->exe, "frame",    (char *)j->path, "--at",         "0",          "-o",
                    png,    "--engine", (char *)engine,  "--asset-root", b->media_dir, NULL};
    struct reel_bench_proc p;
    struct reel_err err = {0};
    if (reel_bench_spawn(argv, b->log_path, &p, &err) < 0)
        return -1;
    return p.status == 0 ? 0 : -1;
}

static void fill_from_stats(struct reel_bench_series *s, struct reel_bench_run *run, const cJSON *o)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stages_s");
    for (int i = 0; i < REEL_BENCH_STAGE_COUNT; i++)
        run->stages[i] = num(st, reel_bench_stage_key((enum reel_bench_stage)i));
    str(o, "engine", s->engine, sizeof(s->engine));
    str(o, "encoder", s->encoder, sizeof(s->encoder));
    double frames = num(o, "frames"), video_s = num(o, "video_s");
    if (!isnan(frames))
        s->frames = (int64_t)frames;
    if (!isnan(video_s))
        s->video_s = video_s;
    double w = num(o, "width"), h = num(o, "height");
    if (!isnan(w) && !isnan(h)) {
        s->width = (int)w;
        s->height = (int)h;
    }
}

/* One measured reel run (render or compose); returns the wall time or NAN on failure. */
static double measure_reel(struct bench *b, const struct job_ref *j, const char *engine,
                           enum reel_bench_kind kind)
{
    struct reel_bench_series *s = series_for(b, j->name, kind, engine);
    if (!s || s->failed || s->n_runs == REEL_BENCH_MAX_RUNS)
        return NAN;
    char video[PATH_MAX], stats[PATH_MAX], what[64];
    fmt_into(what, sizeof(what), "%s.mp4", engine);
    out_path(b, video, sizeof(video), j->name, what);
    fmt_into(what, sizeof(what), "%s-%s.stats.json", engine, reel_bench_kind_name(kind));
    out_path(b, stats, sizeof(stats), j->name, what);
    struct reel_bench_proc p;
    int ret;
    if (kind == REEL_BENCH_KIND_RENDER) {
        ret = spawn_render(b, j, engine, video, stats, &p);
    } else {
        char *argv[] = {b->exe,          "bench",      "_compose",
                        (char *)j->path, "--engine",   (char *)engine,
                        "--asset-root",  b->media_dir, "--stats-json",
                        stats,           NULL};
        struct reel_err err = {0};
        remove(stats);
        ret = reel_bench_spawn(argv, b->log_path, &p, &err);
        if (ret == 0 && p.status != 0)
            ret = -1;
    }
    cJSON *o = ret == 0 ? read_json(stats) : NULL;
    if (!o) {
        series_fail(b, s, "run %d failed (exit status %d); see %s", s->n_runs + 1, p.status,
                    b->log_path);
        return NAN;
    }
    struct reel_bench_run *run = &s->runs[s->n_runs++];
    empty_run(run);
    run->wall_s = p.wall_s;
    run->cpu_s = p.cpu_s;
    run->rss_mb = p.rss_mb;
    fill_from_stats(s, run, o);
    cJSON_Delete(o);
    progress("%-11s %-4s %-8s run %d: %.2f s wall, %.2f s CPU, %.0f MB", j->name, engine,
             reel_bench_kind_name(kind), s->n_runs, p.wall_s, p.cpu_s, p.rss_mb);
    return p.wall_s;
}

/* Where a peer variant's output goes: the exact peer's is the one the picture check always used. */
static void peer_path(const struct bench *b, char *buf, size_t cap, const char *job,
                      const char *variant)
{
    char what[64];
    if (!strcmp(variant, "exact"))
        fmt_into(what, sizeof(what), "peer.mp4");
    else
        fmt_into(what, sizeof(what), "peer-%s.mp4", variant);
    out_path(b, buf, cap, job, what);
}

static int spawn_peer(struct bench *b, const struct job_ref *j, const char *variant,
                      const char *video, struct reel_bench_proc *p)
{
    char script[PATH_MAX], height[16];
    fmt_into(script, sizeof(script), "%s/peer/w1.sh", b->dir);
    fmt_into(height, sizeof(height), "%d", j->spec.peer_height);
    char *argv[] = {"/bin/sh", script,        "--variant", (char *)variant, height, b->media_dir,
                    b->font,   (char *)video, NULL};
    struct reel_err err = {0};
    if (reel_bench_spawn(argv, b->log_path, p, &err) < 0) {
        progress("%s", err.msg);
        return -1;
    }
    return p->status == 0 ? 0 : -1;
}

static double measure_peer(struct bench *b, const struct job_ref *j, const char *variant,
                           const struct reel_bench_series *like)
{
    struct reel_bench_series *s = series_for(b, j->name, REEL_BENCH_KIND_PEER, variant);
    if (!s || s->failed || s->n_runs == REEL_BENCH_MAX_RUNS)
        return NAN;
    char video[PATH_MAX];
    peer_path(b, video, sizeof(video), j->name, variant);
    struct reel_bench_proc p;
    if (spawn_peer(b, j, variant, video, &p) < 0) {
        series_fail(b, s, "run %d failed (exit status %d); see %s", s->n_runs + 1, p.status,
                    b->log_path);
        return NAN;
    }
    fmt_into(s->encoder, sizeof(s->encoder), "libx264 (ffmpeg CLI)");
    if (like) {
        s->frames = like->frames;
        s->video_s = like->video_s;
        s->width = like->width;
        s->height = like->height;
    }
    struct reel_bench_run *run = &s->runs[s->n_runs++];
    empty_run(run);
    run->wall_s = p.wall_s;
    run->cpu_s = p.cpu_s;
    run->rss_mb = p.rss_mb;
    progress("%-11s ffmpeg-cli %-5s run %d: %.2f s wall, %.2f s CPU, %.0f MB", j->name, variant,
             s->n_runs, p.wall_s, p.cpu_s, p.rss_mb);
    return p.wall_s;
}

/*
 * One run of a child that times part of its own work (`reel bench _floor` or `_decode`, mode) for
 * the job's series of kind: its stats (the caller deletes them), with a new run of *sp filled from
 * the child's own wall_s and cpu_s and wait4's peak RSS, and the series' frames and video facts
 * (like's: the render series); NULL when the series is done or failed (now or before).
 */
static cJSON *run_timing_child(struct bench *b, const struct job_ref *j, enum reel_bench_kind kind,
                               const char *mode, const struct reel_bench_series *like,
                               struct reel_bench_series **sp, struct reel_bench_run **out)
{
    struct reel_bench_series *s = series_for(b, j->name, kind, "-");
    if (!s || s->failed || s->n_runs == REEL_BENCH_MAX_RUNS)
        return NULL;
    char stats[PATH_MAX], what[64];
    fmt_into(what, sizeof(what), "%s.stats.json", mode + 1);
    out_path(b, stats, sizeof(stats), j->name, what);
    remove(stats);
    char *argv[] = {b->exe,          "bench",        (char *)mode,
                    (char *)j->path, "--asset-root", b->media_dir,
                    "--stats-json",  stats,          NULL};
    struct reel_bench_proc p;
    struct reel_err err = {0};
    int ret = reel_bench_spawn(argv, b->log_path, &p, &err);
    cJSON *o = ret == 0 && p.status == 0 ? read_json(stats) : NULL;
    if (!o) {
        series_fail(b, s, "run %d failed (exit status %d); see %s", s->n_runs + 1, p.status,
                    b->log_path);
        return NULL;
    }
    struct reel_bench_run *run = &s->runs[s->n_runs++];
    empty_run(run);
    run->wall_s = num(o, "wall_s");
    run->cpu_s = num(o, "cpu_s");
    run->rss_mb = p.rss_mb;
    double frames = num(o, "frames");
    s->frames = isnan(frames) ? 0 : (int64_t)frames;
    if (like) {
        s->video_s = like->video_s;
        s->width = like->width;
        s->height = like->height;
    }
    *sp = s;
    *out = run;
    return o;
}

static double measure_floor(struct bench *b, const struct job_ref *j,
                            const struct reel_bench_series *like)
{
    /* The child times only the encoder; its own wall and CPU include decoding into memory. */
    struct reel_bench_series *s;
    struct reel_bench_run *run;
    cJSON *o = run_timing_child(b, j, REEL_BENCH_KIND_FLOOR, "_floor", like, &s, &run);
    if (!o)
        return NAN;
    run->stages[REEL_BENCH_STAGE_ENCODE] = num(o, "encode_s");
    str(o, "encoder", s->encoder, sizeof(s->encoder));
    fmt_into(s->note, sizeof(s->note),
             "wall and CPU cover encoding only; peak RSS includes every frame held in memory");
    cJSON_Delete(o);
    progress("%-11s floor    run %d: %.2f s encode, %.2f s CPU", j->name, s->n_runs, run->wall_s,
             run->cpu_s);
    return run->wall_s;
}

/* One decoding-only run of the job's clips (engine-independent: one series per job). */
static void measure_decode(struct bench *b, const struct job_ref *j,
                           const struct reel_bench_series *like)
{
    /* The child times only the opens and the decoding, not its start or the job's loading. */
    struct reel_bench_series *s;
    struct reel_bench_run *run;
    cJSON *o = run_timing_child(b, j, REEL_BENCH_KIND_DECODE, "_decode", like, &s, &run);
    if (!o)
        return;
    run->stages[REEL_BENCH_STAGE_DECODE] = run->wall_s;
    fmt_into(s->encoder, sizeof(s->encoder), "-");
    double decoded = num(o, "decoded");
    fmt_into(s->note, sizeof(s->note),
             "wall and CPU cover opening the clips and decoding %.0f frames, nothing else",
             isnan(decoded) ? 0.0 : decoded);
    cJSON_Delete(o);
    progress("%-11s decode   run %d: %.2f s, %.2f s CPU", j->name, s->n_runs, run->wall_s,
             run->cpu_s);
}

static void check_picture(struct bench *b, const struct job_ref *j, const char *engine,
                          const char *variant, double fps)
{
    struct reel_bench_results *r = b->res;
    if (r->n_psnr == REEL_BENCH_MAX_PSNR)
        return;
    struct reel_bench_psnr *q = &r->psnr[r->n_psnr++];
    memset(q, 0, sizeof(*q));
    fmt_into(q->job, sizeof(q->job), "%s", j->name);
    fmt_into(q->engine, sizeof(q->engine), "%s", engine);
    fmt_into(q->peer, sizeof(q->peer), "%s", variant);
    char a[PATH_MAX], p[PATH_MAX], what[64];
    fmt_into(what, sizeof(what), "%s.mp4", engine);
    out_path(b, a, sizeof(a), j->name, what);
    peer_path(b, p, sizeof(p), j->name, variant);
    /* Times that show each part of w1: logo alone, the title, mid-crossfade, clip B. */
    static const double samples[REEL_BENCH_PSNR_SAMPLES] = {0.5, 2.5, 5.5, 8.0};
    struct reel_err err = {0};
    if (reel_bench_compare_files(a, p, fps, samples, q, &err) < 0) {
        fmt_into(q->note, sizeof(q->note), "%s", err.msg);
        progress("%s %s: PSNR against the %s peer failed: %s", j->name, engine, variant, err.msg);
        return;
    }
    progress("%-11s %-4s PSNR against ffmpeg-cli %s: Y %.2f dB mean, %.2f dB min (frame %d)",
             j->name, engine, variant, q->mean_y, q->min_y, q->min_y_frame);
}

/* Everything measured for one job with one engine. */
static void run_job_engine(struct bench *b, const struct job_ref *j, const char *engine,
                           bool *peer_warm)
{
    const struct reel_bench_job *spec = &j->spec;
    int runs = b->runs ? b->runs : (spec->is_long ? LONG_RUNS : DEFAULT_RUNS);
    char video[PATH_MAX], what[64];
    fmt_into(what, sizeof(what), "%s.mp4", engine);
    out_path(b, video, sizeof(video), j->name, what);

    double t0 = reel_clock_s();
    struct reel_bench_proc p;
    int ret =
        spec->is_long ? spawn_frame(b, j, engine) : spawn_render(b, j, engine, video, NULL, &p);
    if (ret < 0) {
        struct reel_bench_series *s = series_for(b, j->name, REEL_BENCH_KIND_RENDER, engine);
        series_fail(b, s, "the warm-up failed; see %s", b->log_path);
        return;
    }
    progress("%-11s %-4s warm-up done (%.1f s)", j->name, engine, reel_clock_s() - t0);

    bool with_peer = spec->peer_height > 0 && b->do_peer && b->has_ffmpeg;
    bool with_floor = spec->has_floor && b->do_floor;
    /* One warm-up per variant and job; a variant whose warm-up fails is left out of the rounds
     * (its series says why), the others still run. */
    if (with_peer && !*peer_warm) {
        for (int v = 0; v < b->n_peers; v++) {
            char pv[PATH_MAX];
            peer_path(b, pv, sizeof(pv), j->name, b->peers[v]);
            if (spawn_peer(b, j, b->peers[v], pv, &p) < 0) {
                struct reel_bench_series *s =
                    series_for(b, j->name, REEL_BENCH_KIND_PEER, b->peers[v]);
                series_fail(b, s, "the warm-up failed (exit status %d); see %s", p.status,
                            b->log_path);
            }
        }
        *peer_warm = true;
    }
    if (with_peer && !spec->is_long)
        for (int v = 0; v < b->n_peers; v++) {
            const struct reel_bench_series *ps =
                series_for(b, j->name, REEL_BENCH_KIND_PEER, b->peers[v]);
            if (ps && !ps->failed)
                check_picture(b, j, engine, b->peers[v], 30.0);
        }

    const struct reel_bench_series *rs = series_for(b, j->name, REEL_BENCH_KIND_RENDER, engine);
    /* Decoding does not depend on the engine: measured in the first engine's rounds only, right
     * after the floor, so that both come from the same stretch of the session. */
    const struct reel_bench_series *ds = spec->has_floor && b->do_decode
                                             ? series_for(b, j->name, REEL_BENCH_KIND_DECODE, "-")
                                             : NULL;
    bool with_decode = ds && ds->n_runs == 0;
    for (int i = 0; i < runs; i++) {
        double reel_s = measure_reel(b, j, engine, REEL_BENCH_KIND_RENDER);
        if (isnan(reel_s))
            break;
        /* Every variant once a round, a different one first each round. */
        for (int k = 0; with_peer && k < b->n_peers; k++) {
            const char *variant = b->peers[(i + k) % b->n_peers];
            double peer_s = measure_peer(b, j, variant, rs);
            if (!isnan(peer_s))
                add_pair(b, j->name, engine, REEL_BENCH_KIND_PEER, variant, reel_s, peer_s);
        }
        if (with_floor) {
            double floor_s = measure_floor(b, j, rs);
            if (!isnan(floor_s))
                add_pair(b, j->name, engine, REEL_BENCH_KIND_FLOOR, "", reel_s, floor_s);
        }
        if (with_decode)
            measure_decode(b, j, rs);
    }
    if (spec->has_compose && b->do_compose)
        for (int i = 0; i < runs; i++)
            if (isnan(measure_reel(b, j, engine, REEL_BENCH_KIND_COMPOSE)))
                break;
}

/* ---- setup ---- */

static void read_os_release(char *id, size_t id_cap, char *pretty, size_t pretty_cap)
{
    char ident[32] = "linux", version[32] = "";
    FILE *f = fopen("/etc/os-release", "r");
    char line[256];
    fmt_into(pretty, pretty_cap, "Linux");
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *v = eq + 1;
        if (*v == '"') {
            v++;
            v[strcspn(v, "\"")] = 0;
        }
        if (!strcmp(line, "ID"))
            fmt_into(ident, sizeof(ident), "%s", v);
        else if (!strcmp(line, "VERSION_ID"))
            fmt_into(version, sizeof(version), "%s", v);
        else if (!strcmp(line, "PRETTY_NAME"))
            fmt_into(pretty, pretty_cap, "%s", v);
    }
    if (f)
        fclose(f);
    fmt_into(id, id_cap, "%s%s", ident, version);
}

static void host_facts(struct bench *b)
{
    struct reel_bench_host *h = &b->res->host;
    char os_id[64];
    read_os_release(os_id, sizeof(os_id), h->os, sizeof(h->os));
    struct utsname u;
    if (uname(&u) == 0)
        fmt_into(h->kernel, sizeof(h->kernel), "%s %s %s", u.sysname, u.release, u.machine);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->cores = cores > 0 ? (int)cores : 1;
    h->mem_gb = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / 1073741824.0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c += 2;
                c[strcspn(c, "\n")] = 0;
                fmt_into(h->cpu, sizeof(h->cpu), "%s", c);
            }
            break;
        }
    }
    if (f)
        fclose(f);
    fmt_into(h->libav, sizeof(h->libav), "%s", av_version_info());
    reel_hugepages_kernel_mode(h->thp, sizeof(h->thp));
    fmt_into(h->thp_reel, sizeof(h->thp_reel), "%s",
             reel_hugepages_parse(getenv("REEL_HUGEPAGES"), NULL) == REEL_HUGEPAGES_OFF ? "off"
                                                                                        : "system");
    if (b->has_ffmpeg) {
        char cmd[PATH_MAX + 32];
        fmt_into(cmd, sizeof(cmd), "'%s' -hide_banner -version 2>/dev/null", b->ffmpeg);
        FILE *pf = popen(cmd, "r");
        if (pf && fgets(line, sizeof(line), pf)) {
            line[strcspn(line, "\n")] = 0;
            fmt_into(h->ffmpeg_cli, sizeof(h->ffmpeg_cli), "%s", line);
        }
        if (pf)
            pclose(pf);
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(h->date, sizeof(h->date), "%Y-%m-%dT%H:%M:%SZ", &tm);

    size_t len = (size_t)snprintf(h->name, sizeof(h->name), "%s-%dcore", os_id, h->cores);
    for (int i = 0; i < b->n_engines && len < sizeof(h->name); i++)
        len += (size_t)snprintf(h->name + len, sizeof(h->name) - len, "-%s", b->engines[i]);

    size_t dl = 0;
    struct reel_engine_cfg cfg = {.width = 64, .height = 64, .gpu_index = -1, .log = b->log};
    for (int i = 0; i < b->n_engines; i++) {
        const struct reel_engine_ops *ops = reel_engine_find(b->engines[i]);
        if (!ops || !ops->describe || dl >= sizeof(h->engines_desc))
            continue;
        char desc[512];
        ops->describe(&cfg, desc, sizeof(desc));
        dl += (size_t)snprintf(h->engines_desc + dl, sizeof(h->engines_desc) - dl, "%s: %s\n",
                               ops->name, desc);
    }
}

/* The media the suite's jobs need; generated by bench/gen-media.sh when any is missing. Job files
 * of one's own bring their own media. */
static int ensure_media(struct bench *b)
{
    bool any_suite_job = false;
    for (int i = 0; i < b->n_jobs; i++)
        any_suite_job |= reel_bench_suite_find(b->jobs[i].name) != NULL;
    if (!any_suite_job)
        return 0;
    static const char *const files[] = {
        "clips/a-720.mp4",  "clips/b-720.mp4",  "clips/a-1080.mp4", "clips/b-1080.mp4",
        "clips/a-2160.mp4", "clips/b-2160.mp4", "images/logo.png",  "images/star.png",
    };
    bool missing = false;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[PATH_MAX];
        fmt_into(p, sizeof(p), "%s/%s", b->media_dir, files[i]);
        missing |= !file_exists(p);
    }
    if (!missing)
        return 0;
    if (!b->has_ffmpeg) {
        fprintf(stderr,
                "reel bench: the bench media (%s) is missing and the ffmpeg command, which "
                "generates it, is not installed (apt-get install ffmpeg); cannot run the suite\n",
                b->media_dir);
        return -1;
    }
    progress("generating the bench media into %s (once; a few minutes)", b->media_dir);
    char script[PATH_MAX];
    fmt_into(script, sizeof(script), "%s/gen-media.sh", b->dir);
    char *argv[] = {"/bin/sh", script, b->media_dir, NULL};
    struct reel_bench_proc p;
    struct reel_err err = {0};
    if (reel_bench_spawn(argv, b->log_path, &p, &err) < 0 || p.status != 0) {
        fprintf(stderr, "reel bench: generating the media failed; see %s\n", b->log_path);
        return -1;
    }
    return 0;
}

static int add_job(struct bench *b, const char *name)
{
    if (b->n_jobs == MAX_JOBS)
        return -1;
    struct job_ref *j = &b->jobs[b->n_jobs];
    memset(j, 0, sizeof(*j));
    const struct reel_bench_job *spec = reel_bench_suite_find(name);
    if (spec) {
        j->spec = *spec;
        fmt_into(j->name, sizeof(j->name), "%s", spec->name);
        fmt_into(j->path, sizeof(j->path), "%s/jobs/%s.json", b->dir, spec->name);
    } else {
        /* A job file of one's own: measured like the rest, without a peer. */
        if (!file_exists(name)) {
            fprintf(stderr, "reel bench: '%s' is neither a suite job (see --list) nor a file\n",
                    name);
            return -1;
        }
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        fmt_into(j->name, sizeof(j->name), "%.*s", (int)strcspn(base, "."), base);
        fmt_into(j->path, sizeof(j->path), "%s", name);
        j->spec.name = j->name;
        j->spec.has_compose = true;
        j->spec.has_floor = true;
        j->spec.about = "a job file given on the command line";
    }
    b->n_jobs++;
    return 0;
}

static int pick_engines(struct bench *b, const char *want)
{
    if (!want) {
        b->engines[b->n_engines++] = "cpu";
        /* A GPU engine only where it has a hardware device: on llvmpipe it measures the CPU. */
        if (!strcmp(reel_render_auto_engine(-1, b->log), "gl"))
            b->engines[b->n_engines++] = "gl";
        return 0;
    }
    if (!strcmp(want, "all")) {
        struct reel_engine_cfg cfg = {.width = 64, .height = 64, .gpu_index = -1, .log = b->log};
        for (int i = 0; reel_engine_registry[i] && b->n_engines < MAX_ENGINES; i++) {
            const struct reel_engine_ops *ops = reel_engine_registry[i];
            if (ops->probe(&cfg) == 0)
                b->engines[b->n_engines++] = ops->name;
            else
                progress("engine %s does not start here; left out", ops->name);
        }
        /* Registry order is preference order (gl first); cpu reads better first. */
        for (int i = 0; i + 1 < b->n_engines; i++)
            if (!strcmp(b->engines[i], "gl")) {
                const char *t = b->engines[i];
                b->engines[i] = b->engines[b->n_engines - 1];
                b->engines[b->n_engines - 1] = t;
                break;
            }
        return b->n_engines ? 0 : -1;
    }
    if (!reel_engine_find(want)) {
        fprintf(stderr, "reel bench: unknown --engine '%s' (cpu, gl, all)\n", want);
        return -1;
    }
    b->engines[b->n_engines++] = reel_engine_find(want)->name;
    return 0;
}

/* The peer variants, from `peer/w1.sh --list` (one name a line); "exact" alone if that fails. */
static void list_peers(struct bench *b)
{
    char cmd[PATH_MAX + 64];
    fmt_into(cmd, sizeof(cmd), "/bin/sh '%s/peer/w1.sh' --list 2>/dev/null", b->dir);
    FILE *pf = strchr(b->dir, '\'') ? NULL : popen(cmd, "r");
    char line[64];
    b->n_peers = 0;
    while (pf && b->n_peers < MAX_PEERS && fgets(line, sizeof(line), pf)) {
        line[strcspn(line, "\r\n")] = 0;
        bool ok = line[0] && strlen(line) < sizeof(b->peers[0]);
        for (const char *c = line; ok && *c; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-';
        if (ok)
            fmt_into(b->peers[b->n_peers++], sizeof(b->peers[0]), "%s", line);
    }
    int rc = pf ? pclose(pf) : -1;
    if (rc != 0 || !b->n_peers || strcmp(b->peers[0], "exact")) {
        progress("%s/peer/w1.sh --list gave no usable variants; measuring the exact peer only",
                 b->dir);
        fmt_into(b->peers[0], sizeof(b->peers[0]), "exact");
        b->n_peers = 1;
    }
}

static void default_dir(char *buf, size_t cap)
{
    const char *env = getenv("REEL_BENCH_DIR");
    if (env && *env)
        fmt_into(buf, cap, "%s", env);
    else
        fmt_into(buf, cap, "%s/bench", REEL_SOURCE_DIR);
}

static void svg_beside(const char *json, char *buf, size_t cap)
{
    fmt_into(buf, cap, "%s", json);
    char *slash = strrchr(buf, '/'), *dot = strrchr(buf, '.');
    if (dot && (!slash || dot > slash))
        *dot = 0;
    size_t len = strlen(buf);
    fmt_into(buf + len, cap - len, ".svg");
}

static int child_mode(int argc, char **argv)
{
    struct reel_log log;
    const char *lvl = getenv("REEL_LOG_LEVEL");
    enum reel_log_level level = reel_log_level_parse(lvl && *lvl ? lvl : "warn");
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, level ? level : REEL_LOG_WARN);
    reel_log_bridge_ffmpeg();
    reel_log_init(&log, NULL, "-", "bench");
    /* argv[2] is the mode; the mode's own options follow. */
    if (!strcmp(argv[2], "_floor"))
        return reel_bench_floor_main(argc - 2, argv + 2, &log);
    if (!strcmp(argv[2], "_decode"))
        return reel_bench_decode_main(argc - 2, argv + 2, &log);
    return reel_bench_compose_main(argc - 2, argv + 2, &log);
}

int reel_bench_main(int argc, char **argv)
{
    if (argc >= 3 &&
        (!strcmp(argv[2], "_floor") || !strcmp(argv[2], "_compose") || !strcmp(argv[2], "_decode")))
        return child_mode(argc, argv);
    /* Children inherit this process's huge page setting. The FFmpeg peer runs as it would from a
     * shell on this machine, so the bench itself takes the system's; reel's own children apply
     * REEL_HUGEPAGES again when they start. */
    reel_hugepages_apply(REEL_HUGEPAGES_SYSTEM);

    static const struct option opts[] = {
        {"engine", required_argument, NULL, 'e'},
        {"jobs", required_argument, NULL, 'j'},
        {"runs", required_argument, NULL, 'n'},
        {"json", required_argument, NULL, 'J'},
        {"svg", required_argument, NULL, 'S'},
        {"dir", required_argument, NULL, 'd'},
        {"no-peer", no_argument, NULL, 'P'},
        {"no-floor", no_argument, NULL, 'F'},
        {"no-compose", no_argument, NULL, 'C'},
        {"no-decode", no_argument, NULL, 'D'},
        {"list", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench *b = calloc(1, sizeof(*b));
    struct reel_bench_results *res = calloc(1, sizeof(*res));
    const char *engine = NULL, *jobs = NULL, *json = NULL, *svg = NULL;
    char json_buf[PATH_MAX], svg_buf[PATH_MAX];
    struct reel_log log;
    int status = 2, ch;
    if (!b || !res) {
        fprintf(stderr, "reel bench: out of memory\n");
        status = 1;
        goto out;
    }
    b->res = res;
    b->do_peer = b->do_floor = b->do_compose = b->do_decode = true;
    default_dir(b->dir, sizeof(b->dir));
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'e':
            engine = optarg;
            break;
        case 'j':
            jobs = optarg;
            break;
        case 'n':
            b->runs = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || b->runs < 1 || b->runs > REEL_BENCH_MAX_RUNS) {
                fprintf(stderr, "reel bench: --runs wants 1 to %d\n", REEL_BENCH_MAX_RUNS);
                goto out;
            }
            break;
        case 'J':
            json = optarg;
            break;
        case 'S':
            svg = optarg;
            break;
        case 'd':
            fmt_into(b->dir, sizeof(b->dir), "%s", optarg);
            break;
        case 'P':
            b->do_peer = false;
            break;
        case 'F':
            b->do_floor = false;
            break;
        case 'C':
            b->do_compose = false;
            break;
        case 'D':
            b->do_decode = false;
            break;
        case 'l':
            for (const struct reel_bench_job *j = reel_bench_suite; j->name; j++)
                printf("%-12s %s\n", j->name, j->about);
            status = 0;
            goto out;
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "reel bench: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }

    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    reel_log_bridge_ffmpeg();
    reel_log_init(&log, NULL, "-", "bench");
    b->log = &log;
    status = 1;
    ssize_t n = readlink("/proc/self/exe", b->exe, sizeof(b->exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "reel bench: cannot find this program's path: %s\n", strerror(errno));
        goto out;
    }
    b->exe[n] = 0;
    fmt_into(b->out_dir, sizeof(b->out_dir), "%s/out", b->dir);
    fmt_into(b->media_dir, sizeof(b->media_dir), "%s/media", b->dir);
    fmt_into(b->font, sizeof(b->font), "%s/../assets/fonts/DejaVuSans.ttf", b->dir);
    fmt_into(b->log_path, sizeof(b->log_path), "%s/bench.log", b->out_dir);
    if ((mkdir(b->dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(b->out_dir, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "reel bench: cannot create %s: %s\n", b->out_dir, strerror(errno));
        goto out;
    }
    b->has_ffmpeg = reel_bench_find_program("ffmpeg", b->ffmpeg, sizeof(b->ffmpeg));
    if (!b->has_ffmpeg)
        progress("the ffmpeg command is not installed: the FFmpeg CLI peer is left out "
                 "(apt-get install ffmpeg to measure it)");

    if (b->has_ffmpeg && b->do_peer)
        list_peers(b);
    if (pick_engines(b, engine) < 0)
        goto out;
    if (jobs) {
        char list[1024];
        fmt_into(list, sizeof(list), "%s", jobs);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (add_job(b, t) < 0) {
                status = 2;
                goto out;
            }
    } else {
        for (const struct reel_bench_job *j = reel_bench_suite; j->name; j++)
            add_job(b, j->name);
    }
    if (ensure_media(b) < 0)
        goto out;
    host_facts(b);
    res->runs = b->runs;
    size_t cl = 0;
    for (int i = 1; i < argc && cl < sizeof(res->command); i++)
        cl += (size_t)snprintf(res->command + cl, sizeof(res->command) - cl, "%s%s",
                               i > 1 ? " " : "reel ", argv[i]);
    if (!json) {
        fmt_into(json_buf, sizeof(json_buf), "%s/%s.json", b->out_dir, res->host.name);
        json = json_buf;
    }
    if (!svg) {
        svg_beside(json, svg_buf, sizeof(svg_buf));
        svg = svg_buf;
    }
    char names[64] = "";
    for (int e = 0, len = 0; e < b->n_engines && len < (int)sizeof(names); e++)
        len += snprintf(names + len, sizeof(names) - (size_t)len, "%s%s", e ? ", " : "",
                        b->engines[e]);
    progress("%s: %d job(s), engines %s; children's logs in %s", res->host.name, b->n_jobs, names,
             b->log_path);

    double t0 = reel_clock_s();
    for (int i = 0; i < b->n_jobs; i++) {
        bool peer_warm = false;
        for (int e = 0; e < b->n_engines; e++)
            run_job_engine(b, &b->jobs[i], b->engines[e], &peer_warm);
    }
    progress("done in %.0f s", reel_clock_s() - t0);
    reel_bench_pick_fastest_peers(res);

    reel_bench_report_markdown(stdout, res);
    struct reel_err err = {0};
    if (reel_bench_report_json(json, res, &err) < 0 || reel_bench_report_svg(svg, res, &err) < 0) {
        fprintf(stderr, "reel bench: %s\n", err.msg);
        goto out;
    }
    progress("wrote %s and %s", json, svg);
    status = b->failures ? 1 : 0;
out:
    free(res);
    free(b);
    return status;
}
