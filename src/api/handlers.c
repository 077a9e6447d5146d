/*
 * The route handlers of SPEC 3. Each validates its input, talks to the queue and answers; none
 * renders a job. POST /v1/frames renders one preview frame, bounded by cfg.max_previews.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/internal.h"
#include "assets/assets.h"
#include "core/thread.h"
#include "job/worker.h"
#include "queue/keys.h"
#include "queue/queue.h"
#include "render/render.h"
#include "render/scene.h"
#include "timeline/timeline.h"

/* A logger whose lines carry the job's id (job=<id> comp=api). */
static void job_log(struct reel_api *api, const char *id, struct reel_log *out)
{
    reel_log_init(out, &api->log, id, "api");
}

/* ---- shared parsing ---- */

/* Parse the request body into a JSON object. On failure answers and returns NULL (*res set). */
static cJSON *parse_body(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                         enum MHD_Result *res)
{
    if (!r->len) {
        *res = api_reply_error(api, c, r, 400, REEL_EINVALID_JSON, NULL,
                               "the request body is empty; send a JSON object");
        return NULL;
    }
    int depth = reel_api_json_depth(r->body, r->len, api->limits.max_json_depth);
    if (depth > api->limits.max_json_depth) {
        *res = api_reply_error(api, c, r, 400, REEL_ELIMIT, NULL,
                               "JSON nesting is deeper than the limit of %d (max_json_depth)",
                               api->limits.max_json_depth);
        return NULL;
    }
    size_t ok = reel_api_utf8_valid_prefix(r->body, r->len);
    if (ok != r->len) {
        *res = api_reply_error(api, c, r, 400, REEL_EINVALID_JSON, NULL,
                               "the body is not valid UTF-8 (at byte %zu)", ok);
        return NULL;
    }
    long nul = reel_api_find_nul_escape(r->body, r->len);
    if (nul >= 0) {
        *res = api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, NULL,
                               "a string holds an escaped NUL character (\\u0000) at byte %ld; "
                               "strings may not contain NUL",
                               nul);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(r->body, r->len, &end, false);
    if (!root) {
        *res = api_reply_error(api, c, r, 400, REEL_EINVALID_JSON, NULL,
                               "the body is not valid JSON (at byte %td)",
                               end ? end - r->body : (ptrdiff_t)0);
        return NULL;
    }
    /* Nothing but whitespace may follow the value. */
    const char *p = end ? end : r->body + r->len;
    while (p < r->body + r->len && isspace((unsigned char)*p))
        p++;
    if (p != r->body + r->len) {
        cJSON_Delete(root);
        *res = api_reply_error(api, c, r, 400, REEL_EINVALID_JSON, NULL,
                               "unexpected data after the JSON value (at byte %td)", p - r->body);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *res = api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, NULL,
                               "the body must be a JSON object");
        return NULL;
    }
    return root;
}

static bool is_name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.';
}

/* The API fields of a submission, taken out of the job document. */
struct envelope {
    enum reel_job_priority priority;
    char tags[256];
    char callback_url[1024];
    char callback_events[128];
    bool has_callback;
};

static void take_envelope(struct reel_api *api, cJSON *root, struct envelope *env,
                          struct reel_errlist *errs)
{
    memset(env, 0, sizeof(*env));
    env->priority = REEL_PRIO_NORMAL;
    cJSON *prio = cJSON_DetachItemFromObjectCaseSensitive(root, "priority");
    if (prio) {
        enum reel_job_priority p =
            cJSON_IsString(prio) ? reel_job_priority_parse(prio->valuestring) : REEL_PRIO_NONE;
        if (p == REEL_PRIO_NONE)
            reel_errlist_add(errs, REEL_EINVALID_JOB, "priority",
                             "priority must be \"high\", \"normal\" or \"low\"");
        else
            env->priority = p;
        cJSON_Delete(prio);
    }
    cJSON *tags = cJSON_DetachItemFromObjectCaseSensitive(root, "tags");
    if (tags) {
        if (!cJSON_IsArray(tags)) {
            reel_errlist_add(errs, REEL_EINVALID_JOB, "tags", "tags must be an array of strings");
        } else {
            int i = 0;
            const cJSON *t;
            cJSON_ArrayForEach(t, tags)
            {
                char path[32];
                snprintf(path, sizeof(path), "tags[%d]", i++);
                const char *s = cJSON_IsString(t) ? t->valuestring : NULL;
                bool ok = s && *s && strlen(s) <= 32;
                for (const char *q = s; ok && *q; q++)
                    ok = is_name_char(*q);
                if (!ok) {
                    reel_errlist_add(errs, REEL_EINVALID_JOB, path,
                                     "a tag is 1 to 32 characters of A-Z a-z 0-9 _ - .");
                    continue;
                }
                size_t n = strlen(env->tags);
                if (n + strlen(s) + 2 > sizeof(env->tags)) {
                    reel_errlist_add(errs, REEL_ELIMIT, path, "too many tags (255 bytes at most)");
                    break;
                }
                snprintf(env->tags + n, sizeof(env->tags) - n, "%s%s", n ? "," : "", s);
            }
        }
        cJSON_Delete(tags);
    }
    cJSON *cb = cJSON_DetachItemFromObjectCaseSensitive(root, "callback");
    if (cb) {
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(cb, "url");
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(cb, "events");
        if (!cJSON_IsObject(cb)) {
            reel_errlist_add(errs, REEL_EINVALID_JOB, "callback",
                             "callback must be an object {\"url\", \"events\"}");
        } else if (!cJSON_IsString(url) || !*url->valuestring ||
                   strlen(url->valuestring) >= sizeof(env->callback_url)) {
            reel_errlist_add(errs, REEL_EINVALID_JOB, "callback.url",
                             "callback.url must be an http(s) URL of at most 1023 bytes");
        } else {
            struct reel_err e = {0};
            if (reel_api_check_url(url->valuestring, (const char *const *)api->allow,
                                   "callback.url", &e) < 0)
                reel_errlist_add(errs, REEL_EINVALID_JOB, e.path, "%s", e.msg);
            snprintf(env->callback_url, sizeof(env->callback_url), "%s", url->valuestring);
            env->has_callback = true;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, cb)
        {
            if (strcmp(it->string, "url") && strcmp(it->string, "events")) {
                char path[96];
                snprintf(path, sizeof(path), "callback.%.64s", it->string);
                reel_errlist_add(errs, REEL_EUNKNOWN_FIELD, path, "unknown field '%.64s'",
                                 it->string);
            }
        }
        if (ev) {
            if (!cJSON_IsArray(ev)) {
                reel_errlist_add(errs, REEL_EINVALID_JOB, "callback.events",
                                 "callback.events must be an array of states");
            } else {
                int i = 0;
                const cJSON *e;
                cJSON_ArrayForEach(e, ev)
                {
                    char path[48];
                    snprintf(path, sizeof(path), "callback.events[%d]", i++);
                    enum reel_job_state s =
                        cJSON_IsString(e) ? reel_job_state_parse(e->valuestring) : REEL_JOB_NONE;
                    if (s != REEL_JOB_SUCCEEDED && s != REEL_JOB_FAILED && s != REEL_JOB_CANCELED) {
                        reel_errlist_add(errs, REEL_EINVALID_JOB, path,
                                         "webhooks are sent on terminal states: an event is "
                                         "succeeded, failed or canceled");
                        continue;
                    }
                    size_t n = strlen(env->callback_events);
                    snprintf(env->callback_events + n, sizeof(env->callback_events) - n, "%s%s",
                             n ? "," : "", e->valuestring);
                }
            }
        }
        cJSON_Delete(cb);
    }
}

