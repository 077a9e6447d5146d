/*
 * The URL cache: allow-listed hosts may be fetched from loopback, others are refused; the cache is
 * pruned to its size limit, least recently used first (a cache hit is a use).
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assets/assets.h"
#include "check.h"

static int g_fd, g_port;
static atomic_int g_stop, g_requests;

/* Any GET answers 1000 bytes. */
static void *serve(void *arg)
{
    (void)arg;
    static char body[1000];
    memset(body, 'x', sizeof(body));
    while (!atomic_load(&g_stop)) {
        struct pollfd p = {.fd = g_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(g_fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[4096];
        ssize_t n = read(c, buf, sizeof(buf) - 1);
        (void)n;
        atomic_fetch_add(&g_requests, 1);
        char hdr[128];
        int m = snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         sizeof(body));
        if (write(c, hdr, (size_t)m) < 0 || write(c, body, sizeof(body)) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void nap(void)
{
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    g_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(g_fd, (struct sockaddr *)&a, sizeof(a)) || listen(g_fd, 8) ||
        getsockname(g_fd, (struct sockaddr *)&a, &len))
        return 1;
    g_port = ntohs(a.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, serve, NULL);

    char dir[] = "/tmp/reel-cache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *const allow[] = {"127.0.0.1", NULL};
    struct reel_assets_cfg cfg = {.cache_dir = dir};
    char url[4][128], path[4][1024];
    for (int i = 0; i < 4; i++)
        snprintf(url[i], sizeof(url[i]), "http://127.0.0.1:%d/f%d.png", g_port, i);
    struct reel_err err = {0};

    /* Loopback is refused without the allow-list, and nothing is requested. */
    CHECK_INT_EQ(reel_assets_resolve(&cfg, url[0], path[0], sizeof(path[0]), NULL, &err),
                 -REEL_EASSET_FETCH);
    CHECK_INT_EQ(atomic_load(&g_requests), 0);

    cfg.allow_hosts = allow;
    cfg.cache_max_bytes = 2500; /* two files fit */
    CHECK_INT_EQ(reel_assets_resolve(&cfg, url[0], path[0], sizeof(path[0]), NULL, &err), 0);
    nap();
    CHECK_INT_EQ(reel_assets_resolve(&cfg, url[1], path[1], sizeof(path[1]), NULL, &err), 0);
    nap();
    /* A hit on 0 makes 1 the least recently used. */
    CHECK_INT_EQ(reel_assets_resolve(&cfg, url[0], path[0], sizeof(path[0]), NULL, &err), 0);
    CHECK_INT_EQ(atomic_load(&g_requests), 2);
    nap();
    CHECK_INT_EQ(reel_assets_resolve(&cfg, url[2], path[2], sizeof(path[2]), NULL, &err), 0);
    CHECK(exists(path[0]));
    CHECK(!exists(path[1]));
    CHECK(exists(path[2]));
    nap();
    CHECK_INT_EQ(reel_assets_resolve(&cfg, url[3], path[3], sizeof(path[3]), NULL, &err), 0);
    CHECK(!exists(path[0]));
    CHECK(exists(path[2]) && exists(path[3]));

    /* A host name that is not on the list is still refused for loopback targets. */
    const char *const other[] = {"example.invalid", NULL};
    cfg.allow_hosts = other;
    char u[128], pth[1024];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/g.png", g_port);
    CHECK_INT_EQ(reel_assets_resolve(&cfg, u, pth, sizeof(pth), NULL, &err), -REEL_EASSET_FETCH);

    atomic_store(&g_stop, 1);
    pthread_join(th, NULL);
    for (int i = 0; i < 4; i++)
        unlink(path[i]);
    rmdir(dir);
    CHECK_DONE();
}
