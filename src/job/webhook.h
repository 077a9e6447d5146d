/*
 * Webhooks (SPEC 3): on a terminal state the status document is POSTed to the job's callback.url,
 * signed with X-Reel-Signature: sha256=<hex HMAC-SHA256 of the body> under the server's secret,
 * retried with exponential backoff. The address rules of asset URLs apply: loopback, private,
 * link-local and metadata addresses are refused unless the host is allow-listed; the address
 * checked is the address connected to (pinned); redirects are never followed.
 */
#ifndef REEL_JOB_WEBHOOK_H
#define REEL_JOB_WEBHOOK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "queue/queue.h"

struct reel_webhook_cfg {
    const char *secret;             /* NULL or "" = unsigned (no X-Reel-Signature header) */
    const char *const *allow_hosts; /* NULL-terminated host names exempt from address rules */
    int tries;                      /* 0 = 5 */
    int64_t base_delay_ms;          /* first retry delay, doubled each time; 0 = 1000 */
    int64_t timeout_ms;             /* per try; 0 = 10000 */
    const atomic_int *stop;         /* when non-zero, waits between tries end early */
    struct reel_log *log;           /* may be NULL */
};

/* "sha256=<64 hex>" of body under secret into out. Returns 0 or -REEL_EINTERNAL. */
int reel_webhook_sign(const char *secret, const char *body, size_t len, char out[80]);

/*
 * One POST of body (application/json) to url. 0 on a 2xx answer; -REEL_EASSET_FETCH-style
 * failures are reported as -REEL_EUNAVAILABLE (network, timeout, non-2xx, redirect) or
 * -REEL_EINVALID_JOB (a URL the rules refuse: bad scheme, internal address), err says which.
 */
int reel_webhook_post(const struct reel_webhook_cfg *cfg, const char *url, const char *body,
                      struct reel_err *err);

/*
 * POST with retries: up to cfg->tries, waiting base, 2*base, 4*base ... between them. Refused
 * URLs are not retried. Returns 0 once delivered, else the last error. Blocks; thread-safe.
 */
int reel_webhook_deliver(const struct reel_webhook_cfg *cfg, const char *url, const char *body,
                         struct reel_err *err);

/* True when a callback for state st is wanted by the comma-separated events ("" = all terminal
 * states: succeeded, failed, canceled). */
bool reel_webhook_wanted(const char *events, enum reel_job_state st);

#endif
