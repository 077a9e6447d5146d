/*
 * golden: the checking tool of the golden suite. Reads outputs back with libavformat, independent
 * of the code that wrote them.
 *
 *   golden info FILE                      one line per fact: format, video codec, size, pix_fmt,
 *                                         colour tags, frame count, duration, audio codec/duration
 *   golden frames FILE W T1,T2,... DIR    decode the frames shown at times Ti (the last frame with
 *                                         pts <= Ti), scale to W px wide (area), write DIR/Ti.png
 *   golden compare A.png B.png MIN_PSNR MAX_DIFF
 *                                         luma+chroma PSNR and max abs difference of two images;
 *                                         exit 1 when PSNR < MIN_PSNR or max diff > MAX_DIFF
 *   golden luma A.png B.png MIN_PSNR      luma PSNR (BT.709 weights) of two images; exit 1 when
 *                                         below MIN_PSNR (the cross-engine parity measure)
 *   golden pixel IMG.png X Y              print "R G B" of a pixel (for semantic probes)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

struct decoder {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
};

static void close_decoder(struct decoder *d)
{
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
}

static int open_decoder(const char *path, enum AVMediaType type, struct decoder *d)
{
    memset(d, 0, sizeof(*d));
    const AVCodec *codec = NULL;
    if (avformat_open_input(&d->fmt, path, NULL, NULL) < 0)
        goto fail;
    if (avformat_find_stream_info(d->fmt, NULL) < 0)
        goto fail;
    d->stream = av_find_best_stream(d->fmt, type, -1, -1, &codec, 0);
    if (d->stream < 0)
        goto fail;
    d->dec = avcodec_alloc_context3(codec);
    if (!d->dec || avcodec_parameters_to_context(d->dec, d->fmt->streams[d->stream]->codecpar) < 0)
        goto fail;
    d->dec->pkt_timebase = d->fmt->streams[d->stream]->time_base;
    if (avcodec_open2(d->dec, codec, NULL) < 0)
        goto fail;
    return 0;
fail:
    close_decoder(d);
    return -1;
}

/* Calls cb for every decoded frame; stops when cb returns non-zero. */
static int decode_all(struct decoder *d, int (*cb)(void *, AVFrame *), void *opaque)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int stop = 0, eof = 0;
    while (!stop) {
        if (!eof) {
            int r = av_read_frame(d->fmt, pkt);
            if (r < 0) {
                eof = 1;
                avcodec_send_packet(d->dec, NULL);
            } else {
                if (pkt->stream_index == d->stream)
                    avcodec_send_packet(d->dec, pkt);
                av_packet_unref(pkt);
            }
        }
        int r;
        while (!stop && (r = avcodec_receive_frame(d->dec, f)) == 0) {
            stop = cb(opaque, f);
            av_frame_unref(f);
        }
        if (eof && r == AVERROR_EOF)
            break;
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    return 0;
}

struct count_state {
    int64_t frames;
    int64_t samples;
    int64_t last_pts;
};

static int count_cb(void *opaque, AVFrame *f)
{
    struct count_state *s = opaque;
    s->frames++;
    s->samples += f->nb_samples;
    s->last_pts = f->best_effort_timestamp;
    return 0;
}

static int cmd_info(const char *path)
{
    struct decoder d;
    if (open_decoder(path, AVMEDIA_TYPE_VIDEO, &d) < 0) {
        fprintf(stderr, "golden: cannot open video in %s\n", path);
        return 1;
    }
    AVStream *st = d.fmt->streams[d.stream];
    AVCodecParameters *par = st->codecpar;
    printf("format %s\n", d.fmt->iformat->name);
    printf("video_codec %s\n", avcodec_get_name(par->codec_id));
    printf("size %dx%d\n", par->width, par->height);
    printf("pix_fmt %s\n", av_get_pix_fmt_name(par->format));
    if (par->codec_id != AV_CODEC_ID_GIF)
        printf("color %s/%s/%s/%s\n", av_color_primaries_name(par->color_primaries),
               av_color_transfer_name(par->color_trc), av_color_space_name(par->color_space),
               av_color_range_name(par->color_range));
    struct count_state cs = {0};
    decode_all(&d, count_cb, &cs);
    printf("frames %lld\n", (long long)cs.frames);
    close_decoder(&d);

    struct decoder a;
    if (open_decoder(path, AVMEDIA_TYPE_AUDIO, &a) == 0) {
        struct count_state as = {0};
        decode_all(&a, count_cb, &as);
        printf("audio %s %d Hz %d ch\n", avcodec_get_name(a.dec->codec_id), a.dec->sample_rate,
               a.dec->ch_layout.nb_channels);
        /* Encoder priming samples are trimmed by the demuxer's edit list where the container has
         * one, so decoded samples / rate is the audio duration a player sees. */
        printf("audio_duration_ms %lld\n",
               (long long)(as.samples * 1000 / (a.dec->sample_rate ? a.dec->sample_rate : 1)));
        close_decoder(&a);
    } else {
        printf("audio none\n");
    }
    return 0;
}

