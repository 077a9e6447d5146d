/*
 * Video source: one file's best video stream, decoded forward with libavcodec (in software, or
 * with --hwdec auto on a VAAPI or NVDEC device when one opens, frames brought back to memory).
 * Two frames are kept: the current one (the answer to the last query) and the next one
 * decoded after it, which tells whether a later query still maps to the current frame. Timestamps
 * are converted once to microseconds from the stream's start, so callers never see time bases.
 */
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/media.h"
#include "render/video_filter.h"
#include "render/video_source.h"
#include "timeline/timeline.h"

/* Queries further ahead than this seek (when a keyframe lies in between) instead of decoding every
 * frame up to the target. */
#define FAR_AHEAD_US (2 * REEL_US)
/* Up to this many cores, decoders run two frame threads by default (see auto_threads). */
#define SMALL_MACHINE_CORES 4
/* Most that a frame's timestamp may lie after the time asked for and still be shown. */
#define PTS_SLACK_US 500
/* How often a backward seek that landed after the target is retried further back. */
#define SEEK_RETRIES 4
/* Sample aspect ratios outside 1/MAX_SAR ... MAX_SAR are taken for damage and ignored. */
#define MAX_SAR 8
/* Most frames left undecoded and not yet passed by the current frame (see may_skip). */
#define SKIP_RING 32
/* After this many queries that needed a frame left undecoded, a source decodes every frame. */
#define MAX_SKIP_MISSES 2

struct reel_video_source {
    char *path;
    struct reel_log *log;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    int stream;
    AVRational tb;
    int64_t start_pts;    /* stream start in tb; subtracted so the first frame is near 0 */
    int64_t frame_dur_us; /* nominal frame duration, for frames without a timestamp */
    AVFrame *cur, *next;  /* pts in microseconds */
    bool has_cur, has_next;
    bool input_done;      /* demuxer hit the end; the decoder has been sent a flush */
    bool decoder_done;    /* decoder returned EOF: no frame after next */
    int64_t last_pts_us;  /* pts of the newest decoded frame, for monotonic timestamps */
    int64_t first_pts_us; /* pts of the stream's first frame */
    int width, height;    /* decoded size of the first frame */
    int disp_width;       /* width with the sample aspect ratio applied */
    int rotation;         /* clockwise degrees from the display matrix, after the flip */
    bool is_vflip;        /* frames are flipped upside down here, before the rotation */
    int threads;          /* decoder threads asked for at open */
    bool suspended;       /* demuxer and decoder closed; the next get reopens them */
    bool no_deinterlace;  /* the layer turned deinterlacing off */
    struct reel_video_filter *filter; /* deinterlacing and colour, decided on the first frame */
    /* Frames never shown (may_skip): the query being answered (with the slack; INT64_MIN outside
     * get), the steady step between queries (0: none seen), and the timestamps of the frames
     * sent to be left undecoded that the current frame has not passed yet. */
    bool skip_off;      /* opts->no_skip, or too many misses */
    bool is_prefetched; /* opts->is_prefetched */
    bool skip_paused;   /* re-decoding every frame after a miss */
    int64_t want_us, last_query_us, last_delta_us, step_us;
    int64_t skipped[SKIP_RING];
    int n_skipped, skip_misses;
    int n_damaged; /* packets the decoder refused as invalid data */
    int64_t n_decoded, n_skip_sent, n_skip_decoded;
    /* Hardware decoding: asked for at open, decided at the first open (hw_fmt NONE: software). */
    bool hw_allowed, hw_decided;
    enum AVPixelFormat hw_fmt;
    enum AVHWDeviceType hw_type;
    char hw_device[64]; /* VAAPI render node path; empty for CUDA */
    int gpu_index;      /* which GPU's device, -1 = any */
    AVFrame *hw_sw;     /* a frame transferred from the device */
    struct SwsContext *hw_sws;
};

static int averr(struct reel_video_source *vs, struct reel_err *err, int code, int ret,
                 const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(ret, buf, sizeof(buf));
    REEL_DEBUG(vs->log, "video source %s: %s: %s", vs->path, what, buf);
    return reel_err_set(err, code, NULL, "%s: %s: %s (AVERROR %d)", vs->path, what, buf, ret);
}

/* Microseconds from the stream's start for a decoded frame, forced to increase strictly so that
 * "the last frame whose pts <= t" is always well defined even with broken timestamps. */
static int64_t frame_time_us(struct reel_video_source *vs, const AVFrame *f)
{
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE)
        ts = f->pts;
    int64_t us;
    if (ts == AV_NOPTS_VALUE)
        us = vs->last_pts_us == INT64_MIN ? 0 : vs->last_pts_us + vs->frame_dur_us;
    else
        us = av_rescale_q(ts - vs->start_pts, vs->tb, AV_TIME_BASE_Q);
    if (vs->last_pts_us != INT64_MIN && us <= vs->last_pts_us)
        us = vs->last_pts_us + 1;
    return us;
}

/* Turn a decoded frame upside down in place (a copy first when the decoder still holds its
 * buffers as references). Mirrored display matrices are shown as this flip followed by a quarter
 * turn, so the engines only ever turn pictures. */
