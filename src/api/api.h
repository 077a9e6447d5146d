/*
 * The HTTP job API of `reel serve` (SPEC 3): a libmicrohttpd daemon on its internal thread pool,
 * one static route table, JSON bodies through cJSON. Handlers validate, write to Redis through the
 * queue module and answer; they never render a job (POST /v1/frames renders one preview frame,
 * bounded by cfg.max_previews).
 *
 * Hardening: the body limit is enforced while reading (Content-Length checked before the body is
 * read, uploaded bytes counted), JSON nesting is counted before cJSON parses, connections are
 * limited in total and per IP, idle connections time out, and a connection whose request headers,
 * or whose body, take longer than cfg.request_timeout_s to arrive is closed (a client dripping
 * bytes holds no slot for long). MHD's threads never block on a render: a preview runs on its own
 * thread while its connection is suspended.
 */
#ifndef REEL_API_API_H
#define REEL_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/parse.h"

struct reel_api;
struct reel_queue;
struct reel_worker_pool;

struct reel_api_cfg {
    const char *host;                   /* listen address (IPv4 or IPv6 literal, or "localhost") */
    int port;                           /* 0 = pick a free port (reel_api_port tells which) */
    struct reel_queue *queue;           /* borrowed for the daemon's lifetime */
    struct reel_worker_pool *pool;      /* in-process workers for /metrics; may be NULL */
    const char *const *tokens;          /* NULL-terminated bearer tokens; NULL or empty = no auth */
    const char *const *asset_roots;     /* NULL-terminated; where job srcs are looked up */
    const char *const *allow_url_hosts; /* NULL-terminated; hosts exempt from the address rules */
    const char *output_dir;             /* outputs are served only from under this folder */
    const char *tmp_dir;                /* previews are rendered here; NULL = $TMPDIR or /tmp */
    const char *cache_dir;              /* URL cache of previews; NULL = default; borrowed */
    int64_t cache_max_bytes;            /* that cache is pruned to this; 0 = no pruning */
    const struct reel_limits *limits;   /* NULL = defaults (copied) */
    const char *engine;                 /* engine for previews; NULL = the job's */
    const char *hwdec;                  /* preview video decoding: auto, none; NULL = auto */
    const char *info_json;    /* {"engines": [...], "encoders": [...]} of this node; may be NULL */
    int threads;              /* HTTP thread pool; 0 = 4 */
    unsigned max_connections; /* 0 = 256 */
    unsigned max_connections_per_ip; /* 0 = 32 */
    unsigned conn_timeout_s;         /* idle connection timeout; 0 = 15 */
    unsigned request_timeout_s; /* headers, and then the body, must arrive within this; 0 = 30 */
    int rate_per_min;           /* submissions per token (or per server without auth); 0 = off */
    int max_previews;           /* concurrent POST /v1/frames renders; 0 = 1 */
    int64_t max_queued;         /* reported in /v1/info; the queue enforces it */
    const char *public_url;     /* prefix of links ("https://reel.example.com"); NULL = from Host */
    struct reel_log *log;       /* parent logger; borrowed */
};

/* Start listening. Returns 0 and the daemon, or a negative code with err filled (bind failure:
 * -REEL_EINTERNAL naming the address). */
int reel_api_start(const struct reel_api_cfg *cfg, struct reel_api **out, struct reel_err *err);
/* The port actually bound. */
int reel_api_port(const struct reel_api *api);
/* Stop accepting new connections (SIGTERM); requests in flight finish. */
void reel_api_quiesce(struct reel_api *api);
/* Requests being handled right now. */
int reel_api_in_flight(const struct reel_api *api);
/* Close every connection and free. Accepts NULL; sets *api to NULL. */
void reel_api_stop(struct reel_api **api);

/* ---- the route table (also printed by `reel serve --print-routes` for the OpenAPI check) ---- */
struct reel_api_route_info {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/v1/jobs/{id}" */
};
/* Number of routes; fills *out with the static table (borrowed, never freed). */
int reel_api_routes(const struct reel_api_route_info **out);

/* ---- pure helpers, exported for the unit tests ---- */

/* Deepest nesting of arrays/objects in a JSON text of len bytes (strings skipped). Stops counting
 * once past limit and returns limit + 1. */
int reel_api_json_depth(const char *json, size_t len, int limit);

/*
 * A Range header against a file of size bytes. Returns 1 with [*first, *last] (inclusive) for one
 * satisfiable byte range (suffix ranges "bytes=-N" and open ranges "bytes=N-" included), 0 when the
 * header should be ignored (absent, not bytes, malformed, several ranges: serve the whole file),
 * -1 when unsatisfiable (answer 416).
 */
int reel_api_parse_range(const char *hdr, int64_t size, int64_t *first, int64_t *last);

/* Match a path against a pattern with {name} segments ([A-Za-z0-9_.-]{1,64}, not "." or "..").
 * The one parameter (if any) goes to param (cap bytes). True on match. */
bool reel_api_match(const char *pattern, const char *path, char *param, size_t cap);

/* Constant-time comparison of two NUL-terminated secrets (time independent of where they differ
 * and of their lengths up to 4 KiB). */
bool reel_api_secret_eq(const char *a, const char *b);

/* Length of the longest valid UTF-8 prefix of s (len when all of it is valid): overlong forms,
 * surrogates and code points past U+10FFFF are invalid. */
size_t reel_api_utf8_valid_prefix(const char *s, size_t len);

/* Byte offset of the first escaped NUL ("\u0000") inside a JSON string of s, or -1 when there is
 * none. cJSON would cut the string there, so a job's "logo.png\u0000../x" would read as "logo.png";
 * a literal backslash followed by "u0000" ("\\u0000") is not one. */
long reel_api_find_nul_escape(const char *s, size_t len);

/* True for "application/json" with optional parameters (charset=utf-8), case-insensitive. */
bool reel_api_is_json_type(const char *content_type);

/* The owner identity of a token: 32 hex characters of SHA-256("reel-owner:" token). */
void reel_api_owner_of(const char *token, char out[33]);

/*
 * Check the srcs of a parsed timeline without fetching anything: URLs must be http(s) (file:// and
 * other schemes: asset_unsupported), a literal IP host must pass reel_assets_addr_allowed unless it
 * is in allow_hosts ("localhost" counts as loopback) (asset_fetch_failed), local paths must not be
 * absolute or contain "..". Problems go to errs with their paths (layers[i].src). Sets *has_urls.
 * Returns 0 or the first problem's code.
 */
struct reel_timeline;
int reel_api_check_srcs(const struct reel_timeline *tl, const char *const *allow_hosts,
                        bool *has_urls, struct reel_errlist *errs);
/* Same address rules for one URL (callbacks). 0 or a negative code with err filled. */
int reel_api_check_url(const char *url, const char *const *allow_hosts, const char *path,
                       struct reel_err *err);

#endif
