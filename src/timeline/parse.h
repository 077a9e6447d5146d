/*
 * Job parsing and validation (SPEC section 2, limits of section 5).
 *
 * reel_timeline_parse() reads a job document, applies merge fields ({{name}}, {{name|default}}),
 * checks every field (types, ranges, unknown fields, limits) and reports every problem at once into
 * an error list, each with its JSON path ("layers[3].animate.opacity[1].time") and code.
 * It does no I/O: media sources are resolved and probed later (src/assets/resolve.h).
 *
 * Thread-safe (no global state). Ownership: on success *out is a new timeline the caller destroys.
 */
#ifndef REEL_TIMELINE_PARSE_H
#define REEL_TIMELINE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "timeline/timeline.h"

struct cJSON;

struct reel_limits {
    size_t max_body_bytes;      /* 1 MiB */
    int max_json_depth;         /* 32 */
    int max_layers;             /* 500 */
    int max_keyframes;          /* 10000 per job */
    int max_text_chars;         /* 10000 per layer (code points) */
    int max_width, max_height;  /* 7680 x 4320 */
    int max_fps;                /* 120 */
    int64_t max_duration_us;    /* 3600 s */
    int max_source_px;          /* 8192 (each side) */
    int64_t max_source_bytes;   /* 4 GiB */
    int64_t fetch_timeout_us;   /* 60 s */
    int64_t max_fetch_bytes;    /* 2 GiB */
    int64_t max_job_runtime_us; /* 1 h */
    int max_attempts;           /* 3 */
};

/* Fill *l with SPEC section 5 defaults. */
void reel_limits_default(struct reel_limits *l);

struct reel_parse_opts {
    const struct reel_limits *limits; /* NULL = defaults */
    /* Caller's merge data, overriding the job's "data" (e.g. --data k=v). May be NULL.
     * Borrowed for the duration of the call. Values are JSON (string values for --data). */
    const struct cJSON *data;
    const char *base_dir; /* copied into the timeline (folder of the job file), may be NULL */
    /* When the document is an object but has problems, still hand back the timeline built so far
     * (fields with problems keep their defaults), so that a caller listing every problem can also
     * check the job's assets. The call still fails; the caller destroys *out. */
    bool keep_partial;
};

/*
 * Parse and validate a job document of len bytes (need not be NUL-terminated).
 * Returns 0 and a new timeline in *out, or a negative code with every problem appended to errs
 * (errs->count >= 1); *out is then NULL (or the partial timeline with opts->keep_partial). The
 * first problem's code is returned (-REEL_EINVALID_JSON for syntax errors, which are reported with
 * the byte offset in the message; -REEL_ETOO_LARGE for a document over max_body_bytes). A string
 * holding an escaped NUL (\u0000) is invalid_job at its path: the text after it would otherwise be
 * dropped without a word.
 * Duration defaults that need media (video/audio lengths) are left for resolve; an unknowable
 * output duration is reported by resolve, not here.
 */
int reel_timeline_parse(const char *json, size_t len, const struct reel_parse_opts *opts,
                        struct reel_timeline **out, struct reel_errlist *errs);

/* Same, from an already parsed cJSON tree (borrowed). A tree cannot show where cJSON cut a string
 * at an escaped NUL: callers holding the text should use reel_timeline_parse. */
int reel_timeline_from_json(const struct cJSON *root, const struct reel_parse_opts *opts,
                            struct reel_timeline **out, struct reel_errlist *errs);

/* Parse "#rgb", "#rrggbb" or "#rrggbbaa". Returns 0 or -REEL_EINVALID_JOB. */
int reel_color_parse(const char *s, struct reel_color *out);
/* Parse an easing name or "cubic-bezier(x1,y1,x2,y2)". Returns 0 or -REEL_EINVALID_JOB. */
int reel_easing_parse(const char *s, struct reel_easing *out);

#endif