static int flip_rows(AVFrame *f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int bytes[4];
    if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) ||
        av_image_fill_linesizes(bytes, (enum AVPixelFormat)f->format, f->width) < 0)
        return AVERROR(ENOSYS);
    int ret = av_frame_make_writable(f);
    if (ret < 0)
        return ret;
    int planes = d->flags & AV_PIX_FMT_FLAG_PAL ? 1 : av_pix_fmt_count_planes(f->format);
    for (int i = 0; i < planes && i < 4; i++) {
        int sub = (i == 1 || i == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB) ? d->log2_chroma_h : 0;
        int h = AV_CEIL_RSHIFT(f->height, sub);
        size_t n = (size_t)bytes[i];
        for (int y = 0; y < h / 2; y++) {
            uint8_t *a = f->data[i] + (ptrdiff_t)y * f->linesize[i];
            uint8_t *b = f->data[i] + (ptrdiff_t)(h - 1 - y) * f->linesize[i];
            for (size_t k = 0; k < n; k++) {
                uint8_t t = a[k];
                a[k] = b[k];
                b[k] = t;
            }
        }
    }
    return 0;
}

/* Microseconds from the stream's start for a timestamp in the stream's time base. */
static int64_t packet_time_us(const struct reel_video_source *vs, int64_t ts)
{
    return av_rescale_q(ts - vs->start_pts, vs->tb, AV_TIME_BASE_Q);
}

/*
 * Whether the frame in pkt can be left undecoded (sent with AVDISCARD_NONREF: the decoder still
 * decodes it when other frames refer to it). Queries come at want_us and then every step_us (the
 * slack already added); the frame at p is shown when a query falls at or after p (less a quarter
 * frame, for rounding) and before its successor, taken to come one nominal frame later. Frames
 * whose successor is due by the current query are not shown either. A successor that comes later
 * than that (variable frame rate, rounded timestamps) or a query off the step is caught in answer,
 * which decodes again.
 */
static bool may_skip(const struct reel_video_source *vs, const AVPacket *pkt)
{
    if (vs->skip_off || vs->skip_paused || vs->step_us <= vs->frame_dur_us ||
        vs->want_us == INT64_MIN || (pkt->flags & AV_PKT_FLAG_KEY) || pkt->pts == AV_NOPTS_VALUE ||
        vs->n_skipped >= SKIP_RING || !reel_video_filter_is_per_frame(vs->filter))
        return false;
    int64_t p = packet_time_us(vs, pkt->pts);
    int64_t lo = p - vs->frame_dur_us / 4, hi = p + vs->frame_dur_us;
    int64_t q = vs->want_us;
    if (hi <= q)
        return true; /* a later frame answers the current query */
    if (lo <= q)
        return false;
    int64_t k = (lo - q + vs->step_us - 1) / vs->step_us;
    return q + k * vs->step_us >= hi;
}

/* A decoded frame was not left undecoded after all (other frames refer to it): forget it. */
static void forget_skipped(struct reel_video_source *vs, const AVFrame *f)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts == AV_NOPTS_VALUE || !vs->n_skipped)
        return;
    int64_t us = packet_time_us(vs, ts);
    for (int i = 0; i < vs->n_skipped; i++)
        if (vs->skipped[i] == us) {
            vs->skipped[i] = vs->skipped[--vs->n_skipped];
            vs->n_skip_decoded++;
            return;
        }
}

/*
 * A frame decoded on the device, brought back to memory in place of *f and converted to the
 * format the software decoder gives (the decoder's sw_pix_fmt: NV12 becomes YUV420P), so that the
 * filter and both engines see the same frames either way. Returns 0 or a negative AVERROR.
 */
static int from_device(struct reel_video_source *vs, AVFrame *f)
{
    AVFrame *sw = vs->hw_sw;
    av_frame_unref(sw);
    int ret = av_hwframe_transfer_data(sw, f, 0);
    if (ret >= 0)
        ret = av_frame_copy_props(sw, f);
    if (ret < 0)
        return ret;
    enum AVPixelFormat want = vs->dec->sw_pix_fmt;
    if (want == AV_PIX_FMT_NONE || want == sw->format) {
        av_frame_unref(f);
        av_frame_move_ref(f, sw);
        return 0;
    }
    vs->hw_sws = sws_getCachedContext(vs->hw_sws, sw->width, sw->height, sw->format, sw->width,
                                      sw->height, want, SWS_POINT | SWS_BITEXACT, NULL, NULL, NULL);
    if (!vs->hw_sws)
        return AVERROR(ENOSYS);
    AVFrame *out = av_frame_alloc();
    if (!out)
        return AVERROR(ENOMEM);
    out->format = want;
    out->width = sw->width;
    out->height = sw->height;
    ret = av_frame_get_buffer(out, 0);
    if (ret >= 0)
        ret = av_frame_copy_props(out, sw);
    if (ret >= 0)
        ret = sws_scale(vs->hw_sws, (const uint8_t *const *)sw->data, sw->linesize, 0, sw->height,
                        out->data, out->linesize);
    if (ret >= 0) {
        av_frame_unref(f);
        av_frame_move_ref(f, out);
        ret = 0;
    }
    av_frame_free(&out);
    av_frame_unref(sw);
    return ret;
}