/* {"template": name, "data": {...}}: the stored template with the caller's data merged over the
 * template's own "data". Returns the document to validate (new tree) or NULL with errs filled or
 * *answered set (Redis trouble, answered already). */
static cJSON *expand_template(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                              cJSON *root, struct reel_errlist *errs, enum MHD_Result *answered,
                              bool *did_answer)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "template");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        if (strcmp(it->string, "template") && strcmp(it->string, "data"))
            reel_errlist_add(errs, REEL_EUNKNOWN_FIELD, it->string,
                             "with \"template\" only \"data\" (and callback, priority, tags) may "
                             "be given, not '%.64s'",
                             it->string);
    }
    bool name_ok = cJSON_IsString(name) && *name->valuestring && strlen(name->valuestring) <= 64;
    for (const char *q = name_ok ? name->valuestring : ""; name_ok && *q; q++)
        name_ok = is_name_char(*q);
    if (!name_ok)
        reel_errlist_add(errs, REEL_EINVALID_JOB, "template",
                         "template must be a name of 1 to 64 characters of A-Z a-z 0-9 _ - .");
    if (data && !cJSON_IsObject(data))
        reel_errlist_add(errs, REEL_EINVALID_JOB, "data", "data must be an object");
    if (errs->count)
        return NULL;
    char *text = NULL;
    struct reel_err e = {0};
    int ret = reel_queue_template_get(api->cfg.queue, name->valuestring, &text, &e);
    if (ret == -REEL_ENOT_FOUND) {
        reel_errlist_add(errs, REEL_ENOT_FOUND, "template", "no template named '%s'",
                         name->valuestring);
        return NULL;
    }
    if (ret < 0) {
        *answered = api_reply_queue_err(api, c, r, ret, &e, "reading the template");
        *did_answer = true;
        return NULL;
    }
    cJSON *doc = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        reel_errlist_add(errs, REEL_EINVALID_JOB, "template",
                         "the stored template is not a JSON "
                         "object");
        return NULL;
    }
    if (data) {
        cJSON *td = cJSON_GetObjectItemCaseSensitive(doc, "data");
        if (!cJSON_IsObject(td)) {
            cJSON_DeleteItemFromObjectCaseSensitive(doc, "data");
            td = cJSON_AddObjectToObject(doc, "data");
        }
        cJSON_ArrayForEach(it, data)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(td, it->string);
            cJSON_AddItemToObject(td, it->string, cJSON_Duplicate(it, 1));
        }
    }
    return doc;
}

/*
 * Validate a job document as a worker will see it: parse (every problem), then the srcs' address
 * rules, then, when every src is local, resolve and probe the media under the asset roots (fast,
 * no network), which fills default durations. *tl_out receives the timeline on success.
 */
static int validate_doc(struct reel_api *api, const cJSON *doc, struct reel_timeline **tl_out,
                        bool *resolved, struct reel_errlist *errs)
{
    struct reel_parse_opts po = {.limits = &api->limits};
    struct reel_timeline *tl = NULL;
    int ret = reel_timeline_from_json(doc, &po, &tl, errs);
    if (ret < 0)
        return ret;
    bool has_urls = false;
    ret = reel_api_check_srcs(tl, (const char *const *)api->allow, &has_urls, errs);
    struct reel_err ce = {0}; /* the raster budget, as far as the document says */
    if (reel_scene_check_cost(tl, &ce) < 0) {
        int cret = reel_errlist_add(errs, ce.code, ce.path, "%s", ce.msg);
        ret = ret < 0 ? ret : cret;
    }
    bool has_local = false;
    for (int i = 0; i < tl->n_layers; i++)
        if (tl->layers[i].src && *tl->layers[i].src && !strstr(tl->layers[i].src, "://"))
            has_local = true;
    if (ret == 0 && has_local && !api->roots[0]) {
        for (int i = 0; i < tl->n_layers; i++)
            if (tl->layers[i].src && *tl->layers[i].src && !strstr(tl->layers[i].src, "://")) {
                char path[48];
                snprintf(path, sizeof(path), "layers[%d].src", i);
                ret = reel_errlist_add(errs, REEL_EASSET_NOT_FOUND, path,
                                       "this server has no asset roots (--asset-root); local "
                                       "paths cannot be used");
            }
    }
    *resolved = false;
    if (ret == 0 && !has_urls) {
        const char *const *roots = (const char *const *)api->roots;
        /* No roots: resolve confines nothing local (checked above); fonts use system names. */
        static const char *const no_root[] = {"/nonexistent/reel-no-asset-root", NULL};
        struct reel_assets_cfg acfg = {.roots = roots[0] ? roots : no_root,
                                       .limits = &api->limits,
                                       .allow_hosts = (const char *const *)api->allow};
        ret = reel_assets_resolve_timeline(&acfg, tl, &api->log, errs);
        *resolved = ret == 0;
    }
    if (ret < 0) {
        reel_timeline_destroy(&tl);
        return ret;
    }
    *tl_out = tl;
    return 0;
}

