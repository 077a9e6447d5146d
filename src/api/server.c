/*
 * The libmicrohttpd daemon of `reel serve`: the route table, request lifecycle (auth, content
 * type, the body limit enforced while reading), error bodies and request counting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/internal.h"
#include "core/clock.h"
#include "core/thread.h"

struct route {
    const char *method;
    const char *pattern;
    bool has_body; /* a JSON body is read (Content-Type checked, size limited) */
    bool open;     /* no token needed (health, readiness, metrics) */
    bool redis;    /* cannot answer without Redis: refused at once while Redis is known down */
    route_fn fn;
};

/* The one route table (its order is enum route_id). docs/openapi.yaml is checked against it. */
static const struct route routes[R_COUNT] = {
    [R_JOBS_POST] = {"POST", "/v1/jobs", true, false, true, h_jobs_post},
    [R_JOBS_LIST] = {"GET", "/v1/jobs", false, false, true, h_jobs_list},
    [R_JOB_GET] = {"GET", "/v1/jobs/{id}", false, false, true, h_job_get},
    [R_JOB_DELETE] = {"DELETE", "/v1/jobs/{id}", false, false, true, h_job_delete},
    [R_JOB_OUTPUT] = {"GET", "/v1/jobs/{id}/output", false, false, true, h_job_output},
    [R_JOB_POSTER] = {"GET", "/v1/jobs/{id}/poster", false, false, true, h_job_poster},
    [R_JOB_LOG] = {"GET", "/v1/jobs/{id}/log", false, false, true, h_job_log},
    [R_FRAMES] = {"POST", "/v1/frames", true, false, false, h_frames},
    [R_VALIDATE] = {"POST", "/v1/validate", true, false, false, h_validate},
    [R_TEMPLATES_LIST] = {"GET", "/v1/templates", false, false, true, h_templates_list},
    [R_TEMPLATE_PUT] = {"PUT", "/v1/templates/{name}", true, false, true, h_template_put},
    [R_TEMPLATE_GET] = {"GET", "/v1/templates/{name}", false, false, true, h_template_get},
    [R_TEMPLATE_DELETE] = {"DELETE", "/v1/templates/{name}", false, false, true, h_template_delete},
    [R_INFO] = {"GET", "/v1/info", false, false, false, h_info},
    [R_HEALTHZ] = {"GET", "/healthz", false, true, false, h_healthz},
    [R_READYZ] = {"GET", "/readyz", false, true, true, h_readyz},
    [R_METRICS] = {"GET", "/metrics", false, true, false, h_metrics},
};

int reel_api_routes(const struct reel_api_route_info **out)
{
    static struct reel_api_route_info info[R_COUNT];
    for (int i = 0; i < R_COUNT; i++) {
        info[i].method = routes[i].method;
        info[i].pattern = routes[i].pattern;
    }
    *out = info;
    return R_COUNT;
}

const char *api_route_label(int route)
{
    static char labels[R_COUNT][64];
    static atomic_int ready;
    if (route < 0 || route >= R_COUNT)
        return "unmatched";
    if (!atomic_load(&ready)) {
        /* Idempotent: every thread writes the same bytes. */
        for (int i = 0; i < R_COUNT; i++)
            snprintf(labels[i], sizeof(labels[i]), "%s %s", routes[i].method, routes[i].pattern);
        atomic_store(&ready, 1);
    }
    return labels[route];
}

