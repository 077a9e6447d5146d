/*
 * The render workers against a real redis-server: small jobs rendered end to end (output and
 * poster published once, status, log, progress), a job that fails validation, retries of a
 * failing asset download then failed with the last error, cancel of a running job (stopped within
 * 2 s, partial files removed), the run-time limit, a worker killed with SIGKILL mid-render (the job
 * is reclaimed and re-run; one output), a Redis restart mid-render, graceful hand-back, and a
 * webhook receiver that fails twice before accepting (delivered once, signature valid).
 */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "job/webhook.h"
#include "job/worker.h"
#include "queue/queue.h"
#include "redis_harness.h"

static struct redis_harness g_redis;
static char g_out[512];

#define SMALL_JOB                                                                          \
    "{\"output\":{\"width\":320,\"height\":240,\"fps\":10,\"duration\":1,\"poster\":0.5}," \
    "\"layers\":[{\"type\":\"color\",\"color\":\"#ff0000\"}]}"
/* A minute of 1080p: well over a minute to render on a small machine, long enough to be
 * interrupted. Frames queued for the encoder are dropped on a cancel, but the frame x264 is
 * encoding and its close still take their time: at the medium preset a cancel stops in about a
 * second here; at veryslow on a loaded 2-core machine it took up to 2.4 s. */
#define LONG_JOB                                                                                   \
    "{\"output\":{\"width\":1920,\"height\":1080,\"fps\":30,\"duration\":60,"                      \
    "\"preset\":\"medium\"},\"layers\":[{\"type\":\"color\",\"color\":\"#203040\"},"               \
    "{\"type\":\"shape\",\"shape\":\"ellipse\",\"width\":300,\"height\":200,\"fill\":\"#ffcc00\"," \
    "\"animate\":{\"x\":[{\"time\":0,\"value\":0},{\"time\":60,\"value\":1920}]}}]}"

/* Case-insensitive search for a header name in a request. */
static char *find_ci(char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (char *p = hay; *p; p++)
        if (!strncasecmp(p, needle, n))
            return p;
    return NULL;
}

/* ---- a tiny HTTP receiver: /hook fails `fail_first` times then answers 200; /asset 500 ---- */
struct receiver {
    int fd, port;
    pthread_t th;
    atomic_int stop;
    int fail_first;
    atomic_int hook_requests, hook_ok, asset_requests;
    char signature[128];
    char *body;
    pthread_mutex_t lock;
};

static void *receiver_main(void *arg)
{
    struct receiver *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[65536];
        size_t n = 0;
        long clen = -1;
        char *hdr_end = NULL;
        for (;;) {
            ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = '\0';
            if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
                char *cl = find_ci(buf, "Content-Length:");
                clen = cl ? atol(cl + 15) : 0;
            }
            if (hdr_end && (long)(n - (size_t)(hdr_end + 4 - buf)) >= clen)
                break;
        }
        int status = 404;
        if (!strncmp(buf, "POST /hook", 10) && hdr_end) {
            int k = atomic_fetch_add(&r->hook_requests, 1);
            status = k < r->fail_first ? 500 : 200;
            if (status == 200) {
                atomic_fetch_add(&r->hook_ok, 1);
                pthread_mutex_lock(&r->lock);
                char *sig = find_ci(buf, "X-Reel-Signature: ");
                if (sig)
                    snprintf(r->signature, sizeof(r->signature), "%.*s",
                             (int)strcspn(sig + 18, "\r\n"), sig + 18);
                free(r->body);
                r->body = strdup(hdr_end + 4);
                pthread_mutex_unlock(&r->lock);
            }
        } else if (!strncmp(buf, "GET /asset", 10)) {
            atomic_fetch_add(&r->asset_requests, 1);
            status = 500;
        }
        char resp[128];
        int m = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
        if (write(c, resp, (size_t)m) < 0)
            perror("receiver write");
        close(c);
    }
    return NULL;
}

static int receiver_start(struct receiver *r, int fail_first)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->fail_first = fail_first;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(r->fd, (struct sockaddr *)&a, sizeof(a)) || listen(r->fd, 16) ||
        getsockname(r->fd, (struct sockaddr *)&a, &len))
        return -1;
    r->port = ntohs(a.sin_port);
    return pthread_create(&r->th, NULL, receiver_main, r);
}

static void receiver_stop(struct receiver *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
    close(r->fd);
    free(r->body);
    pthread_mutex_destroy(&r->lock);
}

/* ---- helpers ---- */

