/*
 * Decoding output files back into frames (for the encode floor and the picture check) and PSNR
 * between them. The files are reel's own outputs and the peer's, so the first video stream is the
 * one wanted and no format allow-list is needed beyond refusing anything but local files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "bench/internal.h"

struct reel_bench_decoder {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    enum AVPixelFormat want;
    int stream;
    bool is_draining, is_done;
};

void reel_bench_decoder_close(struct reel_bench_decoder **pd)
{
    struct reel_bench_decoder *d = pd ? *pd : NULL;
    if (!d)
        return;
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
    sws_freeContext(d->sws);
    free(d);
    *pd = NULL;
}

int reel_bench_decoder_open(const char *path, enum AVPixelFormat fmt,
                            struct reel_bench_decoder **out, struct reel_err *err)
{
    struct reel_bench_decoder *d = calloc(1, sizeof(*d));
    AVDictionary *opts = NULL;
    int ret;
    *out = NULL;
    if (!d)
        return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
    d->want = fmt;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    ret = avformat_open_input(&d->fmt, path, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        ret = reel_err_from_av(err, REEL_EDECODE, ret, path);
        goto fail;
    }
    if ((ret = avformat_find_stream_info(d->fmt, NULL)) < 0) {
        ret = reel_err_from_av(err, REEL_EDECODE, ret, path);
        goto fail;
    }
    const AVCodec *codec = NULL;
    d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (d->stream < 0 || !codec) {
        ret = reel_err_set(err, REEL_EDECODE, NULL, "%s has no decodable video stream", path);
        goto fail;
    }
    d->dec = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->dec || !d->pkt || !d->frame) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto fail;
    }
    avcodec_parameters_to_context(d->dec, d->fmt->streams[d->stream]->codecpar);
    if ((ret = avcodec_open2(d->dec, codec, NULL)) < 0) {
        ret = reel_err_from_av(err, REEL_EDECODE, ret, "opening the video decoder");
        goto fail;
    }
    *out = d;
    return 0;
fail:
    reel_bench_decoder_close(&d);
    return ret;
}

/* A new frame in d->want from the decoder's frame (a reference when no conversion is needed). */
static int deliver(struct reel_bench_decoder *d, AVFrame **out, struct reel_err *err)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
    if (d->frame->format == d->want) {
        av_frame_move_ref(f, d->frame);
        *out = f;
        return 0;
    }
    f->format = d->want;
    f->width = d->frame->width;
    f->height = d->frame->height;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
    }
    d->sws = sws_getCachedContext(d->sws, d->frame->width, d->frame->height, d->frame->format,
                                  f->width, f->height, d->want, SWS_BICUBIC, NULL, NULL, NULL);
    if (!d->sws) {
        av_frame_free(&f);
        return reel_err_set(err, REEL_EDECODE, NULL, "cannot convert decoded frames");
    }
    sws_scale(d->sws, (const uint8_t *const *)d->frame->data, d->frame->linesize, 0,
              d->frame->height, f->data, f->linesize);
    av_frame_copy_props(f, d->frame);
    av_frame_unref(d->frame);
    *out = f;
    return 0;
}

int reel_bench_decoder_next(struct reel_bench_decoder *d, AVFrame **out, struct reel_err *err)
{
    *out = NULL;
    for (;;) {
        int ret = avcodec_receive_frame(d->dec, d->frame);
        if (ret == 0)
            return deliver(d, out, err);
        if (ret == AVERROR_EOF)
            return -REEL_EEOF;
        if (ret != AVERROR(EAGAIN))
            return reel_err_from_av(err, REEL_EDECODE, ret, "decoding");
        if (d->is_draining)
            return -REEL_EEOF;
        ret = av_read_frame(d->fmt, d->pkt);
        if (ret == AVERROR_EOF) {
            d->is_draining = true;
            avcodec_send_packet(d->dec, NULL);
            continue;
        }
        if (ret < 0)
            return reel_err_from_av(err, REEL_EDECODE, ret, "reading");
        if (d->pkt->stream_index == d->stream)
            ret = avcodec_send_packet(d->dec, d->pkt);
        av_packet_unref(d->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN))
            return reel_err_from_av(err, REEL_EDECODE, ret, "decoding");
    }
}