unsigned api_status_of(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case REEL_EINVALID_JSON:
    case REEL_EINVALID_JOB:
    case REEL_EUNKNOWN_FIELD:
    case REEL_ELIMIT:
    case REEL_EASSET_NOT_FOUND:
    case REEL_EASSET_FETCH:
    case REEL_EASSET_UNSUPPORTED:
    case REEL_EDECODE:
        return MHD_HTTP_BAD_REQUEST;
    case REEL_EUNAUTHORIZED:
        return MHD_HTTP_UNAUTHORIZED;
    case REEL_ENOT_FOUND:
        return MHD_HTTP_NOT_FOUND;
    case REEL_ECONFLICT:
        return MHD_HTTP_CONFLICT;
    case REEL_ETOO_LARGE:
        return MHD_HTTP_CONTENT_TOO_LARGE;
    case REEL_EMEDIA_TYPE:
        return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
    case REEL_ERATE_LIMITED:
        return MHD_HTTP_TOO_MANY_REQUESTS;
    case REEL_EUNAVAILABLE:
    case REEL_EENGINE_UNAVAILABLE:
    case REEL_EENCODER_UNAVAILABLE:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

enum MHD_Result api_reply(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                          unsigned status, struct MHD_Response *resp)
{
    (void)api;
    if (!resp)
        return MHD_NO;
    r->status = (int)status;
    r->answered = true;
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result api_reply_text(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                               unsigned status, const char *type, const char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return api_reply(api, c, r, status, resp);
}

struct MHD_Response *api_json_response(cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return resp;
}

enum MHD_Result api_reply_json(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                               unsigned status, cJSON *body)
{
    struct MHD_Response *resp = api_json_response(body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return api_reply(api, c, r, status, resp);
}

static cJSON *err_object(int code, const char *path, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", reel_err_code_str(code));
    cJSON_AddStringToObject(o, "message", msg);
    if (path && *path)
        cJSON_AddStringToObject(o, "path", path);
    return o;
}

struct MHD_Response *api_error_response(cJSON *eo)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "error", eo);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(body, "errors"), cJSON_Duplicate(eo, 1));
    return api_json_response(body);
}

static enum MHD_Result send_errors(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                   unsigned status, const struct reel_err *items, size_t n,
                                   size_t dropped, const char *retry_after)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "error", err_object(items[0].code, items[0].path, items[0].msg));
    cJSON *arr = cJSON_AddArrayToObject(body, "errors");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, err_object(items[i].code, items[i].path, items[i].msg));
    if (dropped) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%zu more problems were not listed", dropped);
        cJSON_AddItemToArray(arr, err_object(items[0].code, NULL, msg));
    }
    struct MHD_Response *resp = api_json_response(body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"reel\"");
    if (status == MHD_HTTP_CONTENT_TOO_LARGE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return api_reply(api, c, r, status, resp);
}

/* The request's logger: job=<id> on the routes of one job, job=- elsewhere. */
static void req_log(struct reel_api *api, const struct req *r, struct reel_log *out)
{
    bool job_route = r->route >= R_JOB_GET && r->route <= R_JOB_LOG && r->param[0];
    reel_log_init(out, &api->log, job_route ? r->param : "-", "api");
}

static enum MHD_Result reply_error_v(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                     unsigned status, int code, const char *path,
                                     const char *retry_after, const char *fmt, va_list ap)
{
    struct reel_err e = {.code = code < 0 ? -code : code};
    snprintf(e.path, sizeof(e.path), "%s", path ? path : "");
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    struct reel_log l;
    req_log(api, r, &l);
    REEL_INFO(&l, "stage=http route=\"%s\" status=%u code=%s%s%s: %s", api_route_label(r->route),
              status, reel_err_code_str(e.code), e.path[0] ? " at " : "", e.path, e.msg);
    return send_errors(api, c, r, status, &e, 1, 0, retry_after);
}

enum MHD_Result api_reply_error(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                unsigned status, int code, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *retry = status == MHD_HTTP_SERVICE_UNAVAILABLE ? "5"
                        : status == MHD_HTTP_TOO_MANY_REQUESTS ? "1"
                                                               : NULL;
    enum MHD_Result ret = reply_error_v(api, c, r, status, code, path, retry, fmt, ap);
    va_end(ap);
    return ret;
}

