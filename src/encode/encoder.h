/*
 * Video encoders behind a driver table, probed once, tried in order with logged fallback
 * (STYLE section 7). Drivers: h264_nvenc, hevc_nvenc, h264_vaapi, hevc_vaapi, libx264, libx265,
 * libvpx-vp9, gif. Quality (CRF-like 0..51) and x264 preset names are mapped to each encoder's own
 * constant-quality and speed knobs. Frames carry BT.709 limited-range tags.
 * A family preference (nvenc, vaapi, software) allows only that family's drivers: VP9 and GIF have
 * software drivers only. The gif driver takes RGBA and builds one 256-colour palette per frame.
 */
#ifndef REEL_ENCODE_ENCODER_H
#define REEL_ENCODE_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/timeline.h"

enum reel_enc_kind { REEL_ENC_KIND_NONE = 0, REEL_ENC_KIND_HW, REEL_ENC_KIND_SW };

struct reel_enc_cfg {
    int width, height;
    int fps_num, fps_den;
    enum reel_codec codec;
    int quality; /* 0..51 */
    enum reel_preset preset;
    enum reel_encoder_pref pref; /* auto = every usable driver for the codec, hw first */
    bool global_header;          /* container wants extradata (mp4/mov/webm) */
    int threads;                 /* 0 = auto */
    int gpu_index;               /* -1 = auto */
};

struct reel_encoder;

struct reel_encoder_ops {
    const char *name; /* driver / FFmpeg encoder name, e.g. "libx264" */
    enum reel_codec codec;
    enum reel_enc_kind kind;
    const char *family; /* "nvenc", "vaapi", "software" (matches reel_encoder_pref) */
    size_t priv_size;
    /* codec exists in this libavcodec and the device opens; cheap; no lasting side effects */
    int (*probe)(const struct reel_enc_cfg *cfg, struct reel_err *err);
    int (*open)(struct reel_encoder *enc, const struct reel_enc_cfg *cfg, struct reel_err *err);
    /* frame in enc->pix_fmt (software memory); NULL flushes */
    int (*send_frame)(struct reel_encoder *enc, const AVFrame *frame);
    /* 0 with a packet, -REEL_EAGAIN when more input is needed, -REEL_EEOF after the flush */
    int (*receive_packet)(struct reel_encoder *enc, AVPacket *pkt);
    void (*close)(struct reel_encoder *enc);
};

struct reel_encoder {
    const struct reel_encoder_ops *ops;
    void *priv;
    struct reel_log *log;
    AVCodecContext *avctx;      /* opened codec context (time_base = 1/fps), for the muxer */
    enum AVPixelFormat pix_fmt; /* the software frame layout send_frame accepts */
};

/* All drivers compiled in, in default preference order. NULL-terminated. */
extern const struct reel_encoder_ops *const reel_encoder_drivers[];

/*
 * Probe every driver once (cached for the process) and log each result at INFO/DEBUG.
 * Thread-safe. Returns the number of usable drivers.
 */
int reel_encoder_probe_all(struct reel_log *log);
/* Was driver `name` usable at probe time? Fills reason when not (may be NULL). */
bool reel_encoder_usable(const char *name, char *reason, size_t cap);

/*
 * Open the first driver that works for cfg (codec and preference), in order, logging each failure
 * with the driver name and reason; the last says no further fallback exists. Failures are WARN,
 * except the expected fallback under "auto" past a driver that probed unusable on this host, which
 * is INFO. Returns 0 and a new encoder, or -REEL_EENCODER_UNAVAILABLE with err saying why.
 */
int reel_encoder_open_first(const struct reel_enc_cfg *cfg, struct reel_log *log,
                            struct reel_encoder **out, struct reel_err *err);
void reel_encoder_close(struct reel_encoder **enc);

#endif