/*
 * Decode the next frame from the file into *dst, as the decoder returns it (timestamps in
 * microseconds). Returns 0, AVERROR_EOF at the end of the stream, or another negative AVERROR.
 */
static int decode_raw(void *ctx, AVFrame *dst)
{
    struct reel_video_source *vs = ctx;
    for (;;) {
        int ret = avcodec_receive_frame(vs->dec, dst);
        if (ret == 0 && vs->hw_fmt != AV_PIX_FMT_NONE && dst->format == vs->hw_fmt)
            ret = from_device(vs, dst);
        if (ret == 0) {
            vs->n_decoded++;
            forget_skipped(vs, dst);
            dst->pts = frame_time_us(vs, dst);
            vs->last_pts_us = dst->pts;
            return 0;
        }
        if (ret == AVERROR_EOF) {
            vs->decoder_done = true;
            return AVERROR_EOF;
        }
        if (ret != AVERROR(EAGAIN))
            return ret;
        if (vs->input_done)
            return AVERROR_EOF;
        ret = av_read_frame(vs->fmt, vs->pkt);
        if (ret == AVERROR_EOF) {
            vs->input_done = true;
            ret = avcodec_send_packet(vs->dec, NULL);
            if (ret < 0 && ret != AVERROR_EOF)
                return ret;
            continue;
        }
        if (ret < 0)
            return ret;
        if (vs->pkt->stream_index == vs->stream) {
            bool skip = may_skip(vs, vs->pkt);
            vs->dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
            ret = avcodec_send_packet(vs->dec, vs->pkt);
            if (skip && ret >= 0) {
                vs->skipped[vs->n_skipped++] = packet_time_us(vs, vs->pkt->pts);
                vs->n_skip_sent++;
            }
            /* A damaged packet is skipped like players do; the next keyframe recovers. */
            if (ret == AVERROR_INVALIDDATA)
                vs->n_damaged++;
            if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_INVALIDDATA) {
                av_packet_unref(vs->pkt);
                return ret;
            }
        }
        av_packet_unref(vs->pkt);
    }
}

/*
 * The next frame to show into *dst: decoded, deinterlaced and colour-converted as the source needs
 * (render/video_filter.h), then flipped for a mirrored display matrix (after deinterlacing, which
 * needs the fields in their stored order). Returns 0, AVERROR_EOF at the end of the stream, or
 * another negative AVERROR.
 */
static int decode_one(struct reel_video_source *vs, AVFrame *dst)
{
    int ret = reel_video_filter_get(vs->filter, decode_raw, vs, dst);
    if (ret == 0 && vs->is_vflip)
        ret = flip_rows(dst);
    return ret;
}

/* Decode into next; has_next says whether one exists. */
static int fill_next(struct reel_video_source *vs)
{
    av_frame_unref(vs->next);
    vs->has_next = false;
    int ret = decode_one(vs, vs->next);
    if (ret == AVERROR_EOF)
        return 0;
    if (ret < 0)
        return ret;
    vs->has_next = true;
    return 0;
}

/* Make next the current frame and decode a new next. */
static int advance(struct reel_video_source *vs)
{
    AVFrame *t = vs->cur;
    vs->cur = vs->next;
    vs->next = t;
    vs->has_cur = true;
    return fill_next(vs);
}

/* Seek to the keyframe at or before target_us and decode the first frame after it into cur. */
static int seek_to(struct reel_video_source *vs, int64_t target_us)
{
    int64_t ts = av_rescale_q(target_us, AV_TIME_BASE_Q, vs->tb) + vs->start_pts;
    int ret = av_seek_frame(vs->fmt, vs->stream, ts, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) {
        /* Some demuxers cannot seek by timestamp; restarting from the beginning always works. */
        ret = avformat_seek_file(vs->fmt, vs->stream, INT64_MIN, vs->start_pts, vs->start_pts, 0);
        if (ret < 0)
            return ret;
    }
    avcodec_flush_buffers(vs->dec);
    reel_video_filter_reset(vs->filter);
    vs->input_done = false;
    vs->decoder_done = false;
    vs->last_pts_us = INT64_MIN;
    vs->n_skipped = 0;
    vs->has_cur = vs->has_next = false;
    av_frame_unref(vs->cur);
    ret = decode_one(vs, vs->cur);
    if (ret < 0)
        return ret;
    vs->has_cur = true;
    return fill_next(vs);
}

/*
 * The display matrix as a vertical flip (mirrored matrices only) followed by a clockwise quarter
 * turn. The matrix maps a decoded point (x, y), y down, to x' = a x + c y, y' = b x + d y
 * (libavutil/display.h); a mirror has a negative determinant, and composing it with a vertical
 * flip (negating c and d) leaves a rotation by atan2(c, a) degrees counter-clockwise. Matrices
 * that are not close to one of the eight axis-aligned orientations are ignored (returns false).
 */