/* "http://<Host>" from the request, "" when absent or odd (links are then relative). */
static void base_url(struct reel_api *api, struct MHD_Connection *c, char *out, size_t cap)
{
    if (api->public_url[0]) {
        snprintf(out, cap, "%s", api->public_url);
        return;
    }
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    out[0] = 0;
    if (!h || !*h || strlen(h) > 200 ||
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                  "VWXYZ0123456789.-:[]") != strlen(h))
        return;
    snprintf(out, cap, "http://%s", h);
}

static void add_links(cJSON *o, const char *base, const char *id)
{
    static const char *const names[] = {"self", "output", "poster", "log"};
    static const char *const tails[] = {"", "/output", "/poster", "/log"};
    cJSON *links = cJSON_AddObjectToObject(o, "links");
    for (int i = 0; i < 4; i++) {
        char buf[512];
        snprintf(buf, sizeof(buf), "%s/v1/jobs/%s%s", base, id, tails[i]);
        cJSON_AddStringToObject(links, names[i], buf);
    }
}

/* ---- POST /v1/jobs ---- */

enum MHD_Result h_jobs_post(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    enum MHD_Result res;
    const char *idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (idem) {
        size_t n = strlen(idem);
        bool ok = n >= 1 && n <= 255;
        for (size_t i = 0; ok && i < n; i++)
            ok = idem[i] > 0x20 && idem[i] < 0x7f;
        if (!ok)
            return api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, "Idempotency-Key",
                                   "the Idempotency-Key header must be 1 to 255 visible ASCII "
                                   "characters");
    }
    if (api->cfg.rate_per_min > 0) {
        int retry = 0;
        int ret = reel_queue_rate_take(api->cfg.queue, r->owner, api->cfg.rate_per_min, &retry);
        if (ret == -REEL_ERATE_LIMITED) {
            char ra[16];
            snprintf(ra, sizeof(ra), "%d", retry > 0 ? retry : 1);
            struct reel_err e = {.code = REEL_ERATE_LIMITED};
            snprintf(e.msg, sizeof(e.msg),
                     "more than %d submissions a minute (rate_limit); retry in %s s",
                     api->cfg.rate_per_min, ra);
            cJSON *eo = cJSON_CreateObject();
            cJSON_AddStringToObject(eo, "code", "rate_limited");
            cJSON_AddStringToObject(eo, "message", e.msg);
            struct MHD_Response *resp = api_error_response(eo);
            if (!resp)
                return MHD_NO;
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
            REEL_INFO(&api->log, "stage=http route=\"POST /v1/jobs\" status=429 owner=%.8s: %s",
                      r->owner, e.msg);
            return api_reply(api, c, r, MHD_HTTP_TOO_MANY_REQUESTS, resp);
        }
        if (ret < 0)
            return api_reply_queue_err(api, c, r, ret, NULL, "the rate limit");
    }
    cJSON *root = parse_body(api, c, r, &res);
    if (!root)
        return res;
    struct reel_errlist errs = {0};
    struct envelope env;
    take_envelope(api, root, &env, &errs);
    cJSON *doc = root, *expanded = NULL;
    if (cJSON_GetObjectItemCaseSensitive(root, "template")) {
        bool did = false;
        expanded = expand_template(api, c, r, root, &errs, &res, &did);
        if (did) {
            cJSON_Delete(root);
            reel_errlist_uninit(&errs);
            return res;
        }
        doc = expanded;
    }
    struct reel_timeline *tl = NULL;
    bool resolved = false;
    if (doc && !errs.count)
        validate_doc(api, doc, &tl, &resolved, &errs);
    if (errs.count || !tl) {
        if (!errs.count)
            reel_errlist_add(&errs, REEL_EINVALID_JOB, NULL, "the job is not valid");
        /* A missing template is 404, everything else 400. */
        res = api_reply_errlist(api, c, r, &errs);
        goto out;
    }
    int64_t frames = tl->out.duration_us > 0 ? reel_timeline_frame_count(tl) : 0;
    char *job_json = cJSON_PrintUnformatted(doc);
    if (!job_json) {
        res = api_reply_error(api, c, r, 500, REEL_ENOMEM, NULL, "out of memory");
        goto out;
    }
    struct reel_job_submit sub = {
        .job_json = job_json,
        .priority = env.priority,
        .tags = env.tags[0] ? env.tags : NULL,
        .callback_url = env.has_callback ? env.callback_url : NULL,
        .callback_events = env.callback_events[0] ? env.callback_events : NULL,
        .idempotency_key = idem,
        .owner = r->owner,
        .frames_total = frames,
    };
    char id[40] = "";
    bool existed = false;
    struct reel_err e = {0};
    int ret = reel_queue_submit(api->cfg.queue, &sub, id, &existed, &e);
    free(job_json);
    if (ret < 0) {
        res = api_reply_queue_err(api, c, r, ret, &e, "submitting the job");
        goto out;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", id);
    const char *state = "queued";
    struct reel_job_status st;
    if (existed && reel_queue_status(api->cfg.queue, id, &st, NULL) == 0)
        state = reel_job_state_name(st.state);
    cJSON_AddStringToObject(body, "status", state);
    char base[256];
    base_url(api, c, base, sizeof(base));
    add_links(body, base, id);
    struct MHD_Response *resp = api_json_response(body);
    if (!resp) {
        res = MHD_NO;
        goto out;
    }
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/jobs/%s", id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
    if (existed)
        MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    struct reel_log jl;
    job_log(api, id, &jl);
    REEL_INFO(&jl, "stage=submit %s (%" PRId64 " frames, priority %s)",
              existed ? "idempotent replay" : "queued", frames,
              reel_job_priority_name(env.priority));
    res = api_reply(api, c, r, MHD_HTTP_ACCEPTED, resp);
out:
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
    cJSON_Delete(expanded);
    cJSON_Delete(root);
    return res;
}

