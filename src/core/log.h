/*
 * Logging: a tree of loggers (process -> job -> component). Every line carries the job id and the
 * component name. Thread-safe: lines are written whole under a lock.
 *
 * Text format:  2026-11-22T10:00:00.123Z WARN  job=abc comp=encode message
 * JSON format:  {"ts":"...","level":"warn","job":"abc","comp":"encode","msg":"message"}
 */
#ifndef REEL_CORE_LOG_H
#define REEL_CORE_LOG_H

#include <stdio.h>

enum reel_log_level {
    REEL_LOG_NONE = 0, /* never printed; the zero value */
    REEL_LOG_ERROR,
    REEL_LOG_WARN,
    REEL_LOG_INFO,
    REEL_LOG_DEBUG,
    REEL_LOG_TRACE,
};

enum reel_log_format { REEL_LOG_FORMAT_NONE, REEL_LOG_FORMAT_TEXT, REEL_LOG_FORMAT_JSON };

/* A logger: plain struct, embed or allocate. job_id/comp are copied. */
struct reel_log {
    char job_id[64];
    char comp[32];
    enum reel_log_level level; /* lines above this level are skipped before formatting */
    /* Optional per-job sink (e.g. the job's own log kept for the API); called with the whole line.
     */
    void (*sink)(void *opaque, const char *line);
    void *sink_opaque;
};

/* Global output settings. Call once at start-up (not thread-safe against concurrent logging). */
void reel_log_setup(FILE *out, enum reel_log_format fmt, enum reel_log_level level);
enum reel_log_level reel_log_global_level(void);
/* Parse "error|warn|info|debug|trace"; returns REEL_LOG_NONE when unknown. */
enum reel_log_level reel_log_level_parse(const char *s);

/* Initialise a logger; parent may be NULL. Inherits job id, level and sink from parent. */
void reel_log_init(struct reel_log *log, const struct reel_log *parent, const char *job_id,
                   const char *comp);

void reel_log_write(const struct reel_log *log, enum reel_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Route FFmpeg's av_log into the global output (level mapped). Uses a thread-local job logger set
 * with reel_log_set_thread_logger(); lines from other threads go out with job=-. */
void reel_log_bridge_ffmpeg(void);
void reel_log_set_thread_logger(const struct reel_log *log);

#define REEL_LOG_(log, lvl, ...)                                 \
    do {                                                         \
        const struct reel_log *l_ = (log);                       \
        if ((l_ ? l_->level : reel_log_global_level()) >= (lvl)) \
            reel_log_write(l_, (lvl), __VA_ARGS__);              \
    } while (0)
#define REEL_ERROR(log, ...) REEL_LOG_(log, REEL_LOG_ERROR, __VA_ARGS__)
#define REEL_WARN(log, ...) REEL_LOG_(log, REEL_LOG_WARN, __VA_ARGS__)
#define REEL_INFO(log, ...) REEL_LOG_(log, REEL_LOG_INFO, __VA_ARGS__)
#define REEL_DEBUG(log, ...) REEL_LOG_(log, REEL_LOG_DEBUG, __VA_ARGS__)

#endif
