/*
 * A video source: decodes one file's video stream for one layer, forward in time, with libavcodec
 * (FFmpeg confined to local files). Answers "the last frame whose timestamp <= source time s".
 * Seeks when asked for a time behind the current position (loops) or far ahead.
 * VP8/VP9 with an alpha channel (Matroska alpha_mode 1) are decoded with libvpx, which returns
 * yuva420p; libavcodec's own decoders drop the alpha.
 * One instance per layer; used by one thread at a time.
 */
#ifndef REEL_RENDER_VIDEO_SOURCE_H
#define REEL_RENDER_VIDEO_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "core/err.h"
#include "core/log.h"

struct reel_video_source;

/* threads: decoder threads (0 = auto: two on machines of up to 4 cores, else FFmpeg's count).
 * Errors: -REEL_EASSET_NOT_FOUND, -REEL_EASSET_UNSUPPORTED, -REEL_EDECODE. */
int reel_video_source_open(const char *path, int threads, struct reel_log *log,
                           struct reel_video_source **out, struct reel_err *err);
void reel_video_source_close(struct reel_video_source **vs);

/* What a layer asks of its source beyond the file (all zero: the defaults). */
struct reel_video_source_opts {
    bool no_deinterlace; /* draw interlaced video as stored ("deinterlace": false) */
    /* "auto" (NULL): decode on a VAAPI render node or an NVIDIA GPU (NVDEC) when one opens and
     * takes the codec and profile, else in software, saying why in one info line; "none":
     * software only. Frames come out in the pixel format the software decoder gives. */
    const char *hwdec;
    /* With hwdec: the GPU to decode on plus one (--gpu N gives N + 1, so that zero, the default,
     * means any: the first VAAPI render node that opens, CUDA's first GPU). */
    int gpu_index;
    /* Decode every frame. By default, once queries come at a steady step longer than a frame
     * (a 60 fps clip in a 30 fps job), frames no query will show and no other frame refers to
     * are not decoded; the frames shown are the same either way. */
    bool no_skip;
    /* The caller decodes ahead on a thread of its own (the cpu engine's prefetch): on a small
     * machine the decoder then runs one thread instead of two frame threads. */
    bool is_prefetched;
};

/* Whether s is a --hwdec value ("auto" or "none"). */
bool reel_video_hwdec_valid(const char *s);

/* reel_video_source_open with opts (NULL: the defaults). Frames come out deinterlaced and in
 * BT.709 as render/video_filter.h says, unless opts turns deinterlacing off. Same errors. */
int reel_video_source_open_opts(const char *path, int threads,
                                const struct reel_video_source_opts *opts, struct reel_log *log,
                                struct reel_video_source **out, struct reel_err *err);

/*
 * The frame to show at source time source_us: the last decoded frame whose timestamp <= source_us
 * (the first frame when source_us precedes it; the last frame after the end of the stream).
 * *frame is borrowed: valid until the next call or close. Its pts is in microseconds.
 * Returns 0, or -REEL_EDECODE on a decode error (err filled).
 */
int reel_video_source_get(struct reel_video_source *vs, int64_t source_us, const AVFrame **frame,
                          struct reel_err *err);

/*
 * Free the demuxer, the decoder and its frames (most of a source's memory) while the source is not
 * needed, e.g. while its layer is not visible. The next get reopens the file and seeks; frames it
 * returned before are no longer valid. Size and rotation stay known.
 */
void reel_video_source_suspend(struct reel_video_source *vs);

/* The YCbCr matrix of a decoded frame: its tag, or for untagged video BT.709 at HD sizes and
 * BT.601 below, as players assume. Both engines read video with it. */
enum AVColorSpace reel_video_frame_colorspace(const AVFrame *f);

/* Frames the decoder has returned since open (every seek and reopen included), and frames sent
 * to it to be left undecoded because no query would show them. For tests and the debug log. */
void reel_video_source_counts(const struct reel_video_source *vs, int64_t *decoded,
                              int64_t *skipped);

/* Natural size of the stream as shown: the decoded width scaled by the sample aspect ratio (a
 * 720x576 frame with SAR 64:45 is 1024x576), the decoded height; before the rotation below.
 * Callers fit this size and scale the whole frame onto it. */
void reel_video_source_size(const struct reel_video_source *vs, int *w, int *h);

/* Size of the frames as decoded (before the sample aspect ratio and the rotation). */
void reel_video_source_frame_size(const struct reel_video_source *vs, int *w, int *h);

/*
 * Clockwise rotation in degrees (0, 90, 180 or 270) that the container asks players to apply to
 * the pictures (the display matrix phones write for portrait video). Frames from
 * reel_video_source_get are not rotated; the caller turns them. A mirrored display matrix is
 * applied here, once: its frames come out flipped upside down, and this rotation completes the
 * matrix (a left-right mirror is the flip and 180 degrees), so callers only ever turn.
 */
int reel_video_source_rotation(const struct reel_video_source *vs);

/* Whether a decoded frame's samples use the full range (0-255, JPEG): the yuvj pixel formats, or
 * a frame tagged so. Pure; any thread. */
bool reel_video_frame_is_full_range(const AVFrame *f);

#endif
