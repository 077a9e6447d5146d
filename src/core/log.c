#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libavutil/log.h>

#include "core/log.h"

static FILE *g_out;
static enum reel_log_format g_fmt = REEL_LOG_FORMAT_TEXT;
static enum reel_log_level g_level = REEL_LOG_INFO;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local const struct reel_log *t_logger;

static const char *const level_names[] = {"none", "error", "warn", "info", "debug", "trace"};

void reel_log_setup(FILE *out, enum reel_log_format fmt, enum reel_log_level level)
{
    g_out = out;
    if (fmt != REEL_LOG_FORMAT_NONE)
        g_fmt = fmt;
    if (level != REEL_LOG_NONE)
        g_level = level;
}

enum reel_log_level reel_log_global_level(void)
{
    return g_level;
}

enum reel_log_level reel_log_level_parse(const char *s)
{
    for (int i = 1; s && i <= REEL_LOG_TRACE; i++)
        if (!strcasecmp(s, level_names[i]))
            return (enum reel_log_level)i;
    return REEL_LOG_NONE;
}

void reel_log_init(struct reel_log *log, const struct reel_log *parent, const char *job_id,
                   const char *comp)
{
    memset(log, 0, sizeof(*log));
    log->level = parent ? parent->level : g_level;
    if (parent) {
        memcpy(log->job_id, parent->job_id, sizeof(log->job_id));
        log->sink = parent->sink;
        log->sink_opaque = parent->sink_opaque;
    }
    if (job_id)
        snprintf(log->job_id, sizeof(log->job_id), "%s", job_id);
    snprintf(log->comp, sizeof(log->comp), "%s", comp ? comp : (parent ? parent->comp : "reel"));
}

static void json_escape(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (; *src && o + 7 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = 0;
}

static void emit(const struct reel_log *log, enum reel_log_level lvl, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char tbuf[40], line[4608];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
    const char *job = log && log->job_id[0] ? log->job_id : "-";
    const char *comp = log && log->comp[0] ? log->comp : "reel";
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    char trimmed[2048];
    snprintf(trimmed, sizeof(trimmed), "%.*s", (int)n, msg);
    if (g_fmt == REEL_LOG_FORMAT_JSON) {
        char esc[2048 * 2];
        json_escape(esc, sizeof(esc), trimmed);
        snprintf(
            line, sizeof(line),
            "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"job\":\"%s\",\"comp\":\"%s\",\"msg\":\"%s\"}",
            tbuf, ts.tv_nsec / 1000000, level_names[lvl], job, comp, esc);
    } else {
        snprintf(line, sizeof(line), "%s.%03ldZ %-5s job=%s comp=%s %s", tbuf, ts.tv_nsec / 1000000,
                 level_names[lvl], job, comp, trimmed);
    }
    pthread_mutex_lock(&g_lock);
    FILE *out = g_out ? g_out : stderr;
    fputs(line, out);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&g_lock);
    if (log && log->sink)
        log->sink(log->sink_opaque, line);
}

void reel_log_write(const struct reel_log *log, enum reel_log_level lvl, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(log, lvl, msg);
}

void reel_log_set_thread_logger(const struct reel_log *log)
{
    t_logger = log;
}

static void av_cb(void *avcl, int level, const char *fmt, va_list ap)
{
    enum reel_log_level lvl;
    if (level <= AV_LOG_ERROR)
        lvl = REEL_LOG_WARN; /* FFmpeg errors are often recoverable; callers log real failures */
    else if (level <= AV_LOG_WARNING)
        lvl = REEL_LOG_DEBUG;
    else if (level <= AV_LOG_VERBOSE)
        lvl = REEL_LOG_TRACE;
    else
        return;
    const struct reel_log *log = t_logger;
    if ((log ? log->level : g_level) < lvl)
        return;
    char msg[1024];
    int pfx = 1;
    av_log_format_line2(avcl, level, fmt, ap, msg, sizeof(msg), &pfx);
    struct reel_log tmp;
    reel_log_init(&tmp, log, NULL, "ffmpeg");
    emit(&tmp, lvl, msg);
}

void reel_log_bridge_ffmpeg(void)
{
    av_log_set_callback(av_cb);
}
