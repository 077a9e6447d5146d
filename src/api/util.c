/*
 * Pure helpers of the API: route matching, Range headers, JSON depth, secrets, address rules for
 * job srcs and callback URLs. No I/O, no global state.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "api/api.h"
#include "assets/assets.h"
#include "timeline/timeline.h"

int reel_api_json_depth(const char *s, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                max = depth;
                if (max > limit)
                    return limit + 1;
            }
        } else if (c == ']' || c == '}') {
            if (depth > 0)
                depth--;
        }
    }
    return max;
}

long reel_api_find_nul_escape(const char *s, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') {
            in_string = !in_string;
        } else if (in_string && s[i] == '\\' && i + 1 < len) {
            if (len - i >= 6 && !memcmp(s + i + 1, "u0000", 5))
                return (long)i;
            i++; /* the escaped character, which may be a quote or a backslash */
        }
    }
    return -1;
}

size_t reel_api_utf8_valid_prefix(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (i + n >= len)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return len;
}

static bool parse_i64(const char *s, const char *e, int64_t *out)
{
    if (s == e || e - s > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

int reel_api_parse_range(const char *hdr, int64_t size, int64_t *first, int64_t *last)
{
    if (!hdr)
        return 0;
    while (*hdr == ' ')
        hdr++;
    if (strncasecmp(hdr, "bytes=", 6))
        return 0;
    const char *s = hdr + 6;
    while (*s == ' ')
        s++;
    if (strchr(s, ','))
        return 0; /* several ranges: serve the whole file (RFC 9110 allows ignoring Range) */
    const char *dash = strchr(s, '-');
    if (!dash)
        return 0;
    const char *end = dash + 1 + strcspn(dash + 1, " ");
    if (end[strspn(end, " ")])
        return 0;
    int64_t a = 0, b = 0;
    bool has_a = dash > s, has_b = end > dash + 1;
    if (has_a && !parse_i64(s, dash, &a))
        return 0;
    if (has_b && !parse_i64(dash + 1, end, &b))
        return 0;
    if (!has_a && !has_b)
        return 0;
    if (!has_a) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (has_b && b < a)
        return 0;
    if (a >= size)
        return -1;
    *first = a;
    *last = (!has_b || b >= size) ? size - 1 : b;
    return 1;
}

static bool seg_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

bool reel_api_match(const char *pattern, const char *path, char *param, size_t cap)
{
    const char *p = pattern, *s = path;
    while (*p) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            if (!pe)
                return false;
            size_t n = 0;
            while (s[n] && s[n] != '/') {
                if (!seg_char_ok(s[n]))
                    return false;
                n++;
            }
            if (n == 0 || n > 64 || n >= cap || (n == 1 && s[0] == '.') ||
                (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
            memcpy(param, s, n);
            param[n] = 0;
            s += n;
            p = pe + 1;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *s == 0;
}

static void sha256(const char *a, const char *b, uint8_t out[32])
{
    struct AVSHA *sha = av_sha_alloc();
    if (!sha) {
        memset(out, 0, 32);
        return;
    }
    av_sha_init(sha, 256);
    av_sha_update(sha, (const uint8_t *)a, strlen(a));
    av_sha_update(sha, (const uint8_t *)b, strlen(b));
    av_sha_final(sha, out);
    av_free(sha);
}

bool reel_api_secret_eq(const char *a, const char *b)
{
    /* Compare digests: the time taken depends on neither the position of the first difference
     * nor (beyond hashing) the secrets' lengths. */
    uint8_t da[32], db[32];
    sha256("reel-token:", a, da);
    sha256("reel-token:", b, db);
    volatile uint8_t diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= (uint8_t)(da[i] ^ db[i]);
    return diff == 0;
}

void reel_api_owner_of(const char *token, char out[33])
{
    uint8_t d[32];
    sha256("reel-owner:", token, d);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

bool reel_api_is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16))
        return false;
    const char *rest = ct + 16;
    while (*rest == ' ')
        rest++;
    return *rest == 0 || *rest == ';';
}

static bool host_allowed(const char *host, const char *const *allow)
{
    for (int i = 0; allow && allow[i]; i++)
        if (!strcasecmp(allow[i], host))
            return true;
    return false;
}

/* Split "scheme://[user@]host[:port]/..." into host (brackets of IPv6 removed). */
static bool url_host(const char *url, char *host, size_t cap)
{
    const char *p = strstr(url, "://");
    if (!p)
        return false;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n && *p == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb)
            return false;
        n = (size_t)(rb - p - 1);
        p++;
    } else {
        const char *colon = memchr(p, ':', n);
        if (colon)
            n = (size_t)(colon - p);
    }
    if (n == 0 || n >= cap)
        return false;
    memcpy(host, p, n);
    host[n] = 0;
    return true;
}