static bool display_orientation(const AVStream *st, int *cw_deg, bool *is_vflip)
{
    *cw_deg = 0;
    *is_vflip = false;
    const int32_t *m =
        (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m)
        return true;
    double a = m[0] / 65536.0, b = m[1] / 65536.0, c = m[3] / 65536.0, d = m[4] / 65536.0;
    if (!(hypot(a, c) > 0.0) || !(hypot(b, d) > 0.0))
        return false;
    bool mirror = a * d - b * c < 0.0;
    if (mirror) {
        c = -c;
        d = -d;
    }
    double cw = fmod(-atan2(c, a) * 180.0 / M_PI, 360.0);
    if (cw < 0.0)
        cw += 360.0;
    int quarter = (int)floor(cw / 90.0 + 0.5) % 4;
    if (fabs(cw - quarter * 90.0) > 1.0 && fabs(cw - 360.0) > 1.0)
        return false;
    *cw_deg = quarter * 90;
    *is_vflip = mirror;
    return true;
}

/* The decoder for the stream: libvpx's for VP8/VP9 with an alpha channel, which Matroska carries
 * beside the picture (BlockAdditional) and only libvpx's decoders read; libavcodec's own
 * otherwise. */
static const AVCodec *pick_decoder(const AVStream *st, const AVCodec *def)
{
    const AVDictionaryEntry *e = av_dict_get(st->metadata, "alpha_mode", NULL, 0);
    if (!e || strcmp(e->value, "1"))
        return def;
    const char *want = st->codecpar->codec_id == AV_CODEC_ID_VP9   ? "libvpx-vp9"
                       : st->codecpar->codec_id == AV_CODEC_ID_VP8 ? "libvpx"
                                                                   : NULL;
    const AVCodec *c = want ? avcodec_find_decoder_by_name(want) : NULL;
    return c ? c : def;
}

/*
 * Decoder threads when the caller leaves it to us. On a small machine the encoder already keeps
 * every core busy; FFmpeg's own count (cores + 1) then only adds CPU and a set of frames per
 * thread. Two frame threads still decode ahead of the render thread, so a frame is ready when it
 * is asked for; a caller that decodes ahead itself gets one (w1-1080 on two cores: 10.4 CPU-s
 * against 11.1 with two frame threads). Larger machines get FFmpeg's count, so decoding keeps up
 * with a GPU.
 */
static int auto_threads(bool is_prefetched)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 && cores <= SMALL_MACHINE_CORES ? (is_prefetched ? 1 : 2) : 0;
}

bool reel_video_hwdec_valid(const char *s)
{
    return s && (!strcmp(s, "auto") || !strcmp(s, "none"));
}

/* The pixel format codec's decoder gives on a device of type t; NONE when it has none. */
static enum AVPixelFormat device_format(const AVCodec *codec, enum AVHWDeviceType t)
{
    for (int i = 0;; i++) {
        const AVCodecHWConfig *c = avcodec_get_hw_config(codec, i);
        if (!c)
            return AV_PIX_FMT_NONE;
        if ((c->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && c->device_type == t)
            return c->pix_fmt;
    }
}

/* libavcodec's get_format: the device's format when offered, else the first software format (the
 * device does not take this stream's profile, size or depth: decoding goes on in software). */
static enum AVPixelFormat pick_format(AVCodecContext *c, const enum AVPixelFormat *fmts)
{
    struct reel_video_source *vs = c->opaque;
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == vs->hw_fmt)
            return *p;
    if (vs->hw_fmt != AV_PIX_FMT_NONE) {
        const char *profile = avcodec_profile_name(c->codec_id, c->profile);
        REEL_INFO(vs->log,
                  "video source %s: %s does not decode this %s stream (profile %s); "
                  "decoding in software",
                  vs->path, av_hwdevice_get_type_name(vs->hw_type), c->codec->name,
                  profile ? profile : "unknown");
        vs->hw_fmt = AV_PIX_FMT_NONE;
        vs->hw_type = AV_HWDEVICE_TYPE_NONE; /* reopening after a suspend stays in software */
    }
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*p);
        if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL))
            return *p;
    }
    return AV_PIX_FMT_NONE;
}

/* Append a reason to why ("; "-separated). */
static void add_why(char *why, size_t cap, const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(why);
    if (n + 3 >= cap)
        return;
    if (n) {
        snprintf(why + n, cap - n, "; ");
        n += 2;
    }
    snprintf(why + n, cap - n, fmt, a, b);
}

/* Try to open a device of type t for codec: VAAPI on the GPU's render node (gpu_index N:
 * renderD(128 + N), as the encoder does; -1: each node in turn), CUDA on GPU gpu_index (-1: the
 * first) when the NVIDIA driver's control device and library exist, so that their absence costs
 * no error line. Returns the device or NULL with the reason appended to why. */