static enum MHD_Result reply_error_retry(struct reel_api *api, struct MHD_Connection *c,
                                         struct req *r, unsigned status, int code,
                                         const char *retry_after, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static enum MHD_Result reply_error_retry(struct reel_api *api, struct MHD_Connection *c,
                                         struct req *r, unsigned status, int code,
                                         const char *retry_after, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result ret = reply_error_v(api, c, r, status, code, NULL, retry_after, fmt, ap);
    va_end(ap);
    return ret;
}

enum MHD_Result api_reply_errlist(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                  const struct reel_errlist *errs)
{
    if (!errs->count)
        return api_reply_error(api, c, r, 500, REEL_EINTERNAL, NULL, "validation failed");
    unsigned status = api_status_of(errs->items[0].code);
    REEL_INFO(&api->log, "stage=validate route=\"%s\" status=%u problems=%zu first=%s at %s: %s",
              api_route_label(r->route), status, errs->count + errs->dropped,
              reel_err_code_str(errs->items[0].code), errs->items[0].path, errs->items[0].msg);
    return send_errors(api, c, r, status, errs->items, errs->count, errs->dropped,
                       status == MHD_HTTP_SERVICE_UNAVAILABLE ? "5" : NULL);
}

enum MHD_Result api_reply_queue_err(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                    int ret, const struct reel_err *e, const char *what)
{
    int code = ret < 0 ? -ret : ret;
    const char *msg = e && e->code && e->msg[0] ? e->msg : reel_err_default_msg(code);
    struct reel_log l;
    req_log(api, r, &l);
    switch (code) {
    case REEL_EUNAVAILABLE:
        atomic_fetch_add(&api->redis_errors, 1);
        api_redis_mark_down(api);
        REEL_WARN(&l, "stage=redis route=\"%s\" %s: Redis unavailable: %s",
                  api_route_label(r->route), what, msg);
        return reply_error_retry(api, c, r, 503, REEL_EUNAVAILABLE, "5",
                                 "the job store (Redis) is unavailable; retry later");
    case REEL_ENOT_FOUND:
        return api_reply_error(api, c, r, 404, code, NULL, "%s: %s", what, msg);
    case REEL_ECONFLICT:
        return api_reply_error(api, c, r, 409, code, NULL, "%s", msg);
    case REEL_ELIMIT:
        return reply_error_retry(api, c, r, 429, code, "30", "%s", msg);
    case REEL_ERATE_LIMITED:
        return reply_error_retry(api, c, r, 429, code, "1", "%s", msg);
    default:
        REEL_ERROR(&l, "stage=redis route=\"%s\" %s failed: %s (%s)", api_route_label(r->route),
                   what, reel_err_code_str(code), msg);
        return api_reply_error(api, c, r, 500, REEL_EINTERNAL, NULL, "%s failed: %s", what, msg);
    }
}

/* ---- request lifecycle ---- */

static bool authorized(struct reel_api *api, struct MHD_Connection *c, struct req *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7))
        return false;
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    int found = -1;
    /* Every token is compared, so the time does not tell which one matched. */
    for (int i = 0; i < api->n_tokens; i++)
        if (reel_api_secret_eq(tok, api->tokens[i]) && found < 0)
            found = i;
    if (found < 0)
        return false;
    memcpy(r->owner, api->owners[found], sizeof(r->owner));
    return true;
}