int reel_api_check_url(const char *url, const char *const *allow, const char *path,
                       struct reel_err *err)
{
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return reel_err_set(err, REEL_EASSET_UNSUPPORTED, path,
                            "only http and https URLs are allowed, not '%.64s'", url);
    char host[256];
    if (!url_host(url, host, sizeof(host)))
        return reel_err_set(err, REEL_EASSET_FETCH, path, "the URL has no valid host");
    if (host_allowed(host, allow))
        return 0;
    for (char *c = host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    size_t hl = strlen(host);
    if (!strcmp(host, "localhost") || (hl > 10 && !strcmp(host + hl - 10, ".localhost")))
        return reel_err_set(err, REEL_EASSET_FETCH, path,
                            "the URL's host '%s' is a loopback address, refused", host);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    const struct sockaddr *sa = NULL;
    size_t salen = 0;
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        sa = (const struct sockaddr *)&sin;
        salen = sizeof(sin);
    } else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
        sa = (const struct sockaddr *)&sin6;
        salen = sizeof(sin6);
    } else {
        /* Numeric forms inet_pton does not take ("2130706433", "0x7f.1", "127.1") could reach
         * loopback through the resolver: refuse hosts made only of digits, dots and x. */
        if (strspn(host, "0123456789abcdefx.") == hl && isdigit((unsigned char)host[0]))
            return reel_err_set(err, REEL_EASSET_FETCH, path,
                                "the URL's host '%s' is a numeric address in an unusual form, "
                                "refused",
                                host);
        return 0; /* a name: the fetcher checks every address it resolves to */
    }
    if (!reel_assets_addr_allowed(sa, salen))
        return reel_err_set(err, REEL_EASSET_FETCH, path,
                            "the URL's host %s is a loopback, private, link-local or metadata "
                            "address, refused",
                            host);
    return 0;
}

int reel_api_check_srcs(const struct reel_timeline *tl, const char *const *allow, bool *has_urls,
                        struct reel_errlist *errs)
{
    int first = 0;
    *has_urls = false;
    for (int i = 0; i < tl->n_layers; i++) {
        const char *src = tl->layers[i].src;
        if (!src || !*src)
            continue;
        char path[64];
        snprintf(path, sizeof(path), "layers[%d].src", i);
        struct reel_err e = {0};
        int r = 0;
        if (strstr(src, "://") || !strncasecmp(src, "file:", 5) || !strncasecmp(src, "data:", 5)) {
            if (!strncasecmp(src, "http://", 7) || !strncasecmp(src, "https://", 8))
                *has_urls = true;
            r = reel_api_check_url(src, allow, path, &e);
        } else if (src[0] == '/') {
            r = reel_err_set(&e, REEL_EASSET_NOT_FOUND, path,
                             "absolute paths are not allowed; name a file under an asset root");
        } else {
            /* ".." as a whole path segment leaves the root. */
            for (const char *p = src; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                    r = reel_err_set(&e, REEL_EASSET_NOT_FOUND, path,
                                     "'..' is not allowed in a path; it would leave the asset "
                                     "root");
                    break;
                }
                p += n;
                if (*p)
                    p++;
            }
        }
        if (r < 0) {
            reel_errlist_add(errs, e.code, e.path, "%s", e.msg);
            if (!first)
                first = r;
        }
    }
    return first;
}
