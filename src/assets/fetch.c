#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "assets/assets.h"
#include "assets/internal.h"

#define MAX_REDIRECTS 5
#define CONNECT_TIMEOUT_MS 10000L

/* ---- address rules ---------------------------------------------------------------------- */

struct v4_block {
    uint32_t prefix; /* host byte order */
    int bits;
};

static const struct v4_block v4_blocked[] = {
    {0x00000000u, 8},  /* 0.0.0.0/8 "this network" */
    {0x0a000000u, 8},  /* 10/8 private */
    {0x64400000u, 10}, /* 100.64/10 carrier-grade NAT */
    {0x7f000000u, 8},  /* 127/8 loopback */
    {0xa9fe0000u, 16}, /* 169.254/16 link-local, cloud metadata */
    {0xac100000u, 12}, /* 172.16/12 private */
    {0xc0000000u, 24}, /* 192.0.0/24 protocol assignments */
    {0xc0a80000u, 16}, /* 192.168/16 private */
    {0xc6120000u, 15}, /* 198.18/15 benchmarking */
    {0xe0000000u, 4},  /* 224/4 multicast */
    {0xf0000000u, 4},  /* 240/4 reserved, including the broadcast address */
};

static bool v4_allowed(const uint8_t *b)
{
    uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    for (size_t i = 0; i < sizeof(v4_blocked) / sizeof(v4_blocked[0]); i++) {
        uint32_t mask = 0xffffffffu << (32 - v4_blocked[i].bits);
        if ((a & mask) == v4_blocked[i].prefix)
            return false;
    }
    return true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static bool v6_allowed(const uint8_t *b)
{
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (all_zero(b, 10) && b[10] == 0xff && b[11] == 0xff)
        return v4_allowed(b + 12); /* IPv4-mapped */
    if (!memcmp(b, nat64, sizeof(nat64)))
        return v4_allowed(b + 12);
    if (b[0] == 0x00)
        return false; /* ::/8: unspecified, loopback, IPv4-compatible, other reserved forms */
    if (b[0] == 0x20 && b[1] == 0x02)
        return v4_allowed(b + 2); /* 6to4 carries the IPv4 address of its relay */
    if ((b[0] & 0xfe) == 0xfc)
        return false; /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0x80) == 0x80)
        return false; /* fe80::/10 link-local, fec0::/10 former site-local */
    if (b[0] == 0xff)
        return false; /* multicast */
    return true;
}

bool reel_assets_addr_allowed(const struct sockaddr *sa, size_t len)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_allowed((const uint8_t *)&in->sin_addr.s_addr);
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_allowed(in6->sin6_addr.s6_addr);
    }
    return false;
}

static void addr_str(const struct sockaddr *sa, char *buf, size_t cap)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)cap))
        snprintf(buf, cap, "?");
}

/* ---- cache paths -------------------------------------------------------------------------- */

static int sha256_hex(const char *s, char hex[65])
{
    uint8_t digest[32];
    struct AVSHA *sha = av_sha_alloc();
    if (!sha)
        return -REEL_ENOMEM;
    av_sha_init(sha, 256);
    av_sha_update(sha, (const uint8_t *)s, strlen(s));
    av_sha_final(sha, digest);
    av_free(sha);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static int cache_dir_of(const struct reel_assets_cfg *cfg, char *out, size_t cap,
                        struct reel_err *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (cfg && cfg->cache_dir && cfg->cache_dir[0])
        n = snprintf(out, cap, "%s", cfg->cache_dir);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/reel", xdg);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.cache/reel", home);
    else
        return reel_err_set(err, REEL_EASSET_FETCH, NULL,
                            "no URL cache folder: configure one (HOME is not set)");
    if (n < 0 || (size_t)n >= cap)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "URL cache folder name is too long");
    if (mkdir_p(out) != 0)
        return reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot create URL cache folder '%s': %s",
                            out, strerror(errno));
    return 0;
}

/* ---- one checked HTTP exchange ------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct transfer {
    FILE *fp;
    int64_t bytes, max_bytes;
    int64_t limit_us; /* the configured time limit, for messages */
    bool too_big;
    bool allow_private;
    bool refused_addr;
    char refused[INET6_ADDRSTRLEN];
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *opaque)
{
    struct transfer *t = opaque;
    size_t n = size * nmemb;
    /* The Content-Length check (MAXFILESIZE) does not cover chunked or unsized bodies. */
    if (t->bytes + (int64_t)n > t->max_bytes) {
        t->too_big = true;
        return 0;
    }
    if (fwrite(data, 1, n, t->fp) != n)
        return 0;
    t->bytes += (int64_t)n;
    return n;
}

