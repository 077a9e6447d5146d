/*
 * The encoder drivers. Every driver is a libavcodec encoder; they differ in how they are probed,
 * which knobs carry quality and speed, and which frame memory they take:
 *   - libx264 / libx265 / libvpx-vp9: software yuv420p;
 *   - h264_nvenc / hevc_nvenc: software yuv420p, uploaded by the encoder itself;
 *   - h264_vaapi / hevc_vaapi: software nv12, uploaded here into a VAAPI frame pool;
 *   - gif: RGBA, reduced here to one 256-colour palette per frame (palette.c), because a palette
 *     shared by the whole clip bands gradients and fails on scene changes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "encode/encoder.h"
#include "encode/palette.h"

struct drv_priv {
    /* vaapi */
    AVBufferRef *hw_device;
    AVBufferRef *hw_frames;
    /* gif */
    struct reel_palette *palette;
    AVFrame *tmp; /* vaapi upload target, gif palette frame */
};

/*
 * Above this many pixels a frame, libx264 keeps its memory down in two ways (measured at
 * 3840x2160 on two cores: 1040 MB peak for the whole render before, 965 MB after, no slower):
 *  - its lookahead runs on the encoding thread instead of a thread of its own (sync-lookahead=0).
 *    The stream is the same bit for bit; the lookahead thread's own frames (about 95 MB) go;
 *  - one frame thread per core, not libx264's 1.5 per core: each frame thread holds frames of
 *    its own (about 40 MB at 2160p), and the extra half a core's worth only hides latency.
 */
#define BIG_FRAME_PIXELS 4000000L

static int cores_online(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

static const char *x264_preset(enum reel_preset p)
{
    switch (p) {
    case REEL_PRESET_ULTRAFAST:
        return "ultrafast";
    case REEL_PRESET_SUPERFAST:
        return "superfast";
    case REEL_PRESET_FASTER:
        return "faster";
    case REEL_PRESET_FAST:
        return "fast";
    case REEL_PRESET_MEDIUM:
        return "medium";
    case REEL_PRESET_SLOW:
        return "slow";
    case REEL_PRESET_SLOWER:
        return "slower";
    case REEL_PRESET_VERYSLOW:
        return "veryslow";
    case REEL_PRESET_VERYFAST:
    default:
        return "veryfast";
    }
}

/* NVENC p1 (fastest) .. p7 (best). VAAPI's compression_level runs the other way on Intel and AMD
 * drivers (1 = best quality), so it is derived as 8 - p. */
static int nvenc_level(enum reel_preset p)
{
    switch (p) {
    case REEL_PRESET_ULTRAFAST:
    case REEL_PRESET_SUPERFAST:
        return 1;
    case REEL_PRESET_FASTER:
        return 3;
    case REEL_PRESET_FAST:
        return 4;
    case REEL_PRESET_MEDIUM:
        return 5;
    case REEL_PRESET_SLOW:
        return 6;
    case REEL_PRESET_SLOWER:
    case REEL_PRESET_VERYSLOW:
        return 7;
    case REEL_PRESET_VERYFAST:
    default:
        return 2;
    }
}

/* libvpx cpu-used: ultrafast 8 ... veryslow 0. */
static int vpx_cpu_used(enum reel_preset p)
{
    int idx = p == REEL_PRESET_NONE ? REEL_PRESET_VERYFAST : (int)p;
    return REEL_PRESET_VERYSLOW - idx;
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int fail_av(struct reel_err *err, int averr, const char *what, const char *name)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, buf, sizeof(buf));
    return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder", "%s(%s): %s", what, name,
                        buf);
}

