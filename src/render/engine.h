/*
 * The engine interface: a small table of functions per engine (gl, cpu). The core allocates the
 * engine with priv_size bytes of private state and never tests an engine's name; it reads caps.
 *
 * Threading: an engine instance is used by one thread at a time (the job's render thread), from
 * init to uninit. Several instances may live in one process.
 */
#ifndef REEL_RENDER_ENGINE_H
#define REEL_RENDER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "core/err.h"
#include "core/log.h"
#include "render/scene.h"

struct reel_engine_cfg {
    int width, height;          /* output size */
    enum AVPixelFormat pix_fmt; /* frame layout the caller wants from render (caps.pix_fmts) */
    int threads;                /* worker threads the engine may use; 0 = auto */
    int gpu_index;              /* gl: which device, -1 = auto */
    const char *hwdec;          /* video decoding, "auto" or "none" (NULL = auto); borrowed */
    struct reel_log *log;       /* borrowed for the engine's lifetime */
};

struct reel_engine_caps {
    bool is_hw;                     /* renders on a GPU */
    enum AVPixelFormat pix_fmts[8]; /* output formats it can produce, AV_PIX_FMT_NONE-terminated */
    int max_layers;                 /* 0 = unlimited */
};

/* Seconds an engine spent per stage since prepare, summed over frames (wall time on the render
 * thread; work an engine runs in parallel counts once). Stages an engine does not have stay 0. */
struct reel_engine_stats {
    double decode_s;   /* source video: decode and fit/scale to the layer's box */
    double upload_s;   /* pictures sent to the device (gl) */
    double compose_s;  /* layers drawn into the frame */
    double convert_s;  /* RGBA to the output layout (YUV) */
    double readback_s; /* frames brought back from the device (gl) */
};

struct reel_engine;

struct reel_engine_ops {
    const char *name; /* "gl", "cpu" */
    size_t priv_size;
    /* 0 if usable on this host; cheap, no side effects beyond a log line. */
    int (*probe)(const struct reel_engine_cfg *cfg);
    int (*init)(struct reel_engine *eng, const struct reel_engine_cfg *cfg);
    /* Must cope with a failed or partial init. */
    void (*uninit)(struct reel_engine *eng);
    /* Build programs/graphs for a scene (borrowed until uninit). Nothing compiles after this. */
    int (*prepare)(struct reel_engine *eng, const struct reel_scene *scene);
    /*
     * Render the frame at output time pts_us into a new AVFrame in cfg.pix_fmt, sized
     * cfg.width x cfg.height, with colour tags set (BT.709, limited range for YUV). The caller owns
     * *out (av_frame_free). Errors: -REEL_ERENDER, -REEL_EDECODE, -REEL_ENOMEM.
     */
    int (*render)(struct reel_engine *eng, int64_t pts_us, AVFrame **out);
    void (*query_caps)(const struct reel_engine *eng, struct reel_engine_caps *caps);

    /* ---- Optional; NULL when an engine does not offer them. ---- */

    /* For `reel probe`: the devices the engine sees, the one it would choose and why, one item
     * per line, into buf (always NUL-terminated). May initialise and release a device. */
    void (*describe)(const struct reel_engine_cfg *cfg, char *buf, size_t cap);
    /*
     * Pipelined rendering, so that composing frame n+1 overlaps the transfer of frame n.
     * send_time queues the frame at output time pts_us: 0, -REEL_EAGAIN when every in-flight slot
     * is taken (receive a frame first, then send the same time again), or -REEL_ERENDER /
     * -REEL_EDECODE / -REEL_ENOMEM (job over, eng->err says why). send_time(INT64_MIN) flushes:
     * no more times follow; later sends return -REEL_EEOF until the flush is drained.
     * receive_frame returns the oldest queued frame in send order (a new AVFrame as render makes
     * them, pts = its pts_us; the caller frees it): 0; -REEL_EAGAIN when nothing is queued, or when
     * the oldest frame is not finished and a slot is still free (send more); it blocks for the
     * oldest frame when all slots are taken or a flush is pending; -REEL_EEOF once a flush has
     * been drained (after which the engine accepts send_time again). render() must not be called
     * while frames are queued (it returns -REEL_ERENDER then).
     */
    int (*send_time)(struct reel_engine *eng, int64_t pts_us);
    int (*receive_frame)(struct reel_engine *eng, AVFrame **out);
    /* Stage times so far (bench instrumentation); any thread that owns the engine may call it. */
    void (*get_stats)(const struct reel_engine *eng, struct reel_engine_stats *st);
};

struct reel_engine {
    const struct reel_engine_ops *ops;
    void *priv; /* priv_size bytes, zeroed */
    struct reel_engine_cfg cfg;
    struct reel_log *log;
    struct reel_err err; /* details of the last failure, filled by the engine */
};

/* Registry: the linked-in engines, in preference order ("gl", "cpu"). NULL-terminated. */
extern const struct reel_engine_ops *const reel_engine_registry[];
const struct reel_engine_ops *reel_engine_find(const char *name);

/*
 * Create and init an engine by name. On failure returns a negative code, *out is NULL and err (may
 * be NULL) says why (-REEL_EENGINE_UNAVAILABLE when unknown or its probe/init fails).
 */
int reel_engine_create(const char *name, const struct reel_engine_cfg *cfg, struct reel_log *log,
                       struct reel_engine **out, struct reel_err *err);
void reel_engine_destroy(struct reel_engine **eng);

#endif
