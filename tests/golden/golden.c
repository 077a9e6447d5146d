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
 *   golden crc FILE                       one line per decoded video frame: index, pts, size,
 *                                         pixel format and an Adler-32 of each plane (the
 *                                         bit-exact record of a lossless render)
 *   golden planes A B MIN_Y MIN_C         decode two videos frame by frame; exit 1 when the PSNR
 *                                         of any frame's Y plane is below MIN_Y or of its Cb or Cr
 *                                         plane below MIN_C (frame counts and formats must match)
 *   golden audio FILE                     the audio's levels: per 100 ms window and channel, RMS
 *                                         and 1/3-octave band levels in dBFS
 *   golden audio-compare REF FILE TOL_DB  FILE's levels against a stored `golden audio` table:
 *                                         exit 1 when a level of REF at or above -50 dBFS moves by
 *                                         more than TOL_DB, when a quieter one rises above -40
 * dBFS, or when the window or channel count differs
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/adler32.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/tx.h>
#include <libswresample/swresample.h>
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

/* Frame-at-a-time decoding, for walking two files in step. */
struct reader {
    struct decoder d;
    AVPacket *pkt;
    int eof;
};

static int open_reader(const char *path, enum AVMediaType type, struct reader *r)
{
    memset(r, 0, sizeof(*r));
    if (open_decoder(path, type, &r->d) < 0)
        return -1;
    r->pkt = av_packet_alloc();
    return r->pkt ? 0 : -1;
}

static void close_reader(struct reader *r)
{
    av_packet_free(&r->pkt);
    close_decoder(&r->d);
}

/* 1 with the next frame in f, 0 at the end, -1 on a decoding error. */
static int next_frame(struct reader *r, AVFrame *f)
{
    for (;;) {
        int ret = avcodec_receive_frame(r->d.dec, f);
        if (ret == 0)
            return 1;
        if (ret == AVERROR_EOF)
            return 0;
        if (ret != AVERROR(EAGAIN))
            return -1;
        if (r->eof)
            return 0;
        ret = av_read_frame(r->d.fmt, r->pkt);
        if (ret < 0) {
            r->eof = 1;
            avcodec_send_packet(r->d.dec, NULL);
            continue;
        }
        if (r->pkt->stream_index == r->d.stream && avcodec_send_packet(r->d.dec, r->pkt) < 0) {
            av_packet_unref(r->pkt);
            return -1;
        }
        av_packet_unref(r->pkt);
    }
}

/* Plane k's visible row length in bytes and its number of rows (8-bit formats). */
static void plane_size(const AVFrame *f, int k, int *bytes, int *rows)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    int linesizes[4];
    av_image_fill_linesizes(linesizes, f->format, f->width);
    *bytes = linesizes[k];
    *rows = (k == 1 || k == 2) ? AV_CEIL_RSHIFT(f->height, desc->log2_chroma_h) : f->height;
}

static int cmd_crc(const char *path)
{
    struct reader r;
    if (open_reader(path, AVMEDIA_TYPE_VIDEO, &r) < 0) {
        fprintf(stderr, "golden: cannot open video in %s\n", path);
        return 1;
    }
    AVStream *st = r.d.fmt->streams[r.d.stream];
    int64_t start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
    AVFrame *f = av_frame_alloc();
    int n = 0, got;
    while ((got = next_frame(&r, f)) > 0) {
        int64_t pts = f->best_effort_timestamp == AV_NOPTS_VALUE ? 0 : f->best_effort_timestamp;
        printf("%d %.4f %dx%d %s", n, (double)(pts - start) * av_q2d(st->time_base), f->width,
               f->height, av_get_pix_fmt_name(f->format));
        int planes = av_pix_fmt_count_planes(f->format);
        for (int k = 0; k < planes; k++) {
            int bytes, rows;
            plane_size(f, k, &bytes, &rows);
            unsigned long crc = 1;
            for (int y = 0; y < rows; y++)
                crc = av_adler32_update(crc, f->data[k] + (ptrdiff_t)y * f->linesize[k], bytes);
            printf(" %08lx", crc);
        }
        printf("\n");
        av_frame_unref(f);
        n++;
    }
    av_frame_free(&f);
    close_reader(&r);
    if (got < 0 || n == 0) {
        fprintf(stderr, "golden: decoding %s failed after %d frames\n", path, n);
        return 1;
    }
    return 0;
}

