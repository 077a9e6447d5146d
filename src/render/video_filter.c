/*
 * Video filter: a small libavfilter graph between a source's decoder and the engines, built only
 * for streams that need it (interlaced, non-BT.709 primaries, HDR transfer). The graph's time base
 * is the source's microseconds, and filtered frames keep the timestamps of the frames they come
 * from (bwdif in send_frame mode emits one frame per input frame, one frame later, in a time base
 * of half a microsecond, which is converted back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/mathematics.h>
#include <libavutil/pixdesc.h>

#include "core/err.h"
#include "render/video_filter.h"
#include "render/video_source.h"
#include "timeline/timeline.h"

#define CHAIN_MAX 512

struct reel_video_filter {
    char *path;
    struct reel_log *log;
    bool deinterlace; /* the layer allows deinterlacing */
    enum AVFieldOrder field_order;
    enum AVColorPrimaries st_primaries;
    enum AVColorTransferCharacteristic st_trc;
    bool decided;          /* the first frame has been seen and chain set */
    bool is_colour;        /* the chain converts to BT.709 RGB: output frames are tagged so */
    char chain[CHAIN_MAX]; /* empty: frames pass through */
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    int in_w, in_h, in_fmt;
    bool eof_sent;
    AVFrame *raw;
};

int reel_video_filter_create(const AVStream *st, bool deinterlace, const char *path,
                             struct reel_log *log, struct reel_video_filter **out)
{
    *out = NULL;
    struct reel_video_filter *vf = calloc(1, sizeof(*vf));
    if (!vf || !(vf->path = strdup(path ? path : "")) || !(vf->raw = av_frame_alloc())) {
        if (vf)
            free(vf->path);
        free(vf);
        return -REEL_ENOMEM;
    }
    vf->log = log;
    vf->deinterlace = deinterlace;
    vf->field_order = st->codecpar->field_order;
    vf->st_primaries = st->codecpar->color_primaries;
    vf->st_trc = st->codecpar->color_trc;
    *out = vf;
    return 0;
}

static void free_graph(struct reel_video_filter *vf)
{
    avfilter_graph_free(&vf->graph);
    vf->src = vf->sink = NULL;
    vf->eof_sent = false;
}

void reel_video_filter_reset(struct reel_video_filter *vf)
{
    if (!vf)
        return;
    free_graph(vf);
    av_frame_unref(vf->raw);
}

void reel_video_filter_free(struct reel_video_filter **pvf)
{
    struct reel_video_filter *vf = pvf ? *pvf : NULL;
    if (!vf)
        return;
    reel_video_filter_reset(vf);
    av_frame_free(&vf->raw);
    free(vf->path);
    free(vf);
    *pvf = NULL;
}

bool reel_video_filter_is_per_frame(const struct reel_video_filter *vf)
{
    return vf && vf->decided && !strstr(vf->chain, "bwdif");
}

const char *reel_video_filter_describe(const struct reel_video_filter *vf)
{
    return vf && vf->chain[0] ? vf->chain : "none";
}

/* zscale's name for a YCbCr matrix, NULL for one it is not given here. */
static const char *matrix_name(enum AVColorSpace cs)
{
    switch (cs) {
    case AVCOL_SPC_BT709:
        return "709";
    case AVCOL_SPC_BT470BG:
        return "470bg";
    case AVCOL_SPC_SMPTE170M:
        return "170m";
    case AVCOL_SPC_BT2020_NCL:
        return "2020_ncl";
    case AVCOL_SPC_BT2020_CL:
        return "2020_cl";
    default:
        return NULL;
    }
}

/* Append the colour part of the chain for a source whose first frame is f; false when the source
 * is BT.709 (or untagged) SDR, or in a form this cannot convert (a warning says so). */