static struct reel_queue *open_queue(const char *prefix)
{
    struct reel_queue_cfg qc = {.url = g_redis.url, .prefix = prefix, .timeout_ms = 500};
    return reel_queue_create(&qc);
}

static const char *const g_allow[] = {"127.0.0.1", NULL};

static struct reel_worker_pool *start_pool(const char *prefix, int concurrency, int64_t lease_ms,
                                           const struct reel_limits *lim)
{
    struct reel_worker_cfg cfg = {
        .redis_url = g_redis.url,
        .redis_prefix = prefix,
        .concurrency = concurrency,
        .output_dir = g_out,
        .engine = "cpu",
        .encoder = "software",
        .gpu_index = -1,
        .tags = "",
        .webhook_secret = "s3cret",
        .worker_id = "test-worker",
        .allow_url_hosts = g_allow,
        .lease_ms = lease_ms,
        .limits = lim,
        .retry_base_ms = 100,
        .webhook_base_delay_ms = 100,
    };
    struct reel_worker_pool *p = NULL;
    struct reel_err err = {0};
    int ret = reel_worker_pool_start(&cfg, &p, &err);
    CHECK_MSG(ret == 0, "pool start: %s", err.msg);
    return p;
}

static int submit(struct reel_queue *q, const char *json, const char *callback, char id[40])
{
    struct reel_job_submit s = {.job_json = json, .callback_url = callback};
    struct reel_err err = {0};
    bool existed;
    int ret = reel_queue_submit(q, &s, id, &existed, &err);
    CHECK_MSG(ret == 0, "submit: %s", err.msg);
    return ret;
}

/* Poll until the job is in state (or any terminal state when state is NONE); timeout_ms. */
static int wait_state(struct reel_queue *q, const char *id, enum reel_job_state state,
                      int timeout_ms, struct reel_job_status *st)
{
    int64_t until = redis_harness_now_ms() + timeout_ms;
    struct reel_err err;
    while (redis_harness_now_ms() < until) {
        if (reel_queue_status(q, id, st, &err) == 0) {
            bool terminal = st->state >= REEL_JOB_SUCCEEDED;
            if (state ? st->state == state : terminal)
                return 0;
            if (terminal && state && state >= REEL_JOB_SUCCEEDED)
                return -1;
        }
        redis_harness_sleep_ms(50);
    }
    return -1;
}

/* Files in <out>/<id>: how many, and whether any attempt or partial file is among them. */
static int count_files(const char *id, bool *has_partial)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/%s", g_out, id);
    DIR *d = opendir(dir);
    int n = 0;
    *has_partial = false;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (e->d_name[0] == '.' || strstr(e->d_name, ".partial")) {
            *has_partial = true;
            fprintf(stderr, "left in %s: %s\n", dir, e->d_name);
        }
    }
    if (d)
        closedir(d);
    return n;
}