/* Allocate a codec context with everything the drivers share: size, rate, GOP, colour tags. */
static int alloc_ctx(struct reel_encoder *enc, const struct reel_enc_cfg *cfg,
                     enum AVPixelFormat ctx_fmt, bool tag_colour, struct reel_err *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(enc->ops->name);
    AVCodecContext *c;
    if (!codec)
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                            "libavcodec has no %s encoder", enc->ops->name);
    if (cfg->width <= 0 || cfg->height <= 0 || cfg->fps_num <= 0 || cfg->fps_den <= 0)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "bad encoder size or rate");
    c = avcodec_alloc_context3(codec);
    if (!c)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    enc->avctx = c;
    c->width = cfg->width;
    c->height = cfg->height;
    c->pix_fmt = ctx_fmt;
    c->time_base = (AVRational){cfg->fps_den, cfg->fps_num};
    c->framerate = (AVRational){cfg->fps_num, cfg->fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    /* A keyframe every 2 s keeps seeking in players cheap without hurting compression much. */
    c->gop_size = (int)fmax(1.0, floor(2.0 * cfg->fps_num / cfg->fps_den + 0.5));
    c->thread_count = cfg->threads > 0 ? cfg->threads : 0;
    if (tag_colour) {
        c->color_primaries = AVCOL_PRI_BT709;
        c->color_trc = AVCOL_TRC_BT709;
        c->colorspace = AVCOL_SPC_BT709;
        c->color_range = AVCOL_RANGE_MPEG;
    }
    if (cfg->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return 0;
}

static int open_ctx(struct reel_encoder *enc, AVDictionary **opts, struct reel_err *err)
{
    int ret = avcodec_open2(enc->avctx, enc->avctx->codec, opts);
    const AVDictionaryEntry *e = NULL;
    if (ret < 0)
        return fail_av(err, ret, "avcodec_open2", enc->ops->name);
    while ((e = av_dict_get(*opts, "", e, AV_DICT_IGNORE_SUFFIX)))
        REEL_DEBUG(enc->log, "encoder %s ignored option %s=%s", enc->ops->name, e->key, e->value);
    return 0;
}

static int open_x26x(struct reel_encoder *enc, const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    AVDictionary *opts = NULL;
    int ret = alloc_ctx(enc, cfg, AV_PIX_FMT_YUV420P, true, err);
    if (ret < 0)
        return ret;
    av_dict_set_int(&opts, "crf", clamp_int(cfg->quality, 0, 51), 0);
    av_dict_set(&opts, "preset", x264_preset(cfg->preset), 0);
    if (enc->ops->codec == REEL_CODEC_HEVC)
        av_dict_set(&opts, "x265-params", "log-level=error", 0);
    else if ((long)cfg->width * cfg->height > BIG_FRAME_PIXELS) {
        av_dict_set(&opts, "x264-params", "sync-lookahead=0", 0);
        if (cfg->threads <= 0)
            enc->avctx->thread_count = cores_online();
    }
    ret = open_ctx(enc, &opts, err);
    av_dict_free(&opts);
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    return ret;
}

static int open_vpx(struct reel_encoder *enc, const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    AVDictionary *opts = NULL;
    int ret = alloc_ctx(enc, cfg, AV_PIX_FMT_YUV420P, true, err);
    int crf = (int)lround(clamp_int(cfg->quality, 0, 51) * 63.0 / 51.0);
    int cpu = vpx_cpu_used(cfg->preset);
    if (ret < 0)
        return ret;
    /* crf with a zero bitrate selects libvpx's constant-quality mode. */
    enc->avctx->bit_rate = 0;
    av_dict_set_int(&opts, "crf", crf, 0);
    av_dict_set(&opts, "deadline", cpu >= 7 ? "realtime" : "good", 0);
    av_dict_set_int(&opts, "cpu-used", cpu, 0);
    av_dict_set(&opts, "row-mt", "1", 0);
    ret = open_ctx(enc, &opts, err);
    av_dict_free(&opts);
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    return ret;
}

static int open_nvenc(struct reel_encoder *enc, const struct reel_enc_cfg *cfg,
                      struct reel_err *err)
{
    AVDictionary *opts = NULL;
    char preset[8];
    int q = clamp_int(cfg->quality, 0, 51);
    int ret = alloc_ctx(enc, cfg, AV_PIX_FMT_YUV420P, true, err);
    if (ret < 0)
        return ret;
    snprintf(preset, sizeof(preset), "p%d", nvenc_level(cfg->preset));
    av_dict_set(&opts, "preset", preset, 0);
    enc->avctx->bit_rate = 0;
    if (q == 0) {
        /* cq 0 means "automatic" to NVENC; the best quality is a constant QP of 0. */
        av_dict_set(&opts, "rc", "constqp", 0);
        av_dict_set_int(&opts, "qp", 0, 0);
    } else {
        av_dict_set(&opts, "rc", "vbr", 0);
        av_dict_set_int(&opts, "cq", q, 0);
    }
    if (cfg->gpu_index >= 0)
        av_dict_set_int(&opts, "gpu", cfg->gpu_index, 0);
    ret = open_ctx(enc, &opts, err);
    av_dict_free(&opts);
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    return ret;
}

static void render_node(const struct reel_enc_cfg *cfg, char *buf, size_t cap)
{
    snprintf(buf, cap, "/dev/dri/renderD%d", 128 + (cfg->gpu_index > 0 ? cfg->gpu_index : 0));
}

static int open_vaapi(struct reel_encoder *enc, const struct reel_enc_cfg *cfg,
                      struct reel_err *err)
{
    struct drv_priv *p = enc->priv;
    AVDictionary *opts = NULL;
    AVHWFramesContext *fc;
    char node[64];
    int ret;

    render_node(cfg, node, sizeof(node));
    ret = av_hwdevice_ctx_create(&p->hw_device, AV_HWDEVICE_TYPE_VAAPI, node, NULL, 0);
    if (ret < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(ret, buf, sizeof(buf));
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                            "VAAPI device %s failed to open: %s", node, buf);
    }
    ret = alloc_ctx(enc, cfg, AV_PIX_FMT_VAAPI, true, err);
    if (ret < 0)
        return ret;

    p->hw_frames = av_hwframe_ctx_alloc(p->hw_device);
    if (!p->hw_frames)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    fc = (AVHWFramesContext *)p->hw_frames->data;
    fc->format = AV_PIX_FMT_VAAPI;
    fc->sw_format = AV_PIX_FMT_NV12;
    fc->width = cfg->width;
    fc->height = cfg->height;
    fc->initial_pool_size = 20;
    ret = av_hwframe_ctx_init(p->hw_frames);
    if (ret < 0)
        return fail_av(err, ret, "av_hwframe_ctx_init", enc->ops->name);
    enc->avctx->hw_frames_ctx = av_buffer_ref(p->hw_frames);
    if (!enc->avctx->hw_frames_ctx)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");

    av_dict_set(&opts, "rc_mode", "CQP", 0);
    av_dict_set_int(&opts, "qp", clamp_int(cfg->quality, 1, 51), 0);
    enc->avctx->compression_level = 8 - nvenc_level(cfg->preset);
    ret = open_ctx(enc, &opts, err);
    av_dict_free(&opts);
    if (ret < 0)
        return ret;
    p->tmp = av_frame_alloc();
    if (!p->tmp)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    enc->pix_fmt = AV_PIX_FMT_NV12;
    return 0;
}