static AVBufferRef *try_device(struct reel_video_source *vs, const AVCodec *codec,
                               enum AVHWDeviceType t, char *why, size_t cap)
{
    const char *tname = av_hwdevice_get_type_name(t);
    char err[AV_ERROR_MAX_STRING_SIZE];
    AVBufferRef *ref = NULL;
    if (device_format(codec, t) == AV_PIX_FMT_NONE) {
        add_why(why, cap, "no %s decoder for %s", tname, codec->name);
        return NULL;
    }
    if (t == AV_HWDEVICE_TYPE_CUDA) {
        if (access("/dev/nvidiactl", F_OK) != 0) {
            add_why(why, cap, "%s: %s", tname, "no NVIDIA device (/dev/nvidiactl)");
            return NULL;
        }
        void *lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (!lib) {
            add_why(why, cap, "%s: %s", tname, "the NVIDIA driver library libcuda.so.1 is missing");
            return NULL;
        }
        dlclose(lib);
        char gpu[16];
        snprintf(gpu, sizeof(gpu), "%d", vs->gpu_index);
        int ret = av_hwdevice_ctx_create(&ref, t, vs->gpu_index >= 0 ? gpu : NULL, NULL, 0);
        if (ret < 0) {
            av_strerror(ret, err, sizeof(err));
            add_why(why, cap, "%s: %s", tname, err);
            return NULL;
        }
        vs->hw_device[0] = '\0';
        return ref;
    }
    char node[32] = "/dev/dri/renderD*";
    if (vs->gpu_index >= 0)
        snprintf(node, sizeof(node), "/dev/dri/renderD%d", 128 + vs->gpu_index);
    glob_t g;
    if (glob(node, 0, NULL, &g) != 0) {
        add_why(why, cap, "%s: no render node (%s)", tname, node);
        return NULL;
    }
    for (size_t i = 0; i < g.gl_pathc && !ref; i++) {
        int ret = av_hwdevice_ctx_create(&ref, t, g.gl_pathv[i], NULL, 0);
        if (ret < 0) {
            av_strerror(ret, err, sizeof(err));
            add_why(why, cap, "%s: %s", g.gl_pathv[i], err);
            ref = NULL;
        } else {
            snprintf(vs->hw_device, sizeof(vs->hw_device), "%s", g.gl_pathv[i]);
        }
    }
    globfree(&g);
    return ref;
}

/* With --hwdec auto: put the decoder on a device (VAAPI, then NVDEC) when one opens for the codec.
 * The first open decides and says so in one info line; a reopen uses the same device, or software
 * when it no longer opens. Returns whether the decoder is on a device. */
static bool attach_device(struct reel_video_source *vs, const AVCodec *codec)
{
    static const enum AVHWDeviceType order[] = {AV_HWDEVICE_TYPE_VAAPI, AV_HWDEVICE_TYPE_CUDA};
    char why[512] = "";
    AVBufferRef *ref = NULL;
    if (!vs->hw_decided) {
        vs->hw_decided = true;
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && !ref; i++)
            if ((ref = try_device(vs, codec, order[i], why, sizeof(why))))
                vs->hw_type = order[i];
        if (!ref) {
            vs->hw_type = AV_HWDEVICE_TYPE_NONE;
            REEL_INFO(vs->log, "video source %s: decoding %s in software: %s", vs->path,
                      codec->name, why);
            return false;
        }
        REEL_INFO(vs->log, "video source %s: decoding %s on %s%s%s", vs->path, codec->name,
                  av_hwdevice_get_type_name(vs->hw_type), vs->hw_device[0] ? " " : "",
                  vs->hw_device);
    } else if (vs->hw_type == AV_HWDEVICE_TYPE_NONE) {
        return false;
    } else if (!(ref = try_device(vs, codec, vs->hw_type, why, sizeof(why)))) {
        REEL_INFO(vs->log, "video source %s: decoding in software after reopening: %s", vs->path,
                  why);
        vs->hw_type = AV_HWDEVICE_TYPE_NONE;
        return false;
    }
    if (!(vs->hw_sw = av_frame_alloc())) {
        av_buffer_unref(&ref);
        return false;
    }
    vs->hw_fmt = device_format(codec, vs->hw_type);
    vs->dec->hw_device_ctx = ref;
    vs->dec->get_format = pick_format;
    return true;
}

/* Free what decoding holds (demuxer, decoder, packet, frames); keeps what was learnt about the
 * stream. */
static void close_streams(struct reel_video_source *vs)
{
    av_frame_free(&vs->cur);
    av_frame_free(&vs->next);
    av_frame_free(&vs->hw_sw);
    av_packet_free(&vs->pkt);
    reel_video_filter_reset(vs->filter);
    avcodec_free_context(&vs->dec);
    avformat_close_input(&vs->fmt);
    vs->has_cur = vs->has_next = false;
    vs->input_done = vs->decoder_done = false;
    vs->last_pts_us = INT64_MIN;
    vs->n_skipped = 0;
}

