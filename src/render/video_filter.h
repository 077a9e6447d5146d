/*
 * What a video source's frames need before any engine draws them, decided once from the stream
 * and its first decoded frame, and applied there so that both engines receive the same pictures
 * (docs/engines.md, "Interlacing, primaries and HDR"):
 * - interlaced video (the stream's field order, or frames flagged interlaced) is deinterlaced with
 *   bwdif, one frame out per frame in, the field order taken from the stream (else the frames);
 * - SDR video tagged BT.2020, SMPTE 170M or BT.470 B/G primaries is converted to BT.709 primaries
 *   in linear light (zscale), coming out as 8-bit RGB (gbrp, gbrap with alpha);
 * - PQ (SMPTE ST 2084) and HLG (ARIB STD-B67) video is tone-mapped to SDR BT.709 with Hable's
 *   curve on max(R,G,B), peak 1000 cd/m2 (REEL_VIDEO_HDR_PEAK_NITS), also as 8-bit RGB.
 * BT.709 and untagged progressive video passes through untouched, at no cost.
 * One instance per video source; used by the thread that uses the source.
 */
#ifndef REEL_RENDER_VIDEO_FILTER_H
#define REEL_RENDER_VIDEO_FILTER_H

#include <stdbool.h>

#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#include "core/log.h"

/* Peak luminance that HDR tone mapping maps to BT.709 white; brighter content clips. */
#define REEL_VIDEO_HDR_PEAK_NITS 1000
/* Luminance that linear 1.0 stands for (the SDR reference white). */
#define REEL_VIDEO_SDR_WHITE_NITS 100

struct reel_video_filter;

/* Decodes the next frame into dst (pts in microseconds): 0, AVERROR_EOF or another AVERROR. */
typedef int (*reel_video_decode_fn)(void *ctx, AVFrame *dst);

/*
 * A filter for stream st of the file at path (for log lines). deinterlace false turns
 * deinterlacing off (the layer's "deinterlace": false). st is read here only; nothing is decided
 * until the first frame. Returns 0 or -REEL_ENOMEM.
 */
int reel_video_filter_create(const AVStream *st, bool deinterlace, const char *path,
                             struct reel_log *log, struct reel_video_filter **out);
void reel_video_filter_free(struct reel_video_filter **vf);

/* Forget the frames inside the filter (after a seek, or when decoding is closed); what was decided
 * from the first frame stays. */
void reel_video_filter_reset(struct reel_video_filter *vf);

/*
 * The next frame to show: decodes through decode(ctx, ...) as many frames as the filter needs and
 * returns the filtered one in dst (unreferenced first), with the pts of the decoded frame it
 * stands for. The first frame ever decoded decides what the filter does.
 * Returns 0, AVERROR_EOF at the end of the stream, or another negative AVERROR.
 */
int reel_video_filter_get(struct reel_video_filter *vf, reel_video_decode_fn decode, void *ctx,
                          AVFrame *dst);

/* Whether each frame out depends on that frame alone (false while deinterlacing, which reads the
 * neighbouring frames, and before the first frame has decided). Frames that are never shown may
 * then go undecoded without changing the ones that are. */
bool reel_video_filter_is_per_frame(const struct reel_video_filter *vf);

/* What the filter does, for log lines ("none" before the first frame or when nothing). */
const char *reel_video_filter_describe(const struct reel_video_filter *vf);

#endif
