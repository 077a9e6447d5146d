/*
 * Internals shared by the job parser's files (parse.c, parse_value.c, parse_layer.c, merge.c).
 * Not part of the module's interface: include only from src/timeline/parse*.c and merge.c.
 *
 * The parser works on its own duplicate of the job tree: merging rewrites string nodes in place,
 * then the validators walk the merged tree with a path that always names the value being read.
 */
#ifndef REEL_TIMELINE_PARSE_PRIV_H
#define REEL_TIMELINE_PARSE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "timeline/parse.h"
#include "timeline/timeline.h"

/* Marks merging leaves on the nodes it rewrote; the typed readers consult them. */
enum {
    PARSE_MARK_TYPED = 1u,    /* "{{name}}" replaced by the data value, keeping its JSON type */
    PARSE_MARK_SOFT = 2u,     /* "{{name|default}}" fell back to its default: text that may stand
                                 for a number or a boolean where the field wants one */
    PARSE_MARK_POISONED = 4u, /* merging failed here and said so; readers stay silent */
};

struct parse_mark {
    const cJSON *node;
    unsigned flags;
};

/* Longest time accepted anywhere, in seconds (keeps microsecond sums far from int64 overflow). */
#define PARSE_TIME_MAX_S 1e9

struct parse_ctx {
    const struct reel_limits *lim;
    struct reel_errlist *errs;
    int first_code; /* positive code of the first problem this call reported, 0 = none */

    struct parse_mark *marks; /* sorted by node address once merging is done */
    size_t n_marks, cap_marks;

    char path[512];
    size_t path_len;

    int n_keyframes;
    bool keyframes_over;

    /* output facts the layers depend on */
    int out_w, out_h;
    bool has_out_dur;
    int64_t out_dur_us;
};

/* ---- JSON path building: push returns the length to restore with path_pop. ---- */

static inline size_t path_fix(struct parse_ctx *c, size_t old, int n)
{
    size_t room = sizeof(c->path) - old;
    c->path_len = n < 0 ? old : (size_t)n < room ? old + (size_t)n : sizeof(c->path) - 1;
    c->path[c->path_len] = '\0';
    return old;
}

static inline size_t path_key(struct parse_ctx *c, const char *key)
{
    size_t old = c->path_len;
    int n = snprintf(c->path + old, sizeof(c->path) - old, old ? ".%s" : "%s", key);
    return path_fix(c, old, n);
}

static inline size_t path_index(struct parse_ctx *c, int i)
{
    size_t old = c->path_len;
    int n = snprintf(c->path + old, sizeof(c->path) - old, "[%d]", i);
    return path_fix(c, old, n);
}

static inline void path_pop(struct parse_ctx *c, size_t len)
{
    c->path_len = len;
    c->path[len] = '\0';
}

/* ---- problems ---- */