/* Open the file's demuxer and video decoder and fill in the stream facts. */
static int open_streams(struct reel_video_source *vs, struct reel_err *err)
{
    AVDictionary *opts = NULL;
    char *url = NULL;
    int ret;
    vs->last_pts_us = INT64_MIN;

    /* The "file:" prefix keeps a colon in a file name from being read as a protocol; the
     * whitelist keeps anything inside the container (playlists, references) on local files. */
    size_t n = strlen(vs->path) + 6;
    if (!(url = malloc(n))) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    snprintf(url, n, "file:%s", vs->path);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    ret = avformat_open_input(&vs->fmt, url, NULL, &opts);
    if (ret < 0) {
        int code = ret == AVERROR(ENOENT) || ret == AVERROR(EACCES) ? REEL_EASSET_NOT_FOUND
                   : ret == AVERROR_INVALIDDATA                     ? REEL_EASSET_UNSUPPORTED
                                                                    : REEL_EDECODE;
        ret = averr(vs, err, code, ret, "cannot open");
        goto fail;
    }
    ret = reel_find_stream_info(vs->fmt, AVMEDIA_TYPE_VIDEO);
    if (ret < 0) {
        ret = averr(vs, err, REEL_EDECODE, ret, "cannot read stream information");
        goto fail;
    }
    const AVCodec *codec = NULL;
    ret = av_find_best_stream(vs->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret < 0) {
        ret =
            averr(vs, err, REEL_EASSET_UNSUPPORTED, ret,
                  ret == AVERROR_STREAM_NOT_FOUND ? "no video stream" : "no decoder for the video");
        goto fail;
    }
    vs->stream = ret;
    AVStream *st = vs->fmt->streams[vs->stream];
    for (unsigned i = 0; i < vs->fmt->nb_streams; i++)
        if ((int)i != vs->stream)
            vs->fmt->streams[i]->discard = AVDISCARD_ALL;
    vs->tb = st->time_base;
    if (!display_orientation(st, &vs->rotation, &vs->is_vflip))
        REEL_WARN(vs->log,
                  "video source %s: the display matrix is not a quarter turn or a "
                  "mirror; it is ignored",
                  vs->path);
    codec = pick_decoder(st, codec);
    if (!vs->filter &&
        reel_video_filter_create(st, !vs->no_deinterlace, vs->path, vs->log, &vs->filter) < 0) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    vs->start_pts = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    vs->frame_dur_us = fr.num > 0 && fr.den > 0 ? av_rescale(REEL_US, fr.den, fr.num) : 40000;
    if (vs->frame_dur_us <= 0)
        vs->frame_dur_us = 40000;

    if (!(vs->dec = avcodec_alloc_context3(codec))) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    ret = avcodec_parameters_to_context(vs->dec, st->codecpar);
    if (ret < 0) {
        ret = averr(vs, err, REEL_EDECODE, ret, "bad codec parameters");
        goto fail;
    }
    vs->dec->pkt_timebase = vs->tb;
    vs->dec->opaque = vs;
    vs->hw_fmt = AV_PIX_FMT_NONE;
    bool on_device = vs->hw_allowed && attach_device(vs, codec);
    /* A device decodes in its own time; threads would only hold more surfaces. */
    vs->dec->thread_count = on_device         ? 1
                            : vs->threads > 0 ? vs->threads
                                              : auto_threads(vs->is_prefetched);
    vs->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    ret = avcodec_open2(vs->dec, codec, NULL);
    if (ret < 0) {
        ret = averr(vs, err, REEL_EASSET_UNSUPPORTED, ret, "cannot open the video decoder");
        goto fail;
    }
    if (!vs->suspended) { /* on reopening, keep the size the first frame gave */
        vs->width = vs->dec->width;
        vs->height = vs->dec->height;
    }
    if (!(vs->pkt = av_packet_alloc()) || !(vs->cur = av_frame_alloc()) ||
        !(vs->next = av_frame_alloc())) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    ret = 0;
fail:
    av_dict_free(&opts);
    free(url);
    if (ret < 0)
        close_streams(vs);
    return ret;
}

int reel_video_source_open(const char *path, int threads, struct reel_log *log,
                           struct reel_video_source **out, struct reel_err *err)
{
    return reel_video_source_open_opts(path, threads, NULL, log, out, err);
}

int reel_video_source_open_opts(const char *path, int threads,
                                const struct reel_video_source_opts *opts, struct reel_log *log,
                                struct reel_video_source **out, struct reel_err *err)
{
    *out = NULL;
    int ret;
    struct reel_video_source *vs = calloc(1, sizeof(*vs));
    if (!vs || !(vs->path = strdup(path ? path : ""))) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    vs->log = log;
    vs->threads = threads;
    vs->no_deinterlace = opts && opts->no_deinterlace;
    vs->hw_allowed = !opts || !opts->hwdec || strcmp(opts->hwdec, "none") != 0;
    vs->gpu_index = opts && opts->gpu_index > 0 ? opts->gpu_index - 1 : -1;
    vs->skip_off = opts && opts->no_skip;
    vs->is_prefetched = opts && opts->is_prefetched;
    vs->want_us = vs->last_query_us = INT64_MIN;
    vs->hw_fmt = AV_PIX_FMT_NONE;
    ret = open_streams(vs, err);
    if (ret < 0)
        goto fail;