/* Last line of defence: whatever curl decides to connect to must pass the address rules too. */
static curl_socket_t on_open_socket(void *opaque, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = opaque;
    (void)purpose;
    if (!t->allow_private && !reel_assets_addr_allowed(&a->addr, a->addrlen)) {
        t->refused_addr = true;
        addr_str(&a->addr, t->refused, sizeof(t->refused));
        return CURL_SOCKET_BAD;
    }
#ifdef SOCK_CLOEXEC
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
    return socket(a->family, a->socktype, a->protocol);
#endif
}

/* For messages: the URL without its query or fragment (they may carry credentials). */
static int shown_len(const char *url)
{
    size_t n = strcspn(url, "?#");
    return n > 200 ? 200 : (int)n;
}

int reel_assets_url_check(const char *url, bool allow_private, struct reel_url_target *tg,
                          struct reel_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    struct addrinfo hints = {0}, *res = NULL;
    int ret = 0;

    memset(tg, 0, sizeof(*tg));
    if (!u)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    tg->problem = REEL_URL_PROBLEM_MALFORMED;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        ret =
            reel_err_set(err, REEL_EASSET_FETCH, NULL, "malformed URL '%.*s'", shown_len(url), url);
        goto out;
    }
    if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
        tg->problem = REEL_URL_PROBLEM_SCHEME;
        ret =
            reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                         "unsupported URL scheme '%s:' (only http and https are fetched)", scheme);
        goto out;
    }
    size_t hl = strlen(host);
    const char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        h = host + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(tg->host) || strlen(port) >= sizeof(tg->port)) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "bad host in URL '%.*s'", shown_len(url),
                           url);
        goto out;
    }
    memcpy(tg->host, h, hl);
    tg->host[hl] = '\0';
    snprintf(tg->port, sizeof(tg->port), "%s", port);

    tg->problem = REEL_URL_PROBLEM_UNRESOLVED;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(tg->host, tg->port, &hints, &res);
    if (gai != 0) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot resolve host '%s': %s", tg->host,
                           gai_strerror(gai));
        goto out;
    }
    /* Any forbidden answer refuses the host: a name that also maps to an internal address is
     * not one to trust with the others. The checked answers are then pinned (CURLOPT_RESOLVE),
     * all of them so that a host with an unreachable IPv6 address still works over IPv4. */
    unsigned char lit[sizeof(struct in6_addr)];
    bool is_literal =
        inet_pton(AF_INET, tg->host, lit) == 1 || inet_pton(AF_INET6, tg->host, lit) == 1;
    int n_addr = 0;
    size_t o = (size_t)snprintf(tg->pin, sizeof(tg->pin), "%s:%s:", tg->host, tg->port);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char a[INET6_ADDRSTRLEN];
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        addr_str(ai->ai_addr, a, sizeof(a));
        if (!allow_private && !reel_assets_addr_allowed(ai->ai_addr, ai->ai_addrlen)) {
            tg->problem = REEL_URL_PROBLEM_REFUSED;
            snprintf(tg->refused_addr, sizeof(tg->refused_addr), "%s", a);
            ret = reel_err_set(err, REEL_EASSET_FETCH, NULL,
                               "refused to fetch '%.*s': host '%s' resolves to %s, a loopback, "
                               "private, link-local or otherwise internal address",
                               shown_len(url), url, tg->host, a);
            goto out;
        }
        bool v6 = ai->ai_family == AF_INET6;
        int w = snprintf(tg->pin + o, sizeof(tg->pin) - o, "%s%s%s%s", n_addr ? "," : "",
                         v6 ? "[" : "", a, v6 ? "]" : "");
        /* Addresses that do not fit are simply not offered; every one offered was checked. */
        if (w > 0 && (size_t)w < sizeof(tg->pin) - o) {
            o += (size_t)w;
            n_addr++;
        } else {
            tg->pin[o] = '\0';
        }
    }
    if (!n_addr) {
        ret =
            reel_err_set(err, REEL_EASSET_FETCH, NULL, "host '%s' has no usable address", tg->host);
        goto out;
    }
    if (is_literal)
        tg->pin[0] = '\0'; /* no name lookup happens for a literal address */
    tg->problem = REEL_URL_PROBLEM_NONE;
out:
    if (res)
        freeaddrinfo(res);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ret;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * REEL_US + ts.tv_nsec / 1000;
}

/*
 * One request. On a redirect, *next receives the absolute Location (malloc'd) and 0 is returned.
 */