static int open_gif(struct reel_encoder *enc, const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    struct drv_priv *p = enc->priv;
    AVDictionary *opts = NULL;
    int ret = alloc_ctx(enc, cfg, AV_PIX_FMT_PAL8, false, err);
    if (ret < 0)
        return ret;
    ret = open_ctx(enc, &opts, err);
    av_dict_free(&opts);
    if (ret < 0)
        return ret;
    p->palette = reel_palette_create();
    p->tmp = av_frame_alloc();
    if (!p->palette || !p->tmp)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    enc->pix_fmt = AV_PIX_FMT_RGBA;
    return 0;
}

static int check_frame(struct reel_encoder *enc, const AVFrame *frame)
{
    if (frame->format != enc->pix_fmt || frame->width != enc->avctx->width ||
        frame->height != enc->avctx->height) {
        const char *name = av_get_pix_fmt_name((enum AVPixelFormat)frame->format);
        REEL_ERROR(enc->log, "encoder %s: frame is %s %dx%d, expected %s %dx%d", enc->ops->name,
                   name ? name : "?", frame->width, frame->height,
                   av_get_pix_fmt_name(enc->pix_fmt), enc->avctx->width, enc->avctx->height);
        return -REEL_EINTERNAL;
    }
    return 0;
}

static int send_av(struct reel_encoder *enc, const AVFrame *frame)
{
    int ret = avcodec_send_frame(enc->avctx, frame);
    if (ret < 0 && !(ret == AVERROR_EOF && !frame)) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(ret, buf, sizeof(buf));
        REEL_ERROR(enc->log, "encode stage: encoder %s refused a frame: %s", enc->ops->name, buf);
        return -REEL_EOUTPUT;
    }
    return 0;
}

static int send_plain(struct reel_encoder *enc, const AVFrame *frame)
{
    if (frame) {
        int ret = check_frame(enc, frame);
        if (ret < 0)
            return ret;
    }
    return send_av(enc, frame);
}