/* ---- GET /v1/jobs/{id}, GET /v1/jobs, DELETE /v1/jobs/{id} ---- */

enum MHD_Result h_job_get(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    struct reel_job_status st;
    struct reel_err e = {0};
    int ret = reel_queue_status(api->cfg.queue, r->param, &st, &e);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "job");
    char base[256];
    base_url(api, c, base, sizeof(base));
    return api_reply_json(api, c, r, 200, reel_job_status_to_json(&st, base));
}

enum MHD_Result h_jobs_list(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cur = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    enum reel_job_state state = REEL_JOB_NONE;
    if (s && *s) {
        state = reel_job_state_parse(s);
        if (state == REEL_JOB_NONE)
            return api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, "status",
                                   "status must be queued, running, succeeded, failed or "
                                   "canceled");
    }
    int limit = 20;
    if (l && *l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > 100)
            return api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, "limit",
                                   "limit must be an integer from 1 to 100");
        limit = (int)v;
    }
    if (cur && strlen(cur) >= 64)
        return api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, "cursor", "invalid cursor");
    char ids[100][40];
    int n = 0;
    char next[64] = "";
    struct reel_err e = {0};
    int ret = reel_queue_list(api->cfg.queue, state, limit, cur, ids, &n, next, &e);
    if (ret == -REEL_EINVALID_JOB || ret == -REEL_EINVALID_JSON)
        return api_reply_error(api, c, r, 400, REEL_EINVALID_JOB, "cursor", "invalid cursor");
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "listing jobs");
    char base[256];
    base_url(api, c, base, sizeof(base));
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "jobs");
    for (int i = 0; i < n; i++) {
        struct reel_job_status st;
        ret = reel_queue_status(api->cfg.queue, ids[i], &st, NULL);
        if (ret == -REEL_ENOT_FOUND)
            continue; /* expired between the list and the read */
        if (ret < 0) {
            cJSON_Delete(body);
            return api_reply_queue_err(api, c, r, ret, NULL, "listing jobs");
        }
        cJSON_AddItemToArray(arr, reel_job_status_to_json(&st, base));
    }
    if (next[0])
        cJSON_AddStringToObject(body, "next_cursor", next);
    else
        cJSON_AddNullToObject(body, "next_cursor");
    return api_reply_json(api, c, r, 200, body);
}

enum MHD_Result h_job_delete(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    struct reel_err e = {0};
    int ret = reel_queue_cancel(api->cfg.queue, r->param, &e);
    if (ret == -REEL_ECONFLICT) {
        struct reel_job_status st;
        const char *state = reel_queue_status(api->cfg.queue, r->param, &st, NULL) == 0
                                ? reel_job_state_name(st.state)
                                : "finished";
        return api_reply_error(api, c, r, 409, REEL_ECONFLICT, NULL,
                               "the job is already %s; only queued or running jobs can be "
                               "canceled",
                               state);
    }
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "job");
    struct reel_log jl;
    job_log(api, r->param, &jl);
    REEL_INFO(&jl, "stage=cancel requested");
    struct reel_job_status st;
    cJSON *body;
    char base[256];
    base_url(api, c, base, sizeof(base));
    if (reel_queue_status(api->cfg.queue, r->param, &st, NULL) == 0) {
        body = reel_job_status_to_json(&st, base);
    } else {
        body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "id", r->param);
    }
    return api_reply_json(api, c, r, 202, body);
}

/* ---- files: output and poster ---- */

static bool under_dir(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    return n && !strncmp(dir, path, n) && path[n] == '/';
}

