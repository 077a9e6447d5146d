/*
 * The bench's outputs: a Markdown report, a JSON file with every run, and an SVG bar chart drawn
 * here (no plotting library), all from the same results.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench/internal.h"

/* Stages shown as columns when any series reports them (total stays in the JSON). */
static const enum reel_bench_stage shown_stages[] = {
    REEL_BENCH_STAGE_LOAD,         REEL_BENCH_STAGE_PREPARE, REEL_BENCH_STAGE_DECODE,
    REEL_BENCH_STAGE_UPLOAD,       REEL_BENCH_STAGE_COMPOSE, REEL_BENCH_STAGE_CONVERT,
    REEL_BENCH_STAGE_READBACK,     REEL_BENCH_STAGE_RENDER,  REEL_BENCH_STAGE_ENCODE,
    REEL_BENCH_STAGE_MUX,          REEL_BENCH_STAGE_AUDIO,   REEL_BENCH_STAGE_QUEUE_FULL,
    REEL_BENCH_STAGE_ENCODER_IDLE,
};
#define N_SHOWN ((int)(sizeof(shown_stages) / sizeof(shown_stages[0])))

/* Targets on peak RSS (MB) by output height. */
#define RSS_LIMIT_1080_MB 400.0
#define RSS_LIMIT_2160_MB 1024.0
#define LONG_RSS_GROWTH 1.10

void reel_bench_format_num(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else if (fabs(v) >= 100)
        snprintf(buf, cap, "%.0f", v);
    else if (fabs(v) >= 10)
        snprintf(buf, cap, "%.1f", v);
    else
        snprintf(buf, cap, "%.2f", v);
}

static void format_range(char *buf, size_t cap, const struct reel_bench_summary *s)
{
    char a[24], b[24], c[24];
    reel_bench_format_num(a, sizeof(a), s->median);
    if (s->n_used < 2) {
        snprintf(buf, cap, "%s", a);
        return;
    }
    reel_bench_format_num(b, sizeof(b), s->min);
    reel_bench_format_num(c, sizeof(c), s->max);
    snprintf(buf, cap, "%s (%s–%s)", a, b, c);
}

static int kind_rank(enum reel_bench_kind k)
{
    switch (k) {
    case REEL_BENCH_KIND_RENDER:
        return 0;
    case REEL_BENCH_KIND_COMPOSE:
        return 1;
    case REEL_BENCH_KIND_PEER:
        return 2;
    case REEL_BENCH_KIND_FLOOR:
        return 3;
    case REEL_BENCH_KIND_DECODE:
        return 4;
    default:
        return 5;
    }
}

/* Display order: jobs as first measured, then render, compose, peer, floor, decode; engines as
 * measured. */
static void display_order(const struct reel_bench_results *r, int *order)
{
    int n = 0;
    bool used[REEL_BENCH_MAX_SERIES] = {false};
    for (int i = 0; i < r->n_series; i++) {
        if (used[i])
            continue;
        const char *job = r->series[i].job;
        for (int rank = 0; rank < 6; rank++)
            for (int k = i; k < r->n_series; k++)
                if (!used[k] && !strcmp(r->series[k].job, job) &&
                    kind_rank(r->series[k].kind) == rank) {
                    used[k] = true;
                    order[n++] = k;
                }
    }
}

static void series_label(const struct reel_bench_series *s, char *buf, size_t cap)
{
    switch (s->kind) {
    case REEL_BENCH_KIND_RENDER:
        snprintf(buf, cap, "reel %s", s->engine);
        break;
    case REEL_BENCH_KIND_COMPOSE:
        snprintf(buf, cap, "reel %s, compose only", s->engine);
        break;
    case REEL_BENCH_KIND_PEER:
        snprintf(buf, cap, "ffmpeg CLI %s%s", s->engine, s->is_fastest ? " (fastest)" : "");
        break;
    case REEL_BENCH_KIND_FLOOR:
        snprintf(buf, cap, "encode floor");
        break;
    case REEL_BENCH_KIND_DECODE:
        snprintf(buf, cap, "decoding only");
        break;
    default:
        snprintf(buf, cap, "?");
        break;
    }
}