static int send_vaapi(struct reel_encoder *enc, const AVFrame *frame)
{
    struct drv_priv *p = enc->priv;
    int ret;
    if (!frame)
        return send_av(enc, NULL);
    ret = check_frame(enc, frame);
    if (ret < 0)
        return ret;
    ret = av_hwframe_get_buffer(p->hw_frames, p->tmp, 0);
    if (ret >= 0)
        ret = av_hwframe_transfer_data(p->tmp, frame, 0);
    if (ret >= 0)
        ret = av_frame_copy_props(p->tmp, frame);
    if (ret < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(ret, buf, sizeof(buf));
        REEL_ERROR(enc->log, "encode stage: uploading a frame to VAAPI failed: %s", buf);
        av_frame_unref(p->tmp);
        return -REEL_EOUTPUT;
    }
    ret = send_av(enc, p->tmp);
    av_frame_unref(p->tmp);
    return ret;
}

static int send_gif(struct reel_encoder *enc, const AVFrame *frame)
{
    struct drv_priv *p = enc->priv;
    int ret;
    if (!frame)
        return send_av(enc, NULL);
    ret = check_frame(enc, frame);
    if (ret < 0)
        return ret;
    /* A fresh buffer per frame: the encoder may keep a reference to the previous one. */
    p->tmp->format = AV_PIX_FMT_PAL8;
    p->tmp->width = frame->width;
    p->tmp->height = frame->height;
    if (av_frame_get_buffer(p->tmp, 0) < 0)
        return -REEL_ENOMEM;
    ret = reel_palette_quantize(p->palette, frame, p->tmp);
    if (ret >= 0)
        ret = av_frame_copy_props(p->tmp, frame) < 0 ? -REEL_ENOMEM : 0;
    if (ret >= 0)
        ret = send_av(enc, p->tmp);
    av_frame_unref(p->tmp);
    return ret;
}

static int receive_av(struct reel_encoder *enc, AVPacket *pkt)
{
    int ret = avcodec_receive_packet(enc->avctx, pkt);
    if (ret == AVERROR(EAGAIN))
        return -REEL_EAGAIN;
    if (ret == AVERROR_EOF)
        return -REEL_EEOF;
    if (ret < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(ret, buf, sizeof(buf));
        REEL_ERROR(enc->log, "encode stage: encoder %s failed: %s", enc->ops->name, buf);
        return -REEL_EOUTPUT;
    }
    return 0;
}

static void close_drv(struct reel_encoder *enc)
{
    struct drv_priv *p = enc->priv;
    avcodec_free_context(&enc->avctx);
    if (!p)
        return;
    reel_palette_destroy(&p->palette);
    av_frame_free(&p->tmp);
    av_buffer_unref(&p->hw_frames);
    av_buffer_unref(&p->hw_device);
}

/* Open a real (small) encoder and close it again: the only dependable test for a hardware
 * encoder, since a GPU can have the driver and CUDA but no NVENC unit (e.g. Hopper). */
static int probe_by_open(const struct reel_encoder_ops *ops, const struct reel_enc_cfg *cfg,
                         struct reel_err *err)
{
    struct drv_priv priv;
    struct reel_encoder enc;
    int ret;
    memset(&priv, 0, sizeof(priv));
    memset(&enc, 0, sizeof(enc));
    enc.ops = ops;
    enc.priv = &priv;
    ret = ops->open(&enc, cfg, err);
    close_drv(&enc);
    return ret;
}

static int probe_codec(const char *name, struct reel_err *err)
{
    if (!avcodec_find_encoder_by_name(name))
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                            "libavcodec was built without the %s encoder", name);
    return 0;
}

static int probe_nvenc(const struct reel_encoder_ops *ops, const struct reel_enc_cfg *cfg,
                       struct reel_err *err)
{
    static const char *const libs[] = {"libcuda.so.1", "libnvidia-encode.so.1"};
    int ret = probe_codec(ops->name, err);
    if (ret < 0)
        return ret;
    /* Checking the driver libraries first gives a clearer reason than the encoder's own
     * "generic error in an external library". */
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        void *h = dlopen(libs[i], RTLD_LAZY | RTLD_LOCAL);
        if (!h)
            return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                                "NVIDIA driver library %s cannot be loaded", libs[i]);
        dlclose(h);
    }
    ret = probe_by_open(ops, cfg, err);
    if (ret < 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                            "no NVENC encoder could be opened on this GPU (%s)", msg);
    }
    return 0;
}