    /* Decode the first frame now: it fixes the true size and the first timestamp, and a file
     * that cannot produce a single picture fails here, at prepare time, not mid-render. Its
     * sample aspect ratio sets the display width (the stream's, when the frame has none). */
    ret = decode_one(vs, vs->cur);
    if (ret == AVERROR_EOF && vs->n_damaged) {
        /* Every packet was refused as damaged (a single-threaded decoder says so as each is sent;
         * frame threads only when a frame is asked for): the stream is broken, not empty. */
        ret = averr(vs, err, REEL_EDECODE, AVERROR_INVALIDDATA, "decoding failed");
        goto fail;
    }
    if (ret < 0) {
        ret = averr(vs, err, ret == AVERROR_EOF ? REEL_EASSET_UNSUPPORTED : REEL_EDECODE, ret,
                    ret == AVERROR_EOF ? "the video stream has no frames" : "decoding failed");
        goto fail;
    }
    vs->has_cur = true;
    vs->first_pts_us = vs->cur->pts;
    vs->width = vs->cur->width;
    vs->height = vs->cur->height;
    vs->disp_width = vs->width;
    AVRational sar = av_guess_sample_aspect_ratio(vs->fmt, vs->fmt->streams[vs->stream], vs->cur);
    if (sar.num > 0 && sar.den > 0 && sar.num != sar.den) {
        if (sar.num > (int64_t)sar.den * MAX_SAR || sar.den > (int64_t)sar.num * MAX_SAR) {
            REEL_WARN(vs->log, "video source %s: sample aspect ratio %d:%d ignored", vs->path,
                      sar.num, sar.den);
        } else {
            int64_t w = av_rescale_rnd(vs->width, sar.num, sar.den, AV_ROUND_NEAR_INF);
            vs->disp_width = w < 1 ? 1 : (int)w;
        }
    }
    REEL_DEBUG(vs->log,
               "video source %s: %dx%d (shown %dx%d), turn %d, flip %d, decoder %s, filter %s",
               vs->path, vs->width, vs->height, vs->disp_width, vs->height, vs->rotation,
               vs->is_vflip, vs->dec->codec->name, reel_video_filter_describe(vs->filter));
    ret = fill_next(vs);
    if (ret < 0) {
        ret = averr(vs, err, REEL_EDECODE, ret, "decoding failed");
        goto fail;
    }
    *out = vs;
    vs = NULL;
    ret = 0;
fail:
    reel_video_source_close(&vs);
    return ret;
}

void reel_video_source_suspend(struct reel_video_source *vs)
{
    if (vs && !vs->suspended) {
        close_streams(vs);
        vs->suspended = true;
    }
}

void reel_video_source_close(struct reel_video_source **pvs)
{
    struct reel_video_source *vs = pvs ? *pvs : NULL;
    if (!vs)
        return;
    if (vs->n_skip_sent)
        REEL_DEBUG(
            vs->log, "video source %s: %lld frames decoded, %lld left undecoded (never shown)",
            vs->path, (long long)vs->n_decoded, (long long)(vs->n_skip_sent - vs->n_skip_decoded));
    close_streams(vs);
    sws_freeContext(vs->hw_sws);
    reel_video_filter_free(&vs->filter);
    free(vs->path);
    free(vs);
    *pvs = NULL;
}

/* Whether the container's index has a keyframe after the current frame and at or before
 * target_us, i.e. whether a seek would skip decoding work rather than add to it. */
static bool keyframe_between(struct reel_video_source *vs, int64_t target_us)
{
    AVStream *st = vs->fmt->streams[vs->stream];
    int64_t ts = av_rescale_q(target_us, AV_TIME_BASE_Q, vs->tb) + vs->start_pts;
    const AVIndexEntry *e = avformat_index_get_entry_from_timestamp(st, ts, AVSEEK_FLAG_BACKWARD);
    if (!e || e->timestamp == AV_NOPTS_VALUE)
        return false;
    int64_t kf_us = av_rescale_q(e->timestamp - vs->start_pts, vs->tb, AV_TIME_BASE_Q);
    return kf_us > vs->cur->pts + vs->frame_dur_us;
}

/* Seek so that cur is the last frame at or before source_us (or the first frame of the stream).
 * An index entry may point past the target (or past the last frame); then the seek is retried
 * from further back, and finally from the stream's first frame. */
static int seek_for(struct reel_video_source *vs, int64_t source_us, struct reel_err *err)
{
    int64_t target = source_us;
    for (int attempt = 0;; attempt++) {
        int ret = seek_to(vs, target);
        bool past_end = ret == AVERROR_EOF;
        if (ret < 0 && !past_end)
            return averr(vs, err, REEL_EDECODE, ret, "seeking failed");
        if (!past_end && (vs->cur->pts <= source_us || target <= vs->first_pts_us))
            return 0;
        if (target <= vs->first_pts_us)
            return averr(vs, err, REEL_EDECODE, ret, "no frame after seeking to the start");
        if (attempt >= SEEK_RETRIES)
            target = vs->first_pts_us;
        else
            target -= REEL_US << attempt;
        if (target < vs->first_pts_us)
            target = vs->first_pts_us;
    }
}