static const struct reel_bench_series *find_series(const struct reel_bench_results *r,
                                                   const char *job, enum reel_bench_kind kind,
                                                   const char *engine)
{
    for (int i = 0; i < r->n_series; i++) {
        const struct reel_bench_series *s = &r->series[i];
        if (s->kind == kind && !strcmp(s->job, job) && (!engine || !strcmp(s->engine, engine)) &&
            s->n_runs > 0)
            return s;
    }
    return NULL;
}

void reel_bench_pick_fastest_peers(struct reel_bench_results *r)
{
    for (int i = 0; i < r->n_series; i++) {
        struct reel_bench_series *s = &r->series[i];
        if (s->kind != REEL_BENCH_KIND_PEER)
            continue;
        struct reel_bench_summary mine, other;
        reel_bench_series_summary(s, REEL_BENCH_METRIC_WALL, &mine);
        s->is_fastest = mine.n_used > 0;
        /* Fastest: no other variant of the job has a lower median; on a tie the first listed. */
        for (int k = 0; k < r->n_series && s->is_fastest; k++) {
            const struct reel_bench_series *o = &r->series[k];
            if (k == i || o->kind != REEL_BENCH_KIND_PEER || strcmp(o->job, s->job))
                continue;
            reel_bench_series_summary(o, REEL_BENCH_METRIC_WALL, &other);
            if (other.n_used &&
                (other.median < mine.median || (other.median == mine.median && k < i)))
                s->is_fastest = false;
        }
    }
    for (int i = 0; i < r->n_ratios; i++) {
        struct reel_bench_ratio *q = &r->ratios[i];
        if (q->to_kind != REEL_BENCH_KIND_PEER)
            continue;
        q->is_fastest = false;
        for (int k = 0; k < r->n_series; k++) {
            const struct reel_bench_series *s = &r->series[k];
            if (s->kind == REEL_BENCH_KIND_PEER && s->is_fastest && !strcmp(s->job, q->job) &&
                !strcmp(s->engine, q->peer))
                q->is_fastest = true;
        }
        if (!q->is_fastest)
            q->target = 0;
    }
}

static void add_target(struct reel_bench_target *out, int cap, int *n, double value, double limit,
                       const char *fmt, const char *a, const char *b, const char *c)
{
    if (*n >= cap || isnan(value))
        return;
    struct reel_bench_target *t = &out[(*n)++];
    snprintf(t->what, sizeof(t->what), fmt, a, b, c);
    t->value = value;
    t->limit = limit;
    t->is_met = value <= limit;
}

int reel_bench_targets(const struct reel_bench_results *r, struct reel_bench_target *out, int cap)
{
    int n = 0;
    for (int i = 0; i < r->n_ratios; i++) {
        const struct reel_bench_ratio *q = &r->ratios[i];
        if (!(q->target > 0))
            continue;
        struct reel_bench_summary s;
        reel_bench_summarize(q->pairs, q->n, &s);
        add_target(out, cap, &n, s.median, q->target,
                   q->to_kind == REEL_BENCH_KIND_PEER
                       ? "%s %s wall time ÷ fastest FFmpeg CLI peer (%s)"
                       : "%s %s wall time ÷ encode floor%s",
                   q->engine, q->job, q->peer);
    }
    for (int i = 0; i < r->n_series; i++) {
        const struct reel_bench_series *s = &r->series[i];
        if (s->kind != REEL_BENCH_KIND_RENDER || !s->n_runs)
            continue;
        struct reel_bench_summary rss;
        reel_bench_series_summary(s, REEL_BENCH_METRIC_RSS, &rss);
        if (s->height == 1080)
            add_target(out, cap, &n, rss.max, RSS_LIMIT_1080_MB, "%s %s peak RSS, MB (1080p)%s",
                       s->engine, s->job, "");
        else if (s->height == 2160)
            add_target(out, cap, &n, rss.max, RSS_LIMIT_2160_MB, "%s %s peak RSS, MB (2160p)%s",
                       s->engine, s->job, "");
        if (!strcmp(s->job, "long-1080")) {
            const struct reel_bench_series *w = find_series(r, "w1-1080", s->kind, s->engine);
            struct reel_bench_summary wr;
            if (w) {
                reel_bench_series_summary(w, REEL_BENCH_METRIC_RSS, &wr);
                add_target(out, cap, &n, rss.max / wr.median, LONG_RSS_GROWTH,
                           "%s %s peak RSS ÷ w1-1080's%s", s->engine, s->job, "");
            }
        }
    }
    return n;
}

