/*
 * Render statistics as JSON (reel render --stats-json) and the composition-only child: reel's own
 * render loop with the encoder skipped, so that an engine's compositor can be judged apart from
 * the encoder (on a GPU node the encoder otherwise hides how fast the compositor is).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "assets/assets.h"
#include "bench/bench.h"
#include "bench/internal.h"
#include "core/clock.h"
#include "timeline/parse.h"

int reel_bench_write_render_stats(const char *path, const struct reel_timeline *tl,
                                  const struct reel_render_result *res, double load_s,
                                  struct reel_err *err)
{
    const struct reel_stage_times *st = &res->times;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "engine", res->engine);
    cJSON_AddBoolToObject(o, "engine_fell_back", res->engine_fell_back);
    cJSON_AddStringToObject(o, "encoder", res->encoder);
    cJSON_AddNumberToObject(o, "frames", (double)res->frames);
    cJSON_AddNumberToObject(o, "bytes", (double)res->bytes);
    cJSON_AddNumberToObject(o, "video_s", tl->out.duration_us / 1e6);
    cJSON_AddNumberToObject(o, "width", tl->out.width);
    cJSON_AddNumberToObject(o, "height", tl->out.height);
    cJSON *t = cJSON_AddObjectToObject(o, "stages_s");
    cJSON_AddNumberToObject(t, "load", load_s);
    cJSON_AddNumberToObject(t, "prepare", st->prepare_s);
    cJSON_AddNumberToObject(t, "render", st->render_s);
    cJSON_AddNumberToObject(t, "encode", st->encode_s);
    cJSON_AddNumberToObject(t, "audio", st->audio_s);
    cJSON_AddNumberToObject(t, "mux", st->mux_s);
    cJSON_AddNumberToObject(t, "total", st->total_s);
    cJSON_AddNumberToObject(t, "convert", st->convert_s);
    if (st->has_engine_stats) {
        cJSON_AddNumberToObject(t, "decode", st->decode_s);
        cJSON_AddNumberToObject(t, "upload", st->upload_s);
        cJSON_AddNumberToObject(t, "compose", st->compose_s);
        cJSON_AddNumberToObject(t, "readback", st->readback_s);
    }
    cJSON_AddNumberToObject(t, "queue_full", st->queue_full_s);
    cJSON_AddNumberToObject(t, "encoder_idle", st->encoder_idle_s);
    return reel_bench_write_json(path, o, "--stats-json", err);
}

int reel_bench_write_json(const char *path, cJSON *o, const char *what, struct reel_err *err)
{
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *f = text ? fopen(path, "w") : NULL;
    int saved = errno;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = false;
    if (f)
        saved = errno;
    free(text);
    if (!ok)
        return reel_err_set(err, REEL_EOUTPUT, what, "cannot write %s: %s", path, strerror(saved));
    return 0;
}

int reel_bench_load_job(const char *path, const char *asset_root, struct reel_log *log,
                        struct reel_timeline **out)
{
    struct reel_limits lim;
    reel_limits_default(&lim);
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    FILE *f = fopen(path, "rb");
    char *doc = f ? malloc(lim.max_body_bytes + 1) : NULL;
    size_t len = doc ? fread(doc, 1, lim.max_body_bytes, f) : 0;
    if (f)
        fclose(f);
    if (!doc) {
        REEL_ERROR(log, "stage=load cannot read %s", path);
        return 1;
    }
    char dir_buf[PATH_MAX];
    snprintf(dir_buf, sizeof(dir_buf), "%s", path);
    char *job_dir = dirname(dir_buf);
    struct reel_parse_opts popts = {.limits = &lim, .base_dir = job_dir};
    int ret = reel_timeline_parse(doc, len, &popts, &tl, &errs);
    free(doc);
    if (ret == 0) {
        const char *roots[3] = {job_dir, asset_root, NULL};
        struct reel_assets_cfg acfg = {.roots = roots, .limits = &lim};
        ret = reel_assets_resolve_timeline(&acfg, tl, log, &errs);
    }
    if (ret < 0) {
        REEL_ERROR(log, "stage=load %s: %s%s%s", path, errs.count ? errs.items[0].path : "",
                   errs.count ? ": " : "", errs.count ? errs.items[0].msg : "invalid job");
        reel_errlist_uninit(&errs);
        reel_timeline_destroy(&tl);
        return 1;
    }
    reel_errlist_uninit(&errs);
    *out = tl;
    return 0;
}

int reel_bench_child_args(int argc, char **argv, struct reel_bench_child_args *a)
{
    static const struct option opts[] = {
        {"engine", required_argument, NULL, 'e'},
        {"asset-root", required_argument, NULL, 'r'},
        {"stats-json", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'e':
            a->engine = optarg;
            break;
        case 'r':
            a->asset_root = optarg;
            break;
        case 's':
            a->stats = optarg;
            break;
        default:
            return -1;
        }
    }
    if (optind < argc)
        a->job = argv[optind];
    return 0;
}

int reel_bench_compose_main(int argc, char **argv, struct reel_log *log)
{
    struct reel_bench_child_args a;
    if (reel_bench_child_args(argc, argv, &a) < 0)
        return 2;
    if (!a.job || !a.engine || !a.stats) {
        fprintf(stderr, "reel bench _compose: JOB.json, --engine and --stats-json are needed\n");
        return 2;
    }
    const char *job = a.job, *root = a.asset_root, *engine = a.engine, *stats = a.stats;
    struct reel_timeline *tl = NULL;
    double t0 = reel_clock_s();
    if (reel_bench_load_job(job, root, log, &tl))
        return 1;
    double load_s = reel_clock_s() - t0;
    struct reel_render_opts ro = {
        .tl = tl,
        .engine = engine,
        .gpu_index = -1,
        .skip_encode = true,
        .log = log,
    };
    struct reel_render_result res;
    int status = 0;
    if (reel_render_job(&ro, &res) < 0) {
        REEL_ERROR(log, "stage=%s %s: %s", res.stage[0] ? res.stage : "render",
                   reel_err_code_str(res.err.code), res.err.msg);
        status = 1;
    } else {
        struct reel_err err = {0};
        if (reel_bench_write_render_stats(stats, tl, &res, load_s, &err) < 0) {
            REEL_ERROR(log, "stage=stats %s", err.msg);
            status = 1;
        }
    }
    reel_timeline_destroy(&tl);
    return status;
}