/* Report a problem at the current path. */
void reel_parse_err(struct parse_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Report a problem at the current path plus ".key". */
void reel_parse_err_at(struct parse_ctx *c, const char *key, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- merge marks ---- */

/* Record a mark (merging). Returns 0 or -REEL_ENOMEM. */
int reel_parse_mark_add(struct parse_ctx *c, const cJSON *node, unsigned flags);
/* Sort the marks for lookup; call once merging is done. */
void reel_parse_marks_seal(struct parse_ctx *c);
/* Flags of a node, 0 when unmarked. */
unsigned reel_parse_mark_of(const struct parse_ctx *c, const cJSON *node);

/*
 * Apply merge fields to every string value of root except the root's "data" member
 * (SPEC 2.6). caller_data overrides job_data; either may be NULL. Problems go to c.
 * Returns 0, or -REEL_ENOMEM when the tree could not be rewritten.
 */
int reel_parse_merge(struct parse_ctx *c, cJSON *root, const cJSON *job_data,
                     const cJSON *caller_data);

/* ---- typed readers ----
 * Each reads obj's member key (case-sensitive; JSON null counts as absent) and returns
 * 1 when present and valid (the result is stored), 0 when absent (nothing stored, nothing
 * reported) or -1 when present but invalid (reported at the member's path, nothing stored).
 * The *_value variants read a node at the current path instead. */

enum {
    NUM_INT = 1u,      /* must be a whole number */
    NUM_LO_OPEN = 2u,  /* must be > lo rather than >= lo */
    NUM_HI_LIMIT = 4u, /* above hi is limit_exceeded rather than invalid_job */
};

struct num_rule {
    double lo, hi;
    unsigned flags;
};

struct parse_name {
    const char *name;
    int value;
};

/* Member lookup: first member named key (case-sensitive), NULL when absent or JSON null. */
cJSON *reel_parse_member(const cJSON *obj, const char *key);

int reel_parse_num_value(struct parse_ctx *c, cJSON *v, const struct num_rule *r, double *out);
int reel_parse_num(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                   double *out);
int reel_parse_int(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                   int *out);
/* Seconds converted to microseconds (rule in seconds). */
int reel_parse_time(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                    int64_t *out_us);
/* A string (valid UTF-8, at most max_bytes when max_bytes > 0, non-empty when non_empty).
 * The result points into the tree. */
int reel_parse_str_value(struct parse_ctx *c, cJSON *v, size_t max_bytes, bool non_empty,
                         const char **out);
int reel_parse_str(struct parse_ctx *c, cJSON *obj, const char *key, size_t max_bytes,
                   bool non_empty, const char **out);
/* Like reel_parse_str, stores a malloc'd copy in *out (replacing and freeing what was there). */
int reel_parse_strdup(struct parse_ctx *c, cJSON *obj, const char *key, size_t max_bytes,
                      bool non_empty, char **out);
int reel_parse_bool(struct parse_ctx *c, cJSON *obj, const char *key, bool *out);
/* One of names (terminated by a NULL name). */
int reel_parse_enum_value(struct parse_ctx *c, cJSON *v, const struct parse_name *names, int *out);
int reel_parse_enum(struct parse_ctx *c, cJSON *obj, const char *key,
                    const struct parse_name *names, int *out);
int reel_parse_color(struct parse_ctx *c, cJSON *obj, const char *key, struct reel_color *out);
int reel_parse_easing(struct parse_ctx *c, cJSON *obj, const char *key, struct reel_easing *out);
/* Containers: *out borrows the member. */
int reel_parse_obj(struct parse_ctx *c, cJSON *obj, const char *key, cJSON **out);
int reel_parse_arr(struct parse_ctx *c, cJSON *obj, const char *key, cJSON **out);

/* Report "missing required field" at the current path plus ".key". */
void reel_parse_required(struct parse_ctx *c, const char *key);

/*
 * Report every member of obj whose name is not in allowed (NULL-terminated) as unknown_field,
 * and every repeated allowed member as invalid_job. A name found in elsewhere (NULL-terminated,
 * may be NULL) is reported as not belonging to `what` (e.g. "color layers") rather than unknown.
 */
void reel_parse_check_keys(struct parse_ctx *c, const cJSON *obj, const char *const *allowed,
                           const char *const *elsewhere, const char *what);

/* A finite number as the shortest text that reads back to it; whole numbers without exponent. */
void reel_parse_fmt_number(double v, char *buf, size_t cap);

/* Microseconds as exact seconds ("3600.000001", "0.5", "2"): never rounded in a message. */
void reel_parse_fmt_us(int64_t us, char *buf, size_t cap);

/*
 * Text from the document (a key, a raw string) made safe to echo in a message or a path: valid
 * UTF-8 is kept, each byte of an invalid sequence and each control character becomes \xHH. At
 * most max_bytes of s are shown, cut at a character boundary and marked with "...".
 */
void reel_parse_quote(const char *s, size_t max_bytes, char *buf, size_t cap);

/* "a string", "a number", ... for messages. */
const char *reel_parse_type_name(const cJSON *v);

/* Count the code points of valid UTF-8 s; -1 when s is not valid UTF-8. */
long reel_parse_utf8_count(const char *s);

/* Validate the layers array of the merged root into tl (output must be parsed first). */
void reel_parse_layers(struct parse_ctx *c, cJSON *root, struct reel_timeline *tl);

#endif