static double median_cpu(const struct reel_bench_series *s)
{
    struct reel_bench_summary sum;
    reel_bench_series_summary(s, REEL_BENCH_METRIC_CPU, &sum);
    return sum.median;
}

int reel_bench_cpu_splits(const struct reel_bench_results *r, struct reel_bench_cpu_split *out,
                          int cap)
{
    int n = 0;
    for (int i = 0; i < r->n_series && n < cap; i++) {
        const struct reel_bench_series *s = &r->series[i];
        if (s->kind != REEL_BENCH_KIND_RENDER || !s->n_runs)
            continue;
        const struct reel_bench_series *fl = find_series(r, s->job, REEL_BENCH_KIND_FLOOR, NULL);
        const struct reel_bench_series *co =
            find_series(r, s->job, REEL_BENCH_KIND_COMPOSE, s->engine);
        if (!fl || !co)
            continue;
        const struct reel_bench_series *de = find_series(r, s->job, REEL_BENCH_KIND_DECODE, NULL);
        struct reel_bench_cpu_split c = {.reel_s = median_cpu(s),
                                         .floor_s = median_cpu(fl),
                                         .compose_s = median_cpu(co),
                                         .decode_s = de ? median_cpu(de) : NAN};
        if (!(c.floor_s > 0) || !(c.floor_s + c.compose_s > 0) || isnan(c.reel_s))
            continue;
        snprintf(c.job, sizeof(c.job), "%s", s->job);
        snprintf(c.engine, sizeof(c.engine), "%s", s->engine);
        c.bound = (c.floor_s + c.compose_s) / c.floor_s;
        c.overhead = c.reel_s / (c.floor_s + c.compose_s);
        c.decode_bound = (c.floor_s + c.decode_s) / c.floor_s;
        out[n++] = c;
    }
    return n;
}

/* ---- Markdown ---- */

static bool stage_present(const struct reel_bench_results *r, enum reel_bench_stage st)
{
    for (int i = 0; i < r->n_series; i++) {
        struct reel_bench_summary s;
        reel_bench_series_stage(&r->series[i], st, &s);
        if (s.n_used && s.median > 0.0005)
            return true;
    }
    return false;
}

