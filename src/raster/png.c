#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "raster/raster.h"

static uint8_t unpremultiply(unsigned c, unsigned a)
{
    if (!a)
        return 0;
    unsigned v = (c * 255 + a / 2) / a;
    return (uint8_t)(v > 255 ? 255 : v);
}

static int av_fail(struct reel_err *err, int averr, const char *path, const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(averr, buf, sizeof(buf));
    return reel_err_set(err, REEL_EOUTPUT, NULL, "png %s: %s: %s (AVERROR %d)", path, what, buf,
                        averr);
}

int reel_image_write_png(const struct reel_image *img, const char *path, struct reel_err *err)
{
    AVCodecContext *enc = NULL;
    AVFrame *fr = NULL;
    AVPacket *pkt = NULL;
    FILE *f = NULL;
    int ret;

    if (!img || !img->data || img->width <= 0 || img->height <= 0)
        return reel_err_set(err, REEL_EINTERNAL, NULL, "png %s: empty image", path);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec)
        return reel_err_set(err, REEL_EOUTPUT, NULL, "png %s: no PNG encoder in this FFmpeg", path);
    enc = avcodec_alloc_context3(codec);
    fr = av_frame_alloc();
    pkt = av_packet_alloc();
    if (!enc || !fr || !pkt) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto out;
    }
    enc->width = img->width;
    enc->height = img->height;
    enc->pix_fmt = AV_PIX_FMT_RGBA;
    enc->time_base = (AVRational){1, 1};
    enc->thread_count = 1;
    /* Keep encoder version strings and timestamps out of the file so it is reproducible. */
    enc->flags |= AV_CODEC_FLAG_BITEXACT;
    if ((ret = avcodec_open2(enc, codec, NULL)) < 0) {
        ret = av_fail(err, ret, path, "cannot open the encoder");
        goto out;
    }
    fr->format = AV_PIX_FMT_RGBA;
    fr->width = img->width;
    fr->height = img->height;
    if ((ret = av_frame_get_buffer(fr, 0)) < 0) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto out;
    }
    for (int y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->stride;
        uint8_t *d = fr->data[0] + (size_t)y * fr->linesize[0];
        for (int x = 0; x < img->width; x++, s += 4, d += 4) {
            unsigned a = s[3];
            d[0] = unpremultiply(s[0], a);
            d[1] = unpremultiply(s[1], a);
            d[2] = unpremultiply(s[2], a);
            d[3] = (uint8_t)a;
        }
    }
    if ((ret = avcodec_send_frame(enc, fr)) < 0 || (ret = avcodec_send_frame(enc, NULL)) < 0) {
        ret = av_fail(err, ret, path, "encoding failed");
        goto out;
    }
    f = fopen(path, "wb");
    if (!f) {
        ret = reel_err_set(err, REEL_EOUTPUT, NULL, "png %s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        ret = avcodec_receive_packet(enc, pkt);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            ret = av_fail(err, ret, path, "encoding failed");
            goto out;
        }
        size_t want = (size_t)pkt->size;
        size_t n = fwrite(pkt->data, 1, want, f);
        av_packet_unref(pkt);
        if (n != want) {
            ret = reel_err_set(err, REEL_EOUTPUT, NULL, "png %s: short write", path);
            goto out;
        }
    }
    ret = 0;
    if (fclose(f) != 0)
        ret = reel_err_set(err, REEL_EOUTPUT, NULL, "png %s: %s", path, strerror(errno));
    f = NULL;

out:
    if (f) {
        fclose(f);
        remove(path);
    }
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&enc);
    return ret;
}