static double plane_psnr(const AVFrame *a, const AVFrame *b, int k)
{
    int bytes, rows;
    plane_size(a, k, &bytes, &rows);
    double sse = 0;
    for (int y = 0; y < rows; y++) {
        const uint8_t *pa = a->data[k] + (ptrdiff_t)y * a->linesize[k];
        const uint8_t *pb = b->data[k] + (ptrdiff_t)y * b->linesize[k];
        for (int x = 0; x < bytes; x++) {
            int d = pa[x] - pb[x];
            sse += (double)d * d;
        }
    }
    double mse = sse / ((double)bytes * rows);
    return mse > 0 ? fmin(99.0, 10 * log10(255.0 * 255.0 / mse)) : 99.0;
}

static int cmd_planes(const char *a_path, const char *b_path, double min_y, double min_c)
{
    struct reader ra, rb;
    if (open_reader(a_path, AVMEDIA_TYPE_VIDEO, &ra) < 0) {
        fprintf(stderr, "golden: cannot open video in %s\n", a_path);
        return 1;
    }
    if (open_reader(b_path, AVMEDIA_TYPE_VIDEO, &rb) < 0) {
        fprintf(stderr, "golden: cannot open video in %s\n", b_path);
        close_reader(&ra);
        return 1;
    }
    AVFrame *fa = av_frame_alloc(), *fb = av_frame_alloc();
    static const char *const names[3] = {"Y", "Cb", "Cr"};
    double worst[3] = {99, 99, 99};
    int worst_at[3] = {0, 0, 0};
    int n = 0, ok = 1;
    for (;;) {
        int ga = next_frame(&ra, fa), gb = next_frame(&rb, fb);
        if (ga <= 0 || gb <= 0) {
            if (ga != gb) {
                fprintf(stderr, "golden: %s ends %s %s (frame %d)\n", b_path,
                        ga < 0 || gb < 0 ? "with a decoding error, unlike"
                                         : "at a different frame than",
                        a_path, n);
                ok = 0;
            }
            break;
        }
        if (fa->format != AV_PIX_FMT_YUV420P || fb->format != fa->format ||
            fa->width != fb->width || fa->height != fb->height) {
            fprintf(stderr, "golden: frame %d is %dx%d %s and %dx%d %s; planes needs yuv420p\n", n,
                    fa->width, fa->height, av_get_pix_fmt_name(fa->format), fb->width, fb->height,
                    av_get_pix_fmt_name(fb->format));
            ok = 0;
            break;
        }
        for (int k = 0; k < 3; k++) {
            double p = plane_psnr(fa, fb, k);
            if (p < worst[k]) {
                worst[k] = p;
                worst_at[k] = n;
            }
        }
        av_frame_unref(fa);
        av_frame_unref(fb);
        n++;
    }
    if (ok && n == 0) {
        fprintf(stderr, "golden: no frames decoded from %s\n", a_path);
        ok = 0;
    }
    if (ok) {
        ok = worst[0] >= min_y && worst[1] >= min_c && worst[2] >= min_c;
        printf("%s: %d frames, lowest PSNR", b_path, n);
        for (int k = 0; k < 3; k++)
            printf(" %s %.2f dB (frame %d)", names[k], worst[k], worst_at[k]);
        printf(" (min Y %.1f, Cb/Cr %.1f): %s\n", min_y, min_c, ok ? "ok" : "FAIL");
    }
    av_frame_free(&fa);
    av_frame_free(&fb);
    close_reader(&ra);
    close_reader(&rb);
    return ok ? 0 : 1;
}

/* Audio levels: 100 ms windows, a Hann-windowed FFT of each, energy summed per 1/3-octave band
 * (centres 1000 * 2^(k/3) Hz, k = -12..12: 63 Hz to 16 kHz). Levels are mean-square powers in dBFS,
 * so a full-scale square wave reads 0 dB and a full-scale sine -3 dB; -99 stands for silence. */
#define AUDIO_FFT 8192
#define AUDIO_BANDS 25
#define AUDIO_FLOOR_DB (-99.0)

struct levels {
    int rate, channels, windows;
    double *v; /* [window][channel][1 + AUDIO_BANDS]: RMS then bands */
};

static double to_db(double power)
{
    double db = power > 0 ? 10 * log10(power) : AUDIO_FLOOR_DB;
    return db < AUDIO_FLOOR_DB ? AUDIO_FLOOR_DB : db;
}