static enum MHD_Result serve_file(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                  bool poster)
{
    struct reel_job_status st;
    struct reel_err e = {0};
    int ret = reel_queue_status(api->cfg.queue, r->param, &st, &e);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "job");
    if (st.state != REEL_JOB_SUCCEEDED)
        return api_reply_error(api, c, r, 409, REEL_ECONFLICT, NULL,
                               "the job is %s; its %s is available once it has succeeded",
                               reel_job_state_name(st.state), poster ? "poster" : "output");
    const char *path = poster ? st.poster_path : st.output_path;
    if (!path[0])
        return api_reply_error(api, c, r, 404, REEL_ENOT_FOUND, NULL,
                               poster ? "this job has no poster (output.poster was not set)"
                                      : "this job has no output file");
    /* The path comes from Redis: serve it only from under the output folder. */
    char real[PATH_MAX];
    if (!realpath(path, real) || !under_dir(api->output_dir, real)) {
        struct reel_log jl;
        job_log(api, r->param, &jl);
        REEL_WARN(&jl, "stage=output %s '%s' is missing or outside the output folder",
                  poster ? "poster" : "output", path);
        return api_reply_error(api, c, r, 404, REEL_ENOT_FOUND, NULL,
                               "the %s file is no longer available on this server",
                               poster ? "poster" : "output");
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return api_reply_error(api, c, r, 404, REEL_ENOT_FOUND, NULL,
                               "the %s file is no longer available on this server",
                               poster ? "poster" : "output");
    }
    int64_t size = sb.st_size;
    char etag[128];
    snprintf(etag, sizeof(etag), "\"%s-%d-%" PRId64 "-%lld%s\"", st.id, st.attempt, size,
             (long long)sb.st_mtime, poster ? "-p" : "");
    const char *type = poster ? "image/jpeg" : (st.content_type[0] ? st.content_type : NULL);
    if (!type)
        type = "application/octet-stream";

    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && (strstr(inm, etag) || !strcmp(inm, "*"))) {
        close(fd);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        return api_reply(api, c, r, MHD_HTTP_NOT_MODIFIED, resp);
    }
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    const char *if_range =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
    if (range && if_range && strcmp(if_range, etag))
        range = NULL; /* the client's copy is stale: send the whole file */
    int64_t first = 0, last = size - 1;
    int rr = reel_api_parse_range(range, size, &first, &last);
    char cr[96];
    if (rr < 0) {
        close(fd);
        cJSON *eo = cJSON_CreateObject();
        cJSON_AddStringToObject(eo, "code", "invalid_job");
        cJSON_AddStringToObject(eo, "message", "the requested range is outside the file");
        cJSON_AddStringToObject(eo, "path", "Range");
        struct MHD_Response *resp = api_error_response(eo);
        if (!resp)
            return MHD_NO;
        snprintf(cr, sizeof(cr), "bytes */%" PRId64, size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        return api_reply(api, c, r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
    }
    struct MHD_Response *resp;
    if (size == 0) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        /* MHD owns fd from here and closes it when the response is destroyed. */
        resp = MHD_create_response_from_fd_at_offset64((uint64_t)(last - first + 1), fd,
                                                       (uint64_t)first);
        if (!resp)
            close(fd);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=3600");
    if (rr == 1) {
        snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/%" PRId64, first, last, size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        return api_reply(api, c, r, MHD_HTTP_PARTIAL_CONTENT, resp);
    }
    return api_reply(api, c, r, MHD_HTTP_OK, resp);
}

enum MHD_Result h_job_output(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    return serve_file(api, c, r, false);
}

enum MHD_Result h_job_poster(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    return serve_file(api, c, r, true);
}

enum MHD_Result h_job_log(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    struct reel_job_status st;
    struct reel_err e = {0};
    int ret = reel_queue_status(api->cfg.queue, r->param, &st, &e);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "job");
    char *text = NULL;
    ret = reel_queue_log_read(api->cfg.queue, r->param, &text, &e);
    if (ret == -REEL_ENOT_FOUND)
        return api_reply_text(api, c, r, 200, "text/plain; charset=utf-8", "", 0);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "job log");
    enum MHD_Result res = api_reply_text(api, c, r, 200, "text/plain; charset=utf-8",
                                         text ? text : "", text ? strlen(text) : 0);
    free(text);
    return res;
}

/* ---- POST /v1/validate and POST /v1/frames ---- */

