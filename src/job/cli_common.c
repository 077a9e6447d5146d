#include "job/cli_common.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void reel_cli_limits_apply(const struct reel_cli_limits *f, struct reel_limits *lim)
{
    if (f->max_layers)
        lim->max_layers = (int)f->max_layers;
    if (f->max_keyframes)
        lim->max_keyframes = (int)f->max_keyframes;
    if (f->max_text)
        lim->max_text_chars = (int)f->max_text;
    if (f->max_width)
        lim->max_width = (int)f->max_width;
    if (f->max_height)
        lim->max_height = (int)f->max_height;
    if (f->max_fps)
        lim->max_fps = (int)f->max_fps;
    if (f->max_duration_s)
        lim->max_duration_us = f->max_duration_s * 1000000;
    if (f->job_timeout_s)
        lim->max_job_runtime_us = f->job_timeout_s * 1000000;
    if (f->max_attempts)
        lim->max_attempts = (int)f->max_attempts;
}

static bool one_of(const char *val, const char *const *allowed)
{
    if (!val)
        return true;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(val, allowed[i]))
            return true;
    return false;
}

int reel_cli_common_check(const struct reel_cli_common *c, enum reel_log_level *level,
                          reel_cli_bad_fn bad, const char *choice_why, const char *level_why)
{
    static const char *const engines[] = {"auto", "gl", "cpu", NULL};
    static const char *const encoders[] = {"auto", "nvenc", "vaapi", "software", NULL};
    static const char *const hwdecs[] = {"auto", "none", NULL};
    static const char *const formats[] = {"text", "json", NULL};
    if (!one_of(c->engine, engines))
        return bad("engine", c->engine, choice_why);
    if (!one_of(c->encoder, encoders))
        return bad("encoder", c->encoder, choice_why);
    if (!one_of(c->hwdec, hwdecs))
        return bad("hwdec", c->hwdec, choice_why);
    if (!one_of(c->log_format, formats))
        return bad("log-format", c->log_format, choice_why);
    *level = reel_log_level_parse(c->log_level ? c->log_level : "info");
    if (*level == REEL_LOG_NONE)
        return bad("log-level", c->log_level, level_why);
    return 0;
}

void reel_cli_log_setup(const struct reel_cli_common *c, enum reel_log_level level)
{
    reel_log_setup(stderr,
                   c->log_format && !strcmp(c->log_format, "json") ? REEL_LOG_FORMAT_JSON
                                                                   : REEL_LOG_FORMAT_TEXT,
                   level);
}
