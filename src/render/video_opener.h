/*
 * Opening a video source (demuxer, stream search, decoder, first frame) takes tens of
 * milliseconds on one core. While an engine's prepare opens one video layer's source, or works on
 * the layers after it, the opener opens the next video layer's on a thread of its own. At most one
 * is opened ahead; prepare takes it, or its error, when it comes to that layer. Both engines use
 * it; only FFmpeg work runs on its thread (no GL).
 */
#ifndef REEL_RENDER_VIDEO_OPENER_H
#define REEL_RENDER_VIDEO_OPENER_H

#include <pthread.h>
#include <stdbool.h>

#include "core/err.h"
#include "core/log.h"
#include "render/engine.h"
#include "render/video_source.h"
#include "timeline/timeline.h"

struct reel_video_opener {
    /* Set by reel_video_opener_init. */
    int threads;                        /* decoder threads, as for reel_video_source_open */
    struct reel_video_source_opts base; /* hwdec, gpu, prefetch; no_deinterlace is per layer */
    struct reel_log *log;

    /* The open ahead; layer -1 when idle. */
    pthread_t thread;
    int layer;
    const char *path;
    struct reel_video_source_opts vo;
    struct reel_video_source *vs;
    struct reel_err err;
    int ret;
};

/* An idle opener for eng's sources: its decoder threads, hwdec, GPU and log. is_prefetched: the
 * engine decodes ahead on a thread of its own (see reel_video_source_opts). */
void reel_video_opener_init(struct reel_video_opener *o, const struct reel_engine *eng,
                            bool is_prefetched);

/*
 * Layer i's source (a visual video layer): the one opened ahead when it is layer i's, else opened
 * here; either way the next video layer after i starts opening meanwhile. Returns 0 with *out set,
 * or the error of the open (err filled, *out NULL; -REEL_EASSET_NOT_FOUND for a layer without a
 * file).
 */
int reel_video_opener_take(struct reel_video_opener *o, const struct reel_timeline *tl, int i,
                           struct reel_video_source **out, struct reel_err *err);

/* Wait for an open in progress and close what nobody took. The opener is idle after. */
void reel_video_opener_stop(struct reel_video_opener *o);

#endif
