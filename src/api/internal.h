/* Shared between the API's daemon (server.c) and its route handlers (handlers.c). */
#ifndef REEL_API_INTERNAL_H
#define REEL_API_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "api/api.h"

enum route_id {
    R_JOBS_POST = 0,
    R_JOBS_LIST,
    R_JOB_GET,
    R_JOB_DELETE,
    R_JOB_OUTPUT,
    R_JOB_POSTER,
    R_JOB_LOG,
    R_FRAMES,
    R_VALIDATE,
    R_TEMPLATES_LIST,
    R_TEMPLATE_PUT,
    R_TEMPLATE_GET,
    R_TEMPLATE_DELETE,
    R_INFO,
    R_HEALTHZ,
    R_READYZ,
    R_METRICS,
    R_COUNT
};

#define MAX_STATUS 600

/* One open connection, for the request deadline (server.c). */
struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    double idle_since; /* start, or end of the last request: headers are due within the deadline */
    bool in_request;   /* headers received; the body and the answer have their own limits */
    bool reaped;
};

struct reel_api {
    struct reel_api_cfg cfg;
    struct reel_limits limits;
    char **tokens; /* NULL-terminated copies */
    char (*owners)[33];
    int n_tokens;
    char **roots, **allow;     /* NULL-terminated copies */
    char output_dir[PATH_MAX]; /* realpath of cfg.output_dir ("" = none) */
    char tmp_dir[PATH_MAX];
    char *info_json;
    char public_url[256]; /* without a trailing '/'; "" = from the Host header */
    struct MHD_Daemon *daemon;
    int port;
    atomic_int in_flight;
    atomic_int previews;        /* preview slots taken */
    atomic_int preview_threads; /* preview threads alive (the daemon stops after them) */
    atomic_int preview_cancel;  /* set at stop: previews end early */
    atomic_llong http[R_COUNT + 1][MAX_STATUS]; /* requests by route (R_COUNT: unmatched), code */
    atomic_llong redis_errors;
    atomic_llong redis_retry_at_ms; /* 0 = Redis not known down; else next probe (monotonic ms) */
    atomic_int redis_probing;       /* a request is finding out whether Redis is back */
    struct reel_log log;
    /* Connections whose request headers have not arrived within cfg.request_timeout_s are shut
     * down by the reaper thread (a client dripping its headers holds no slot for long). */
    pthread_mutex_t conns_lock;
    pthread_cond_t reaper_cond;
    struct conn_track conns; /* list head */
    pthread_t reaper;
    bool has_reaper, stopping;
    atomic_llong reaped;
};

/* Per-request state: MHD's per-request slot; freed in the completion callback. */
struct req {
    int route; /* enum route_id, or -1 */
    char param[72];
    char *body;
    size_t len, cap;
    size_t discarded;
    bool wants_body, too_large, answered;
    double t0;
    char owner[33];
    int status;
    struct conn_track *track; /* the connection's, or NULL */
    struct preview *preview;  /* POST /v1/frames: the render running for this request */
};

typedef enum MHD_Result (*route_fn)(struct reel_api *api, struct MHD_Connection *c, struct req *r);

/* Responses; each queues, counts and releases. */
enum MHD_Result api_reply(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                          unsigned status, struct MHD_Response *resp);
enum MHD_Result api_reply_json(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                               unsigned status, cJSON *body); /* takes ownership of body */
enum MHD_Result api_reply_text(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                               unsigned status, const char *type, const char *text, size_t len);
enum MHD_Result api_reply_error(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                unsigned status, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* body (ownership taken) as an application/json response not yet queued, for a caller adding
 * headers of its own. NULL when out of memory. */
struct MHD_Response *api_json_response(cJSON *body);
/* An error answer not yet queued, for a caller adding headers of its own: the body
 * {"error": eo, "errors": [eo]} (takes ownership of eo) as application/json. NULL when out of
 * memory. */
struct MHD_Response *api_error_response(cJSON *eo);
/* 400 (or the status of the first problem's code) with every problem. */
enum MHD_Result api_reply_errlist(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                  const struct reel_errlist *errs);
/* A queue call's failure: 503 + Retry-After (unavailable), 404, 409, 429, else 500. */
enum MHD_Result api_reply_queue_err(struct reel_api *api, struct MHD_Connection *c, struct req *r,
                                    int ret, const struct reel_err *e, const char *what);
/* The Redis circuit (server.c). gate: 0 = Redis not known down, call it; 1 = known down, this
 * request is the one a second that finds out whether it is back; -1 = known down, answer 503
 * without calling. gate_done ends the call (ok: Redis answered). mark_down records a failure. */
int api_redis_gate(struct reel_api *api);
void api_redis_gate_done(struct reel_api *api, int gate, bool ok);
void api_redis_mark_down(struct reel_api *api);

/* HTTP status for an error code. */
unsigned api_status_of(int code);

/* Previews (handlers.c): the answer once the render thread resumed the connection, and the
 * request's cleanup. */
struct preview;
enum MHD_Result api_preview_reply(struct reel_api *api, struct MHD_Connection *c, struct req *r);
void api_preview_free(struct preview **p);

/* Handlers (handlers.c). */
enum MHD_Result h_jobs_post(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_jobs_list(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_job_get(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_job_delete(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_job_output(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_job_poster(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_job_log(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_frames(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_validate(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_templates_list(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_template_put(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_template_get(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_template_delete(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_info(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_healthz(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_readyz(struct reel_api *, struct MHD_Connection *, struct req *);
enum MHD_Result h_metrics(struct reel_api *, struct MHD_Connection *, struct req *);

/* Route names for metrics labels ("POST /v1/jobs"). */
const char *api_route_label(int route);

#endif
