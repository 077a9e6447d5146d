/*
 * Webhook delivery with libcurl: address rules checked on the resolved addresses, which are then
 * pinned (CURLOPT_RESOLVE) so curl connects to exactly what was checked; the open-socket callback
 * checks again. No proxy, no redirects.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <libavutil/hmac.h>

#include "assets/assets.h"
#include "job/webhook.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc;

static void init_curl(void)
{
    curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int reel_webhook_sign(const char *secret, const char *body, size_t len, char out[80])
{
    AVHMAC *h = av_hmac_alloc(AV_HMAC_SHA256);
    uint8_t mac[32];
    if (!h)
        return -REEL_EINTERNAL;
    av_hmac_init(h, (const uint8_t *)secret, (unsigned)strlen(secret));
    av_hmac_update(h, (const uint8_t *)body, (unsigned)len);
    int n = av_hmac_final(h, mac, sizeof(mac));
    av_hmac_free(h);
    if (n != 32)
        return -REEL_EINTERNAL;
    memcpy(out, "sha256=", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

bool reel_webhook_wanted(const char *events, enum reel_job_state st)
{
    if (st != REEL_JOB_SUCCEEDED && st != REEL_JOB_FAILED && st != REEL_JOB_CANCELED)
        return false;
    if (!events || !events[0])
        return true;
    const char *name = reel_job_state_name(st);
    size_t nl = strlen(name);
    for (const char *p = events; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ,");
        if (n == nl && !strncmp(p, name, n))
            return true;
        p += n;
    }
    return false;
}

static bool host_listed(const char *const *hosts, const char *host)
{
    for (int i = 0; hosts && hosts[i]; i++)
        if (!strcasecmp(hosts[i], host))
            return true;
    return false;
}

struct sock_check {
    bool allow_any;
    bool refused;
};

static curl_socket_t open_socket(void *opaque, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct sock_check *c = opaque;
    (void)purpose;
    if (!c->allow_any && !reel_assets_addr_allowed(&a->addr, a->addrlen)) {
        c->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t discard(char *d, size_t s, size_t n, void *o)
{
    (void)d;
    (void)o;
    return s * n;
}

/*
 * The asset fetcher's URL check (scheme, name lookup, address rules, pin entry), with the webhook's
 * own codes: a URL that can never be called is invalid_job (not retried); one whose name does not
 * resolve now is unavailable (retried). An allow-listed host may resolve to any address.
 */
static int check_url(const struct reel_webhook_cfg *cfg, const char *url,
                     struct reel_url_target *tg, bool *allow_any, struct reel_err *err)
{
    struct reel_err ae = {0};
    *allow_any = false;
    int ret = reel_assets_url_check(url, false, tg, &ae);
    if (ret < 0 && tg->problem == REEL_URL_PROBLEM_REFUSED &&
        host_listed(cfg->allow_hosts, tg->host)) {
        *allow_any = true;
        ret = reel_assets_url_check(url, true, tg, &ae);
    }
    if (ret == 0)
        return 0;
    switch (tg->problem) {
    case REEL_URL_PROBLEM_MALFORMED:
        return reel_err_set(err, REEL_EINVALID_JOB, "callback.url", "malformed callback URL");
    case REEL_URL_PROBLEM_SCHEME:
        return reel_err_set(err, REEL_EINVALID_JOB, "callback.url",
                            "callback URL scheme is not http or https");
    case REEL_URL_PROBLEM_UNRESOLVED:
        return reel_err_set(err, REEL_EUNAVAILABLE, "callback.url", "%s", ae.msg);
    case REEL_URL_PROBLEM_REFUSED:
        return reel_err_set(err, REEL_EINVALID_JOB, "callback.url",
                            "refused to call back '%s': it resolves to %s, a loopback, "
                            "private, link-local or otherwise internal address",
                            tg->host, tg->refused_addr);
    default:
        *err = ae;
        return ret;
    }
}

int reel_webhook_post(const struct reel_webhook_cfg *cfg, const char *url, const char *body,
                      struct reel_err *err)
{
    struct reel_url_target tg;
    char sig[80], hdr[100];
    bool allow_any = false;
    pthread_once(&curl_once, init_curl);
    if (curl_rc != CURLE_OK)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "libcurl failed to initialise");
    int ret = check_url(cfg, url, &tg, &allow_any, err);
    if (ret < 0)
        return ret;
    CURL *c = curl_easy_init();
    /* A literal address needs no pin (no name lookup happens). */
    struct curl_slist *pins = tg.pin[0] ? curl_slist_append(NULL, tg.pin) : NULL;
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = headers ? curl_slist_append(headers, "User-Agent: reel/" REEL_VERSION) : NULL;
    if (headers && cfg->secret && cfg->secret[0]) {
        if (reel_webhook_sign(cfg->secret, body, strlen(body), sig) < 0) {
            ret = reel_err_set(err, REEL_EINTERNAL, NULL, "cannot sign the webhook");
            goto out;
        }
        snprintf(hdr, sizeof(hdr), "X-Reel-Signature: %s", sig);
        headers = curl_slist_append(headers, hdr);
    }
    if (!c || (tg.pin[0] && !pins) || !headers) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto out;
    }
    struct sock_check sc = {.allow_any = allow_any};
    char errbuf[CURL_ERROR_SIZE] = "";
    long timeout = (long)(cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &sc);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (sc.refused)
        ret = reel_err_set(err, REEL_EINVALID_JOB, "callback.url",
                           "refused to connect to an internal address for the callback");
    else if (rc != CURLE_OK)
        ret = reel_err_set(err, REEL_EUNAVAILABLE, "callback.url", "callback failed: %s",
                           errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (status < 200 || status >= 300)
        ret = reel_err_set(err, REEL_EUNAVAILABLE, "callback.url", "callback answered HTTP %ld%s",
                           status,
                           status >= 300 && status < 400 ? " (redirects are not followed)" : "");
out:
    curl_slist_free_all(pins);
    curl_slist_free_all(headers);
    if (c)
        curl_easy_cleanup(c);
    return ret;
}

int reel_webhook_deliver(const struct reel_webhook_cfg *cfg, const char *url, const char *body,
                         struct reel_err *err)
{
    int tries = cfg->tries > 0 ? cfg->tries : 5;
    int64_t delay = cfg->base_delay_ms > 0 ? cfg->base_delay_ms : 1000;
    int ret = 0;
    for (int i = 0; i < tries; i++) {
        ret = reel_webhook_post(cfg, url, body, err);
        if (ret == 0 || ret == -REEL_EINVALID_JOB || ret == -REEL_ENOMEM)
            return ret;
        if (i + 1 == tries)
            break;
        REEL_WARN(cfg->log, "webhook: try %d of %d failed (%s); next in %lld ms", i + 1, tries,
                  err ? err->msg : "", (long long)delay);
        /* Sleep in small steps so a stopping worker does not wait out the backoff. */
        for (int64_t slept = 0; slept < delay; slept += 50) {
            if (cfg->stop && atomic_load(cfg->stop))
                return ret;
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        delay *= 2;
    }
    return ret;
}