void reel_bench_report_markdown(FILE *f, const struct reel_bench_results *r)
{
    const struct reel_bench_host *h = &r->host;
    fprintf(f, "## reel bench: %s (%s)\n\n", h->name, h->date);
    fprintf(f, "%s; %s; %d cores; %.1f GB; %s; libav %s", h->os, h->cpu, h->cores, h->mem_gb,
            h->ffmpeg_cli[0] ? h->ffmpeg_cli : "no ffmpeg CLI", h->libav);
    if (h->thp[0])
        fprintf(f, "; transparent huge pages: %s (reel: %s, REEL_HUGEPAGES)", h->thp, h->thp_reel);
    fprintf(f, "\n\n");
    fprintf(f, "Median (min–max) over the runs after one warm-up. Stage columns are medians in "
               "seconds of wall time on reel's own timers; the render and encoder threads overlap, "
               "so stages add up to more than the wall time.\n\n");

    bool present[N_SHOWN];
    fprintf(f, "| job | run | n | wall s | CPU s | peak RSS MB | fps | × realtime |");
    for (int k = 0; k < N_SHOWN; k++) {
        present[k] = stage_present(r, shown_stages[k]);
        if (present[k])
            fprintf(f, " %s |", reel_bench_stage_title(shown_stages[k]));
    }
    fprintf(f, "\n|---|---|--:|--:|--:|--:|--:|--:|");
    for (int k = 0; k < N_SHOWN; k++)
        if (present[k])
            fprintf(f, "--:|");
    fputc('\n', f);

    int order[REEL_BENCH_MAX_SERIES];
    display_order(r, order);
    for (int i = 0; i < r->n_series; i++) {
        const struct reel_bench_series *s = &r->series[order[i]];
        char label[64];
        series_label(s, label, sizeof(label));
        fprintf(f, "| %s | %s | %d |", s->job, label, s->n_runs);
        if (!s->n_runs) {
            fprintf(f, " failed: %s |\n", s->note);
            continue;
        }
        static const enum reel_bench_metric metrics[] = {
            REEL_BENCH_METRIC_WALL, REEL_BENCH_METRIC_CPU, REEL_BENCH_METRIC_RSS,
            REEL_BENCH_METRIC_FPS, REEL_BENCH_METRIC_REALTIME};
        for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
            struct reel_bench_summary sum;
            char cell[96];
            reel_bench_series_summary(s, metrics[m], &sum);
            format_range(cell, sizeof(cell), &sum);
            fprintf(f, " %s |", cell);
        }
        for (int k = 0; k < N_SHOWN; k++) {
            if (!present[k])
                continue;
            struct reel_bench_summary sum;
            char cell[32];
            reel_bench_series_stage(s, shown_stages[k], &sum);
            reel_bench_format_num(cell, sizeof(cell), sum.median);
            fprintf(f, " %s |", cell);
        }
        fputc('\n', f);
    }
    for (int i = 0; i < r->n_series; i++)
        if (r->series[i].failed)
            fprintf(f, "\n%s %s %s failed: %s\n", r->series[i].job, r->series[i].engine,
                    reel_bench_kind_name(r->series[i].kind), r->series[i].note);

    if (r->n_ratios) {
        fprintf(f, "\n### Ratios of wall time, pair by pair\n\n");
        fprintf(f, "| job | engine | ratio | median | min–max | pairs | target |\n"
                   "|---|---|---|--:|--:|--:|--:|\n");
        for (int i = 0; i < r->n_ratios; i++) {
            const struct reel_bench_ratio *q = &r->ratios[i];
            struct reel_bench_summary s;
            reel_bench_summarize(q->pairs, q->n, &s);
            char target[32] = "-";
            if (q->target > 0)
                snprintf(target, sizeof(target), "≤ %.2f: %s", q->target,
                         s.median <= q->target ? "met" : "missed");
            char to[64];
            snprintf(to, sizeof(to), "%s%s%s%s", reel_bench_kind_name(q->to_kind),
                     q->peer[0] ? " " : "", q->peer, q->is_fastest ? " (fastest)" : "");
            fprintf(f, "| %s | %s | reel ÷ %s | %.2f | %.2f–%.2f | %d | %s |\n", q->job, q->engine,
                    to, s.median, s.min, s.max, q->n, target);
        }
    }

    struct reel_bench_cpu_split splits[REEL_BENCH_MAX_SERIES];
    int nc = reel_bench_cpu_splits(r, splits, REEL_BENCH_MAX_SERIES);
    if (nc) {
        fprintf(f, "\n### CPU time: encoding, composition and decoding\n\n"
                   "Medians of CPU seconds. (floor + composition) ÷ floor is the wall ratio to the "
                   "floor that reel comes to when it keeps the cores as busy as the floor does; "
                   "(floor + decoding) ÷ floor is the part of it that decoding the job's clips "
                   "alone accounts for; reel ÷ (floor + composition) is what doing both at once "
                   "costs on top (1.00: nothing).\n\n"
                   "| job | engine | reel | floor | composition | decoding | "
                   "(floor + composition) ÷ floor | (floor + decoding) ÷ floor | "
                   "reel ÷ (floor + composition) |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
        for (int i = 0; i < nc; i++) {
            char a[32], b[32], c[32], d[32], e[32];
            reel_bench_format_num(a, sizeof(a), splits[i].reel_s);
            reel_bench_format_num(b, sizeof(b), splits[i].floor_s);
            reel_bench_format_num(c, sizeof(c), splits[i].compose_s);
            reel_bench_format_num(d, sizeof(d), splits[i].decode_s);
            if (isnan(splits[i].decode_bound))
                snprintf(e, sizeof(e), "-");
            else
                snprintf(e, sizeof(e), "%.2f", splits[i].decode_bound);
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %.2f | %s | %.2f |\n", splits[i].job,
                    splits[i].engine, a, b, c, d, splits[i].bound, e, splits[i].overhead);
        }
    }

    struct reel_bench_target targets[32];
    int nt = reel_bench_targets(r, targets, 32);
    if (nt) {
        fprintf(f, "\n### Targets (reported, not enforced)\n\n| target | value | limit | |\n"
                   "|---|--:|--:|---|\n");
        for (int i = 0; i < nt; i++)
            fprintf(f, "| %s | %.2f | %.2f | %s |\n", targets[i].what, targets[i].value,
                    targets[i].limit, targets[i].is_met ? "met" : "**missed**");
    }

    if (r->n_psnr) {
        fprintf(f, "\n### Picture: reel's output against the FFmpeg CLI peer's (PSNR, dB)\n\n");
        fprintf(f, "| job | engine | peer | frames | Y mean | U mean | V mean | Y min (frame) |");
        const struct reel_bench_psnr *q0 = &r->psnr[0];
        for (int k = 0; k < REEL_BENCH_PSNR_SAMPLES; k++)
            fprintf(f, " Y frame %d |", q0->sample_frame[k]);
        fprintf(f, "\n|---|---|---|--:|--:|--:|--:|--:|");
        for (int k = 0; k < REEL_BENCH_PSNR_SAMPLES; k++)
            fprintf(f, "--:|");
        fputc('\n', f);
        for (int i = 0; i < r->n_psnr; i++) {
            const struct reel_bench_psnr *q = &r->psnr[i];
            if (q->note[0]) {
                fprintf(f, "| %s | %s | %s | failed: %s |\n", q->job, q->engine, q->peer, q->note);
                continue;
            }
            fprintf(f, "| %s | %s | %s | %d | %.2f | %.2f | %.2f | %.2f (%d) |", q->job, q->engine,
                    q->peer, q->frames, q->mean_y, q->mean_u, q->mean_v, q->min_y, q->min_y_frame);
            for (int k = 0; k < REEL_BENCH_PSNR_SAMPLES; k++)
                fprintf(f, " %.2f |", q->sample_y[k]);
            fputc('\n', f);
        }
    }
    fputc('\n', f);
}