static bool file_size_ok(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* ---- tests ---- */

static void test_render_and_webhook(void)
{
    struct receiver rc;
    CHECK(receiver_start(&rc, 2) == 0);
    /* Outputs are kept 7 days: an older job folder goes, other folders stay. */
    char old_dir[700], keep_dir[700], old_file[800];
    snprintf(old_dir, sizeof(old_dir), "%s/0123456789abcdef0123456789abcdef", g_out);
    snprintf(keep_dir, sizeof(keep_dir), "%s/not-a-job", g_out);
    snprintf(old_file, sizeof(old_file), "%s/output-1.mp4", old_dir);
    mkdir(old_dir, 0755);
    mkdir(keep_dir, 0755);
    FILE *f = fopen(old_file, "w");
    if (f)
        fclose(f);
    struct timespec eight_days[2] = {{time(NULL) - 8 * 86400, 0}, {time(NULL) - 8 * 86400, 0}};
    utimensat(AT_FDCWD, old_dir, eight_days, 0);
    utimensat(AT_FDCWD, keep_dir, eight_days, 0);

    struct reel_queue *q = open_queue("w1");
    struct reel_worker_pool *p = start_pool("w1", 2, 0, NULL);
    char id[40], bad_id[40], url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rc.port);
    submit(q, SMALL_JOB, url, id);
    submit(q, "{\"output\":{\"width\":321},\"layers\":[]}", NULL, bad_id);
    struct reel_job_status st;
    CHECK(wait_state(q, id, REEL_JOB_SUCCEEDED, 20000, &st) == 0);
    CHECK_INT_EQ(st.attempt, 1);
    CHECK_STR_EQ(st.engine, "cpu");
    CHECK_STR_EQ(st.worker, "test-worker");
    CHECK_STR_EQ(st.content_type, "video/mp4");
    CHECK_STR_EQ(st.codec, "h264");
    CHECK_INT_EQ(st.width, 320);
    CHECK_INT_EQ(st.frames_done, 10);
    CHECK_INT_EQ(st.frames_total, 10);
    CHECK(st.output_bytes > 0);
    CHECK_NEAR(st.progress, 1.0, 1e-9);
    char want[700];
    snprintf(want, sizeof(want), "%s/%s/output-1.mp4", g_out, id);
    CHECK_STR_EQ(st.output_path, want);
    CHECK(file_size_ok(st.output_path));
    snprintf(want, sizeof(want), "%s/%s/output-1.jpg", g_out, id);
    CHECK_STR_EQ(st.poster_path, want);
    CHECK(file_size_ok(st.poster_path));
    bool partial;
    CHECK_INT_EQ(count_files(id, &partial), 2);
    CHECK(!partial);

    struct stat sb;
    CHECK(stat(old_dir, &sb) != 0);
    CHECK(stat(keep_dir, &sb) == 0);

    /* The job's own log: its lines carry its id. */
    char *log = NULL;
    struct reel_err err;
    /* The outcome line follows the state change by a moment. */
    for (int i = 0; i < 40; i++) {
        free(log);
        log = NULL;
        CHECK_INT_EQ(reel_queue_log_read(q, id, &log, &err), 0);
        if (log && strstr(log, "succeeded"))
            break;
        redis_harness_sleep_ms(50);
    }
    CHECK(log && strstr(log, "succeeded") != NULL);
    CHECK(log && strstr(log, "using engine cpu") != NULL);
    char tag[64];
    snprintf(tag, sizeof(tag), "job=%s", id);
    CHECK(log && strstr(log, tag) != NULL);
    free(log);

    /* Not valid: failed at once, not retried. */
    CHECK(wait_state(q, bad_id, REEL_JOB_FAILED, 10000, &st) == 0);
    CHECK_INT_EQ(st.attempt, 1);
    CHECK_INT_EQ(st.error.code, REEL_EINVALID_JOB);
    CHECK_STR_EQ(st.error.path, "output.width");

    /* The webhook: two failures, then delivered once with a valid signature. */
    int64_t until = redis_harness_now_ms() + 10000;
    while (atomic_load(&rc.hook_ok) == 0 && redis_harness_now_ms() < until)
        redis_harness_sleep_ms(50);
    redis_harness_sleep_ms(500); /* a duplicate would arrive now */
    CHECK_INT_EQ(atomic_load(&rc.hook_requests), 3);
    CHECK_INT_EQ(atomic_load(&rc.hook_ok), 1);
    pthread_mutex_lock(&rc.lock);
    char sig[80] = "";
    if (rc.body)
        reel_webhook_sign("s3cret", rc.body, strlen(rc.body), sig);
    CHECK(rc.body && sig[0] && !strcmp(sig, rc.signature));
    cJSON *doc = rc.body ? cJSON_Parse(rc.body) : NULL;
    CHECK(doc && !strcmp(cJSON_GetObjectItem(doc, "status")->valuestring, "succeeded"));
    CHECK(doc && !strcmp(cJSON_GetObjectItem(doc, "id")->valuestring, id));
    cJSON_Delete(doc);
    pthread_mutex_unlock(&rc.lock);

    /* Retries: an asset URL that always answers 500 (allowed host) is retried with backoff,
     * then the job fails with the last error. */
    char fid[40], job[512];
    snprintf(job, sizeof(job),
             "{\"output\":{\"width\":320,\"height\":240,\"fps\":10,\"duration\":1},"
             "\"layers\":[{\"type\":\"image\",\"src\":\"http://127.0.0.1:%d/asset.png\"}]}",
             rc.port);
    submit(q, job, NULL, fid);
    CHECK(wait_state(q, fid, REEL_JOB_FAILED, 20000, &st) == 0);
    CHECK_INT_EQ(st.attempt, 3);
    CHECK_INT_EQ(st.error.code, REEL_EASSET_FETCH);
    CHECK(strstr(st.error.msg, "500") != NULL);
    CHECK_INT_EQ(atomic_load(&rc.asset_requests), 3);

    /* Callback address rules: internal addresses are refused unless the host is allowed, and
     * nothing is sent; refused URLs are not retried. */
    int before = atomic_load(&rc.hook_requests);
    struct reel_webhook_cfg wc = {.secret = "k", .tries = 3, .base_delay_ms = 10};
    struct reel_err werr = {0};
    CHECK_INT_EQ(reel_webhook_deliver(&wc, url, "{}", &werr), -REEL_EINVALID_JOB);
    CHECK_INT_EQ(reel_webhook_deliver(&wc, "http://169.254.169.254/latest", "{}", &werr),
                 -REEL_EINVALID_JOB);
    CHECK_INT_EQ(reel_webhook_deliver(&wc, "file:///etc/passwd", "{}", &werr), -REEL_EINVALID_JOB);
    CHECK_INT_EQ(atomic_load(&rc.hook_requests), before);
    wc.allow_hosts = g_allow;
    CHECK_INT_EQ(reel_webhook_deliver(&wc, url, "{}", &werr), 0);
    CHECK_INT_EQ(atomic_load(&rc.hook_requests), before + 1);
    CHECK(reel_webhook_wanted("", REEL_JOB_CANCELED));
    CHECK(!reel_webhook_wanted("", REEL_JOB_RUNNING));
    CHECK(reel_webhook_wanted("failed, succeeded", REEL_JOB_SUCCEEDED));
    CHECK(!reel_webhook_wanted("failed", REEL_JOB_SUCCEEDED));

    reel_worker_pool_stop(&p, true, 5000);
    CHECK(p == NULL);
    reel_queue_destroy(&q);
    receiver_stop(&rc);
}

