/*
 * What `reel serve` and `reel worker` share on their command lines: the job limits (the same
 * flags and variables in both, so the jobs a server accepts are the jobs its workers run) and the
 * checks of the engine, encoder, hwdec and log choices.
 */
#ifndef REEL_JOB_CLI_COMMON_H
#define REEL_JOB_CLI_COMMON_H

#include <stdint.h>

#include "core/log.h"
#include "timeline/parse.h"

/* The job limit flags as given; 0 = not given (the default stays). */
struct reel_cli_limits {
    int64_t max_layers, max_keyframes, max_text, max_width, max_height, max_fps;
    int64_t max_duration_s, job_timeout_s, max_attempts;
};

/* Set in *lim each limit given in *f; the others are left as they are. */
void reel_cli_limits_apply(const struct reel_cli_limits *f, struct reel_limits *lim);

/* The choices both commands take; NULL = not given. */
struct reel_cli_common {
    const char *engine, *encoder, *hwdec, *log_format, *log_level;
};

/* Prints a usage error about --flag with value val and returns the exit status (2). */
typedef int (*reel_cli_bad_fn)(const char *flag, const char *val, const char *why);

/*
 * Check the choices in *c and parse the log level (info when not given) into *level. On a bad
 * value returns bad(flag, value, why) with choice_why for a value not in a list and level_why for
 * an unknown log level; 0 when every value is good.
 */
int reel_cli_common_check(const struct reel_cli_common *c, enum reel_log_level *level,
                          reel_cli_bad_fn bad, const char *choice_why, const char *level_why);

/* Set up logging to stderr in the format (text unless "json") and at the level given. */
void reel_cli_log_setup(const struct reel_cli_common *c, enum reel_log_level level);

#endif
