#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>

#include "core/err.h"

static const char *const code_strs[] = {"ok",
#define X_(name, code, msg) code,
                                        REEL_ERRORS(X_)
#undef X_
};

static const char *const default_msgs[] = {"ok",
#define X_(name, code, msg) msg,
                                           REEL_ERRORS(X_)
#undef X_
};

static int norm(int err)
{
    if (err < 0)
        err = -err;
    if (err >= REEL_E_COUNT_)
        err = REEL_EINTERNAL;
    return err;
}

const char *reel_err_code_str(int err)
{
    return code_strs[norm(err)];
}

const char *reel_err_default_msg(int err)
{
    return default_msgs[norm(err)];
}

int reel_err_from_code_str(const char *s)
{
    if (!s)
        return 0;
    for (int i = 1; i < REEL_E_COUNT_; i++)
        if (!strcmp(code_strs[i], s))
            return i;
    return 0;
}

static void fill(struct reel_err *e, int code, const char *path, const char *fmt, va_list ap)
{
    e->code = norm(code);
    snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
    if (fmt)
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    else
        snprintf(e->msg, sizeof(e->msg), "%s", default_msgs[e->code]);
}

int reel_err_set(struct reel_err *err, int code, const char *path, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        fill(err, code, path, fmt, ap);
        va_end(ap);
    }
    return -norm(code);
}

int reel_errlist_add(struct reel_errlist *l, int code, const char *path, const char *fmt, ...)
{
    size_t max = l->max_items ? l->max_items : 1000;
    if (l->count >= max) {
        l->dropped++;
        return -norm(code);
    }
    if (l->count == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        struct reel_err *n = realloc(l->items, ncap * sizeof(*n));
        if (!n) {
            l->dropped++;
            return -norm(code);
        }
        l->items = n;
        l->cap = ncap;
    }
    va_list ap;
    va_start(ap, fmt);
    fill(&l->items[l->count++], code, path, fmt, ap);
    va_end(ap);
    return -norm(code);
}

void reel_errlist_uninit(struct reel_errlist *l)
{
    free(l->items);
    l->items = NULL;
    l->count = l->cap = l->dropped = 0;
}

int reel_err_from_av(struct reel_err *err, int code, int averr, const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(averr, buf, sizeof(buf));
    return reel_err_set(err, code, NULL, "%s: %s (AVERROR %d)", what ? what : "ffmpeg", buf, averr);
}