/* ---- JSON ---- */

static void add_num(cJSON *o, const char *key, double v)
{
    if (!isnan(v) && !isinf(v))
        cJSON_AddNumberToObject(o, key, v);
}

static void add_summary(cJSON *o, const char *key, const struct reel_bench_summary *s)
{
    if (!s->n_used)
        return;
    cJSON *x = cJSON_AddObjectToObject(o, key);
    add_num(x, "median", s->median);
    add_num(x, "min", s->min);
    add_num(x, "max", s->max);
}

static cJSON *series_json(const struct reel_bench_series *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job", s->job);
    cJSON_AddStringToObject(o, "kind", reel_bench_kind_name(s->kind));
    cJSON_AddStringToObject(o, "engine", s->engine);
    cJSON_AddStringToObject(o, "encoder", s->encoder);
    cJSON_AddNumberToObject(o, "frames", (double)s->frames);
    cJSON_AddNumberToObject(o, "video_s", s->video_s);
    cJSON_AddNumberToObject(o, "width", s->width);
    cJSON_AddNumberToObject(o, "height", s->height);
    cJSON_AddBoolToObject(o, "failed", s->failed);
    if (s->kind == REEL_BENCH_KIND_PEER) {
        cJSON_AddStringToObject(o, "variant", s->engine);
        cJSON_AddBoolToObject(o, "fastest", s->is_fastest);
    }
    if (s->note[0])
        cJSON_AddStringToObject(o, "note", s->note);

    static const struct {
        const char *key;
        enum reel_bench_metric m;
    } metrics[] = {{"wall_s", REEL_BENCH_METRIC_WALL},
                   {"cpu_s", REEL_BENCH_METRIC_CPU},
                   {"peak_rss_mb", REEL_BENCH_METRIC_RSS},
                   {"fps", REEL_BENCH_METRIC_FPS},
                   {"realtime", REEL_BENCH_METRIC_REALTIME}};
    cJSON *sum = cJSON_AddObjectToObject(o, "summary");
    for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
        struct reel_bench_summary x;
        reel_bench_series_summary(s, metrics[i].m, &x);
        add_summary(sum, metrics[i].key, &x);
    }
    cJSON *stages = cJSON_AddObjectToObject(sum, "stages_s");
    for (int k = 0; k < REEL_BENCH_STAGE_COUNT; k++) {
        struct reel_bench_summary x;
        reel_bench_series_stage(s, (enum reel_bench_stage)k, &x);
        add_summary(stages, reel_bench_stage_key((enum reel_bench_stage)k), &x);
    }

    cJSON *runs = cJSON_AddArrayToObject(o, "runs");
    for (int i = 0; i < s->n_runs; i++) {
        const struct reel_bench_run *run = &s->runs[i];
        cJSON *x = cJSON_CreateObject();
        add_num(x, "wall_s", run->wall_s);
        add_num(x, "cpu_s", run->cpu_s);
        add_num(x, "peak_rss_mb", run->rss_mb);
        add_num(x, "fps", run->wall_s > 0 ? (double)s->frames / run->wall_s : NAN);
        add_num(x, "realtime", run->wall_s > 0 ? s->video_s / run->wall_s : NAN);
        cJSON *st = cJSON_AddObjectToObject(x, "stages_s");
        for (int k = 0; k < REEL_BENCH_STAGE_COUNT; k++)
            add_num(st, reel_bench_stage_key((enum reel_bench_stage)k), run->stages[k]);
        cJSON_AddItemToArray(runs, x);
    }
    return o;
}