struct grab_state {
    double *times;
    int n, next;
    int width;
    const char *dir;
    const char *const *names;
    AVFrame *prev;
    AVRational tb;
    int64_t start;
    int failed;
};

static int write_png(const AVFrame *src, int width, const char *path)
{
    int height = (int)lround((double)src->height * width / src->width);
    height += height & 1;
    struct SwsContext *sws = sws_getContext(src->width, src->height, src->format, width, height,
                                            AV_PIX_FMT_RGB24, SWS_AREA, NULL, NULL, NULL);
    AVFrame *dst = av_frame_alloc();
    dst->format = AV_PIX_FMT_RGB24;
    dst->width = width;
    dst->height = height;
    av_frame_get_buffer(dst, 0);
    const int *coefs = sws_getCoefficients(SWS_CS_ITU709);
    int src_full = src->color_range == AVCOL_RANGE_JPEG || src->format == AV_PIX_FMT_YUVJ420P;
    sws_setColorspaceDetails(sws, coefs, src_full, coefs, 1, 0, 1 << 16, 1 << 16);
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
              dst->linesize);
    const AVCodec *png = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *enc = avcodec_alloc_context3(png);
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, 1};
    int ret = avcodec_open2(enc, png, NULL);
    AVPacket *pkt = av_packet_alloc();
    if (ret == 0)
        ret = avcodec_send_frame(enc, dst);
    if (ret == 0)
        ret = avcodec_receive_packet(enc, pkt);
    if (ret == 0) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(pkt->data, 1, pkt->size, f) != (size_t)pkt->size)
            ret = -1;
        if (f)
            fclose(f);
    }
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    av_frame_free(&dst);
    sws_freeContext(sws);
    return ret;
}

static int grab_cb(void *opaque, AVFrame *f)
{
    struct grab_state *s = opaque;
    int64_t pts = f->best_effort_timestamp;
    double t = (pts == AV_NOPTS_VALUE ? 0 : (double)(pts - s->start)) * av_q2d(s->tb);
    /* Emit every requested time that this frame passes: the previous frame is the one shown. */
    while (s->next < s->n && t > s->times[s->next] + 1e-6 && s->prev) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.png", s->dir, s->names[s->next]);
        if (write_png(s->prev, s->width, path) < 0)
            s->failed = 1;
        s->next++;
    }
    av_frame_unref(s->prev);
    av_frame_ref(s->prev, f);
    return s->next >= s->n;
}

static int cmd_frames(const char *path, int width, char *times, const char *dir)
{
    struct decoder d;
    if (open_decoder(path, AVMEDIA_TYPE_VIDEO, &d) < 0) {
        fprintf(stderr, "golden: cannot open video in %s\n", path);
        return 1;
    }
    double tv[64];
    const char *names[64];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(times, ",", &save); tok && n < 64;
         tok = strtok_r(NULL, ",", &save)) {
        tv[n] = atof(tok);
        names[n] = tok;
        n++;
    }
    AVStream *st = d.fmt->streams[d.stream];
    struct grab_state s = {
        .times = tv,
        .n = n,
        .width = width,
        .dir = dir,
        .names = names,
        .prev = av_frame_alloc(),
        .tb = st->time_base,
        .start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time,
    };
    decode_all(&d, grab_cb, &s);
    /* Times after the last frame show the last frame. */
    while (s.next < s.n && s.prev->data[0]) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s.png", dir, names[s.next]);
        if (write_png(s.prev, width, p) < 0)
            s.failed = 1;
        s.next++;
    }
    av_frame_free(&s.prev);
    close_decoder(&d);
    if (s.failed || s.next < s.n) {
        fprintf(stderr, "golden: could not extract every frame from %s\n", path);
        return 1;
    }
    return 0;
}

static AVFrame *load_rgb(const char *path)
{
    struct decoder d;
    if (open_decoder(path, AVMEDIA_TYPE_VIDEO, &d) < 0)
        return NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc(), *rgb = NULL;
    while (av_read_frame(d.fmt, pkt) >= 0) {
        if (pkt->stream_index == d.stream && avcodec_send_packet(d.dec, pkt) == 0 &&
            avcodec_receive_frame(d.dec, f) == 0) {
            av_packet_unref(pkt);
            break;
        }
        av_packet_unref(pkt);
    }
    if (f->data[0]) {
        rgb = av_frame_alloc();
        rgb->format = AV_PIX_FMT_RGB24;
        rgb->width = f->width;
        rgb->height = f->height;
        av_frame_get_buffer(rgb, 0);
        struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height,
                                                AV_PIX_FMT_RGB24, SWS_POINT, NULL, NULL, NULL);
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, rgb->data,
                  rgb->linesize);
        sws_freeContext(sws);
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    close_decoder(&d);
    return rgb;
}