/* Learn the step between queries: set when the last two forward steps agree (to rounding). */
static void learn_step(struct reel_video_source *vs, int64_t t)
{
    /* The same time again (a frame decoded ahead, then asked for) says nothing new. */
    if (t == vs->last_query_us)
        return;
    int64_t d = vs->last_query_us != INT64_MIN ? t - vs->last_query_us : 0;
    if (d > 0 && vs->last_delta_us > 0 && llabs(d - vs->last_delta_us) <= 2)
        vs->step_us = d < vs->last_delta_us ? d : vs->last_delta_us;
    else
        vs->step_us = 0;
    vs->last_delta_us = d > 0 ? d : 0;
    vs->last_query_us = t;
}

static int answer(struct reel_video_source *vs, int64_t source_us, struct reel_err *err);

int reel_video_source_get(struct reel_video_source *vs, int64_t source_us, const AVFrame **frame,
                          struct reel_err *err)
{
    *frame = NULL;
    int ret;
    if (vs->suspended) {
        ret = open_streams(vs, err);
        if (ret < 0)
            return ret;
        vs->suspended = false;
        REEL_DEBUG(vs->log, "video source %s: reopened at %.3f s", vs->path, source_us / 1e6);
    }
    /* Before the first frame the first frame is shown, so the target never needs to go lower. */
    if (source_us < vs->first_pts_us)
        source_us = vs->first_pts_us;
    /* A frame due within the slack counts as due: the caller's time and the frame's timestamp are
     * each rounded to whole microseconds (and containers with millisecond time bases round
     * further), so frame n of a 30 fps clip at output time n / 30 must not lose to rounding and
     * show frame n - 1. */
    int64_t slack = vs->frame_dur_us / 4 < PTS_SLACK_US ? vs->frame_dur_us / 4 : PTS_SLACK_US;
    source_us += slack;
    learn_step(vs, source_us);
    vs->want_us = source_us;
    ret = answer(vs, source_us, err);
    vs->want_us = INT64_MIN;
    if (ret < 0)
        return ret;
    *frame = vs->cur;
    return 0;
}

/* Whether a frame left undecoded lies after the current frame and at or before t: it, not the
 * current frame, would answer t. Forgets those the current frame has passed. */
static bool skipped_answers(struct reel_video_source *vs, int64_t t)
{
    bool hit = false;
    for (int i = 0; i < vs->n_skipped;) {
        int64_t us = vs->skipped[i];
        if (vs->has_cur && us <= vs->cur->pts) {
            vs->skipped[i] = vs->skipped[--vs->n_skipped];
            continue;
        }
        if (us <= t)
            hit = true;
        i++;
    }
    return hit;
}

/* Make cur the frame for source_us (the slack added). */
static int answer(struct reel_video_source *vs, int64_t source_us, struct reel_err *err)
{
    int ret;

    bool behind = vs->has_cur && source_us < vs->cur->pts;
    bool far = vs->has_cur && vs->has_next && source_us >= vs->next->pts &&
               source_us - vs->cur->pts > FAR_AHEAD_US && keyframe_between(vs, source_us);
    if (!vs->has_cur || behind || far) {
        ret = seek_for(vs, source_us, err);
        if (ret < 0)
            return ret;
    }
    while (vs->has_next && vs->next->pts <= source_us) {
        ret = advance(vs);
        if (ret < 0)
            return averr(vs, err, REEL_EDECODE, ret, "decoding failed");
    }
    if (vs->n_skipped && skipped_answers(vs, source_us)) {
        /* A frame left undecoded is the one to show (its successor came later than a frame
         * after it, or the query was off the step): decode again from the keyframe, every
         * frame; after a few such misses the source stops leaving frames out. */
        REEL_DEBUG(vs->log, "video source %s: the frame at %.3f s was not decoded; seeking back",
                   vs->path, source_us / 1e6);
        if (++vs->skip_misses >= MAX_SKIP_MISSES)
            vs->skip_off = true;
        vs->skip_paused = true;
        ret = seek_for(vs, source_us, err);
        while (ret == 0 && vs->has_next && vs->next->pts <= source_us) {
            ret = advance(vs);
            if (ret < 0)
                ret = averr(vs, err, REEL_EDECODE, ret, "decoding failed");
        }
        vs->skip_paused = false;
        if (ret < 0)
            return ret;
    }
    return 0;
}

void reel_video_source_counts(const struct reel_video_source *vs, int64_t *decoded,
                              int64_t *skipped)
{
    *decoded = vs->n_decoded;
    *skipped = vs->n_skip_sent - vs->n_skip_decoded;
}

int reel_video_source_rotation(const struct reel_video_source *vs)
{
    return vs->rotation;
}

void reel_video_source_size(const struct reel_video_source *vs, int *w, int *h)
{
    *w = vs->disp_width;
    *h = vs->height;
}

void reel_video_source_frame_size(const struct reel_video_source *vs, int *w, int *h)
{
    *w = vs->width;
    *h = vs->height;
}

enum AVColorSpace reel_video_frame_colorspace(const AVFrame *f)
{
    if (f->colorspace != AVCOL_SPC_UNSPECIFIED)
        return f->colorspace;
    return f->width >= 1280 || f->height > 576 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
}

bool reel_video_frame_is_full_range(const AVFrame *f)
{
    switch (f->format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
        return true;
    default:
        return f->color_range == AVCOL_RANGE_JPEG;
    }
}