static bool colour_chain(struct reel_video_filter *vf, const AVFrame *f, char *s, size_t n)
{
    /* The frame's tags come from the bitstream; the container's fill in where they are absent. */
    enum AVColorPrimaries pri =
        f->color_primaries != AVCOL_PRI_UNSPECIFIED ? f->color_primaries : vf->st_primaries;
    enum AVColorTransferCharacteristic trc =
        f->color_trc != AVCOL_TRC_UNSPECIFIED ? f->color_trc : vf->st_trc;
    bool is_pq = trc == AVCOL_TRC_SMPTE2084, is_hlg = trc == AVCOL_TRC_ARIB_STD_B67;
    const char *pin = pri == AVCOL_PRI_BT2020      ? "2020"
                      : pri == AVCOL_PRI_BT470BG   ? "bt470bg"
                      : pri == AVCOL_PRI_SMPTE170M ? "170m"
                                                   : NULL;
    if (!pin && !is_pq && !is_hlg)
        return false;
    if (!pin) /* HDR video is BT.2020 when it does not say */
        pin = pri == AVCOL_PRI_BT709 ? "709" : "2020";
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL))) {
        REEL_WARN(vf->log, "video source %s: %s frames are drawn without colour conversion",
                  vf->path, d ? d->name : "unknown");
        return false;
    }
    bool is_rgb = d->flags & AV_PIX_FMT_FLAG_RGB, has_alpha = d->flags & AV_PIX_FMT_FLAG_ALPHA;
    char in[96];
    if (is_rgb) {
        snprintf(in, sizeof(in), "pin=%s", pin);
    } else {
        const char *m = matrix_name(reel_video_frame_colorspace(f));
        if (!m) {
            REEL_WARN(vf->log,
                      "video source %s: YCbCr matrix %s is not converted from %s primaries",
                      vf->path, av_color_space_name(f->colorspace), pin);
            return false;
        }
        snprintf(in, sizeof(in), "pin=%s:min=%s:rin=%s", pin, m,
                 reel_video_frame_is_full_range(f) ? "full" : "limited");
    }
    const char *rgb = has_alpha ? "gbrap" : "gbrp";
    size_t len = strlen(s);
    if (is_pq || is_hlg)
        snprintf(s + len, n - len,
                 "%szscale=%s:tin=%s:t=linear:npl=%d,format=%sf32le,zscale=p=709,"
                 "tonemap=hable:desat=0:peak=%g,zscale=t=709:dither=none,format=%s",
                 len ? "," : "", in, is_pq ? "smpte2084" : "arib-std-b67",
                 REEL_VIDEO_SDR_WHITE_NITS, rgb,
                 (double)REEL_VIDEO_HDR_PEAK_NITS / REEL_VIDEO_SDR_WHITE_NITS, rgb);
    else /* SDR keeps its curve (BT.709's, as players treat every SDR tag): primaries only */
        snprintf(s + len, n - len, "%szscale=%s:tin=709:p=709:t=709:dither=none,format=%s",
                 len ? "," : "", in, rgb);
    return true;
}

/* Decide the chain from the stream and its first frame. */
static void decide(struct reel_video_filter *vf, const AVFrame *f)
{
    vf->decided = true;
    vf->chain[0] = '\0';
    enum AVFieldOrder fo = vf->field_order;
    bool stream_il =
        fo == AV_FIELD_TT || fo == AV_FIELD_BB || fo == AV_FIELD_TB || fo == AV_FIELD_BT;
    if ((stream_il || f->interlaced_frame) && !vf->deinterlace)
        REEL_DEBUG(vf->log,
                   "video source %s: interlaced, not deinterlaced (\"deinterlace\": false)",
                   vf->path);
    if ((stream_il || f->interlaced_frame) && vf->deinterlace) {
        /* The stream's field order wins (the field displayed first: TB is top coded first but
         * bottom shown first); when only the frames say interlaced, their own flags (per frame)
         * decide both whether and which field comes first. */
        const char *parity = !stream_il                               ? "auto"
                             : fo == AV_FIELD_TT || fo == AV_FIELD_BT ? "tff"
                                                                      : "bff";
        snprintf(vf->chain, sizeof(vf->chain), "bwdif=mode=send_frame:parity=%s:deint=%s", parity,
                 stream_il ? "all" : "interlaced");
    }
    vf->is_colour = colour_chain(vf, f, vf->chain, sizeof(vf->chain));
    if (vf->chain[0])
        REEL_DEBUG(vf->log, "video source %s: filtered with %s", vf->path, vf->chain);
}

