/*
 * The render loop: one job from a resolved timeline to a finished file. Chooses the engine (auto:
 * a hardware gl engine, else cpu; falls back to the other when the chosen one fails to start),
 * prepares the scene once, renders frame n at t = n / fps, and streams frames to the output on an
 * encoder thread through a bounded queue (memory does not grow with duration); the audio is mixed
 * and encoded on a thread of its own that keeps near the video.
 */
#ifndef REEL_RENDER_RENDER_H
#define REEL_RENDER_RENDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/timeline.h"

struct reel_progress {
    int64_t frames_done, frames_total;
    double fps;   /* frames per second so far */
    double eta_s; /* seconds left, estimated */
    double elapsed_s;
};

/*
 * Per-stage wall time in seconds, measured by the render loop. The render thread (prepare, render),
 * the encoder thread (encode) and the audio thread (audio) run at once, so the stages add up to
 * more than total_s;
 * queue_full_s and encoder_idle_s say which side waited for the other.
 */
struct reel_stage_times {
    double prepare_s; /* scene rasterisation, engine prepare */
    double render_s;  /* engine render (decode + compose + convert) */
    double encode_s;  /* video encoder, packets muxed as they come (on the encoder thread) */
    double audio_s;   /* audio mix + encode (on the audio thread) */
    double mux_s;     /* finishing the file: delayed frames, the audio's last part, trailer,
                       * faststart, sync */
    double total_s;
    /* Inside render_s, from the engine's get_stats (has_engine_stats) plus the render loop's own
     * RGBA-to-YUV conversion (in convert_s) when the engine cannot produce the encoder's layout. */
    bool has_engine_stats;
    double decode_s, upload_s, compose_s, convert_s, readback_s;
    double queue_full_s;   /* render thread blocked on a full encoder queue (encoder-bound) */
    double encoder_idle_s; /* encoder thread waiting for a frame (render-bound) */
};

struct reel_render_opts {
    const struct reel_timeline *tl; /* resolved; borrowed */
    const char *out_path;
    const char *engine;             /* "auto", "gl", "cpu"; NULL = the job's */
    enum reel_encoder_pref encoder; /* NONE = the job's */
    const char *const *font_dirs;   /* extra font folders, NULL-terminated, may be NULL */
    int threads;                    /* 0 = auto */
    int gpu_index;                  /* -1 = auto */
    const char *hwdec;              /* video decoding: "auto", "none"; NULL = auto */
    bool skip_encode;               /* bench: compose only, no output file */
    /* With skip_encode: receives each finished frame, in the engine's layout, and owns it. */
    void (*on_frame)(void *opaque, AVFrame *frame);
    void *on_frame_opaque;
    struct reel_log *log;
    /* Called from the render thread at most ~4 times a second and once at the end. */
    void (*progress)(void *opaque, const struct reel_progress *p);
    void *progress_opaque;
    atomic_int *cancel; /* set non-zero to stop; the job ends with -REEL_ECANCELED. May be NULL. */
};

struct reel_render_result {
    char engine[16];       /* engine used */
    bool engine_fell_back; /* the requested/auto-chosen engine failed to start; see fallback_reason
                            */
    char fallback_reason[256];
    char encoder[32]; /* video driver used */
    int64_t frames;
    int64_t bytes;
    struct reel_stage_times times;
    char stage[16];      /* on failure: where ("raster", "engine", "render", "encode", ...) */
    struct reel_err err; /* on failure: code, JSON path when one applies, message */
};

/* Render a job to opts->out_path. Returns 0 or a negative code (res->err filled). */
int reel_render_job(const struct reel_render_opts *opts, struct reel_render_result *res);

/* Render the single frame at t_us to a PNG (reel frame). */
int reel_render_still(const struct reel_render_opts *opts, int64_t t_us, const char *png_path,
                      struct reel_render_result *res);

/* Choose the engine name for "auto": the first registered engine whose caps say hardware and whose
 * probe passes, else "cpu". */
const char *reel_render_auto_engine(int gpu_index, struct reel_log *log);

#endif