static int measure_levels(const char *path, struct levels *lv)
{
    struct reader r;
    memset(lv, 0, sizeof(*lv));
    if (open_reader(path, AVMEDIA_TYPE_AUDIO, &r) < 0) {
        fprintf(stderr, "golden: cannot open audio in %s\n", path);
        return -1;
    }
    AVCodecContext *dec = r.d.dec;
    int ch = dec->ch_layout.nb_channels, rate = dec->sample_rate;
    SwrContext *swr = NULL;
    AVFrame *f = av_frame_alloc();
    float **pcm = calloc((size_t)ch, sizeof(*pcm));
    size_t len = 0, cap = 0;
    int ret = -1, got;
    if (ch <= 0 || rate <= 0 || !pcm ||
        swr_alloc_set_opts2(&swr, &dec->ch_layout, AV_SAMPLE_FMT_FLTP, rate, &dec->ch_layout,
                            dec->sample_fmt, rate, 0, NULL) < 0 ||
        swr_init(swr) < 0)
        goto out;
    while ((got = next_frame(&r, f)) > 0) {
        if (len + (size_t)f->nb_samples + 64 > cap) {
            cap = (len + f->nb_samples + 64) * 2;
            for (int c = 0; c < ch; c++)
                if (!(pcm[c] = realloc(pcm[c], cap * sizeof(float))))
                    goto out;
        }
        uint8_t *dst[64];
        for (int c = 0; c < ch && c < 64; c++)
            dst[c] = (uint8_t *)(pcm[c] + len);
        int n = swr_convert(swr, dst, (int)(cap - len), (const uint8_t **)f->extended_data,
                            f->nb_samples);
        if (n < 0)
            goto out;
        len += (size_t)n;
        av_frame_unref(f);
    }
    if (got < 0)
        goto out;

    int win = rate / 10;
    if (win > AUDIO_FFT) {
        fprintf(stderr, "golden: %d Hz audio is beyond the level meter's FFT\n", rate);
        goto out;
    }
    AVTXContext *tx = NULL;
    av_tx_fn fft;
    float scale = 1.0f;
    AVComplexFloat *in = av_malloc(sizeof(*in) * AUDIO_FFT);
    AVComplexFloat *spec = av_malloc(sizeof(*spec) * AUDIO_FFT);
    double *hann = malloc(sizeof(*hann) * (size_t)win);
    lv->rate = rate;
    lv->channels = ch;
    lv->windows = (int)(len / (size_t)win);
    lv->v = calloc((size_t)lv->windows * ch * (1 + AUDIO_BANDS) + 1, sizeof(double));
    if (!in || !spec || !hann || !lv->v ||
        av_tx_init(&tx, &fft, AV_TX_FLOAT_FFT, 0, AUDIO_FFT, &scale, 0) < 0) {
        av_free(in);
        av_free(spec);
        free(hann);
        goto out;
    }
    double wsum = 0;
    for (int i = 0; i < win; i++) {
        hann[i] = 0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / win);
        wsum += hann[i] * hann[i];
    }
    for (int w = 0; w < lv->windows; w++) {
        for (int c = 0; c < ch; c++) {
            const float *x = pcm[c] + (size_t)w * win;
            double *out = lv->v + ((size_t)w * ch + c) * (1 + AUDIO_BANDS);
            double ms = 0;
            for (int i = 0; i < win; i++)
                ms += (double)x[i] * x[i];
            out[0] = to_db(ms / win);
            memset(in, 0, sizeof(*in) * AUDIO_FFT);
            for (int i = 0; i < win; i++)
                in[i].re = (float)(x[i] * hann[i]);
            fft(tx, spec, in, sizeof(AVComplexFloat));
            /* Parseval: the one-sided power spectrum summed over all bins is the windowed signal's
             * mean square, divided by the window's mean square to read as the signal's. */
            double norm = 2.0 / ((double)AUDIO_FFT * wsum);
            for (int b = 0; b < AUDIO_BANDS; b++) {
                double fc = 1000.0 * pow(2.0, (b - 12) / 3.0);
                int k0 = (int)ceil(fc * pow(2.0, -1.0 / 6) * AUDIO_FFT / rate);
                int k1 = (int)ceil(fc * pow(2.0, 1.0 / 6) * AUDIO_FFT / rate);
                double e = 0;
                for (int k = k0; k < k1 && k < AUDIO_FFT / 2; k++)
                    e += (double)spec[k].re * spec[k].re + (double)spec[k].im * spec[k].im;
                out[1 + b] = to_db(e * norm);
            }
        }
    }
    av_tx_uninit(&tx);
    av_free(in);
    av_free(spec);
    free(hann);
    ret = lv->windows > 0 ? 0 : -1;
    if (ret < 0)
        fprintf(stderr, "golden: %s has less than 100 ms of audio\n", path);
out:
    if (ret < 0 && !lv->windows)
        fprintf(stderr, "golden: cannot measure the audio of %s\n", path);
    for (int c = 0; pcm && c < ch; c++)
        free(pcm[c]);
    free(pcm);
    swr_free(&swr);
    av_frame_free(&f);
    close_reader(&r);
    return ret;
}