static int exchange(const char *url, const struct reel_url_target *tg, struct transfer *t,
                    int64_t timeout_us, char **next, struct reel_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *pins = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;
    int ret = 0;

    *next = NULL;
    if (!c)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "cannot create an HTTP client");
    if (tg->pin[0]) {
        pins = curl_slist_append(NULL, tg->pin);
        if (!pins) {
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
            goto out;
        }
        curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
    }
    long timeout_ms = (long)(timeout_us / 1000);
    if (timeout_ms < 1)
        timeout_ms = 1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    /* A proxy would connect somewhere other than the address just checked. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "reel/" REEL_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL,
                           "'%.*s' is larger than the download limit of %lld bytes", shown_len(url),
                           url, (long long)t->max_bytes);
    } else if (t->refused_addr) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL,
                           "refused to connect to %s (an internal address) for '%.*s'", t->refused,
                           shown_len(url), url);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL,
                           "download of '%.*s' timed out (limit %.3g s)", shown_len(url), url,
                           (double)t->limit_us / REEL_US);
    } else if (rc != CURLE_OK) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "download of '%.*s' failed: %s",
                           shown_len(url), url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else if (status >= 300 && status < 400) {
        char *loc = NULL;
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
        if (!loc)
            ret = reel_err_set(err, REEL_EASSET_FETCH, NULL,
                               "'%.*s' answered HTTP %ld without a Location", shown_len(url), url,
                               status);
        else if (!(*next = strdup(loc)))
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    } else if (status >= 400) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "'%.*s' answered HTTP %ld", shown_len(url),
                           url, status);
    } else if (status < 200) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "'%.*s' answered unexpected HTTP %ld",
                           shown_len(url), url, status);
    }
out:
    curl_slist_free_all(pins);
    curl_easy_cleanup(c);
    return ret;
}

/* True when url's host is one of the configured allow_hosts (exempt from the address rules). */
static bool host_listed(const struct reel_assets_cfg *cfg, const char *url)
{
    if (!cfg || !cfg->allow_hosts || !cfg->allow_hosts[0])
        return false;
    CURLU *u = curl_url();
    char *host = NULL;
    bool listed = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        size_t hl = strlen(host);
        const char *h = host;
        if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        for (int i = 0; cfg->allow_hosts[i] && !listed; i++)
            listed = strlen(cfg->allow_hosts[i]) == hl && !strncasecmp(cfg->allow_hosts[i], h, hl);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return listed;
}

struct cache_entry {
    char name[80];
    off_t size;
    int64_t used_ns;
};

static int by_use(const void *a, const void *b)
{
    const struct cache_entry *x = a, *y = b;
    return x->used_ns < y->used_ns ? -1 : x->used_ns > y->used_ns;
}

/*
 * Prune the cache folder to max_bytes, least recently used first (a cache hit touches the file's
 * modification time). The file just fetched (keep) is never removed. In-progress downloads
 * (*.partial) are neither counted nor removed. One pruning at a time per process.
 */
static void prune_cache(const char *dir, int64_t max_bytes, const char *keep, struct reel_log *log)
{
    static pthread_mutex_t prune_lock = PTHREAD_MUTEX_INITIALIZER;
    if (max_bytes <= 0)
        return;
    pthread_mutex_lock(&prune_lock);
    DIR *d = opendir(dir);
    struct cache_entry *v = NULL;
    size_t n = 0, cap = 0;
    int64_t total = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || nl >= sizeof(v->name) ||
            (nl > 8 && !strcmp(e->d_name + nl - 8, ".partial")))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct cache_entry *nv = realloc(v, nc * sizeof(*v));
            if (!nv)
                break;
            v = nv;
            cap = nc;
        }
        memcpy(v[n].name, e->d_name, nl + 1); /* nl < sizeof(name), checked above */
        v[n].size = sb.st_size;
        v[n].used_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        total += sb.st_size;
        n++;
    }
    if (total > max_bytes && n) {
        const char *keep_name = strrchr(keep, '/') ? strrchr(keep, '/') + 1 : keep;
        qsort(v, n, sizeof(*v), by_use);
        for (size_t i = 0; i < n && total > max_bytes; i++) {
            if (!strcmp(v[i].name, keep_name))
                continue;
            if (unlinkat(dirfd(d), v[i].name, 0) == 0) {
                total -= v[i].size;
                REEL_DEBUG(log, "assets: cache pruned %s (%lld bytes)", v[i].name,
                           (long long)v[i].size);
            }
        }
    }
    free(v);
    if (d)
        closedir(d);
    pthread_mutex_unlock(&prune_lock);
}