static int probe_vaapi(const struct reel_encoder_ops *ops, const struct reel_enc_cfg *cfg,
                       struct reel_err *err)
{
    char node[64];
    int ret = probe_codec(ops->name, err);
    if (ret < 0)
        return ret;
    render_node(cfg, node, sizeof(node));
    if (access(node, R_OK | W_OK) != 0)
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                            "no usable DRM render node %s: %s", node, strerror(errno));
    return probe_by_open(ops, cfg, err);
}

static const struct reel_encoder_ops h264_nvenc_ops, hevc_nvenc_ops, h264_vaapi_ops, hevc_vaapi_ops,
    libx264_ops, libx265_ops, libvpx_vp9_ops, gif_ops;

static int probe_h264_nvenc(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    return probe_nvenc(&h264_nvenc_ops, cfg, err);
}

static int probe_hevc_nvenc(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    return probe_nvenc(&hevc_nvenc_ops, cfg, err);
}

static int probe_h264_vaapi(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    return probe_vaapi(&h264_vaapi_ops, cfg, err);
}

static int probe_hevc_vaapi(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    return probe_vaapi(&hevc_vaapi_ops, cfg, err);
}

static int probe_libx264(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    (void)cfg;
    return probe_codec("libx264", err);
}

static int probe_libx265(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    (void)cfg;
    return probe_codec("libx265", err);
}

static int probe_libvpx_vp9(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    (void)cfg;
    return probe_codec("libvpx-vp9", err);
}

static int probe_gif(const struct reel_enc_cfg *cfg, struct reel_err *err)
{
    (void)cfg;
    return probe_codec("gif", err);
}

#define DRIVER(var, drv_name, drv_codec, drv_kind, drv_family, probe_fn, open_fn, send_fn) \
    static const struct reel_encoder_ops var = {                                           \
        .name = drv_name,                                                                  \
        .codec = drv_codec,                                                                \
        .kind = drv_kind,                                                                  \
        .family = drv_family,                                                              \
        .priv_size = sizeof(struct drv_priv),                                              \
        .probe = probe_fn,                                                                 \
        .open = open_fn,                                                                   \
        .send_frame = send_fn,                                                             \
        .receive_packet = receive_av,                                                      \
        .close = close_drv,                                                                \
    }

DRIVER(h264_nvenc_ops, "h264_nvenc", REEL_CODEC_H264, REEL_ENC_KIND_HW, "nvenc", probe_h264_nvenc,
       open_nvenc, send_plain);
DRIVER(hevc_nvenc_ops, "hevc_nvenc", REEL_CODEC_HEVC, REEL_ENC_KIND_HW, "nvenc", probe_hevc_nvenc,
       open_nvenc, send_plain);
DRIVER(h264_vaapi_ops, "h264_vaapi", REEL_CODEC_H264, REEL_ENC_KIND_HW, "vaapi", probe_h264_vaapi,
       open_vaapi, send_vaapi);
DRIVER(hevc_vaapi_ops, "hevc_vaapi", REEL_CODEC_HEVC, REEL_ENC_KIND_HW, "vaapi", probe_hevc_vaapi,
       open_vaapi, send_vaapi);
DRIVER(libx264_ops, "libx264", REEL_CODEC_H264, REEL_ENC_KIND_SW, "software", probe_libx264,
       open_x26x, send_plain);
DRIVER(libx265_ops, "libx265", REEL_CODEC_HEVC, REEL_ENC_KIND_SW, "software", probe_libx265,
       open_x26x, send_plain);
DRIVER(libvpx_vp9_ops, "libvpx-vp9", REEL_CODEC_VP9, REEL_ENC_KIND_SW, "software", probe_libvpx_vp9,
       open_vpx, send_plain);
DRIVER(gif_ops, "gif", REEL_CODEC_GIF, REEL_ENC_KIND_SW, "software", probe_gif, open_gif, send_gif);

const struct reel_encoder_ops *const reel_encoder_drivers[] = {
    &h264_nvenc_ops, &hevc_nvenc_ops, &h264_vaapi_ops,
    &hevc_vaapi_ops, &libx264_ops,    &libx265_ops,
    &libvpx_vp9_ops, &gif_ops,        NULL,
};