double reel_bench_psnr_plane(const uint8_t *a, int a_stride, const uint8_t *b, int b_stride, int w,
                             int h)
{
    uint64_t sse = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *ra = a + (size_t)y * a_stride, *rb = b + (size_t)y * b_stride;
        uint32_t row = 0; /* at most 255^2 x 8192 fits in 32 bits */
        for (int x = 0; x < w; x++) {
            int d = ra[x] - rb[x];
            row += (uint32_t)(d * d);
        }
        sse += row;
    }
    if (!sse || w <= 0 || h <= 0)
        return INFINITY;
    double mse = (double)sse / ((double)w * h);
    return 10.0 * log10(255.0 * 255.0 / mse);
}

/* Identical frames would make the mean infinite; cap them where the figure stops meaning much. */
#define PSNR_CAP_DB 100.0

int reel_bench_compare_files(const char *a, const char *b, double fps,
                             const double sample_t[REEL_BENCH_PSNR_SAMPLES],
                             struct reel_bench_psnr *r, struct reel_err *err)
{
    struct reel_bench_decoder *da = NULL, *db = NULL;
    AVFrame *fa = NULL, *fb = NULL;
    double sum[3] = {0, 0, 0};
    int ret = reel_bench_decoder_open(a, AV_PIX_FMT_YUV420P, &da, err);
    if (ret >= 0)
        ret = reel_bench_decoder_open(b, AV_PIX_FMT_YUV420P, &db, err);
    if (ret < 0)
        goto out;
    r->frames = 0;
    r->min_y = INFINITY;
    r->min_y_frame = -1;
    for (int i = 0; i < REEL_BENCH_PSNR_SAMPLES; i++) {
        r->sample_frame[i] = (int)floor(sample_t[i] * fps + 0.5);
        r->sample_y[i] = NAN;
    }
    for (int n = 0;; n++) {
        int ra = reel_bench_decoder_next(da, &fa, err);
        int rb = ra < 0 ? ra : reel_bench_decoder_next(db, &fb, err);
        if (ra == -REEL_EEOF || rb == -REEL_EEOF)
            break;
        if (ra < 0 || rb < 0) {
            ret = ra < 0 ? ra : rb;
            goto out;
        }
        if (fa->width != fb->width || fa->height != fb->height) {
            ret = reel_err_set(err, REEL_EDECODE, NULL, "frame %d: %dx%d against %dx%d", n,
                               fa->width, fa->height, fb->width, fb->height);
            goto out;
        }
        double p[3];
        for (int c = 0; c < 3; c++) {
            int w = c ? (fa->width + 1) / 2 : fa->width, h = c ? (fa->height + 1) / 2 : fa->height;
            p[c] = reel_bench_psnr_plane(fa->data[c], fa->linesize[c], fb->data[c], fb->linesize[c],
                                         w, h);
            sum[c] += p[c] > PSNR_CAP_DB ? PSNR_CAP_DB : p[c];
        }
        if (p[0] < r->min_y) {
            r->min_y = p[0];
            r->min_y_frame = n;
        }
        for (int i = 0; i < REEL_BENCH_PSNR_SAMPLES; i++)
            if (r->sample_frame[i] == n)
                r->sample_y[i] = p[0];
        r->frames++;
        av_frame_free(&fa);
        av_frame_free(&fb);
    }
    if (!r->frames) {
        ret = reel_err_set(err, REEL_EDECODE, NULL, "no frames to compare");
        goto out;
    }
    r->mean_y = sum[0] / r->frames;
    r->mean_u = sum[1] / r->frames;
    r->mean_v = sum[2] / r->frames;
    ret = 0;
out:
    av_frame_free(&fa);
    av_frame_free(&fb);
    reel_bench_decoder_close(&da);
    reel_bench_decoder_close(&db);
    return ret;
}