static void test_cancel_timeout_release(void)
{
    struct reel_queue *q = open_queue("w2");
    struct reel_limits lim;
    reel_limits_default(&lim);
    lim.max_job_runtime_us = 4 * 1000000LL;
    struct reel_worker_pool *p = start_pool("w2", 1, 0, &lim);
    char id[40], tid[40];
    struct reel_job_status st;
    struct reel_err err;
    submit(q, LONG_JOB, NULL, id);
    CHECK(wait_state(q, id, REEL_JOB_RUNNING, 10000, &st) == 0);

    /* Canceled while queued (the only slot is busy): never starts, its webhook still comes. */
    struct receiver rc;
    CHECK(receiver_start(&rc, 0) == 0);
    char qid[40], url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rc.port);
    submit(q, SMALL_JOB, url, qid);
    CHECK_INT_EQ(reel_queue_cancel(q, qid, &err), 0);
    int64_t hook_until = redis_harness_now_ms() + 10000;
    while (atomic_load(&rc.hook_ok) == 0 && redis_harness_now_ms() < hook_until)
        redis_harness_sleep_ms(50);
    CHECK_INT_EQ(atomic_load(&rc.hook_ok), 1);
    pthread_mutex_lock(&rc.lock);
    CHECK(rc.body && strstr(rc.body, "\"status\":\"canceled\"") != NULL);
    pthread_mutex_unlock(&rc.lock);
    receiver_stop(&rc);
    CHECK_INT_EQ(reel_queue_status(q, qid, &st, &err), 0);
    CHECK_INT_EQ(st.attempt, 0);
    CHECK_INT_EQ(st.state, REEL_JOB_CANCELED);

    int64_t until = redis_harness_now_ms() + 10000;
    while (redis_harness_now_ms() < until && reel_queue_status(q, id, &st, &err) == 0 &&
           st.frames_done < 3)
        redis_harness_sleep_ms(50);
    CHECK(st.frames_done >= 3 && st.progress > 0);
    int64_t t0 = redis_harness_now_ms();
    CHECK_INT_EQ(reel_queue_cancel(q, id, &err), 0);
    CHECK(wait_state(q, id, REEL_JOB_CANCELED, 5000, &st) == 0);
    int64_t took = redis_harness_now_ms() - t0;
    CHECK_MSG(took <= 2000, "cancel took %lld ms", (long long)took);
    bool partial;
    CHECK_INT_EQ(count_files(id, &partial), 0);

    /* The run-time limit (4 s here). */
    submit(q, LONG_JOB, NULL, tid);
    CHECK(wait_state(q, tid, REEL_JOB_FAILED, 15000, &st) == 0);
    CHECK_INT_EQ(st.error.code, REEL_ETIMEOUT);
    CHECK_INT_EQ(st.attempt, 1);
    CHECK_INT_EQ(count_files(tid, &partial), 0);

    /* Stopping the pool hands a running job back, not counted as an attempt. */
    char hid[40];
    submit(q, LONG_JOB, NULL, hid);
    CHECK(wait_state(q, hid, REEL_JOB_RUNNING, 10000, &st) == 0);
    redis_harness_sleep_ms(300);
    reel_worker_pool_stop(&p, true, 200);
    CHECK_INT_EQ(reel_queue_status(q, hid, &st, &err), 0);
    CHECK_INT_EQ(st.state, REEL_JOB_QUEUED);
    CHECK_INT_EQ(st.attempt, 0);
    CHECK_INT_EQ(count_files(hid, &partial), 0);
    CHECK_INT_EQ(reel_queue_cancel(q, hid, &err), 0);
    reel_queue_destroy(&q);
}