static enum MHD_Result begin(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                             const char *url, const char *method)
{
    const char *m = !strcmp(method, "HEAD") ? "GET" : method;
    char allow[128] = "";
    bool path_known = false;
    for (int i = 0; i < R_COUNT; i++) {
        char param[72];
        if (!reel_api_match(routes[i].pattern, url, param, sizeof(param)))
            continue;
        path_known = true;
        if (!strcmp(routes[i].method, m)) {
            r->route = i;
            memcpy(r->param, param, sizeof(param));
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", routes[i].method);
        if (!strcmp(routes[i].method, "GET")) {
            n = strlen(allow);
            snprintf(allow + n, sizeof(allow) - n, ", HEAD");
        }
    }
    if (r->route < 0) {
        if (!path_known)
            return api_reply_error(api, c, r, 404, REEL_ENOT_FOUND, NULL, "no route %s %.200s",
                                   method, url);
        struct reel_err e = {.code = REEL_ENOT_FOUND};
        snprintf(e.msg, sizeof(e.msg), "method %s is not allowed here; allowed: %s", method, allow);
        /* There is no SPEC code for a wrong method; "not_found" with 405 says: not here. */
        struct MHD_Response *resp = api_error_response(err_object(REEL_ENOT_FOUND, NULL, e.msg));
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        return api_reply(api, c, r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
    }
    const struct route *rt = &routes[r->route];
    if (!rt->open && api->n_tokens > 0 && !authorized(api, c, r))
        return api_reply_error(api, c, r, 401, REEL_EUNAUTHORIZED, NULL,
                               "this server needs 'Authorization: Bearer <token>' with a valid "
                               "token");
    r->wants_body = rt->has_body;
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > api->limits.max_body_bytes)
            return api_reply_error(api, c, r, 413, REEL_ETOO_LARGE, NULL,
                                   "the request body is larger than the limit of %zu bytes "
                                   "(max_body_bytes)",
                                   api->limits.max_body_bytes);
    }
    if (rt->has_body) {
        const char *ct =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!reel_api_is_json_type(ct))
            return api_reply_error(api, c, r, 415, REEL_EMEDIA_TYPE, NULL,
                                   "the body must be sent as 'Content-Type: application/json', "
                                   "not '%.100s'",
                                   ct ? ct : "(none)");
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct reel_api *api = cls;
    struct req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->route = -1;
        r->t0 = reel_clock_s();
        *con_cls = r;
        atomic_fetch_add(&api->in_flight, 1);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->track = ci ? ci->socket_context : NULL;
        if (r->track) {
            pthread_mutex_lock(&api->conns_lock);
            r->track->in_request = true;
            pthread_mutex_unlock(&api->conns_lock);
        }
        return begin(api, c, r, url, method);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (reel_clock_s() - r->t0 > api->cfg.request_timeout_s) {
            REEL_INFO(&api->log, "stage=http route=\"%s\" body not received within %u s; closing",
                      api_route_label(r->route), api->cfg.request_timeout_s);
            return MHD_NO;
        }
        if (r->answered)
            return MHD_YES;
        if (!r->wants_body || r->too_large || r->len + n > api->limits.max_body_bytes) {
            /* Counted, never stored. A client that keeps sending far past the limit is cut off. */
            if (r->wants_body && !r->too_large) {
                r->too_large = true;
                r->discarded = r->len;
                free(r->body);
                r->body = NULL;
                r->len = r->cap = 0;
            }
            r->discarded += n;
            if (r->discarded > 64 * (uint64_t)api->limits.max_body_bytes)
                return MHD_NO;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 16384;
            while (cap < r->len + n + 1)
                cap *= 2;
            if (cap > api->limits.max_body_bytes + 1)
                cap = api->limits.max_body_bytes + 1;
            char *nb = realloc(r->body, cap);
            if (!nb)
                return MHD_NO;
            r->body = nb;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = 0;
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    if (r->preview)
        return api_preview_reply(api, c, r);
    if (r->too_large)
        return api_reply_error(api, c, r, 413, REEL_ETOO_LARGE, NULL,
                               "the request body is larger than the limit of %zu bytes "
                               "(max_body_bytes)",
                               api->limits.max_body_bytes);
    if (!routes[r->route].redis)
        return routes[r->route].fn(api, c, r);
    /* While Redis is known to be down, one request a second finds out whether it is back; the
     * others are answered 503 at once instead of each waiting out the Redis timeout in turn. */
    int gate = api_redis_gate(api);
    if (gate < 0)
        return reply_error_retry(api, c, r, 503, REEL_EUNAVAILABLE, "1",
                                 "the job store (Redis) is unavailable; retry later");
    enum MHD_Result res = routes[r->route].fn(api, c, r);
    api_redis_gate_done(api, gate, r->status != MHD_HTTP_SERVICE_UNAVAILABLE);
    return res;
}

/* ---- Redis circuit: closed (calls go through) or open (known down) ---- */

static int64_t now_ms(void)
{
    return (int64_t)(reel_clock_s() * 1000);
}

void api_redis_mark_down(struct reel_api *api)
{
    atomic_store(&api->redis_retry_at_ms, now_ms() + 1000);
}

int api_redis_gate(struct reel_api *api)
{
    int64_t at = atomic_load(&api->redis_retry_at_ms);
    if (at == 0)
        return 0;
    if (now_ms() < at)
        return -1;
    int expected = 0;
    return atomic_compare_exchange_strong(&api->redis_probing, &expected, 1) ? 1 : -1;
}

void api_redis_gate_done(struct reel_api *api, int gate, bool ok)
{
    if (gate != 1)
        return;
    if (ok)
        atomic_store(&api->redis_retry_at_ms, 0);
    atomic_store(&api->redis_probing, 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    struct reel_api *api = cls;
    struct req *r = *con_cls;
    if (!r)
        return;
    int route = r->route >= 0 ? r->route : R_COUNT;
    if (r->status > 0 && r->status < MAX_STATUS)
        atomic_fetch_add(&api->http[route][r->status], 1);
    REEL_DEBUG(&api->log, "stage=http route=\"%s\" status=%d %.1f ms%s", api_route_label(r->route),
               r->status, (reel_clock_s() - r->t0) * 1e3,
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    if (r->track) {
        pthread_mutex_lock(&api->conns_lock);
        r->track->in_request = false;
        r->track->idle_since = reel_clock_s();
        pthread_mutex_unlock(&api->conns_lock);
    }
    api_preview_free(&r->preview);
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&api->in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct reel_api *api = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_track *t = calloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!t || !ci) {
            free(t);
            return;
        }
        t->fd = ci->connect_fd;
        t->idle_since = reel_clock_s();
        pthread_mutex_lock(&api->conns_lock);
        t->next = api->conns.next;
        t->prev = &api->conns;
        api->conns.next->prev = t;
        api->conns.next = t;
        pthread_mutex_unlock(&api->conns_lock);
        *socket_context = t;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* MHD closes the socket after this callback, so the reaper never sees a reused fd. */
        struct conn_track *t = *socket_context;
        if (!t)
            return;
        pthread_mutex_lock(&api->conns_lock);
        t->prev->next = t->next;
        t->next->prev = t->prev;
        pthread_mutex_unlock(&api->conns_lock);
        free(t);
        *socket_context = NULL;
    }
}

/* Shut down connections that have waited longer than the request deadline for their headers.
 * MHD then sees the socket end and closes the connection on its own thread. */
static void *reaper_main(void *arg)
{
    struct reel_api *api = arg;
    reel_thread_name("reel-reaper");
    pthread_mutex_lock(&api->conns_lock);
    while (!api->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&api->reaper_cond, &api->conns_lock, &ts);
        double now = reel_clock_s();
        for (struct conn_track *t = api->conns.next; t != &api->conns; t = t->next) {
            if (t->in_request || t->reaped || now - t->idle_since <= api->cfg.request_timeout_s)
                continue;
            t->reaped = true;
            shutdown(t->fd, SHUT_RDWR);
            atomic_fetch_add(&api->reaped, 1);
            REEL_INFO(&api->log, "stage=http no complete request within %u s; closing",
                      api->cfg.request_timeout_s);
        }
    }
    pthread_mutex_unlock(&api->conns_lock);
    return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct reel_api *api = cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = 0;
    REEL_INFO(&api->log, "stage=http libmicrohttpd: %s", line);
}