static int build(struct reel_video_filter *vf, const AVFrame *f)
{
    free_graph(vf);
    char args[256];
    AVRational sar = f->sample_aspect_ratio;
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/%lld:pixel_aspect=%d/%d",
             f->width, f->height, f->format, (long long)REEL_US, sar.num > 0 ? sar.num : 1,
             sar.num > 0 && sar.den > 0 ? sar.den : 1);
    AVFilterInOut *outputs = avfilter_inout_alloc(), *inputs = avfilter_inout_alloc();
    int ret = AVERROR(ENOMEM);
    if (!outputs || !inputs || !(vf->graph = avfilter_graph_alloc()))
        goto done;
    ret = avfilter_graph_create_filter(&vf->src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                       vf->graph);
    if (ret >= 0)
        ret = avfilter_graph_create_filter(&vf->sink, avfilter_get_by_name("buffersink"), "out",
                                           NULL, NULL, vf->graph);
    if (ret < 0)
        goto done;
    outputs->name = av_strdup("in");
    outputs->filter_ctx = vf->src;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = vf->sink;
    if (!outputs->name || !inputs->name) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    ret = avfilter_graph_parse_ptr(vf->graph, vf->chain, &inputs, &outputs, NULL);
    if (ret >= 0)
        ret = avfilter_graph_config(vf->graph, NULL);
    if (ret >= 0) {
        vf->in_w = f->width;
        vf->in_h = f->height;
        vf->in_fmt = f->format;
    }
done:
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (ret < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
        av_strerror(ret, buf, sizeof(buf));
        REEL_ERROR(vf->log, "video source %s: cannot build the filter \"%s\": %s", vf->path,
                   vf->chain, buf);
        free_graph(vf);
    }
    return ret;
}

/* Hand decoded frame f (its reference moves into the graph) to the filter. */
static int push(struct reel_video_filter *vf, AVFrame *f)
{
    if (vf->graph && (f->width != vf->in_w || f->height != vf->in_h || f->format != vf->in_fmt))
        REEL_INFO(vf->log, "video source %s: the video changed to %dx%d mid-stream; filter rebuilt",
                  vf->path, f->width, f->height);
    else if (vf->graph)
        return av_buffersrc_add_frame_flags(vf->src, f, 0);
    int ret = build(vf, f);
    return ret < 0 ? ret : av_buffersrc_add_frame_flags(vf->src, f, 0);
}

int reel_video_filter_get(struct reel_video_filter *vf, reel_video_decode_fn decode, void *ctx,
                          AVFrame *dst)
{
    int ret;
    av_frame_unref(dst);
    if (!vf->decided) {
        if ((ret = decode(ctx, dst)) < 0)
            return ret;
        decide(vf, dst);
        if (!vf->chain[0])
            return 0;
        ret = push(vf, dst);
        av_frame_unref(dst);
        if (ret < 0)
            return ret;
    } else if (!vf->chain[0]) {
        return decode(ctx, dst);
    }
    for (;;) {
        if (vf->graph) {
            ret = av_buffersink_get_frame(vf->sink, dst);
            if (ret >= 0) {
                /* bwdif halves the time base (for its field-rate mode): back to microseconds. */
                if (dst->pts != AV_NOPTS_VALUE)
                    dst->pts = av_rescale_q(dst->pts, av_buffersink_get_time_base(vf->sink),
                                            (AVRational){1, (int)REEL_US});
                if (vf->is_colour) {
                    dst->color_primaries = AVCOL_PRI_BT709;
                    dst->color_trc = AVCOL_TRC_BT709;
                    dst->colorspace = AVCOL_SPC_RGB;
                    dst->color_range = AVCOL_RANGE_JPEG;
                }
                return 0;
            }
            if (ret != AVERROR(EAGAIN))
                return ret;
        }
        if (vf->eof_sent)
            return AVERROR_EOF;
        ret = decode(ctx, vf->raw);
        if (ret == AVERROR_EOF) {
            if (!vf->graph)
                return AVERROR_EOF;
            vf->eof_sent = true;
            if ((ret = av_buffersrc_add_frame_flags(vf->src, NULL, 0)) < 0)
                return ret;
            continue;
        }
        if (ret < 0)
            return ret;
        ret = push(vf, vf->raw);
        av_frame_unref(vf->raw);
        if (ret < 0)
            return ret;
    }
}