enum MHD_Result h_validate(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    enum MHD_Result res;
    cJSON *root = parse_body(api, c, r, &res);
    if (!root)
        return res;
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    bool resolved = false;
    cJSON *doc = root, *expanded = NULL;
    if (cJSON_GetObjectItemCaseSensitive(root, "template")) {
        bool did = false;
        expanded = expand_template(api, c, r, root, &errs, &res, &did);
        if (did)
            goto out;
        doc = expanded;
    }
    if (doc && !errs.count)
        validate_doc(api, doc, &tl, &resolved, &errs);
    if (errs.count || !tl) {
        if (!errs.count)
            reel_errlist_add(&errs, REEL_EINVALID_JOB, NULL, "the job is not valid");
        res = api_reply_errlist(api, c, r, &errs);
        goto out;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddTrueToObject(body, "valid");
    if (tl->out.duration_us > 0) {
        cJSON_AddNumberToObject(body, "duration", tl->out.duration_us / 1e6);
        cJSON_AddNumberToObject(body, "frames", (double)reel_timeline_frame_count(tl));
    } else {
        /* Only known once the worker has fetched the URL media. */
        cJSON_AddNullToObject(body, "duration");
        cJSON_AddNullToObject(body, "frames");
    }
    cJSON_AddNumberToObject(body, "width", tl->out.width);
    cJSON_AddNumberToObject(body, "height", tl->out.height);
    cJSON_AddNumberToObject(body, "fps", (double)tl->out.fps_num / tl->out.fps_den);
    cJSON_AddNumberToObject(body, "layers", tl->n_layers);
    cJSON_AddBoolToObject(body, "media_checked", resolved);
    res = api_reply_json(api, c, r, 200, body);
out:
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
    cJSON_Delete(expanded);
    cJSON_Delete(root);
    return res;
}

/*
 * A preview renders on its own thread while MHD holds the connection suspended, so the HTTP thread
 * that took the request goes on serving its other connections. The thread resolves the media
 * (URLs may be fetched), renders into a temporary PNG, then resumes the connection; MHD calls the
 * handler again and preview_reply answers.
 */
struct preview {
    struct reel_api *api;
    struct reel_log log; /* job=preview comp=api */
    struct MHD_Connection *c;
    struct reel_timeline *tl;
    double t_s;
    char png[PATH_MAX];
    int ret;
    struct reel_errlist errs;
    struct reel_render_result res;
};

static void *preview_main(void *arg)
{
    struct preview *pv = arg;
    reel_thread_name("reel-preview");
    struct reel_api *api = pv->api;
    struct MHD_Connection *c = pv->c;
    static const char *const no_root[] = {"/nonexistent/reel-no-asset-root", NULL};
    struct reel_assets_cfg acfg = {.roots =
                                       api->roots[0] ? (const char *const *)api->roots : no_root,
                                   .limits = &api->limits,
                                   .allow_hosts = (const char *const *)api->allow,
                                   .cache_dir = api->cfg.cache_dir,
                                   .cache_max_bytes = api->cfg.cache_max_bytes};
    pv->ret = reel_assets_resolve_timeline(&acfg, pv->tl, &api->log, &pv->errs);
    if (pv->ret == 0 && (int64_t)llround(pv->t_s * 1e6) >= pv->tl->out.duration_us)
        pv->ret = reel_errlist_add(&pv->errs, REEL_EINVALID_JOB, "time",
                                   "time %g s is outside the video (0 to %.3f s)", pv->t_s,
                                   pv->tl->out.duration_us / 1e6);
    int fd = -1;
    if (pv->ret == 0) {
        if ((size_t)snprintf(pv->png, sizeof(pv->png), "%.*s/reel-preview-XXXXXX.png",
                             PATH_MAX - 64, api->tmp_dir) < sizeof(pv->png))
            fd = mkstemps(pv->png, 4);
        if (fd < 0) {
            REEL_ERROR(&pv->log, "stage=preview cannot create a file in %s: %s", api->tmp_dir,
                       strerror(errno));
            pv->png[0] = 0;
            pv->ret = reel_err_set(&pv->res.err, REEL_EINTERNAL, NULL,
                                   "cannot create a temporary file for the preview");
        } else {
            close(fd);
        }
    }
    if (pv->ret == 0) {
        struct reel_log log;
        reel_log_init(&log, &api->log, "preview", "render");
        struct reel_render_opts ro = {.tl = pv->tl,
                                      .engine = api->cfg.engine,
                                      .gpu_index = -1,
                                      .hwdec = api->cfg.hwdec,
                                      .log = &log,
                                      .cancel = &api->preview_cancel};
        pv->ret = reel_render_still(&ro, (int64_t)llround(pv->t_s * 1e6), pv->png, &pv->res);
        if (pv->ret < 0)
            REEL_WARN(&pv->log, "stage=%s preview failed: %s", pv->res.stage, pv->res.err.msg);
    }
    reel_timeline_destroy(&pv->tl);
    atomic_fetch_sub(&api->previews, 1);
    /* pv belongs to the request from here on: it may be freed as soon as MHD resumes. */
    MHD_resume_connection(c);
    atomic_fetch_sub(&api->preview_threads, 1);
    return NULL;
}

void api_preview_free(struct preview **p)
{
    struct preview *pv = *p;
    if (!pv)
        return;
    if (pv->png[0])
        unlink(pv->png);
    reel_timeline_destroy(&pv->tl);
    reel_errlist_uninit(&pv->errs);
    free(pv);
    *p = NULL;
}

enum MHD_Result api_preview_reply(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    struct preview *pv = r->preview;
    if (pv->ret < 0 && pv->errs.count)
        return api_reply_errlist(api, c, r, &pv->errs);
    if (pv->ret < 0) {
        int code = pv->res.err.code ? pv->res.err.code : -pv->ret;
        return api_reply_error(api, c, r, api_status_of(code), code, pv->res.err.path, "%s",
                               pv->res.err.msg[0] ? pv->res.err.msg : "render failed");
    }
    int fd = open(pv->png, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || sb.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return api_reply_error(api, c, r, 500, REEL_EINTERNAL, NULL, "the preview was not written");
    }
    unlink(pv->png); /* the open fd keeps the data until MHD has sent it */
    pv->png[0] = 0;
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)sb.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "image/png");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Reel-Engine", pv->res.engine);
    return api_reply(api, c, r, 200, resp);
}

enum MHD_Result h_frames(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    if (atomic_fetch_add(&api->previews, 1) >= api->cfg.max_previews) {
        atomic_fetch_sub(&api->previews, 1);
        return api_reply_error(api, c, r, 429, REEL_ERATE_LIMITED, NULL,
                               "%d preview(s) are rendering already (max_previews); retry shortly",
                               api->cfg.max_previews);
    }
    enum MHD_Result res;
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    cJSON *root = parse_body(api, c, r, &res);
    if (!root)
        goto out;
    cJSON *time = cJSON_DetachItemFromObjectCaseSensitive(root, "time");
    double t = cJSON_IsNumber(time) ? time->valuedouble : NAN;
    cJSON_Delete(time);
    if (!isfinite(t) || t < 0)
        reel_errlist_add(&errs, REEL_EINVALID_JOB, "time",
                         "time (seconds, a number >= 0) is required for a preview frame");
    /* A template with data previews like the job it would make. */
    cJSON *doc = root, *expanded = NULL;
    if (cJSON_GetObjectItemCaseSensitive(root, "template")) {
        bool did = false;
        expanded = expand_template(api, c, r, root, &errs, &res, &did);
        if (did) {
            cJSON_Delete(expanded);
            goto out;
        }
        doc = expanded;
    }
    struct reel_parse_opts po = {.limits = &api->limits};
    bool has_urls = false;
    if (doc && !errs.count && reel_timeline_from_json(doc, &po, &tl, &errs) == 0)
        reel_api_check_srcs(tl, (const char *const *)api->allow, &has_urls, &errs);
    cJSON_Delete(expanded);
    if (!errs.count && tl && tl->out.duration_us > 0 &&
        (int64_t)llround(t * 1e6) >= tl->out.duration_us)
        reel_errlist_add(&errs, REEL_EINVALID_JOB, "time",
                         "time %g s is outside the video (0 to %.3f s)", t,
                         tl->out.duration_us / 1e6);
    if (errs.count) {
        res = api_reply_errlist(api, c, r, &errs);
        goto out;
    }
    struct preview *pv = calloc(1, sizeof(*pv));
    if (!pv) {
        res = MHD_NO;
        goto out;
    }
    pv->api = api;
    reel_log_init(&pv->log, &api->log, "preview", "api");
    pv->c = c;
    pv->tl = tl;
    pv->t_s = t;
    tl = NULL;
    r->preview = pv;
    atomic_fetch_add(&api->preview_threads, 1);
    MHD_suspend_connection(c);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, preview_main, pv) != 0) {
        pv->ret = reel_err_set(&pv->res.err, REEL_EINTERNAL, NULL, "cannot start a preview");
        atomic_fetch_sub(&api->previews, 1);
        MHD_resume_connection(c);
        atomic_fetch_sub(&api->preview_threads, 1);
    }
    pthread_attr_destroy(&attr);
    reel_errlist_uninit(&errs);
    cJSON_Delete(root);
    return MHD_YES; /* answered by api_preview_reply once the thread resumes the connection */
