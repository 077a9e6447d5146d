/* Asset resolution: path confinement, URL schemes, address rules and real downloads from a small
 * HTTP server on loopback started by this test. No outside network is used. */
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "assets/assets.h"
#include "check.h"
#include "timeline/parse.h"

static char tmp_root[128];

static void write_file(const char *path, const char *body)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(body, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void mk(const char *fmt, const char *a)
{
    char p[1024];
    snprintf(p, sizeof(p), fmt, tmp_root, a);
    if (mkdir(p, 0755) != 0) {
        perror(p);
        exit(1);
    }
}

static void test_paths(void)
{
    char r1[256], r2[256], r3[256], p[1024], out[PATH_MAX], real[PATH_MAX];
    struct reel_err e;
    int ret;

    mk("%s/%s", "r1");
    mk("%s/%s", "r2");
    mk("%s/%s", "r2/clips");
    mk("%s/%s", "outside");
    snprintf(r1, sizeof(r1), "%s/r1", tmp_root);
    snprintf(r2, sizeof(r2), "%s/r2", tmp_root);
    snprintf(p, sizeof(p), "%s/a.txt", r1);
    write_file(p, "a");
    snprintf(p, sizeof(p), "%s/clips/b.txt", r2);
    write_file(p, "b");
    snprintf(p, sizeof(p), "%s/outside/secret.txt", tmp_root);
    write_file(p, "secret");
    /* r1/escape -> the secret (absolute target), r1/rel_escape -> ../outside/secret.txt,
     * r1/inner -> a.txt (stays inside), r1/dirlink -> ../outside (a folder link). */
    snprintf(p, sizeof(p), "%s/escape", r1);
    char target[512];
    snprintf(target, sizeof(target), "%s/outside/secret.txt", tmp_root);
    CHECK(symlink(target, p) == 0);
    snprintf(p, sizeof(p), "%s/rel_escape", r1);
    CHECK(symlink("../outside/secret.txt", p) == 0);
    snprintf(p, sizeof(p), "%s/inner", r1);
    CHECK(symlink("a.txt", p) == 0);
    snprintf(p, sizeof(p), "%s/dirlink", r1);
    CHECK(symlink("../outside", p) == 0);
    /* A root that is itself a link is fine: confinement uses its canonical form. */
    snprintf(r3, sizeof(r3), "%s/r3", tmp_root);
    CHECK(symlink(r2, r3) == 0);
    /* Links from r1 into the other root r2 (a file, relative and absolute, and a folder): they
     * resolve inside a configured root, so they are allowed. */
    snprintf(p, sizeof(p), "%s/cross.txt", r1);
    CHECK(symlink("../r2/clips/b.txt", p) == 0);
    snprintf(p, sizeof(p), "%s/cross_abs.txt", r1);
    snprintf(target, sizeof(target), "%s/clips/b.txt", r3);
    CHECK(symlink(target, p) == 0);
    snprintf(p, sizeof(p), "%s/crossdir", r1);
    CHECK(symlink("../r2/clips", p) == 0);
    snprintf(target, sizeof(target), "%s/outside/secret.txt", tmp_root);

    const char *roots[] = {r1, r2, NULL};
    struct reel_assets_cfg cfg = {.roots = roots};

    ret = reel_assets_resolve(&cfg, "a.txt", out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, 0);
    snprintf(p, sizeof(p), "%s/a.txt", r1);
    CHECK(realpath(p, real) != NULL);
    CHECK_STR_EQ(out, real);

    /* Only in the second root. */
    ret = reel_assets_resolve(&cfg, "clips/b.txt", out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, 0);
    snprintf(p, sizeof(p), "%s/clips/b.txt", r2);
    CHECK(realpath(p, real) != NULL);
    CHECK_STR_EQ(out, real);
    ret = reel_assets_resolve(&cfg, "./clips//b.txt", out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, 0);
    CHECK_STR_EQ(out, real);

    ret = reel_assets_resolve(&cfg, "inner", out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, 0);
    snprintf(p, sizeof(p), "%s/a.txt", r1);
    CHECK(realpath(p, real) != NULL);
    CHECK_STR_EQ(out, real);

    static const char *const dotdot[] = {"../outside/secret.txt", "clips/../a.txt", "..",
                                         "a/../../x", "clips/.."};
    for (size_t i = 0; i < sizeof(dotdot) / sizeof(dotdot[0]); i++) {
        memset(&e, 0, sizeof(e));
        ret = reel_assets_resolve(&cfg, dotdot[i], out, sizeof(out), NULL, &e);
        CHECK_MSG(ret == -REEL_EASSET_NOT_FOUND, "%s -> %d", dotdot[i], ret);
        CHECK_MSG(strstr(e.msg, "'..'") != NULL, "%s: %s", dotdot[i], e.msg);
    }
    /* A name merely starting with two dots is an ordinary file name. */
    snprintf(p, sizeof(p), "%s/..dots", r1);
    write_file(p, "d");
    CHECK_INT_EQ(reel_assets_resolve(&cfg, "..dots", out, sizeof(out), NULL, &e), 0);

    ret = reel_assets_resolve(&cfg, target, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
    CHECK_MSG(strstr(e.msg, "absolute") != NULL, "%s", e.msg);

    static const char *const escapes[] = {"escape", "rel_escape", "dirlink/secret.txt"};
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        memset(&e, 0, sizeof(e));
        ret = reel_assets_resolve(&cfg, escapes[i], out, sizeof(out), NULL, &e);
        CHECK_MSG(ret == -REEL_EASSET_NOT_FOUND, "%s -> %d", escapes[i], ret);
        CHECK_MSG(strstr(e.msg, "leaves its root") != NULL, "%s: %s", escapes[i], e.msg);
        CHECK_INT_EQ(e.code, REEL_EASSET_NOT_FOUND);
    }

    /* Links into another configured root resolve to the file there. */
    snprintf(p, sizeof(p), "%s/clips/b.txt", r2);
    CHECK(realpath(p, real) != NULL);
    static const char *const crossing[] = {"cross.txt", "cross_abs.txt", "crossdir/b.txt"};
    for (size_t i = 0; i < sizeof(crossing) / sizeof(crossing[0]); i++) {
        memset(&e, 0, sizeof(e));
        ret = reel_assets_resolve(&cfg, crossing[i], out, sizeof(out), NULL, &e);
        CHECK_MSG(ret == 0, "%s -> %d (%s)", crossing[i], ret, e.msg);
        CHECK_STR_EQ(out, real);
    }
    /* The root order does not matter, and the target root may be named through a link (r3). */
    const char *rev_roots[] = {r3, r1, NULL};
    struct reel_assets_cfg cfg_rev = {.roots = rev_roots};
    CHECK_INT_EQ(reel_assets_resolve(&cfg_rev, "cross.txt", out, sizeof(out), NULL, &e), 0);
    CHECK_STR_EQ(out, real);
    /* Without r2 among the roots the same links leave every root and stay refused. */
    const char *only_r1[] = {r1, NULL};
    struct reel_assets_cfg cfg1 = {.roots = only_r1};
    for (size_t i = 0; i < sizeof(crossing) / sizeof(crossing[0]); i++) {
        memset(&e, 0, sizeof(e));
        ret = reel_assets_resolve(&cfg1, crossing[i], out, sizeof(out), NULL, &e);
        CHECK_MSG(ret == -REEL_EASSET_NOT_FOUND, "%s -> %d", crossing[i], ret);
        CHECK_MSG(strstr(e.msg, "leaves its root") != NULL, "%s: %s", crossing[i], e.msg);
    }
    /* A root that does not exist holds nothing and admits nothing. */
    char ghost[300];
    snprintf(ghost, sizeof(ghost), "%s/no-such-root", tmp_root);
    const char *ghost_roots[] = {r1, ghost, NULL};
    struct reel_assets_cfg cfg_ghost = {.roots = ghost_roots};
    CHECK_INT_EQ(reel_assets_resolve(&cfg_ghost, "escape", out, sizeof(out), NULL, &e),
                 -REEL_EASSET_NOT_FOUND);

    ret = reel_assets_resolve(&cfg, "clips/missing.mp4", out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
    CHECK_MSG(strstr(e.msg, "asset 'clips/missing.mp4' not found under ") != NULL, "%s", e.msg);
    CHECK_MSG(strstr(e.msg, r1) && strstr(e.msg, r2), "%s", e.msg);

    ret = reel_assets_resolve(&cfg, "clips", out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
    CHECK_MSG(strstr(e.msg, "not a regular file") != NULL, "%s", e.msg);

    CHECK_INT_EQ(reel_assets_resolve(&cfg, "", out, sizeof(out), NULL, &e), -REEL_EASSET_NOT_FOUND);

    /* Output buffer too small is an internal error, never a truncated path. */
    char tiny[8];
    CHECK_INT_EQ(reel_assets_resolve(&cfg, "a.txt", tiny, sizeof(tiny), NULL, &e), -REEL_EINTERNAL);

    const char *link_roots[] = {r3, NULL};
    struct reel_assets_cfg cfg3 = {.roots = link_roots};
    CHECK_INT_EQ(reel_assets_resolve(&cfg3, "clips/b.txt", out, sizeof(out), NULL, &e), 0);

    const char *no_roots[] = {NULL};
    struct reel_assets_cfg cfg0 = {.roots = no_roots};
    CHECK_INT_EQ(reel_assets_resolve(&cfg0, "a.txt", out, sizeof(out), NULL, &e),
                 -REEL_EASSET_NOT_FOUND);
}

static void test_schemes(void)
{
    char out[PATH_MAX];
    struct reel_err e;
    const char *roots[] = {tmp_root, NULL};
    struct reel_assets_cfg cfg = {.roots = roots};
    static const char *const bad[] = {
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "ftp://example.com/a.mp4",
        "data:image/png;base64,iVBORw0KGgo=",
        "gopher://example.com/",
        "concat:a.mp4|b.mp4",
        "subfile:,,start,0,end,100,,:a.mp4",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        int ret = reel_assets_resolve(&cfg, bad[i], out, sizeof(out), NULL, &e);
        CHECK_MSG(ret == -REEL_EASSET_UNSUPPORTED, "%s -> %d (%s)", bad[i], ret, e.msg);
        CHECK_INT_EQ(e.code, REEL_EASSET_UNSUPPORTED);
    }
}

static bool allowed(const char *s)
{
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, s, &in4.sin_addr) == 1)
        return reel_assets_addr_allowed((const struct sockaddr *)&in4, sizeof(in4));
    if (inet_pton(AF_INET6, s, &in6.sin6_addr) == 1)
        return reel_assets_addr_allowed((const struct sockaddr *)&in6, sizeof(in6));
    fprintf(stderr, "bad test address %s\n", s);
    exit(1);
}

static void test_addr_rules(void)
{
    static const char *const refused[] = {
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "192.168.255.255",
        "169.254.169.254",
        "169.254.0.1",
        "0.0.0.0",
        "0.1.2.3",
        "100.64.0.1",
        "100.127.255.255",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.0.1",
        "198.18.0.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:192.168.1.1",
        "::127.0.0.1",
        "::ffff:0:7f00:1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff05::2",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
        "64:ff9b:1::1",
    };
    static const char *const ok[] = {
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "172.15.255.255",
        "172.32.0.1",
        "100.63.255.255",
        "100.128.0.1",
        "169.253.255.255",
        "192.169.0.1",
        "11.0.0.1",
        "126.255.255.255",
        "128.0.0.1",
        "223.255.255.255",
        "198.17.255.255",
        "198.20.0.1",
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "fbff::1",
        "fe00::1",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        CHECK_MSG(!allowed(refused[i]), "%s should be refused", refused[i]);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CHECK_MSG(allowed(ok[i]), "%s should be allowed", ok[i]);

    struct sockaddr_in short_in = {.sin_family = AF_INET};
    CHECK(!reel_assets_addr_allowed((const struct sockaddr *)&short_in, 2));
    struct sockaddr unix_like = {.sa_family = AF_UNIX};
    CHECK(!reel_assets_addr_allowed(&unix_like, sizeof(unix_like)));
    CHECK(!reel_assets_addr_allowed(NULL, 0));
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_ssrf_refusals(void)
{
    char out[PATH_MAX], cache[256];
    struct reel_err e;
    snprintf(cache, sizeof(cache), "%s/cache-ssrf", tmp_root);
    struct reel_assets_cfg cfg = {.cache_dir = cache};
    /* Literal addresses and a name from /etc/hosts: refused before any connection is made. */
    static const char *const urls[] = {
        "http://127.0.0.1/x.mp4",
        "http://10.1.2.3/x.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.mp4",
        "https://[::ffff:127.0.0.1]:8443/x",
        "http://0.0.0.0:80/",
        "http://2130706433/",
        "http://localhost:9/x.png",
        "HTTP://192.168.1.1/a.png",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        memset(&e, 0, sizeof(e));
        int ret = reel_assets_resolve(&cfg, urls[i], out, sizeof(out), NULL, &e);
        CHECK_MSG(ret == -REEL_EASSET_FETCH, "%s -> %d (%s)", urls[i], ret, e.msg);
        CHECK_MSG(strstr(e.msg, "refused") != NULL, "%s: %s", urls[i], e.msg);
    }
    CHECK_INT_EQ(count_files(cache), 0);
    CHECK_INT_EQ(reel_assets_resolve(&cfg, "http://exa mple.com/", out, sizeof(out), NULL, &e),
                 -REEL_EASSET_FETCH);
}

/* ---- a tiny HTTP server ------------------------------------------------------------------- */

struct server {
    int fd;
    int port;
    atomic_int hits;
    atomic_int stop;
    atomic_int overlapped; /* a request came while a /hold one was being answered */
    pthread_t thread;
};

/* A 2x2 RGBA PNG. */
static const unsigned char tiny_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x00, 0x00, 0x72,
    0xb6, 0x0d, 0x24, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
    0xcf, 0xc0, 0xf0, 0x1f, 0x84, 0x41, 0x08, 0x0c, 0x01, 0x45, 0xcc, 0x07, 0xf9, 0xca, 0x27,
    0x19, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static const char body_ok[] = "the asset body\n";
static const char body_two[] = "after a redirect\n";

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, const char *status, const char *extra, const char *body, size_t len,
                    bool with_length)
{
    char head[512];
    int n;
    if (with_length)
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, extra, len);
    else
        n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n%sConnection: close\r\n\r\n", status,
                     extra);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

static void serve_one(struct server *s, int c)
{
    char req[4096], path[256] = "";
    size_t n = 0;
    while (n < sizeof(req) - 1) {
        ssize_t r = recv(c, req + n, sizeof(req) - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    if (sscanf(req, "GET %255s ", path) != 1)
        return;
    atomic_fetch_add(&s->hits, 1);
    static char big[5000];
    memset(big, 'x', sizeof(big));
    if (!strcmp(path, "/ok") || !strncmp(path, "/ok?", 4)) {
        respond(c, "200 OK", "", body_ok, strlen(body_ok), true);
    } else if (!strcmp(path, "/two")) {
        respond(c, "200 OK", "", body_two, strlen(body_two), true);
    } else if (!strcmp(path, "/redir")) {
        respond(c, "302 Found", "Location: /two\r\n", "moved", 5, true);
    } else if (!strcmp(path, "/loop")) {
        respond(c, "302 Found", "Location: /loop\r\n", "", 0, true);
    } else if (!strcmp(path, "/big")) {
        respond(c, "200 OK", "", big, sizeof(big), true);
    } else if (!strcmp(path, "/big-unsized")) {
        respond(c, "200 OK", "", big, sizeof(big), false);
    } else if (!strcmp(path, "/error")) {
        respond(c, "500 Internal Server Error", "", "oops", 4, true);
    } else if (!strncmp(path, "/hold.png", 9)) {
        /* The server answers one request at a time: before answering the first of these, wait
         * (up to 3 s) for another client to knock. Only one that did not wait for this answer
         * before asking can. */
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (!atomic_load(&s->overlapped) && poll(&p, 1, 3000) > 0)
            atomic_store(&s->overlapped, 1);
        respond(c, "200 OK", "", (const char *)tiny_png, sizeof(tiny_png), true);
    } else if (!strcmp(path, "/slow")) {
        struct timespec ts = {0, 600 * 1000 * 1000};
        nanosleep(&ts, NULL);
        respond(c, "200 OK", "", body_ok, strlen(body_ok), true);
    } else {
        respond(c, "404 Not Found", "", "no", 2, true);
    }
}

static void *server_main(void *opaque)
{
    struct server *s = opaque;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(s, c);
        close(c);
    }
    return NULL;
}

static int server_start(struct server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int one = 1;
    atomic_init(&s->hits, 0);
    atomic_init(&s->stop, 0);
    atomic_init(&s->overlapped, 0);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        return -1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 8) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0) {
        close(s->fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, server_main, s) == 0 ? 0 : -1;
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static void sha_hex(const char *s, char hex[65])
{
    uint8_t d[32];
    struct AVSHA *sha = av_sha_alloc();
    av_sha_init(sha, 256);
    av_sha_update(sha, (const uint8_t *)s, strlen(s));
    av_sha_final(sha, d);
    av_free(sha);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

struct racer {
    const struct reel_assets_cfg *cfg;
    const char *url;
    char out[PATH_MAX];
    int ret;
};

static void *race(void *opaque)
{
    struct racer *r = opaque;
    struct reel_err e;
    r->ret = reel_assets_resolve(r->cfg, r->url, r->out, sizeof(r->out), NULL, &e);
    return NULL;
}

static void test_fetch(void)
{
    struct server srv;
    char cache[256], url[256], out[PATH_MAX], expect[512], hex[65];
    struct reel_err e;
    struct reel_limits lim;
    int ret;

    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the loopback HTTP server\n");
        CHECK(0);
        return;
    }
    reel_limits_default(&lim);
    lim.max_fetch_bytes = 1000;
    lim.fetch_timeout_us = 5 * REEL_US;
    /* A nested cache folder that does not exist yet is created. */
    snprintf(cache, sizeof(cache), "%s/cache/nested", tmp_root);
    struct reel_assets_cfg cfg = {.cache_dir = cache, .allow_private_urls = true, .limits = &lim};

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_MSG(ret == 0, "%d %s", ret, e.msg);
    sha_hex(url, hex);
    snprintf(expect, sizeof(expect), "%s/%s", cache, hex);
    CHECK_STR_EQ(out, expect);
    const char *got = read_file(out);
    CHECK(got && !strcmp(got, body_ok));
    CHECK_INT_EQ(atomic_load(&srv.hits), 1);

    /* Cached: the server is not asked again. */
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, 0);
    CHECK_STR_EQ(out, expect);
    CHECK_INT_EQ(atomic_load(&srv.hits), 1);

    /* Without allow_private_urls the same loopback server is refused, and not contacted. */
    struct reel_assets_cfg strict = cfg;
    strict.allow_private_urls = false;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/two", srv.port);
    ret = reel_assets_resolve(&strict, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_INT_EQ(atomic_load(&srv.hits), 1);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing", srv.port);
    memset(&e, 0, sizeof(e));
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_INT_EQ(e.code, REEL_EASSET_FETCH);
    CHECK_MSG(strstr(e.msg, "404") != NULL, "%s", e.msg);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/error", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_MSG(strstr(e.msg, "500") != NULL, "%s", e.msg);

    /* Over max_fetch_bytes, announced by Content-Length and not announced. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_MSG(strstr(e.msg, "limit") != NULL, "%s", e.msg);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/big-unsized", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_MSG(strstr(e.msg, "limit") != NULL, "%s", e.msg);

    /* Redirects are followed by hand, each hop checked, and bounded. */
    int before = atomic_load(&srv.hits);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/redir", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_MSG(ret == 0, "%d %s", ret, e.msg);
    got = read_file(out);
    CHECK(got && !strcmp(got, body_two));
    CHECK_INT_EQ(atomic_load(&srv.hits), before + 2);
    before = atomic_load(&srv.hits);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/loop", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_MSG(strstr(e.msg, "redirected") != NULL, "%s", e.msg);
    CHECK_INT_EQ(atomic_load(&srv.hits), before + 6);

    /* Concurrent fetches of one URL each publish a whole file under the same name. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok?race=1", srv.port);
    struct racer racers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        racers[i] = (struct racer){.cfg = &cfg, .url = url};
        CHECK(pthread_create(&threads[i], NULL, race, &racers[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT_EQ(racers[i].ret, 0);
        CHECK_STR_EQ(racers[i].out, racers[0].out);
    }
    got = read_file(racers[0].out);
    CHECK(got && !strcmp(got, body_ok));

    /* By name: the host is looked up once, checked, and the connection pinned to the answers. */
    before = atomic_load(&srv.hits);
    snprintf(url, sizeof(url), "http://localhost:%d/two", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_MSG(ret == 0, "%d %s", ret, e.msg);
    got = read_file(out);
    CHECK(got && !strcmp(got, body_two));
    CHECK_INT_EQ(atomic_load(&srv.hits), before + 1);

    lim.fetch_timeout_us = 200 * 1000;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", srv.port);
    ret = reel_assets_resolve(&cfg, url, out, sizeof(out), NULL, &e);
    CHECK_INT_EQ(ret, -REEL_EASSET_FETCH);
    CHECK_MSG(strstr(e.msg, "timed out") != NULL, "%s", e.msg);

    /* Only the four successful downloads are in the cache: failures leave no partial files. */
    CHECK_INT_EQ(count_files(cache), 4);
    server_stop(&srv);
}

/* A job's media layers are resolved side by side (two downloads at once), and their problems come
 * back in layer order whichever finished first. */
static void test_timeline_media(void)
{
    struct server srv;
    char cache[256], json[2048], png[512];
    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the loopback HTTP server\n");
        CHECK(0);
        return;
    }
    snprintf(cache, sizeof(cache), "%s/cache-tl", tmp_root);
    snprintf(png, sizeof(png), "%s/local.png", tmp_root);
    FILE *f = fopen(png, "wb");
    CHECK(f && fwrite(tiny_png, 1, sizeof(tiny_png), f) == sizeof(tiny_png));
    if (f)
        fclose(f);
    struct reel_limits lim;
    reel_limits_default(&lim);
    const char *roots[] = {tmp_root, NULL};
    struct reel_assets_cfg cfg = {
        .roots = roots, .cache_dir = cache, .allow_private_urls = true, .limits = &lim};

    snprintf(json, sizeof(json),
             "{\"output\": {\"width\": 64, \"height\": 64, \"duration\": 1}, \"layers\": ["
             "{\"type\": \"image\", \"src\": \"http://127.0.0.1:%d/hold.png?a\"},"
             "{\"type\": \"image\", \"src\": \"http://127.0.0.1:%d/hold.png?b\"},"
             "{\"type\": \"image\", \"src\": \"local.png\"}]}",
             srv.port, srv.port);
    struct reel_parse_opts po = {.limits = &lim};
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    CHECK_INT_EQ(reel_timeline_parse(json, strlen(json), &po, &tl, &errs), 0);
    if (tl) {
        int ret = reel_assets_resolve_timeline(&cfg, tl, NULL, &errs);
        CHECK_MSG(ret == 0, "%d: %s", ret, errs.count ? errs.items[0].msg : "");
        for (int i = 0; i < 3; i++) {
            CHECK(tl->layers[i].src_path != NULL);
            CHECK_INT_EQ(tl->layers[i].media_width, 2);
            CHECK_INT_EQ(tl->layers[i].media_height, 2);
        }
        CHECK_MSG(atomic_load(&srv.overlapped) == 1, "the two downloads did not overlap");
    }
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);

    /* Problems in layer order: a missing file, a download that fails, an audio layer on a file
     * without sound, and between them layers that resolve. */
    snprintf(json, sizeof(json),
             "{\"output\": {\"width\": 64, \"height\": 64, \"duration\": 1}, \"layers\": ["
             "{\"type\": \"image\", \"src\": \"nowhere.png\"},"
             "{\"type\": \"image\", \"src\": \"local.png\"},"
             "{\"type\": \"image\", \"src\": \"http://127.0.0.1:%d/missing.png\"},"
             "{\"type\": \"image\", \"src\": \"http://127.0.0.1:%d/hold.png?c\"},"
             "{\"type\": \"audio\", \"src\": \"local.png\"}]}",
             srv.port, srv.port);
    CHECK_INT_EQ(reel_timeline_parse(json, strlen(json), &po, &tl, &errs), 0);
    if (tl) {
        int ret = reel_assets_resolve_timeline(&cfg, tl, NULL, &errs);
        CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
        CHECK_INT_EQ(errs.count, 3);
        if (errs.count == 3) {
            CHECK_STR_EQ(errs.items[0].path, "layers[0].src");
            CHECK_INT_EQ(errs.items[0].code, REEL_EASSET_NOT_FOUND);
            CHECK_STR_EQ(errs.items[1].path, "layers[2].src");
            CHECK_INT_EQ(errs.items[1].code, REEL_EASSET_FETCH);
            CHECK_STR_EQ(errs.items[2].path, "layers[4].src");
            CHECK_INT_EQ(errs.items[2].code, REEL_EASSET_UNSUPPORTED);
        }
        CHECK(tl->layers[1].src_path != NULL && tl->layers[3].src_path != NULL);
    }
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
    server_stop(&srv);
}

static void remove_tree(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_ERROR);
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/reel-test-assets-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_paths();
    test_schemes();
    test_addr_rules();
    test_ssrf_refusals();
    test_fetch();
    test_timeline_media();
    remove_tree();
    CHECK_DONE();
}
