/*
 * A private redis-server for tests: started on a free loopback port in its own temporary folder,
 * killed (and the folder removed) at the end. A missing redis-server is a test failure, not a skip:
 * scripts/install-deps.sh installs it.
 *
 *     struct redis_harness rh;
 *     if (redis_harness_start(&rh, true) != 0) return 1;   // true = AOF, fsync always
 *     ... use rh.url ("redis://127.0.0.1:PORT") ...
 *     redis_harness_kill(&rh);      // SIGKILL, as a crash would
 *     redis_harness_restart(&rh);   // same port and folder: the AOF is replayed
 *     redis_harness_stop(&rh);      // kill and remove the folder
 *
 * redis_harness_now_ms() and redis_harness_sleep_ms() are the monotonic clock and sleep the tests
 * using it wait with.
 *
 * The server dies with the test process (PR_SET_PDEATHSIG), so a crashed test leaves none behind.
 */
#ifndef REEL_TESTS_REDIS_HARNESS_H
#define REEL_TESTS_REDIS_HARNESS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct redis_harness {
    pid_t pid;
    int port;
    bool aof;
    char dir[256];
    char url[64];
};

/* Milliseconds on CLOCK_MONOTONIC (only differences mean anything), and a sleep in ms: the
 * timing the tests of the queue and the workers wait and measure with. */
static inline int64_t redis_harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void redis_harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int redis_harness_free_port_(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* 0 when the server at port answers PING with +PONG. */
static int redis_harness_ping_(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[16] = "";
    int ok = -1;
    if (fd < 0)
        return -1;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, "PING\r\n", 6) == 6 &&
        read(fd, buf, sizeof(buf) - 1) > 0 && !strncmp(buf, "+PONG", 5))
        ok = 0;
    close(fd);
    return ok;
}

static int redis_harness_spawn_(struct redis_harness *h)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", h->port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            close(devnull);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", h->aof ? "yes" : "no", "--appendfsync", "always", "--dir", h->dir,
               "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
        fprintf(stderr,
                "redis_harness: cannot run redis-server: %s (install it: "
                "scripts/install-deps.sh)\n",
                strerror(errno));
        _exit(127);
    }
    h->pid = pid;
    for (int i = 0; i < 100; i++) { /* up to 5 s */
        if (redis_harness_ping_(h->port) == 0)
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            h->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    h->pid = 0;
    return -1;
}

/* Start a server; 0 or -1 (with a line on stderr). */
static int redis_harness_start(struct redis_harness *h, bool aof)
{
    memset(h, 0, sizeof(*h));
    h->aof = aof;
    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof(h->dir), "%s/reel-redis-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(h->dir)) {
        fprintf(stderr, "redis_harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    for (int tries = 0; tries < 5; tries++) { /* a free port can be taken before the server binds */
        h->port = redis_harness_free_port_();
        if (h->port > 0 && redis_harness_spawn_(h) == 0) {
            snprintf(h->url, sizeof(h->url), "redis://127.0.0.1:%d", h->port);
            return 0;
        }
    }
    fprintf(stderr, "redis_harness: redis-server did not start\n");
    return -1;
}

/* Kill the server at once (SIGKILL), as a crash would. */
static void redis_harness_kill(struct redis_harness *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
    }
    h->pid = 0;
}

/* Start it again on the same port and folder (the AOF, when on, is replayed). */
static int redis_harness_restart(struct redis_harness *h)
{
    redis_harness_kill(h);
    for (int tries = 0; tries < 20; tries++) {
        if (redis_harness_spawn_(h) == 0)
            return 0;
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "redis_harness: redis-server did not restart on port %d\n", h->port);
    return -1;
}

static int redis_harness_rm_(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        redis_harness_rm_(sub);
    }
    closedir(d);
    return rmdir(path);
}

/* Kill the server and remove its folder. */
static void redis_harness_stop(struct redis_harness *h)
{
    redis_harness_kill(h);
    if (h->dir[0])
        redis_harness_rm_(h->dir);
    h->dir[0] = '\0';
}

#endif
