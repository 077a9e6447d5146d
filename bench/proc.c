/*
 * Child processes for measurements. Each run is its own process so that its peak RSS and CPU time
 * come from wait4's rusage for that process alone, never mixed with the bench's own memory or with
 * earlier runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/internal.h"

extern char **environ;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double reel_bench_process_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int reel_bench_spawn(char *const argv[], const char *log_path, struct reel_bench_proc *p,
                     struct reel_err *err)
{
    posix_spawn_file_actions_t fa;
    int ret = 0;
    memset(p, 0, sizeof(*p));
    if (posix_spawn_file_actions_init(&fa) != 0)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "cannot prepare to start %s", argv[0]);
    const char *out = log_path ? log_path : "/dev/null";
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0) {
        ret = reel_err_set(err, REEL_EINTERNAL, NULL, "cannot redirect the output of %s", argv[0]);
        goto out;
    }
    pid_t pid;
    double t0 = mono_s();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (rc != 0) {
        ret = reel_err_set(err, REEL_EINTERNAL, NULL, "cannot start %s: %s", argv[0], strerror(rc));
        goto out;
    }
    int status = 0;
    struct rusage ru;
    pid_t w;
    do {
        w = wait4(pid, &status, 0, &ru);
    } while (w < 0 && errno == EINTR);
    p->wall_s = mono_s() - t0;
    if (w < 0) {
        ret =
            reel_err_set(err, REEL_EINTERNAL, NULL, "waiting for %s: %s", argv[0], strerror(errno));
        goto out;
    }
    p->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
    p->rss_mb = (double)ru.ru_maxrss / 1024.0; /* Linux reports kilobytes */
    p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
    posix_spawn_file_actions_destroy(&fa);
    return ret;
}

bool reel_bench_find_program(const char *name, char *path, size_t cap)
{
    const char *env = getenv("PATH");
    if (!env || !*env)
        env = "/usr/local/bin:/usr/bin:/bin";
    const char *p = env;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && (size_t)snprintf(path, cap, "%.*s/%s", (int)len, p, name) < cap) {
            struct stat sb;
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0)
                return true;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (cap)
        path[0] = 0;
    return false;
}
