/*
 * bounded: run a command under a wall-clock and an address-space limit and report what it used.
 *
 *   bounded MAX_RSS_MIB WALL_S CMD [ARGS...]
 *
 * The command (its own process group) is killed once it has run WALL_S seconds or its resident
 * set, sampled every 10 ms, exceeds MAX_RSS_MIB; its peak resident set is read with wait4 when
 * it ends. No address-space limit: sanitizers and software renderers reserve far more than they
 * touch. Prints "bounded: exit N rss M MiB wall S s" to stderr and exits with the command's
 * status, or 124 when it ran too long or its peak resident set exceeded MAX_RSS_MIB (the
 * hostile-job tests' bound on time and memory).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bounded MAX_RSS_MIB WALL_S CMD [ARGS...]\n");
        return 2;
    }
    long max_mib = atol(argv[1]);
    double wall = atof(argv[2]);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        setpgid(0, 0);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    int timed_out = 0, too_big = 0;
    char statm[64];
    snprintf(statm, sizeof(statm), "/proc/%d/statm", (int)pid);
    long page_kib = sysconf(_SC_PAGESIZE) / 1024;
    for (;;) {
        pid_t r = wait4(pid, &st, WNOHANG, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return 2;
        long size = 0, rss = 0;
        FILE *f = fopen(statm, "r");
        if (f) {
            if (fscanf(f, "%ld %ld", &size, &rss) != 2)
                rss = 0;
            fclose(f);
        }
        if (!too_big && rss * page_kib / 1024 > max_mib)
            too_big = 1;
        if (!timed_out && now_s() - t0 > wall)
            timed_out = 1;
        if (timed_out || too_big) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        usleep(10000);
    }
    double took = now_s() - t0;
    long rss_mib = ru.ru_maxrss / 1024;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    fprintf(stderr, "bounded: exit %d rss %ld MiB wall %.2f s\n", code, rss_mib, took);
    if (timed_out) {
        fprintf(stderr, "bounded: still running after %.0f s\n", wall);
        return 124;
    }
    if (too_big || rss_mib > max_mib) {
        fprintf(stderr, "bounded: peak resident set %ld MiB is over %ld MiB\n", rss_mib, max_mib);
        return 124;
    }
    return code;
}