static void print_levels(FILE *out, const struct levels *lv)
{
    fprintf(out,
            "# golden audio: 100 ms windows; per window and channel: RMS, then 1/3-octave bands "
            "63 Hz..16 kHz, dBFS\n");
    fprintf(out, "rate %d channels %d windows %d bands %d\n", lv->rate, lv->channels, lv->windows,
            AUDIO_BANDS);
    for (int w = 0; w < lv->windows; w++)
        for (int c = 0; c < lv->channels; c++) {
            const double *v = lv->v + ((size_t)w * lv->channels + c) * (1 + AUDIO_BANDS);
            fprintf(out, "%d %d", w, c);
            for (int b = 0; b <= AUDIO_BANDS; b++)
                fprintf(out, " %.2f", v[b]);
            fprintf(out, "\n");
        }
}

static int cmd_audio(const char *path)
{
    struct levels lv;
    if (measure_levels(path, &lv) < 0) {
        free(lv.v);
        return 1;
    }
    print_levels(stdout, &lv);
    free(lv.v);
    return 0;
}

static int cmd_audio_compare(const char *ref_path, const char *path, double tol_db)
{
    struct levels lv;
    FILE *ref = fopen(ref_path, "r");
    int rate, channels, windows, bands, bad = 0, checked = 0;
    double worst = 0;
    char line[4096];
    if (!ref) {
        fprintf(stderr, "golden: cannot read %s\n", ref_path);
        return 1;
    }
    if (measure_levels(path, &lv) < 0) {
        free(lv.v);
        fclose(ref);
        return 1;
    }
    if (!fgets(line, sizeof(line), ref) || !fgets(line, sizeof(line), ref) ||
        sscanf(line, "rate %d channels %d windows %d bands %d", &rate, &channels, &windows,
               &bands) != 4 ||
        bands != AUDIO_BANDS) {
        fprintf(stderr, "golden: %s is not a `golden audio` table\n", ref_path);
        bad = 1;
    } else if (rate != lv.rate || channels != lv.channels || windows != lv.windows) {
        fprintf(stderr,
                "golden: audio is %d Hz, %d channels, %d windows; reference %d Hz, %d, %d\n",
                lv.rate, lv.channels, lv.windows, rate, channels, windows);
        bad = 1;
    }
    int broken = bad; /* the table itself is unusable: stop at once */
    for (int i = 0; !broken && i < windows * channels; i++) {
        int w, c, off;
        char *p = line;
        if (!fgets(line, sizeof(line), ref) || sscanf(p, "%d %d%n", &w, &c, &off) != 2 ||
            w != i / channels || c != i % channels) {
            fprintf(stderr, "golden: %s: bad line %d\n", ref_path, i + 3);
            bad = broken = 1;
            break;
        }
        p += off;
        const double *v = lv.v + (size_t)i * (1 + AUDIO_BANDS);
        for (int b = 0; b <= AUDIO_BANDS; b++) {
            double want = strtod(p, &p), got = v[b];
            int miss = want >= -50.0 ? fabs(got - want) > tol_db : got > -40.0;
            if (want >= -50.0) {
                checked++;
                worst = fmax(worst, fabs(got - want));
            }
            if (miss && ++bad <= 10) {
                char what[32];
                if (b)
                    snprintf(what, sizeof(what), "%.0f Hz band", 1000.0 * pow(2.0, (b - 13) / 3.0));
                else
                    snprintf(what, sizeof(what), "RMS");
                fprintf(stderr, "golden: %s at %.1f s channel %d: %s %.2f dB, reference %.2f dB\n",
                        path, w / 10.0, c, what, got, want);
            }
        }
    }
    printf("%s audio: %d levels checked, largest change %.2f dB (max %.2f), %d off: %s\n", path,
           checked, worst, tol_db, bad, bad ? "FAIL" : "ok");
    free(lv.v);
    fclose(ref);
    return bad ? 1 : 0;
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
    if (argc == 3 && !strcmp(argv[1], "crc"))
        return cmd_crc(argv[2]);
    if (argc == 6 && !strcmp(argv[1], "planes"))
        return cmd_planes(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
    if (argc == 3 && !strcmp(argv[1], "audio"))
        return cmd_audio(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "audio-compare"))
        return cmd_audio_compare(argv[2], argv[3], atof(argv[4]));
    fprintf(stderr, "usage: golden info FILE | frames FILE W T1,T2 DIR | compare A B PSNR DIFF | "
                    "luma A B PSNR | pixel IMG X Y | crc FILE | planes A B MIN_Y MIN_C | "
                    "audio FILE | audio-compare REF FILE TOL_DB\n");
    return 2;
}