int reel_bench_report_json(const char *path, const struct reel_bench_results *r,
                           struct reel_err *err)
{
    const struct reel_bench_host *h = &r->host;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "reel_version", REEL_VERSION);
    cJSON_AddStringToObject(root, "date", h->date);
    cJSON_AddStringToObject(root, "command", r->command);
    cJSON_AddNumberToObject(root, "runs_requested", r->runs);
    cJSON *m = cJSON_AddObjectToObject(root, "machine");
    cJSON_AddStringToObject(m, "name", h->name);
    cJSON_AddStringToObject(m, "os", h->os);
    cJSON_AddStringToObject(m, "kernel", h->kernel);
    cJSON_AddStringToObject(m, "cpu", h->cpu);
    cJSON_AddNumberToObject(m, "cores", h->cores);
    cJSON_AddNumberToObject(m, "memory_gb", round(h->mem_gb * 10) / 10);
    cJSON_AddStringToObject(m, "ffmpeg_cli", h->ffmpeg_cli);
    cJSON_AddStringToObject(m, "libav", h->libav);
    cJSON_AddStringToObject(m, "engines", h->engines_desc);
    cJSON_AddStringToObject(m, "transparent_hugepages", h->thp);
    cJSON_AddStringToObject(m, "reel_hugepages", h->thp_reel);

    cJSON *series = cJSON_AddArrayToObject(root, "series");
    int order[REEL_BENCH_MAX_SERIES];
    display_order(r, order);
    for (int i = 0; i < r->n_series; i++)
        cJSON_AddItemToArray(series, series_json(&r->series[order[i]]));

    cJSON *ratios = cJSON_AddArrayToObject(root, "ratios");
    for (int i = 0; i < r->n_ratios; i++) {
        const struct reel_bench_ratio *q = &r->ratios[i];
        struct reel_bench_summary s;
        reel_bench_summarize(q->pairs, q->n, &s);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "job", q->job);
        cJSON_AddStringToObject(x, "engine", q->engine);
        cJSON_AddStringToObject(x, "of", reel_bench_kind_name(q->of_kind));
        cJSON_AddStringToObject(x, "to", reel_bench_kind_name(q->to_kind));
        if (q->to_kind == REEL_BENCH_KIND_PEER) {
            cJSON_AddStringToObject(x, "peer_variant", q->peer);
            cJSON_AddBoolToObject(x, "fastest", q->is_fastest);
        }
        add_num(x, "median", s.median);
        add_num(x, "min", s.min);
        add_num(x, "max", s.max);
        cJSON_AddItemToObject(x, "pairs", cJSON_CreateDoubleArray(q->pairs, q->n));
        if (q->target > 0) {
            cJSON_AddNumberToObject(x, "target", q->target);
            cJSON_AddBoolToObject(x, "target_met", s.median <= q->target);
        }
        cJSON_AddItemToArray(ratios, x);
    }

    struct reel_bench_cpu_split splits[REEL_BENCH_MAX_SERIES];
    int nc = reel_bench_cpu_splits(r, splits, REEL_BENCH_MAX_SERIES);
    cJSON *cj = cJSON_AddArrayToObject(root, "cpu_split");
    for (int i = 0; i < nc; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "job", splits[i].job);
        cJSON_AddStringToObject(x, "engine", splits[i].engine);
        add_num(x, "reel_cpu_s", splits[i].reel_s);
        add_num(x, "floor_cpu_s", splits[i].floor_s);
        add_num(x, "compose_cpu_s", splits[i].compose_s);
        add_num(x, "decode_cpu_s", splits[i].decode_s);
        add_num(x, "bound", splits[i].bound);
        add_num(x, "decode_bound", splits[i].decode_bound);
        add_num(x, "overhead", splits[i].overhead);
        cJSON_AddItemToArray(cj, x);
    }

    struct reel_bench_target targets[32];
    int nt = reel_bench_targets(r, targets, 32);
    cJSON *tj = cJSON_AddArrayToObject(root, "targets");
    for (int i = 0; i < nt; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "what", targets[i].what);
        add_num(x, "value", targets[i].value);
        add_num(x, "limit", targets[i].limit);
        cJSON_AddBoolToObject(x, "met", targets[i].is_met);
        cJSON_AddItemToArray(tj, x);
    }

    cJSON *pj = cJSON_AddArrayToObject(root, "psnr_vs_peer");
    for (int i = 0; i < r->n_psnr; i++) {
        const struct reel_bench_psnr *q = &r->psnr[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "job", q->job);
        cJSON_AddStringToObject(x, "engine", q->engine);
        cJSON_AddStringToObject(x, "peer_variant", q->peer);
        if (q->note[0]) {
            cJSON_AddStringToObject(x, "error", q->note);
        } else {
            cJSON_AddNumberToObject(x, "frames", q->frames);
            add_num(x, "y_mean_db", q->mean_y);
            add_num(x, "u_mean_db", q->mean_u);
            add_num(x, "v_mean_db", q->mean_v);
            add_num(x, "y_min_db", q->min_y);
            cJSON_AddNumberToObject(x, "y_min_frame", q->min_y_frame);
            cJSON *samples = cJSON_AddArrayToObject(x, "samples");
            for (int k = 0; k < REEL_BENCH_PSNR_SAMPLES; k++) {
                cJSON *sx = cJSON_CreateObject();
                cJSON_AddNumberToObject(sx, "frame", q->sample_frame[k]);
                add_num(sx, "y_db", q->sample_y[k]);
                cJSON_AddItemToArray(samples, sx);
            }
        }
        cJSON_AddItemToArray(pj, x);
    }

    return reel_bench_write_json(path, root, NULL, err);
}