static int cmd_compare(const char *a_path, const char *b_path, double min_psnr, int max_diff)
{
    AVFrame *a = load_rgb(a_path), *b = load_rgb(b_path);
    if (!a || !b) {
        fprintf(stderr, "golden: cannot read %s\n", !a ? a_path : b_path);
        return 1;
    }
    if (a->width != b->width || a->height != b->height) {
        fprintf(stderr, "golden: size differs: %dx%d vs %dx%d\n", a->width, a->height, b->width,
                b->height);
        return 1;
    }
    double sse = 0;
    int maxd = 0;
    for (int y = 0; y < a->height; y++) {
        const uint8_t *pa = a->data[0] + y * a->linesize[0];
        const uint8_t *pb = b->data[0] + y * b->linesize[0];
        for (int x = 0; x < a->width * 3; x++) {
            int dd = abs(pa[x] - pb[x]);
            sse += (double)dd * dd;
            if (dd > maxd)
                maxd = dd;
        }
    }
    double mse = sse / ((double)a->width * a->height * 3);
    double psnr = mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
    int ok = psnr >= min_psnr && maxd <= max_diff;
    printf("%s psnr %.2f dB (min %.1f) max_diff %d (max %d): %s\n", b_path, psnr, min_psnr, maxd,
           max_diff, ok ? "ok" : "FAIL");
    av_frame_free(&a);
    av_frame_free(&b);
    return ok ? 0 : 1;
}

/* Luma PSNR (BT.709 weights on the decoded RGB) of two images: the engines' parity measure. */
static int cmd_luma(const char *a_path, const char *b_path, double min_psnr)
{
    AVFrame *a = load_rgb(a_path), *b = load_rgb(b_path);
    int ok = 0;
    if (!a || !b) {
        fprintf(stderr, "golden: cannot read %s\n", !a ? a_path : b_path);
    } else if (a->width != b->width || a->height != b->height) {
        fprintf(stderr, "golden: size differs: %dx%d vs %dx%d\n", a->width, a->height, b->width,
                b->height);
    } else {
        double sse = 0, maxd = 0;
        for (int y = 0; y < a->height; y++) {
            const uint8_t *pa = a->data[0] + y * a->linesize[0];
            const uint8_t *pb = b->data[0] + y * b->linesize[0];
            for (int x = 0; x < a->width; x++, pa += 3, pb += 3) {
                double ya = 0.2126 * pa[0] + 0.7152 * pa[1] + 0.0722 * pa[2];
                double yb = 0.2126 * pb[0] + 0.7152 * pb[1] + 0.0722 * pb[2];
                sse += (ya - yb) * (ya - yb);
                maxd = fmax(maxd, fabs(ya - yb));
            }
        }
        double mse = sse / ((double)a->width * a->height);
        double psnr = mse > 0 ? fmin(99.0, 10 * log10(255.0 * 255.0 / mse)) : 99.0;
        ok = psnr >= min_psnr;
        printf("%s luma psnr %.2f dB (min %.1f) max_diff %.0f: %s\n", b_path, psnr, min_psnr, maxd,
               ok ? "ok" : "FAIL");
    }
    av_frame_free(&a);
    av_frame_free(&b);
    return ok ? 0 : 1;
}

static int cmd_pixel(const char *path, int x, int y)
{
    AVFrame *f = load_rgb(path);
    if (!f || x < 0 || y < 0 || x >= f->width || y >= f->height) {
        fprintf(stderr, "golden: cannot read pixel %d,%d of %s\n", x, y, path);
        av_frame_free(&f);
        return 1;
    }
    const uint8_t *p = f->data[0] + y * f->linesize[0] + x * 3;
    printf("%d %d %d\n", p[0], p[1], p[2]);
    av_frame_free(&f);
    return 0;
}

int main(int argc, char **argv)
{
    av_log_set_level(AV_LOG_ERROR);
    if (argc == 3 && !strcmp(argv[1], "info"))
        return cmd_info(argv[2]);
    if (argc == 6 && !strcmp(argv[1], "frames"))
        return cmd_frames(argv[2], atoi(argv[3]), argv[4], argv[5]);
    if (argc == 6 && !strcmp(argv[1], "compare"))
        return cmd_compare(argv[2], argv[3], atof(argv[4]), atoi(argv[5]));
    if (argc == 5 && !strcmp(argv[1], "luma"))
        return cmd_luma(argv[2], argv[3], atof(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "pixel"))
        return cmd_pixel(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: golden info FILE | frames FILE W T1,T2 DIR | compare A B PSNR DIFF | "
                    "luma A B PSNR | pixel IMG X Y\n");
    return 2;
}