static char **dup_list(const char *const *list, int *count)
{
    int n = 0;
    while (list && list[n])
        n++;
    char **out = calloc((size_t)n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!(out[i] = strdup(list[i]))) {
            for (int j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    if (count)
        *count = n;
    return out;
}

static void free_list(char **list)
{
    for (int i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

void reel_api_stop(struct reel_api **p)
{
    struct reel_api *api = p ? *p : NULL;
    if (!api)
        return;
    /* Previews hold suspended connections: let them end before the daemon goes. */
    atomic_store(&api->preview_cancel, 1);
    for (int i = 0; i < 3000 && atomic_load(&api->preview_threads) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (api->has_reaper) {
        pthread_mutex_lock(&api->conns_lock);
        api->stopping = true;
        pthread_cond_signal(&api->reaper_cond);
        pthread_mutex_unlock(&api->conns_lock);
        pthread_join(api->reaper, NULL);
    }
    if (api->daemon)
        MHD_stop_daemon(api->daemon);
    pthread_mutex_destroy(&api->conns_lock);
    pthread_cond_destroy(&api->reaper_cond);
    free_list(api->tokens);
    free(api->owners);
    free_list(api->roots);
    free_list(api->allow);
    free(api->info_json);
    free(api);
    *p = NULL;
}

int reel_api_start(const struct reel_api_cfg *cfg, struct reel_api **out, struct reel_err *err)
{
    *out = NULL;
    struct reel_api *api = calloc(1, sizeof(*api));
    if (!api)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    api->cfg = *cfg;
    reel_log_init(&api->log, cfg->log, "-", "api");
    pthread_mutex_init(&api->conns_lock, NULL);
    pthread_cond_init(&api->reaper_cond, NULL);
    api->conns.next = api->conns.prev = &api->conns;
    if (cfg->limits)
        api->limits = *cfg->limits;
    else
        reel_limits_default(&api->limits);
    if (!api->cfg.threads)
        api->cfg.threads = 4;
    if (!api->cfg.max_connections)
        api->cfg.max_connections = 256;
    if (!api->cfg.max_connections_per_ip)
        api->cfg.max_connections_per_ip = 32;
    if (!api->cfg.conn_timeout_s)
        api->cfg.conn_timeout_s = 15;
    if (!api->cfg.request_timeout_s)
        api->cfg.request_timeout_s = 30;
    if (api->cfg.max_previews <= 0)
        api->cfg.max_previews = 1;
    api->tokens = dup_list(cfg->tokens, &api->n_tokens);
    api->roots = dup_list(cfg->asset_roots, NULL);
    api->allow = dup_list(cfg->allow_url_hosts, NULL);
    api->owners = calloc((size_t)api->n_tokens + 1, sizeof(*api->owners));
    api->info_json = strdup(cfg->info_json ? cfg->info_json : "{}");
    if (!api->tokens || !api->roots || !api->allow || !api->owners || !api->info_json) {
        reel_api_stop(&api);
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    }
    for (int i = 0; i < api->n_tokens; i++)
        reel_api_owner_of(api->tokens[i], api->owners[i]);
    api->cfg.tokens = NULL;
    api->cfg.asset_roots = NULL;
    api->cfg.allow_url_hosts = NULL;
    api->cfg.info_json = NULL;
    if (cfg->output_dir && !realpath(cfg->output_dir, api->output_dir)) {
        int e = errno;
        reel_api_stop(&api);
        return reel_err_set(err, REEL_EINTERNAL, "output_dir", "output folder '%s': %s",
                            cfg->output_dir, strerror(e));
    }
    snprintf(api->public_url, sizeof(api->public_url), "%s",
             cfg->public_url ? cfg->public_url : "");
    size_t pl = strlen(api->public_url);
    while (pl && api->public_url[pl - 1] == '/')
        api->public_url[--pl] = 0;
    api->cfg.public_url = NULL;
    const char *tmp = cfg->tmp_dir ? cfg->tmp_dir : getenv("TMPDIR");
    snprintf(api->tmp_dir, sizeof(api->tmp_dir), "%s", tmp && *tmp ? tmp : "/tmp");

    /* Resolve the listen address (numeric, or a name such as localhost). */
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port_s[16];
    snprintf(port_s, sizeof(port_s), "%d", cfg->port);
    const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
    int gai = getaddrinfo(host, port_s, &hints, &ai);
    if (gai || !ai) {
        reel_api_stop(&api);
        return reel_err_set(err, REEL_EINTERNAL, "listen", "cannot resolve listen address '%s': %s",
                            host, gai_strerror(gai));
    }
    struct sockaddr_storage ss;
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    bool v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0);
    api->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, api, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)api->cfg.threads, MHD_OPTION_CONNECTION_LIMIT, api->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, api->cfg.max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, api->cfg.conn_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)65536, MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)128, MHD_OPTION_END);
    if (!api->daemon) {
        reel_api_stop(&api);
        return reel_err_set(err, REEL_EINTERNAL, "listen", "cannot listen on %s:%d (in use?)", host,
                            cfg->port);
    }
    if (pthread_create(&api->reaper, NULL, reaper_main, api) == 0)
        api->has_reaper = true;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
    api->port = di ? di->port : cfg->port;
    api_route_label(0); /* fill the label table before any thread reads it */
    REEL_INFO(&api->log, "listening on %s:%d (%d threads, %u connections, %u per IP)", host,
              api->port, api->cfg.threads, api->cfg.max_connections,
              api->cfg.max_connections_per_ip);
    *out = api;
    return 0;
}

int reel_api_port(const struct reel_api *api)
{
    return api->port;
}

void reel_api_quiesce(struct reel_api *api)
{
    if (api && api->daemon) {
        MHD_socket s = MHD_quiesce_daemon(api->daemon);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

int reel_api_in_flight(const struct reel_api *api)
{
    return atomic_load(&api->in_flight);
}