/* ---- SVG ---- */

#define SVG_W 900
#define SVG_LABEL_W 250
#define SVG_PLOT_W 560
#define SVG_BAR_H 16
#define SVG_BAR_GAP 4
#define SVG_GROUP_GAP 14
#define SVG_TOP 70
#define SVG_HEADER_H 18

static const char *bar_colour(const struct reel_bench_series *s)
{
    bool is_gl = !strcmp(s->engine, "gl");
    switch (s->kind) {
    case REEL_BENCH_KIND_RENDER:
        return is_gl ? "#2f855a" : "#2b6cb0";
    case REEL_BENCH_KIND_COMPOSE:
        return is_gl ? "#9ae6b4" : "#90cdf4";
    case REEL_BENCH_KIND_PEER:
        return "#dd6b20";
    case REEL_BENCH_KIND_FLOOR:
        return "#718096";
    case REEL_BENCH_KIND_DECODE:
        return "#b794f4";
    default:
        return "#000000";
    }
}

/* A round axis maximum (1, 2 or 5 times a power of ten) at or above v. */
static double nice_max(double v)
{
    if (!(v > 0))
        return 1;
    double p = pow(10, floor(log10(v)));
    for (int i = 0; i < 3; i++) {
        double m = (i == 0 ? 1 : i == 1 ? 2 : 5) * p;
        if (m >= v)
            return m;
    }
    return 10 * p;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

int reel_bench_report_svg(const char *path, const struct reel_bench_results *r,
                          struct reel_err *err)
{
    int order[REEL_BENCH_MAX_SERIES];
    display_order(r, order);
    double max_fps = 0;
    int bars = 0, groups = 0;
    for (int i = 0; i < r->n_series; i++) {
        const struct reel_bench_series *s = &r->series[order[i]];
        if (!s->n_runs)
            continue;
        struct reel_bench_summary fps;
        reel_bench_series_summary(s, REEL_BENCH_METRIC_FPS, &fps);
        if (fps.max > max_fps)
            max_fps = fps.max;
        bars++;
        if (i == 0 || strcmp(s->job, r->series[order[i - 1]].job))
            groups++;
    }
    double axis = nice_max(max_fps);
    int height =
        SVG_TOP + groups * (SVG_HEADER_H + SVG_GROUP_GAP) + bars * (SVG_BAR_H + SVG_BAR_GAP) + 40;
    FILE *f = fopen(path, "w");
    if (!f)
        return reel_err_set(err, REEL_EOUTPUT, NULL, "cannot write %s", path);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n",
            SVG_W, height, SVG_W, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    fprintf(f, "<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">reel bench: "
               "frames per second (median; whiskers min–max)</text>\n");
    fprintf(f, "<text x=\"16\" y=\"44\" fill=\"#4a5568\">");
    xml_text(f, r->host.name);
    fprintf(f, " · ");
    xml_text(f, r->host.cpu);
    fprintf(f, " · %s</text>\n", r->host.date);

    int plot_bottom = height - 34;
    for (int t = 0; t <= 5; t++) {
        double v = axis * t / 5;
        double x = SVG_LABEL_W + SVG_PLOT_W * (double)t / 5;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e2e8f0\"/>\n"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#4a5568\">%g</text>\n",
                x, SVG_TOP - 6, x, plot_bottom, x, plot_bottom + 16, v);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#4a5568\">fps</text>\n",
            SVG_LABEL_W + SVG_PLOT_W / 2, plot_bottom + 30);

    int y = SVG_TOP;
    for (int i = 0; i < r->n_series; i++) {
        const struct reel_bench_series *s = &r->series[order[i]];
        if (!s->n_runs)
            continue;
        if (i == 0 || strcmp(s->job, r->series[order[i - 1]].job)) {
            y += SVG_GROUP_GAP;
            fprintf(f, "<text x=\"16\" y=\"%d\" font-weight=\"bold\">", y + 12);
            xml_text(f, s->job);
            fprintf(f, "</text>\n");
            y += SVG_HEADER_H;
        }
        struct reel_bench_summary fps;
        reel_bench_series_summary(s, REEL_BENCH_METRIC_FPS, &fps);
        char label[64];
        series_label(s, label, sizeof(label));
        double k = SVG_PLOT_W / axis;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", SVG_LABEL_W - 8, y + 12);
        xml_text(f, label);
        fprintf(f, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
                SVG_LABEL_W, y, fps.median * k, SVG_BAR_H, bar_colour(s));
        if (fps.n_used > 1)
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1a202c\"/>\n",
                    SVG_LABEL_W + fps.min * k, y + SVG_BAR_H / 2, SVG_LABEL_W + fps.max * k,
                    y + SVG_BAR_H / 2);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" fill=\"#1a202c\">%.1f</text>\n",
                SVG_LABEL_W + fps.max * k + 6, y + 12, fps.median);
        y += SVG_BAR_H + SVG_BAR_GAP;
    }
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0)
        return reel_err_set(err, REEL_EOUTPUT, NULL, "cannot write %s", path);
    return 0;
}
