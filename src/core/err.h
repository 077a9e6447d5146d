/*
 * reel error codes and error records.
 *
 * Every fallible function returns 0 on success or a negative REEL_E* code. The list below is the
 * single definition of the codes: it expands into the enum, the API code strings ("invalid_job")
 * and a short default message. The API and the job status carry the code string; troubleshooting
 * docs map each one to causes and fixes.
 */
#ifndef REEL_CORE_ERR_H
#define REEL_CORE_ERR_H

#include <stddef.h>

/* X(ENUM_SUFFIX, "api_code", "default message") */
#define REEL_ERRORS(X)                                                                \
    X(INVALID_JSON, "invalid_json", "the document is not valid JSON")                 \
    X(INVALID_JOB, "invalid_job", "the job is not valid")                             \
    X(UNKNOWN_FIELD, "unknown_field", "unknown field")                                \
    X(LIMIT, "limit_exceeded", "a limit was exceeded")                                \
    X(UNAUTHORIZED, "unauthorized", "missing or wrong bearer token")                  \
    X(NOT_FOUND, "not_found", "not found")                                            \
    X(CONFLICT, "conflict", "the request conflicts with the resource's state")        \
    X(TOO_LARGE, "payload_too_large", "the request body is too large")                \
    X(MEDIA_TYPE, "unsupported_media_type", "unsupported media type")                 \
    X(RATE_LIMITED, "rate_limited", "too many requests")                              \
    X(UNAVAILABLE, "unavailable", "a required service is unavailable")                \
    X(ASSET_NOT_FOUND, "asset_not_found", "asset not found")                          \
    X(ASSET_FETCH, "asset_fetch_failed", "asset download failed")                     \
    X(ASSET_UNSUPPORTED, "asset_unsupported", "asset format not supported")           \
    X(DECODE, "decode_failed", "decoding a media file failed")                        \
    X(ENGINE_UNAVAILABLE, "engine_unavailable", "the render engine is not available") \
    X(ENCODER_UNAVAILABLE, "encoder_unavailable", "no usable encoder")                \
    X(RENDER, "render_failed", "rendering failed")                                    \
    X(OUTPUT, "output_failed", "writing the output file failed")                      \
    X(TIMEOUT, "timeout", "the job ran past its time limit")                          \
    X(CANCELED, "canceled", "the job was canceled")                                   \
    X(INTERNAL, "internal", "internal error")                                         \
    X(NOMEM, "internal", "out of memory")                                             \
    X(AGAIN, "internal", "try again (internal flow control)")                         \
    X(EOF, "internal", "end of stream (internal flow control)")

enum reel_errcode {
    REEL_OK = 0,
#define REEL_ERR_ENUM_(name, code, msg) REEL_E##name,
    REEL_ERRORS(REEL_ERR_ENUM_)
#undef REEL_ERR_ENUM_
        REEL_E_COUNT_
};
/* Functions return -REEL_Exxx; these helpers accept either sign. */

/* API code string ("invalid_job") of an error code; "internal" for unknown values. */
const char *reel_err_code_str(int err);
/* Default one-line message of an error code. */
const char *reel_err_default_msg(int err);
/* Parse an API code string back into a positive code; 0 when unknown. */
int reel_err_from_code_str(const char *s);

/*
 * One problem: a code, an optional JSON path ("layers[3].animate.opacity[1].time") and a message.
 * Fixed-size buffers so an error can be filled anywhere without allocation.
 */
struct reel_err {
    int code; /* positive REEL_Exxx, 0 = none */
    char path[256];
    char msg[512];
};

/* Fill err (may be NULL) and return -code. printf-style message. */
int reel_err_set(struct reel_err *err, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * A growable list of problems, used where every problem is reported at once (validation).
 * Zero-initialise, then reel_errlist_uninit() frees the storage.
 */
struct reel_errlist {
    struct reel_err *items;
    size_t count, cap;
    size_t max_items; /* 0 = default cap of 1000; further problems are counted in dropped */
    size_t dropped;
};

/* Append a problem; returns -code (never fails: on allocation failure the problem is dropped). */
int reel_errlist_add(struct reel_errlist *l, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void reel_errlist_uninit(struct reel_errlist *l);

/* Map an FFmpeg AVERROR into a reel code chosen by the caller's context; writes av_err2str. */
int reel_err_from_av(struct reel_err *err, int code, int averr, const char *what);

#endif
