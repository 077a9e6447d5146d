/*
 * The decoding child: what decoding a job's video costs on its own. Every video layer's source is
 * opened as the cpu engine opens it (same decoder threads and hardware choice, decoded ahead by
 * the engine so one decoder thread on a small machine) and asked for the frame it shows at each
 * output frame, as the engine's render loop asks; nothing is composed or encoded. Only the opens
 * and the decoding are timed, like the encode floor times only its encoder, so that
 * (floor + decoding) ÷ floor says how close to the floor any renderer can come that decodes the
 * same clips in software on the same cores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench/internal.h"
#include "core/clock.h"
#include "render/video_source.h"
#include "timeline/eval.h"

struct decode_run {
    double wall_s, cpu_s;
    int64_t frames;  /* output frames walked */
    int64_t decoded; /* frames the decoders returned, every source */
    int sources;
};

/* The file of a video layer, as the engines' opener finds it. */
static const char *layer_file(const struct reel_layer *l)
{
    return l->src_path ? l->src_path : l->src;
}

static int decode_job(const struct reel_timeline *tl, struct reel_log *log, struct decode_run *r,
                      struct reel_err *err)
{
    int n = tl->n_layers, ret = 0;
    struct reel_video_source **vs = calloc(n > 0 ? (size_t)n : 1, sizeof(*vs));
    bool *parked = calloc(n > 0 ? (size_t)n : 1, sizeof(*parked));
    memset(r, 0, sizeof(*r));
    if (!vs || !parked) {
        free(vs);
        free(parked);
        return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
    }
    double c0 = reel_bench_process_cpu_s(), t0 = reel_clock_s();
    for (int i = 0; i < n && ret == 0; i++) {
        const struct reel_layer *l = &tl->layers[i];
        if (l->type != REEL_LAYER_VIDEO || !reel_layer_is_visual(l) || !layer_file(l))
            continue;
        struct reel_video_source_opts vo = {.no_deinterlace = l->no_deinterlace,
                                            .is_prefetched = true};
        ret = reel_video_source_open_opts(layer_file(l), 0, &vo, log, &vs[i], err);
        r->sources += ret == 0;
    }
    int64_t frames = reel_timeline_frame_count(tl);
    for (int64_t f = 0; f < frames && ret == 0; f++) {
        int64_t t = reel_timeline_frame_time_us(tl, f);
        for (int i = 0; i < n && ret == 0; i++) {
            if (!vs[i])
                continue;
            struct reel_layer_state st;
            reel_eval_layer(tl, &tl->layers[i], t, &st);
            if (!st.visible) {
                /* As the engine parks a layer that is not showing (its decoder is freed). */
                if (!parked[i])
                    reel_video_source_suspend(vs[i]);
                parked[i] = true;
                continue;
            }
            if (!(st.opacity * reel_transition_alpha(&st) > 0.0))
                continue;
            parked[i] = false;
            const AVFrame *frame;
            ret = reel_video_source_get(vs[i], st.source_us, &frame, err);
        }
        r->frames += ret == 0;
    }
    r->wall_s = reel_clock_s() - t0;
    r->cpu_s = reel_bench_process_cpu_s() - c0;
    for (int i = 0; i < n; i++) {
        if (!vs[i])
            continue;
        int64_t decoded = 0, skipped = 0;
        reel_video_source_counts(vs[i], &decoded, &skipped);
        r->decoded += decoded;
        reel_video_source_close(&vs[i]);
    }
    free(vs);
    free(parked);
    return ret;
}

int reel_bench_decode_main(int argc, char **argv, struct reel_log *log)
{
    struct reel_bench_child_args a;
    if (reel_bench_child_args(argc, argv, &a) < 0)
        return 2;
    if (!a.job || !a.stats) {
        fprintf(stderr, "reel bench _decode: JOB.json and --stats-json are needed\n");
        return 2;
    }
    struct reel_timeline *tl = NULL;
    if (reel_bench_load_job(a.job, a.asset_root, log, &tl))
        return 1;
    struct reel_err err = {0};
    struct decode_run r;
    int status = 1;
    if (decode_job(tl, log, &r, &err) < 0) {
        REEL_ERROR(log, "stage=decode %s%s%s", err.path, err.path[0] ? ": " : "", err.msg);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "wall_s", r.wall_s);
        cJSON_AddNumberToObject(o, "cpu_s", r.cpu_s);
        cJSON_AddNumberToObject(o, "frames", (double)r.frames);
        cJSON_AddNumberToObject(o, "decoded", (double)r.decoded);
        cJSON_AddNumberToObject(o, "sources", r.sources);
        cJSON_AddNumberToObject(o, "video_s", tl->out.duration_us / 1e6);
        cJSON_AddNumberToObject(o, "width", tl->out.width);
        cJSON_AddNumberToObject(o, "height", tl->out.height);
        if (reel_bench_write_json(a.stats, o, NULL, &err) < 0)
            REEL_ERROR(log, "stage=stats %s", err.msg);
        else
            status = 0;
    }
    reel_timeline_destroy(&tl);
    return status;
}