static int restart_file(FILE *fp)
{
    if (fflush(fp) != 0 || ftruncate(fileno(fp), 0) != 0)
        return -1;
    rewind(fp);
    return 0;
}

int reel_assets_fetch_url(const struct reel_assets_cfg *cfg, const char *url, char *out, size_t cap,
                          struct reel_log *log, struct reel_err *err)
{
    struct reel_limits tmp;
    const struct reel_limits *lim = reel_assets_limits(cfg, &tmp);
    bool allow_private = cfg && cfg->allow_private_urls;
    char dir[PATH_MAX], final_path[PATH_MAX + 80], part[PATH_MAX + 100], hex[65];
    char *cur = NULL;
    FILE *fp = NULL;
    bool have_part = false;
    struct stat st;
    int ret;

    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "libcurl failed to initialise: %s",
                            curl_easy_strerror(curl_init_rc));
    if ((ret = sha256_hex(url, hex)) < 0)
        return reel_err_set(err, -ret, NULL, "out of memory");
    if ((ret = cache_dir_of(cfg, dir, sizeof(dir), err)) < 0)
        return ret;
    snprintf(final_path, sizeof(final_path), "%s/%s", dir, hex);
    if (strlen(final_path) >= cap)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "cache path is too long");

    if (stat(final_path, &st) == 0 && S_ISREG(st.st_mode)) {
        utimensat(AT_FDCWD, final_path, NULL, 0); /* a use, for least-recently-used pruning */
        REEL_DEBUG(log, "assets: '%.*s' from the cache (%s)", shown_len(url), url, hex);
        memcpy(out, final_path, strlen(final_path) + 1);
        return 0;
    }

    /* A private temporary file renamed into place: readers never see a partial download and
     * concurrent fetches of one URL each publish a whole copy. */
    snprintf(part, sizeof(part), "%s.XXXXXX.partial", final_path);
    int fd = mkstemps(part, (int)strlen(".partial"));
    if (fd < 0) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot create a file in '%s': %s", dir,
                           strerror(errno));
        goto out;
    }
    have_part = true;
    if (!(fp = fdopen(fd, "wb"))) {
        close(fd);
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot open '%s': %s", part,
                           strerror(errno));
        goto out;
    }

    int64_t deadline = now_us() + lim->fetch_timeout_us;
    if (!(cur = strdup(url))) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto out;
    }
    for (int hop = 0;; hop++) {
        struct reel_url_target tg;
        struct transfer t = {.fp = fp,
                             .max_bytes = lim->max_fetch_bytes,
                             .limit_us = lim->fetch_timeout_us,
                             .allow_private = allow_private};
        char *next = NULL;
        int64_t left = deadline - now_us();
        if (left <= 0) {
            ret = reel_err_set(err, REEL_EASSET_FETCH, NULL,
                               "download of '%.*s' timed out (limit %.3g s)", shown_len(url), url,
                               (double)lim->fetch_timeout_us / REEL_US);
            goto out;
        }
        bool exempt = allow_private || host_listed(cfg, cur);
        t.allow_private = exempt;
        if ((ret = reel_assets_url_check(cur, exempt, &tg, err)) < 0)
            goto out;
        if (restart_file(fp) != 0) {
            ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot write '%s': %s", part,
                               strerror(errno));
            goto out;
        }
        if ((ret = exchange(cur, &tg, &t, left, &next, err)) < 0)
            goto out;
        if (!next)
            break;
        if (hop == MAX_REDIRECTS) {
            free(next);
            ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "'%.*s' redirected more than %d times",
                               shown_len(url), url, MAX_REDIRECTS);
            goto out;
        }
        REEL_DEBUG(log, "assets: redirect to '%.*s'", shown_len(next), next);
        free(cur);
        cur = next;
    }

    int close_rc = fclose(fp);
    fp = NULL;
    if (close_rc != 0) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot write '%s': %s", part,
                           strerror(errno));
        goto out;
    }
    if (rename(part, final_path) != 0) {
        ret = reel_err_set(err, REEL_EASSET_FETCH, NULL, "cannot store '%s': %s", final_path,
                           strerror(errno));
        goto out;
    }
    have_part = false;
    memcpy(out, final_path, strlen(final_path) + 1);
    REEL_INFO(log, "assets: fetched '%.*s' into %s", shown_len(url), url, final_path);
    prune_cache(dir, cfg ? cfg->cache_max_bytes : 0, final_path, log);
out:
    if (fp)
        fclose(fp);
    if (have_part)
        unlink(part);
    free(cur);
    return ret;
}