out:
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
    cJSON_Delete(root);
    atomic_fetch_sub(&api->previews, 1);
    return res;
}

/* ---- templates ---- */

enum MHD_Result h_template_put(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    enum MHD_Result res;
    cJSON *root = parse_body(api, c, r, &res);
    if (!root)
        return res;
    /* A template is a job whose {{fields}} are filled at submission; its shape is checked here,
     * every value when a job is made from it. */
    struct reel_errlist errs = {0};
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        if (strcmp(it->string, "output") && strcmp(it->string, "engine") &&
            strcmp(it->string, "data") && strcmp(it->string, "layers"))
            reel_errlist_add(&errs, REEL_EUNKNOWN_FIELD, it->string, "unknown field '%.64s'",
                             it->string);
    }
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "layers")))
        reel_errlist_add(&errs, REEL_EINVALID_JOB, "layers", "a template needs a layers array");
    if (errs.count) {
        res = api_reply_errlist(api, c, r, &errs);
        reel_errlist_uninit(&errs);
        cJSON_Delete(root);
        return res;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    struct reel_err e = {0};
    int ret = text ? reel_queue_template_put(api->cfg.queue, r->param, text, &e) : -REEL_ENOMEM;
    free(text);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "storing the template");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", r->param);
    return api_reply_json(api, c, r, 200, body);
}

enum MHD_Result h_template_get(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    char *text = NULL;
    struct reel_err e = {0};
    int ret = reel_queue_template_get(api->cfg.queue, r->param, &text, &e);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "template");
    enum MHD_Result res = api_reply_text(api, c, r, 200, "application/json", text, strlen(text));
    free(text);
    return res;
}

enum MHD_Result h_template_delete(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    struct reel_err e = {0};
    int ret = reel_queue_template_delete(api->cfg.queue, r->param, &e);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "template");
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return api_reply(api, c, r, MHD_HTTP_NO_CONTENT, resp);
}

enum MHD_Result h_templates_list(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    char **names = NULL;
    int n = 0;
    struct reel_err e = {0};
    int ret = reel_queue_template_list(api->cfg.queue, &names, &n, &e);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, &e, "listing templates");
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "templates");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
        free(names[i]);
    }
    free(names);
    return api_reply_json(api, c, r, 200, body);
}

/* ---- info, health, readiness, metrics ---- */

enum MHD_Result h_info(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "version", REEL_VERSION);
    cJSON *node = cJSON_Parse(api->info_json);
    const cJSON *it;
    cJSON_ArrayForEach(it, node)
    {
        cJSON_AddItemToObject(body, it->string, cJSON_Duplicate(it, 1));
    }
    cJSON_Delete(node);
    const struct reel_limits *l = &api->limits;
    cJSON *lim = cJSON_AddObjectToObject(body, "limits");
    cJSON_AddNumberToObject(lim, "max_body_bytes", (double)l->max_body_bytes);
    cJSON_AddNumberToObject(lim, "max_json_depth", l->max_json_depth);
    cJSON_AddNumberToObject(lim, "max_layers", l->max_layers);
    cJSON_AddNumberToObject(lim, "max_keyframes", l->max_keyframes);
    cJSON_AddNumberToObject(lim, "max_text_chars", l->max_text_chars);
    cJSON_AddNumberToObject(lim, "max_width", l->max_width);
    cJSON_AddNumberToObject(lim, "max_height", l->max_height);
    cJSON_AddNumberToObject(lim, "max_fps", l->max_fps);
    cJSON_AddNumberToObject(lim, "max_duration_s", l->max_duration_us / 1e6);
    cJSON_AddNumberToObject(lim, "max_source_px", l->max_source_px);
    cJSON_AddNumberToObject(lim, "max_source_bytes", (double)l->max_source_bytes);
    cJSON_AddNumberToObject(lim, "fetch_timeout_s", l->fetch_timeout_us / 1e6);
    cJSON_AddNumberToObject(lim, "max_fetch_bytes", (double)l->max_fetch_bytes);
    cJSON_AddNumberToObject(lim, "max_job_runtime_s", l->max_job_runtime_us / 1e6);
    cJSON_AddNumberToObject(lim, "max_attempts", l->max_attempts);
    cJSON_AddNumberToObject(lim, "max_queued",
                            (double)(api->cfg.max_queued ? api->cfg.max_queued : 100000));
    cJSON_AddNumberToObject(lim, "rate_limit_per_min", api->cfg.rate_per_min);
    cJSON_AddNumberToObject(lim, "max_previews", api->cfg.max_previews);
    cJSON_AddBoolToObject(body, "auth", api->n_tokens > 0);
    return api_reply_json(api, c, r, 200, body);
}

enum MHD_Result h_healthz(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return api_reply_text(api, c, r, 200, "application/json", ok, sizeof(ok) - 1);
}

