/* Summaries of measured runs: median and range, per metric and per stage. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/internal.h"

static const char *const stage_keys[] = {
#define KEY_(e, key, title) key,
    REEL_BENCH_STAGES(KEY_)
#undef KEY_
};

static const char *const stage_titles[] = {
#define TITLE_(e, key, title) title,
    REEL_BENCH_STAGES(TITLE_)
#undef TITLE_
};

const char *reel_bench_stage_key(enum reel_bench_stage s)
{
    return s >= 0 && s < REEL_BENCH_STAGE_COUNT ? stage_keys[s] : "?";
}

const char *reel_bench_stage_title(enum reel_bench_stage s)
{
    return s >= 0 && s < REEL_BENCH_STAGE_COUNT ? stage_titles[s] : "?";
}

const char *reel_bench_kind_name(enum reel_bench_kind k)
{
    switch (k) {
    case REEL_BENCH_KIND_RENDER:
        return "render";
    case REEL_BENCH_KIND_COMPOSE:
        return "compose";
    case REEL_BENCH_KIND_PEER:
        return "ffmpeg-cli";
    case REEL_BENCH_KIND_FLOOR:
        return "floor";
    case REEL_BENCH_KIND_DECODE:
        return "decode";
    default:
        return "?";
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void reel_bench_summarize(const double *v, int n, struct reel_bench_summary *out)
{
    double sorted[REEL_BENCH_MAX_RUNS * 2];
    int m = 0;
    for (int i = 0; i < n && m < (int)(sizeof(sorted) / sizeof(sorted[0])); i++)
        if (!isnan(v[i]))
            sorted[m++] = v[i];
    out->n_used = m;
    if (!m) {
        out->median = out->min = out->max = NAN;
        return;
    }
    qsort(sorted, (size_t)m, sizeof(sorted[0]), cmp_double);
    out->min = sorted[0];
    out->max = sorted[m - 1];
    out->median = m % 2 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2.0;
}

static double metric_of(const struct reel_bench_series *s, const struct reel_bench_run *r,
                        enum reel_bench_metric m)
{
    switch (m) {
    case REEL_BENCH_METRIC_WALL:
        return r->wall_s;
    case REEL_BENCH_METRIC_CPU:
        return r->cpu_s;
    case REEL_BENCH_METRIC_RSS:
        return r->rss_mb;
    case REEL_BENCH_METRIC_FPS:
        return r->wall_s > 0 ? (double)s->frames / r->wall_s : NAN;
    case REEL_BENCH_METRIC_REALTIME:
        return r->wall_s > 0 ? s->video_s / r->wall_s : NAN;
    default:
        return NAN;
    }
}

void reel_bench_series_summary(const struct reel_bench_series *s, enum reel_bench_metric m,
                               struct reel_bench_summary *out)
{
    double v[REEL_BENCH_MAX_RUNS];
    for (int i = 0; i < s->n_runs; i++)
        v[i] = metric_of(s, &s->runs[i], m);
    reel_bench_summarize(v, s->n_runs, out);
}

void reel_bench_series_stage(const struct reel_bench_series *s, enum reel_bench_stage st,
                             struct reel_bench_summary *out)
{
    double v[REEL_BENCH_MAX_RUNS];
    for (int i = 0; i < s->n_runs; i++)
        v[i] = s->runs[i].stages[st];
    reel_bench_summarize(v, s->n_runs, out);
}
