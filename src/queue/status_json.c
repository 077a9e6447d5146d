/*
 * The status document of SPEC 3, built from a struct reel_job_status.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "queue/queue.h"

/* RFC 3339 UTC with milliseconds, or JSON null for 0 (not yet). */
static void add_time(cJSON *o, const char *name, int64_t ms)
{
    if (ms <= 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
    cJSON_AddStringToObject(o, name, buf);
}

static void add_str_or_null(cJSON *o, const char *name, const char *s)
{
    if (s && s[0])
        cJSON_AddStringToObject(o, name, s);
    else
        cJSON_AddNullToObject(o, name);
}

cJSON *reel_job_status_to_json(const struct reel_job_status *st, const char *base_url)
{
    const char *base = base_url ? base_url : "";
    char url[1200];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", st->id);
    cJSON_AddStringToObject(o, "status", reel_job_state_name(st->state));
    cJSON_AddNumberToObject(o, "progress", st->progress);
    cJSON_AddNumberToObject(o, "frames_done", (double)st->frames_done);
    cJSON_AddNumberToObject(o, "frames_total", (double)st->frames_total);
    cJSON_AddNumberToObject(o, "fps", st->fps);
    cJSON_AddNumberToObject(o, "eta_s", st->eta_s);
    cJSON_AddNumberToObject(o, "attempt", st->attempt);
    add_str_or_null(o, "engine", st->engine);
    add_str_or_null(o, "encoder", st->encoder);
    add_str_or_null(o, "worker", st->worker);
    cJSON_AddStringToObject(o, "priority",
                            reel_job_priority_name(st->priority ? st->priority : REEL_PRIO_NORMAL));
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (const char *p = st->tags; tags && *p;) {
        size_t n = strcspn(p, ",");
        if (n) {
            char t[256];
            snprintf(t, sizeof(t), "%.*s", (int)n, p);
            cJSON_AddItemToArray(tags, cJSON_CreateString(t));
        }
        p += n + (p[n] == ',');
    }
    add_time(o, "created_at", st->created_at_ms);
    add_time(o, "started_at", st->started_at_ms);
    add_time(o, "finished_at", st->finished_at_ms);
    cJSON_AddNumberToObject(o, "render_time_s", st->render_time_s);
    if (st->error.code) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        if (e) {
            cJSON_AddStringToObject(e, "code", reel_err_code_str(st->error.code));
            cJSON_AddStringToObject(e, "message",
                                    st->error.msg[0] ? st->error.msg
                                                     : reel_err_default_msg(st->error.code));
            if (st->error.path[0])
                cJSON_AddStringToObject(e, "path", st->error.path);
        }
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    if (st->state == REEL_JOB_SUCCEEDED && st->output_path[0]) {
        cJSON *out = cJSON_AddObjectToObject(o, "output");
        if (out) {
            snprintf(url, sizeof(url), "%s/v1/jobs/%s/output", base, st->id);
            cJSON_AddStringToObject(out, "url", url);
            cJSON_AddNumberToObject(out, "bytes", (double)st->output_bytes);
            cJSON_AddNumberToObject(out, "duration_s", st->output_duration_s);
            cJSON_AddNumberToObject(out, "width", st->width);
            cJSON_AddNumberToObject(out, "height", st->height);
            add_str_or_null(out, "codec", st->codec);
            add_str_or_null(out, "content_type", st->content_type);
            if (st->poster_path[0]) {
                snprintf(url, sizeof(url), "%s/v1/jobs/%s/poster", base, st->id);
                cJSON_AddStringToObject(out, "poster_url", url);
            }
        }
    } else {
        cJSON_AddNullToObject(o, "output");
    }
    cJSON *t = cJSON_AddObjectToObject(o, "timings");
    if (t) {
        cJSON_AddNumberToObject(t, "fetch_s", st->fetch_s);
        cJSON_AddNumberToObject(t, "render_s", st->render_s);
        cJSON_AddNumberToObject(t, "encode_s", st->encode_s);
    }
    cJSON *l = cJSON_AddObjectToObject(o, "links");
    if (l) {
        snprintf(url, sizeof(url), "%s/v1/jobs/%s", base, st->id);
        cJSON_AddStringToObject(l, "self", url);
        snprintf(url, sizeof(url), "%s/v1/jobs/%s/output", base, st->id);
        cJSON_AddStringToObject(l, "output", url);
        snprintf(url, sizeof(url), "%s/v1/jobs/%s/log", base, st->id);
        cJSON_AddStringToObject(l, "log", url);
        if (st->poster_path[0]) {
            snprintf(url, sizeof(url), "%s/v1/jobs/%s/poster", base, st->id);
            cJSON_AddStringToObject(l, "poster", url);
        }
    }
    return o;
}