enum MHD_Result h_readyz(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    int ret = reel_queue_ping(api->cfg.queue);
    if (ret < 0)
        return api_reply_queue_err(api, c, r, ret, NULL, "readiness");
    static const char ok[] = "{\"status\":\"ready\"}";
    return api_reply_text(api, c, r, 200, "application/json", ok, sizeof(ok) - 1);
}

enum MHD_Result h_metrics(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    struct reel_queue_stats qs;
    int gate = api_redis_gate(api); /* a scrape does not wait on a Redis known to be down */
    bool redis_up = gate >= 0 && reel_queue_stats(api->cfg.queue, &qs) == 0;
    if (!redis_up && gate >= 0) {
        atomic_fetch_add(&api->redis_errors, 1);
        api_redis_mark_down(api);
    }
    api_redis_gate_done(api, gate, redis_up);
    fprintf(f,
            "# HELP reel_redis_up Whether the last Redis call of this scrape succeeded.\n"
            "# TYPE reel_redis_up gauge\nreel_redis_up %d\n",
            redis_up);
    if (redis_up) {
        fprintf(f, "# HELP reel_jobs Jobs known to the queue, by state.\n# TYPE reel_jobs gauge\n");
        for (int s = REEL_JOB_QUEUED; s <= REEL_JOB_CANCELED; s++)
            fprintf(f, "reel_jobs{state=\"%s\"} %lld\n",
                    reel_job_state_name((enum reel_job_state)s), (long long)qs.by_state[s]);
        fprintf(f,
                "# HELP reel_queue_depth Jobs waiting to be claimed.\n"
                "# TYPE reel_queue_depth gauge\nreel_queue_depth %lld\n",
                (long long)qs.queued_depth);
    }
    static const double bounds[] = REEL_QUEUE_RENDER_BUCKETS;
    int64_t buckets[REEL_QUEUE_RENDER_NBUCKETS] = {0};
    double sum_s = 0;
    int64_t count = 0, frames = 0;
    if (redis_up && reel_queue_render_metrics(api->cfg.queue, buckets, REEL_QUEUE_RENDER_NBUCKETS,
                                              &sum_s, &count, &frames) == 0) {
        fprintf(f, "# HELP reel_render_seconds Render time of finished jobs (whole cluster).\n"
                   "# TYPE reel_render_seconds histogram\n");
        for (int i = 0; i < REEL_QUEUE_RENDER_NBUCKETS; i++) {
            if (i < (int)(sizeof(bounds) / sizeof(bounds[0])))
                fprintf(f, "reel_render_seconds_bucket{le=\"%g\"} %lld\n", bounds[i],
                        (long long)buckets[i]);
            else
                fprintf(f, "reel_render_seconds_bucket{le=\"+Inf\"} %lld\n", (long long)buckets[i]);
        }
        fprintf(f, "reel_render_seconds_sum %.6f\nreel_render_seconds_count %lld\n", sum_s,
                (long long)count);
        fprintf(f,
                "# HELP reel_frames_rendered_total Frames of finished jobs (whole cluster).\n"
                "# TYPE reel_frames_rendered_total counter\nreel_frames_rendered_total %lld\n",
                (long long)frames);
        fprintf(f,
                "# HELP reel_render_frames_per_second Frames per second of render time, "
                "averaged over finished jobs.\n# TYPE reel_render_frames_per_second gauge\n"
                "reel_render_frames_per_second %.3f\n",
                sum_s > 0 ? (double)frames / sum_s : 0.0);
    }
    if (api->cfg.pool) {
        struct reel_worker_stats ws;
        reel_worker_pool_stats(api->cfg.pool, &ws);
        fprintf(f,
                "# HELP reel_worker_jobs_running Jobs rendering in this process.\n"
                "# TYPE reel_worker_jobs_running gauge\nreel_worker_jobs_running %lld\n",
                (long long)ws.jobs_running);
        fprintf(f,
                "# HELP reel_worker_jobs_total Jobs ended by this process's workers.\n"
                "# TYPE reel_worker_jobs_total counter\n"
                "reel_worker_jobs_total{result=\"succeeded\"} %lld\n"
                "reel_worker_jobs_total{result=\"failed\"} %lld\n"
                "reel_worker_jobs_total{result=\"canceled\"} %lld\n",
                (long long)ws.jobs_succeeded, (long long)ws.jobs_failed,
                (long long)ws.jobs_canceled);
        fprintf(f,
                "# HELP reel_worker_frames_total Frames rendered by this process's workers.\n"
                "# TYPE reel_worker_frames_total counter\nreel_worker_frames_total %lld\n",
                (long long)ws.frames_rendered);
        fprintf(f,
                "# HELP reel_worker_render_seconds_total Render time in this process.\n"
                "# TYPE reel_worker_render_seconds_total counter\n"
                "reel_worker_render_seconds_total %.3f\n",
                ws.render_seconds);
    }
    fprintf(f,
            "# HELP reel_redis_errors_total Redis calls of the API that failed.\n"
            "# TYPE reel_redis_errors_total counter\nreel_redis_errors_total %lld\n",
            (long long)atomic_load(&api->redis_errors));
    fprintf(f, "# HELP reel_http_requests_total HTTP requests answered, by route and status.\n"
               "# TYPE reel_http_requests_total counter\n");
    for (int rt = 0; rt <= R_COUNT; rt++)
        for (int s = 100; s < MAX_STATUS; s++) {
            long long n = atomic_load(&api->http[rt][s]);
            if (n)
                fprintf(f, "reel_http_requests_total{route=\"%s\",code=\"%d\"} %lld\n",
                        api_route_label(rt), s, n);
        }
    fprintf(f,
            "# HELP reel_http_in_flight Requests being handled.\n"
            "# TYPE reel_http_in_flight gauge\nreel_http_in_flight %d\n",
            atomic_load(&api->in_flight));
    fclose(f);
    enum MHD_Result res =
        api_reply_text(api, c, r, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
    return res;
}
