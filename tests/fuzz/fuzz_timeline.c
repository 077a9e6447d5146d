/*
 * libFuzzer target: the job parser, its validator and merge-field substitution
 * (reel_timeline_parse), then the timeline evaluator on whatever parses.
 *
 * Input: a job document, optionally followed by a NUL byte and the caller's merge data. The caller
 * data is either a JSON value (as an API caller could send) or, when it does not parse as JSON,
 * lines of key=value pairs that become an object of strings, as `reel render --data k=v` builds.
 * Without a NUL the job is parsed with no caller data.
 *
 * Built and run by scripts/fuzz.sh; any input also replays alone: fuzz_timeline FILE...
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "timeline/eval.h"
#include "timeline/geometry.h"
#include "timeline/parse.h"
#include "timeline/timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* key=value lines into an object of strings; later keys replace earlier ones (as --data does). */
static cJSON *data_from_pairs(const char *s, size_t len)
{
    cJSON *obj = cJSON_CreateObject();
    size_t i = 0;
    while (obj && i < len) {
        const char *line = s + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + 1;
        const char *eq = memchr(line, '=', n);
        if (!eq)
            continue;
        char *key = strndup(line, (size_t)(eq - line));
        char *val = strndup(eq + 1, n - (size_t)(eq - line) - 1);
        if (key && val) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
            cJSON_AddStringToObject(obj, key, val);
        }
        free(key);
        free(val);
    }
    return obj;
}

static cJSON *caller_data(const char *s, size_t len)
{
    if (len == 0)
        return NULL;
    cJSON *v = cJSON_ParseWithLength(s, len);
    return v ? v : data_from_pairs(s, len);
}

/* Give every layer a duration as resolving would (media lengths unknown), so that the evaluator
 * sees a timeline of the shape the engines get. Returns false when the output length is unknown. */
static bool settle_durations(struct reel_timeline *tl)
{
    if (!tl->out.has_duration || tl->out.duration_us <= 0)
        return false;
    for (int i = 0; i < tl->n_layers; i++) {
        struct reel_layer *l = &tl->layers[i];
        if (l->has_duration)
            continue;
        int64_t d = tl->out.duration_us - l->start_us;
        l->duration_us = d > 0 ? d : 1;
    }
    return true;
}

static void eval_layer_at(const struct reel_timeline *tl, const struct reel_layer *l, int64_t t)
{
    struct reel_layer_state st;
    reel_eval_layer(tl, l, t, &st);
    (void)reel_transition_alpha(&st);
    if (!reel_layer_is_visual(l))
        return;
    double bw, bh;
    reel_layer_box(tl, l, 100, 50, &bw, &bh);
    double dx, dy, dw, dh;
    reel_fit_rect(l->fit, 100, 50, bw, bh, &dx, &dy, &dw, &dh);
    struct reel_affine fwd, inv;
    (void)reel_layer_transform(l, &st, bw, bh, tl->out.width, tl->out.height, &fwd, &inv);
    int w = tl->out.width, h = tl->out.height;
    const double px[][2] = {{0.5, 0.5}, {w / 2.0, h / 2.0}, {w - 0.5, h - 0.5}};
    for (size_t k = 0; k < sizeof(px) / sizeof(px[0]); k++) {
        (void)reel_transition_coverage(&st.tr_in, px[k][0], px[k][1], w, h);
        (void)reel_transition_coverage(&st.tr_out, px[k][0], px[k][1], w, h);
    }
}

static void exercise(struct reel_timeline *tl)
{
    if (!settle_durations(tl))
        return;
    int64_t frames = reel_timeline_frame_count(tl);
    (void)reel_timeline_frame_time_us(tl, frames - 1);
    int64_t end = tl->out.duration_us;
    for (int i = 0; i < tl->n_layers && i < 64; i++) {
        const struct reel_layer *l = &tl->layers[i];
        const int64_t times[] = {0,
                                 l->start_us,
                                 l->start_us + l->duration_us / 3,
                                 l->start_us + l->duration_us / 2,
                                 l->start_us + l->duration_us - 1,
                                 end - 1};
        for (size_t k = 0; k < sizeof(times) / sizeof(times[0]); k++)
            eval_layer_at(tl, l, times[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    const char *nul = memchr(doc, '\0', size);
    size_t doc_len = nul ? (size_t)(nul - doc) : size;
    cJSON *cdata = nul ? caller_data(nul + 1, size - doc_len - 1) : NULL;

    struct reel_limits lim;
    reel_limits_default(&lim);
    struct reel_parse_opts opts = {.limits = &lim, .data = cdata, .base_dir = "/jobs"};
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    int ret = reel_timeline_parse(doc, doc_len, &opts, &tl, &errs);
    if (ret == 0) {
        if (!tl || errs.count)
            abort(); /* success means a timeline and no problems */
        exercise(tl);
    } else if (tl || errs.count == 0 || ret >= 0) {
        abort(); /* failure means no timeline and at least one problem */
    }
    for (size_t i = 0; i < errs.count; i++) {
        /* every problem has a code and NUL-terminated text */
        if (errs.items[i].code <= 0 || !memchr(errs.items[i].msg, '\0', sizeof(errs.items[i].msg)))
            abort();
        (void)strlen(errs.items[i].path);
    }
    reel_errlist_uninit(&errs);
    reel_timeline_destroy(&tl);
    cJSON_Delete(cdata);
    return 0;
}