/* A worker process killed with SIGKILL mid-render: the job is reclaimed after the lease and
 * re-run by another worker; one output, no attempt files left. */
static void test_worker_killed(void)
{
    struct reel_queue *q = open_queue("w3");
    char id[40];
    /* 10 s of 720p veryslow: about 20 s to render, killed after a few frames. */
    const char *job = "{\"output\":{\"width\":640,\"height\":360,\"fps\":30,\"duration\":6,"
                      "\"preset\":\"veryslow\"},\"layers\":[{\"type\":\"color\",\"color\":"
                      "\"#203040\"},{\"type\":\"shape\",\"shape\":\"rect\",\"width\":100,"
                      "\"height\":80,\"fill\":\"#00ff00\",\"animate\":{\"x\":[{\"time\":0,"
                      "\"value\":0},{\"time\":6,\"value\":640}]}}]}";
    submit(q, job, NULL, id);
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct reel_worker_pool *p = start_pool("w3", 1, 1000, NULL);
        (void)p;
        for (;;)
            pause();
    }
    struct reel_job_status st;
    struct reel_err err;
    CHECK(wait_state(q, id, REEL_JOB_RUNNING, 10000, &st) == 0);
    int64_t until = redis_harness_now_ms() + 10000;
    while (redis_harness_now_ms() < until && reel_queue_status(q, id, &st, &err) == 0 &&
           st.frames_done < 2)
        redis_harness_sleep_ms(50);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK_INT_EQ(st.attempt, 1);
    struct reel_worker_pool *p = start_pool("w3", 1, 1000, NULL);
    CHECK(wait_state(q, id, REEL_JOB_SUCCEEDED, 90000, &st) == 0);
    CHECK_INT_EQ(st.attempt, 2);
    CHECK(file_size_ok(st.output_path));
    /* The winner removes the killed attempt's leftovers just after publishing. */
    bool partial = true;
    int files = 0;
    for (int i = 0; i < 40 && (files = count_files(id, &partial)) != 1; i++)
        redis_harness_sleep_ms(50);
    CHECK_INT_EQ(files, 1);
    CHECK(!partial);
    reel_worker_pool_stop(&p, true, 5000);
    reel_queue_destroy(&q);
}

/* Redis killed and restarted while a job renders: the worker keeps going, the job completes. */
static void test_redis_restart(void)
{
    struct reel_queue *q = open_queue("w4");
    struct reel_worker_pool *p = start_pool("w4", 1, 5000, NULL);
    char id[40], id2[40];
    const char *job = "{\"output\":{\"width\":640,\"height\":360,\"fps\":30,\"duration\":4,"
                      "\"preset\":\"slow\"},\"layers\":[{\"type\":\"color\",\"color\":"
                      "\"#406080\"}]}";
    submit(q, job, NULL, id);
    struct reel_job_status st;
    struct reel_err err;
    CHECK(wait_state(q, id, REEL_JOB_RUNNING, 10000, &st) == 0);
    redis_harness_kill(&g_redis);
    CHECK_INT_EQ(reel_queue_status(q, id, &st, &err), -REEL_EUNAVAILABLE);
    redis_harness_sleep_ms(1500);
    CHECK(redis_harness_restart(&g_redis) == 0);
    submit(q, SMALL_JOB, NULL, id2);
    CHECK(wait_state(q, id, REEL_JOB_SUCCEEDED, 60000, &st) == 0);
    CHECK(file_size_ok(st.output_path));
    CHECK(wait_state(q, id2, REEL_JOB_SUCCEEDED, 30000, &st) == 0);
    reel_worker_pool_stop(&p, true, 5000);
    reel_queue_destroy(&q);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (redis_harness_start(&g_redis, true) != 0) {
        fprintf(stderr, "FAIL: no redis-server\n");
        return 1;
    }
    snprintf(g_out, sizeof(g_out), "%s/out", g_redis.dir);
    mkdir(g_out, 0755);
    test_render_and_webhook();
    test_cancel_timeout_release();
    test_worker_killed();
    test_redis_restart();
    redis_harness_stop(&g_redis);
    CHECK_DONE();
}
