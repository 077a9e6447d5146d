/*
 * Poster JPEG. JPEG viewers assume full-range BT.601 YCbCr (JFIF), so frames are converted to
 * that, whatever their own matrix and range, rather than merely relabelled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "encode/output.h"

static int sws_matrix(enum AVColorSpace cs)
{
    switch (cs) {
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
        return SWS_CS_ITU601;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        return SWS_CS_BT2020;
    default:
        /* Untagged frames in reel are BT.709, like everything it renders. */
        return SWS_CS_ITU709;
    }
}

static int to_yuvj(const AVFrame *src, AVFrame *dst, struct reel_err *err)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)src->format);
    struct SwsContext *sws;
    int ret;

    if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL))
        return reel_err_set(err, REEL_EINTERNAL, "output.poster",
                            "poster frame is not in software memory");
    dst->format = AV_PIX_FMT_YUVJ420P;
    dst->width = src->width;
    dst->height = src->height;
    ret = av_frame_get_buffer(dst, 0);
    if (ret < 0)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    sws = sws_getContext(src->width, src->height, (enum AVPixelFormat)src->format, dst->width,
                         dst->height, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC | SWS_ACCURATE_RND, NULL,
                         NULL, NULL);
    if (!sws)
        return reel_err_set(err, REEL_EINTERNAL, "output.poster", "no conversion from %s to JPEG",
                            d->name);
    if (!(d->flags & AV_PIX_FMT_FLAG_RGB)) {
        int src_full = src->color_range == AVCOL_RANGE_JPEG || src->format == AV_PIX_FMT_YUVJ420P ||
                       src->format == AV_PIX_FMT_YUVJ444P || src->format == AV_PIX_FMT_YUVJ422P;
        int *inv, *tab, sr, dr, bri, con, sat;
        sws_getColorspaceDetails(sws, &inv, &sr, &tab, &dr, &bri, &con, &sat);
        sws_setColorspaceDetails(sws, sws_getCoefficients(sws_matrix(src->colorspace)), src_full,
                                 sws_getCoefficients(SWS_CS_ITU601), 1, bri, con, sat);
    }
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
              dst->linesize);
    sws_freeContext(sws);
    return 0;
}

int reel_write_jpeg(const AVFrame *frame, const char *path, struct reel_err *err)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *c = NULL;
    AVFrame *yuv = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    char *tmp = NULL;
    FILE *f = NULL;
    int ret;

    if (!yuv || !pkt) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if (!codec) {
        ret = reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.poster",
                           "libavcodec was built without the mjpeg encoder");
        goto out;
    }
    ret = to_yuvj(frame, yuv, err);
    if (ret < 0)
        goto out;

    c = avcodec_alloc_context3(codec);
    if (!c) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto out;
    }
    c->width = frame->width;
    c->height = frame->height;
    c->pix_fmt = AV_PIX_FMT_YUVJ420P;
    c->color_range = AVCOL_RANGE_JPEG;
    c->time_base = (AVRational){1, 25};
    /* A fixed quantiser (qscale 3) gives consistently good posters whatever the content. */
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = 3 * FF_QP2LAMBDA;
    yuv->quality = c->global_quality;
    yuv->pts = 0;
    ret = avcodec_open2(c, codec, NULL);
    if (ret >= 0)
        ret = avcodec_send_frame(c, yuv);
    if (ret >= 0)
        ret = avcodec_send_frame(c, NULL);
    if (ret >= 0)
        ret = avcodec_receive_packet(c, pkt);
    if (ret < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(ret, buf, sizeof(buf));
        ret = reel_err_set(err, REEL_EOUTPUT, "output.poster", "JPEG encoding failed: %s", buf);
        goto out;
    }

    {
        const char *slash = strrchr(path, '/');
        size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
        size_t cap = strlen(path) + 48;
        tmp = malloc(cap);
        if (!tmp) {
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
            goto out;
        }
        snprintf(tmp, cap, "%.*s.%s.%ld.partial", (int)dir_len, path, slash ? slash + 1 : path,
                 (long)getpid());
    }
    f = fopen(tmp, "wb");
    if (!f) {
        ret = reel_err_set(err, REEL_EOUTPUT, "output.poster", "cannot write %s: %s", tmp,
                           strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (fwrite(pkt->data, 1, (size_t)pkt->size, f) != (size_t)pkt->size || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        ret = reel_err_set(err, REEL_EOUTPUT, "output.poster", "writing %s: %s", tmp,
                           strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        ret = reel_err_set(err, REEL_EOUTPUT, "output.poster", "writing %s: %s", tmp,
                           strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        ret = reel_err_set(err, REEL_EOUTPUT, "output.poster", "renaming into %s: %s", path,
                           strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    ret = 0;
out:
    if (f)
        fclose(f);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    avcodec_free_context(&c);
    av_packet_free(&pkt);
    av_frame_free(&yuv);
    return ret;
}
