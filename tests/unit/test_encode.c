/* Encoder chain, output muxer and poster tests: encode synthetic frames, read the files back with
 * libavformat/libavcodec and check codec, tags, layout, frame count, duration and PSNR. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "check.h"
#include "encode/encoder.h"
#include "encode/output.h"

#define W 320
#define H 240
#define NFRAMES 30

/* libx265 3.5 loses one allocation per encoder in x265_encoder_open (the ffmpeg CLI shows the same
 * 1168 bytes under valgrind); LeakSanitizer reads this hook in sanitizer builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:x265_encoder_open\nleak:libx265.so\n";
}

static char logbuf[65536];
static size_t loglen;

static void capture(void *opaque, const char *line)
{
    (void)opaque;
    size_t n = strlen(line);
    if (loglen + n + 2 < sizeof(logbuf)) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = 0;
    }
}

static void log_reset(void)
{
    loglen = 0;
    logbuf[0] = 0;
}

static char tmpdir[256];

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Any leftover ".partial" file in the test folder is a bug. */
static int count_partials(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".partial"))
            n++;
    closedir(d);
    return n;
}

static void default_output(struct reel_output *o, enum reel_format fmt, enum reel_codec codec)
{
    memset(o, 0, sizeof(*o));
    o->width = W;
    o->height = H;
    o->fps_num = 30;
    o->fps_den = 1;
    o->duration_us = REEL_US;
    o->format = fmt;
    o->codec = codec;
    o->quality = 23;
    o->preset = REEL_PRESET_VERYFAST;
    o->encoder = REEL_ENCPREF_SOFTWARE;
    o->audio_sample_rate = 48000;
    o->audio_channels = 2;
    o->audio_bitrate = 128000;
}

/* A moving smooth gradient with a little structure, different in every frame. */
static AVFrame *make_frame(enum AVPixelFormat fmt, int n)
{
    AVFrame *f = av_frame_alloc();
    f->format = fmt;
    f->width = W;
    f->height = H;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    f->pts = n;
    if (fmt == AV_PIX_FMT_RGBA) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *p = f->data[0] + y * f->linesize[0] + 4 * x;
                p[0] = (uint8_t)((x * 255 / W + 4 * n) & 255);
                p[1] = (uint8_t)(y * 255 / H);
                p[2] = (uint8_t)(128 + 100 * sin((x + y + 3 * n) / 40.0));
                p[3] = 255;
            }
        return f;
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            f->data[0][y * f->linesize[0] + x] =
                (uint8_t)(40 + (x + 3 * n) * 150 / (W + 90) + 20 * sin(y / 15.0));
    if (fmt == AV_PIX_FMT_NV12) {
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++) {
                f->data[1][y * f->linesize[1] + 2 * x] = (uint8_t)(128 + (y - H / 4) / 2);
                f->data[1][y * f->linesize[1] + 2 * x + 1] = (uint8_t)(128 + (x - W / 4) / 3);
            }
        return f;
    }
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++) {
            f->data[1][y * f->linesize[1] + x] = (uint8_t)(128 + (y - H / 4) / 2);
            f->data[2][y * f->linesize[2] + x] = (uint8_t)(128 + (x - W / 4) / 3);
        }
    return f;
}

static double plane_mse(const uint8_t *a, int la, const uint8_t *b, int lb, int w, int h)
{
    double s = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d = (double)a[y * la + x] - b[y * lb + x];
            s += d * d;
        }
    return s / ((double)w * h);
}

static double psnr_rgb(const AVFrame *a, const AVFrame *b)
{
    double s = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                double d = (double)a->data[0][y * a->linesize[0] + 4 * x + c] -
                           b->data[0][y * b->linesize[0] + 4 * x + c];
                s += d * d;
            }
    s /= 3.0 * W * H;
    return s <= 1e-10 ? 99 : 10 * log10(255.0 * 255.0 / s);
}

static double psnr_yuv420(const AVFrame *a, const AVFrame *b)
{
    double mse = plane_mse(a->data[0], a->linesize[0], b->data[0], b->linesize[0], W, H) * 4 +
                 plane_mse(a->data[1], a->linesize[1], b->data[1], b->linesize[1], W / 2, H / 2) +
                 plane_mse(a->data[2], a->linesize[2], b->data[2], b->linesize[2], W / 2, H / 2);
    mse /= 6;
    return mse <= 1e-10 ? 99 : 10 * log10(255.0 * 255.0 / mse);
}

/* Top-level MP4 box offsets. */
static void box_offsets(const char *path, long *moov, long *mdat)
{
    FILE *f = fopen(path, "rb");
    unsigned char hdr[16];
    long off = 0;
    *moov = *mdat = -1;
    if (!f)
        return;
    while (fseek(f, off, SEEK_SET) == 0 && fread(hdr, 1, 8, f) == 8) {
        uint64_t size = ((uint64_t)hdr[0] << 24) | (hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
        if (!memcmp(hdr + 4, "moov", 4))
            *moov = off;
        if (!memcmp(hdr + 4, "mdat", 4))
            *mdat = off;
        if (size == 1) {
            if (fread(hdr + 8, 1, 8, f) != 8)
                break;
            size = 0;
            for (int i = 8; i < 16; i++)
                size = (size << 8) | hdr[i];
        }
        if (size < 8)
            break;
        off += (long)size;
    }
    fclose(f);
}

struct readback {
    enum AVCodecID vcodec, acodec;
    int vformat;
    enum AVColorPrimaries prim;
    enum AVColorTransferCharacteristic trc;
    enum AVColorSpace space;
    enum AVColorRange range;
    int width, height;
    int vpackets, apackets;
    double vduration, aduration; /* seconds */
    uint32_t vtag;
    int arate;
    double min_psnr; /* yuv420p sources only */
    int decoded;
    /* Audio content, over the whole 100 ms windows between the first and the last: per channel the
     * lowest and highest RMS (dBFS) and the lowest margin (dB) of the channel's own test tone
     * (tone_hz) over the other channel's. */
    int achannels, awindows;
    double rms_min_db[2], rms_max_db[2], tone_margin_db[2];
};

/* The test signal written by encode_file: a different tone and level in each channel, so that
 * silence, a lost channel or swapped channels all show. */
static const double tone_hz[2] = {440, 660};
static const double tone_amp[2] = {0.5, 0.25};

/* Power of x at freq (Goertzel), relative to a full-scale sine at that frequency. */
static double tone_power(const float *x, int n, double freq, int rate)
{
    double w = 2 * M_PI * freq / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double p = s1 * s1 + s2 * s2 - c * s1 * s2;
    return p / ((double)n * n / 4);
}

static void measure_audio(float *const pcm[2], int len, int rate, struct readback *rb)
{
    int win = rate / 10;
    rb->awindows = len / win;
    for (int c = 0; c < 2; c++) {
        rb->rms_min_db[c] = 99;
        rb->rms_max_db[c] = -99;
        rb->tone_margin_db[c] = 99;
    }
    for (int w = 1; w + 1 < rb->awindows; w++)
        for (int c = 0; c < 2 && c < rb->achannels; c++) {
            const float *x = pcm[c] + (size_t)w * win;
            double ms = 0;
            for (int i = 0; i < win; i++)
                ms += (double)x[i] * x[i];
            double db = 10 * log10(ms / win + 1e-20);
            rb->rms_min_db[c] = fmin(rb->rms_min_db[c], db);
            rb->rms_max_db[c] = fmax(rb->rms_max_db[c], db);
            double own = tone_power(x, win, tone_hz[c], rate);
            double other = tone_power(x, win, tone_hz[1 - c], rate);
            rb->tone_margin_db[c] =
                fmin(rb->tone_margin_db[c], 10 * log10((own + 1e-20) / (other + 1e-20)));
        }
}

/* The level, in dBFS, of channel c's test tone (a sine's mean square). */
static double tone_db(int c)
{
    return 20 * log10(tone_amp[c] / sqrt(2));
}

/* The decoded audio carries the test signal: each channel's level within 1 dB of what was written
 * in every 100 ms window (FFmpeg's AAC encoder wobbles by up to 0.8 dB on a pure tone), and its
 * own tone at least 30 dB above the other channel's. */
static void check_audio_content(const struct readback *rb, const char *what)
{
    CHECK_INT_EQ(rb->achannels, 2);
    CHECK_MSG(rb->awindows >= 9, "%s: %d windows of audio", what, rb->awindows);
    for (int c = 0; c < 2; c++) {
        CHECK_MSG(fabs(rb->rms_min_db[c] - tone_db(c)) <= 1.0 &&
                      fabs(rb->rms_max_db[c] - tone_db(c)) <= 1.0,
                  "%s channel %d: RMS %.2f..%.2f dBFS, wrote %.2f", what, c, rb->rms_min_db[c],
                  rb->rms_max_db[c], tone_db(c));
        CHECK_MSG(rb->tone_margin_db[c] >= 30, "%s channel %d: %.0f Hz only %.1f dB above %.0f Hz",
                  what, c, tone_hz[c], rb->tone_margin_db[c], tone_hz[1 - c]);
    }
}

/* Read a file back; when srcs is given, decode video and compare each frame with srcs[i]. */
static int read_back(const char *path, AVFrame **srcs, struct readback *rb)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL, *adec = NULL;
    SwrContext *swr = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    float *pcm[2] = {NULL, NULL};
    int pcm_len = 0, pcm_cap = 0;
    int vi, audio_idx, ret;
    memset(rb, 0, sizeof(*rb));
    rb->min_psnr = 99;
    ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret < 0)
        goto out;
    ret = avformat_find_stream_info(fmt, NULL);
    if (ret < 0)
        goto out;
    vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    audio_idx = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (vi >= 0) {
        AVStream *st = fmt->streams[vi];
        AVCodecParameters *p = st->codecpar;
        rb->vcodec = p->codec_id;
        rb->vformat = p->format;
        rb->prim = p->color_primaries;
        rb->trc = p->color_trc;
        rb->space = p->color_space;
        rb->range = p->color_range;
        rb->width = p->width;
        rb->height = p->height;
        rb->vtag = p->codec_tag;
        if (st->duration > 0)
            rb->vduration = st->duration * av_q2d(st->time_base);
        else if (fmt->duration > 0)
            rb->vduration = fmt->duration / (double)AV_TIME_BASE;
        if (srcs) {
            dec = avcodec_alloc_context3(avcodec_find_decoder(p->codec_id));
            avcodec_parameters_to_context(dec, p);
            dec->thread_count = 1;
            if (avcodec_open2(dec, dec->codec, NULL) < 0)
                avcodec_free_context(&dec);
        }
    }
    if (audio_idx >= 0) {
        AVStream *st = fmt->streams[audio_idx];
        rb->acodec = st->codecpar->codec_id;
        rb->arate = st->codecpar->sample_rate;
        if (st->duration > 0)
            rb->aduration = st->duration * av_q2d(st->time_base);
        rb->achannels = st->codecpar->ch_layout.nb_channels;
        adec = avcodec_alloc_context3(avcodec_find_decoder(st->codecpar->codec_id));
        avcodec_parameters_to_context(adec, st->codecpar);
        adec->pkt_timebase = st->time_base;
        if (avcodec_open2(adec, adec->codec, NULL) < 0 ||
            swr_alloc_set_opts2(&swr, &adec->ch_layout, AV_SAMPLE_FMT_FLTP, adec->sample_rate,
                                &adec->ch_layout, adec->sample_fmt, adec->sample_rate, 0,
                                NULL) < 0 ||
            swr_init(swr) < 0 || adec->ch_layout.nb_channels != 2)
            avcodec_free_context(&adec);
    }
    for (;;) {
        int r = av_read_frame(fmt, pkt);
        if (r >= 0 && pkt->stream_index == audio_idx)
            rb->apackets++;
        if (adec && (r < 0 || pkt->stream_index == audio_idx)) {
            avcodec_send_packet(adec, r >= 0 ? pkt : NULL);
            while (avcodec_receive_frame(adec, fr) >= 0) {
                if (pcm_len + fr->nb_samples > pcm_cap) {
                    pcm_cap = 2 * (pcm_len + fr->nb_samples);
                    for (int c = 0; c < 2; c++)
                        pcm[c] = realloc(pcm[c], sizeof(float) * (size_t)pcm_cap);
                }
                uint8_t *dst[2] = {(uint8_t *)(pcm[0] + pcm_len), (uint8_t *)(pcm[1] + pcm_len)};
                int n = swr_convert(swr, dst, pcm_cap - pcm_len,
                                    (const uint8_t **)fr->extended_data, fr->nb_samples);
                if (n > 0)
                    pcm_len += n;
                av_frame_unref(fr);
            }
        }
        if (r >= 0 && pkt->stream_index != vi) {
            av_packet_unref(pkt);
            continue;
        }
        if (r >= 0)
            rb->vpackets++;
        if (dec)
            avcodec_send_packet(dec, r >= 0 ? pkt : NULL);
        av_packet_unref(pkt);
        while (dec && avcodec_receive_frame(dec, fr) >= 0) {
            if (rb->decoded < NFRAMES) {
                const AVFrame *ref = srcs[rb->decoded];
                double p = -1;
                if (fr->format == AV_PIX_FMT_YUV420P && ref->format == AV_PIX_FMT_YUV420P) {
                    p = psnr_yuv420(fr, ref);
                } else if (ref->format == AV_PIX_FMT_RGBA) {
                    AVFrame *rgba = av_frame_alloc();
                    struct SwsContext *sws =
                        sws_getContext(fr->width, fr->height, fr->format, W, H, AV_PIX_FMT_RGBA,
                                       SWS_POINT, NULL, NULL, NULL);
                    rgba->format = AV_PIX_FMT_RGBA;
                    rgba->width = W;
                    rgba->height = H;
                    if (sws && av_frame_get_buffer(rgba, 0) >= 0) {
                        sws_scale(sws, (const uint8_t *const *)fr->data, fr->linesize, 0, H,
                                  rgba->data, rgba->linesize);
                        p = psnr_rgb(rgba, ref);
                    }
                    sws_freeContext(sws);
                    av_frame_free(&rgba);
                }
                if (p < rb->min_psnr)
                    rb->min_psnr = p;
            }
            rb->decoded++;
            av_frame_unref(fr);
        }
        if (r < 0)
            break;
    }
    if (adec)
        measure_audio(pcm, pcm_len, adec->sample_rate, rb);
    ret = 0;
out:
    free(pcm[0]);
    free(pcm[1]);
    swr_free(&swr);
    avcodec_free_context(&adec);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    return ret;
}

/* Encode NFRAMES frames, and with audio one second of the test signal (tone_hz, tone_amp). */
static int encode_file(const char *path, const struct reel_output *o, bool audio,
                       struct reel_log *log, AVFrame **frames_out, char *driver, size_t cap)
{
    struct reel_output_cfg cfg = {.path = path, .out = o, .has_audio = audio, .gpu_index = -1};
    struct reel_output_file *of = NULL;
    struct reel_err err = {0};
    int64_t bytes = 0;
    int ret = reel_output_open(&cfg, log, &of, &err);
    int rate = o->audio_sample_rate;
    int64_t written = 0;
    if (ret < 0) {
        fprintf(stderr, "open %s: %s\n", path, err.msg);
        return ret;
    }
    snprintf(driver, cap, "%s", reel_output_encoder_name(of));
    for (int n = 0; n < NFRAMES && ret == 0; n++) {
        AVFrame *f = make_frame(reel_output_pix_fmt(of), n);
        ret = reel_output_write_video(of, f, &err);
        if (frames_out)
            frames_out[n] = f;
        else
            av_frame_free(&f);
        /* Uneven chunks exercise the re-framing into encoder frames. */
        int64_t until = (int64_t)rate * (n + 1) / NFRAMES;
        while (audio && ret == 0 && written < until) {
            float l[700], r[700];
            const float *planes[2] = {l, r};
            int cnt = (int)(until - written < 700 ? until - written : 700);
            for (int i = 0; i < cnt; i++) {
                double t = (double)(written + i) / rate;
                l[i] = (float)(tone_amp[0] * sin(2 * M_PI * tone_hz[0] * t));
                r[i] = (float)(tone_amp[1] * sin(2 * M_PI * tone_hz[1] * t));
            }
            ret = reel_output_write_audio(of, planes, cnt, &err);
            written += cnt;
        }
    }
    if (ret < 0) {
        fprintf(stderr, "write %s: %s\n", path, err.msg);
        reel_output_abort(&of);
        return ret;
    }
    ret = reel_output_finish(&of, &bytes, &err);
    if (ret < 0)
        fprintf(stderr, "finish %s: %s\n", path, err.msg);
    else if (bytes <= 0)
        ret = -1;
    return ret;
}

static void test_probe_and_fallback(struct reel_log *log)
{
    char reason[512];
    int usable = reel_encoder_probe_all(log);
    CHECK(usable >= 1);
    CHECK(reel_encoder_usable("libx264", reason, sizeof(reason)));
    CHECK(!reel_encoder_usable("no-such-driver", reason, sizeof(reason)));
    for (int i = 0; reel_encoder_drivers[i]; i++) {
        bool ok = reel_encoder_usable(reel_encoder_drivers[i]->name, reason, sizeof(reason));
        fprintf(stderr, "  %-12s %s%s\n", reel_encoder_drivers[i]->name,
                ok ? "usable" : "no: ", ok ? "" : reason);
        if (!ok)
            CHECK(reason[0] != 0);
    }

    /* Auto: the first usable h264 driver in the order nvenc, vaapi, libx264. */
    const char *expect = reel_encoder_usable("h264_nvenc", NULL, 0)   ? "h264_nvenc"
                         : reel_encoder_usable("h264_vaapi", NULL, 0) ? "h264_vaapi"
                                                                      : "libx264";
    struct reel_enc_cfg cfg = {.width = W,
                               .height = H,
                               .fps_num = 30,
                               .fps_den = 1,
                               .codec = REEL_CODEC_H264,
                               .quality = 23,
                               .preset = REEL_PRESET_VERYFAST,
                               .pref = REEL_ENCPREF_AUTO,
                               .gpu_index = -1};
    struct reel_encoder *enc = NULL;
    struct reel_err err = {0};
    log_reset();
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), 0);
    CHECK(enc != NULL);
    if (enc) {
        CHECK_STR_EQ(enc->ops->name, expect);
        CHECK(enc->avctx != NULL);
    }
    if (!strcmp(expect, "libx264")) {
        CHECK(strstr(logbuf, "encoder h264_nvenc unavailable: ") != NULL);
        CHECK(strstr(logbuf, "; trying h264_vaapi") != NULL);
        CHECK(strstr(logbuf, "encoder h264_vaapi unavailable: ") != NULL);
        CHECK(strstr(logbuf, "; trying libx264") != NULL);
        /* Drivers this host does not have, passed under "auto": the expected fallback, at info. */
        CHECK(strstr(logbuf, " info ") != NULL);
        CHECK_MSG(strstr(logbuf, " warn ") == NULL, "%s", logbuf);
    }
    reel_encoder_close(&enc);
    CHECK(enc == NULL);
    reel_encoder_close(&enc);

    /* Only one family, and it is absent: a clear encoder_unavailable. */
    if (!reel_encoder_usable("h264_nvenc", NULL, 0)) {
        log_reset();
        memset(&err, 0, sizeof(err));
        cfg.pref = REEL_ENCPREF_NVENC;
        CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), -REEL_EENCODER_UNAVAILABLE);
        CHECK(enc == NULL);
        CHECK_INT_EQ(err.code, REEL_EENCODER_UNAVAILABLE);
        CHECK(strstr(err.msg, "h264_nvenc") != NULL);
        CHECK(strstr(logbuf, "no further encoder fallback for h264") != NULL);
        CHECK(strstr(logbuf, "libx264") == NULL);
        CHECK(strstr(logbuf, " warn ") != NULL); /* asked for by name: a warning */
    }
    /* No hardware VP9 driver exists: nvenc-only VP9 fails, software VP9 works. */
    log_reset();
    cfg.codec = REEL_CODEC_VP9;
    cfg.pref = REEL_ENCPREF_NVENC;
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), -REEL_EENCODER_UNAVAILABLE);
    cfg.pref = REEL_ENCPREF_SOFTWARE;
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), 0);
    if (enc)
        CHECK_STR_EQ(enc->ops->name, "libvpx-vp9");
    reel_encoder_close(&enc);
}

static void check_opt(struct reel_encoder *enc, const char *name, const char *want)
{
    uint8_t *v = NULL;
    CHECK_MSG(enc && av_opt_get(enc->avctx->priv_data, name, 0, &v) >= 0, "option %s", name);
    if (v)
        CHECK_STR_EQ((const char *)v, want);
    av_free(v);
}

/* Quality and preset reach each software encoder's own knobs. */
static void test_mapping(struct reel_log *log)
{
    struct reel_enc_cfg cfg = {.width = W,
                               .height = H,
                               .fps_num = 25,
                               .fps_den = 1,
                               .codec = REEL_CODEC_H264,
                               .quality = 30,
                               .preset = REEL_PRESET_SLOW,
                               .pref = REEL_ENCPREF_SOFTWARE,
                               .gpu_index = -1};
    struct reel_encoder *enc = NULL;
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), 0);
    check_opt(enc, "crf", "30.000000");
    check_opt(enc, "preset", "slow");
    if (enc) {
        CHECK_INT_EQ(enc->avctx->gop_size, 50);
        CHECK_INT_EQ(enc->avctx->time_base.num, 1);
        CHECK_INT_EQ(enc->avctx->time_base.den, 25);
        CHECK_INT_EQ(enc->pix_fmt, AV_PIX_FMT_YUV420P);
    }
    reel_encoder_close(&enc);

    cfg.codec = REEL_CODEC_VP9;
    cfg.quality = 51;
    cfg.preset = REEL_PRESET_ULTRAFAST;
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), 0);
    check_opt(enc, "crf", "63");
    check_opt(enc, "cpu-used", "8");
    check_opt(enc, "deadline", "1"); /* VPX_DL_REALTIME */
    reel_encoder_close(&enc);
    cfg.quality = 23;
    cfg.preset = REEL_PRESET_VERYSLOW;
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), 0);
    check_opt(enc, "crf", "28");
    check_opt(enc, "cpu-used", "0");
    check_opt(enc, "deadline", "1000000"); /* VPX_DL_GOOD_QUALITY */
    reel_encoder_close(&enc);

    cfg.codec = REEL_CODEC_GIF;
    CHECK_INT_EQ(reel_encoder_open_first(&cfg, log, &enc, &err), 0);
    if (enc) {
        CHECK_INT_EQ(enc->pix_fmt, AV_PIX_FMT_RGBA);
        CHECK_INT_EQ(enc->avctx->pix_fmt, AV_PIX_FMT_PAL8);
    }
    reel_encoder_close(&enc);
}

static void test_mp4(struct reel_log *log)
{
    char path[512], driver[32];
    AVFrame *src[NFRAMES] = {0};
    struct reel_output o;
    struct readback rb;
    long moov, mdat;
    default_output(&o, REEL_FORMAT_MP4, REEL_CODEC_H264);
    path_in(path, sizeof(path), "out.mp4");
    CHECK_INT_EQ(encode_file(path, &o, true, log, src, driver, sizeof(driver)), 0);
    CHECK_STR_EQ(driver, "libx264");
    CHECK_INT_EQ(count_partials(), 0);
    CHECK_INT_EQ(read_back(path, src, &rb), 0);
    CHECK_INT_EQ(rb.vcodec, AV_CODEC_ID_H264);
    CHECK_INT_EQ(rb.vformat, AV_PIX_FMT_YUV420P);
    CHECK_INT_EQ(rb.width, W);
    CHECK_INT_EQ(rb.height, H);
    CHECK_INT_EQ(rb.prim, AVCOL_PRI_BT709);
    CHECK_INT_EQ(rb.trc, AVCOL_TRC_BT709);
    CHECK_INT_EQ(rb.space, AVCOL_SPC_BT709);
    CHECK_INT_EQ(rb.range, AVCOL_RANGE_MPEG);
    CHECK_INT_EQ(rb.vpackets, NFRAMES);
    CHECK_INT_EQ(rb.decoded, NFRAMES);
    CHECK_NEAR(rb.vduration, 1.0, 0.04);
    CHECK_MSG(rb.min_psnr >= 35, "min PSNR %.2f dB", rb.min_psnr);
    fprintf(stderr, "  mp4: min PSNR %.2f dB, audio %.4f s\n", rb.min_psnr, rb.aduration);
    CHECK_INT_EQ(rb.acodec, AV_CODEC_ID_AAC);
    CHECK_INT_EQ(rb.arate, 48000);
    CHECK_NEAR(rb.aduration, 1.0, 1024.0 / 48000 + 1e-6);
    check_audio_content(&rb, "mp4 aac");
    box_offsets(path, &moov, &mdat);
    CHECK(moov >= 0 && mdat >= 0);
    CHECK_MSG(moov < mdat, "moov at %ld, mdat at %ld", moov, mdat);
    for (int i = 0; i < NFRAMES; i++)
        av_frame_free(&src[i]);
}

static void test_other_formats(struct reel_log *log)
{
    char path[512], driver[32];
    struct reel_output o;
    struct readback rb;
    AVFrame *src[NFRAMES] = {0};

    /* HEVC in MP4, tagged hvc1. */
    default_output(&o, REEL_FORMAT_MP4, REEL_CODEC_HEVC);
    path_in(path, sizeof(path), "hevc.mp4");
    if (reel_encoder_usable("libx265", NULL, 0)) {
        CHECK_INT_EQ(encode_file(path, &o, false, log, src, driver, sizeof(driver)), 0);
        CHECK_STR_EQ(driver, "libx265");
        CHECK_INT_EQ(read_back(path, src, &rb), 0);
        CHECK_INT_EQ(rb.vcodec, AV_CODEC_ID_HEVC);
        CHECK_INT_EQ(rb.vtag, MKTAG('h', 'v', 'c', '1'));
        CHECK_INT_EQ(rb.acodec, AV_CODEC_ID_NONE);
        CHECK_INT_EQ(rb.vpackets, NFRAMES);
        CHECK_INT_EQ(rb.space, AVCOL_SPC_BT709);
        CHECK_MSG(rb.min_psnr >= 35, "hevc min PSNR %.2f dB", rb.min_psnr);
        for (int i = 0; i < NFRAMES; i++)
            av_frame_free(&src[i]);
    }

    /* VP9 + Opus in WebM; 44.1 kHz input exercises the resampler into Opus's 48 kHz. */
    default_output(&o, REEL_FORMAT_WEBM, REEL_CODEC_VP9);
    o.audio_sample_rate = 44100;
    path_in(path, sizeof(path), "out.webm");
    CHECK_INT_EQ(encode_file(path, &o, true, log, src, driver, sizeof(driver)), 0);
    CHECK_STR_EQ(driver, "libvpx-vp9");
    CHECK_INT_EQ(read_back(path, src, &rb), 0);
    CHECK_INT_EQ(rb.vcodec, AV_CODEC_ID_VP9);
    CHECK_INT_EQ(rb.vformat, AV_PIX_FMT_YUV420P);
    CHECK_INT_EQ(rb.acodec, AV_CODEC_ID_OPUS);
    CHECK_INT_EQ(rb.arate, 48000);
    CHECK_INT_EQ(rb.vpackets, NFRAMES);
    CHECK_INT_EQ(rb.decoded, NFRAMES);
    CHECK_MSG(rb.min_psnr >= 33, "vp9 min PSNR %.2f dB", rb.min_psnr);
    CHECK(rb.apackets >= 45); /* 1 s of 20 ms packets */
    check_audio_content(&rb, "webm opus");
    for (int i = 0; i < NFRAMES; i++)
        av_frame_free(&src[i]);

    /* GIF: RGBA in, palette per frame, no audio even when asked. */
    default_output(&o, REEL_FORMAT_GIF, REEL_CODEC_GIF);
    path_in(path, sizeof(path), "out.gif");
    CHECK_INT_EQ(encode_file(path, &o, true, log, src, driver, sizeof(driver)), 0);
    CHECK_STR_EQ(driver, "gif");
    CHECK_INT_EQ(read_back(path, src, &rb), 0);
    CHECK_INT_EQ(rb.decoded, NFRAMES);
    /* 256 colours for a frame of ~75,000 distinct ones: the bar is modest. */
    CHECK_MSG(rb.min_psnr >= 28, "gif min PSNR %.2f dB", rb.min_psnr);
    fprintf(stderr, "  gif: min PSNR %.2f dB\n", rb.min_psnr);
    for (int i = 0; i < NFRAMES; i++)
        av_frame_free(&src[i]);
    CHECK_INT_EQ(rb.vcodec, AV_CODEC_ID_GIF);
    CHECK_INT_EQ(rb.width, W);
    CHECK_INT_EQ(rb.acodec, AV_CODEC_ID_NONE);
    CHECK_INT_EQ(rb.vpackets, NFRAMES);
    CHECK_INT_EQ(count_partials(), 0);
}

static void test_failures(struct reel_log *log)
{
    struct reel_output o;
    struct reel_output_cfg cfg = {.out = &o, .gpu_index = -1};
    struct reel_output_file *of = NULL;
    struct reel_err err = {0};
    char path[512];

    default_output(&o, REEL_FORMAT_MP4, REEL_CODEC_H264);
    cfg.path = "/proc/nonexistent/x.mp4";
    CHECK_INT_EQ(reel_output_open(&cfg, log, &of, &err), -REEL_EOUTPUT);
    CHECK(of == NULL);
    CHECK_INT_EQ(err.code, REEL_EOUTPUT);
    CHECK(strstr(err.msg, "No such file") != NULL);
    CHECK(!exists("/proc/nonexistent/x.mp4"));

    /* A read-only folder (root ignores the mode, so only when not root). */
    if (geteuid() != 0) {
        char dir[400];
        path_in(dir, sizeof(dir), "ro");
        mkdir(dir, 0555);
        snprintf(path, sizeof(path), "%s/x.mp4", dir);
        cfg.path = path;
        memset(&err, 0, sizeof(err));
        CHECK_INT_EQ(reel_output_open(&cfg, log, &of, &err), -REEL_EOUTPUT);
        CHECK(strstr(err.msg, "Permission denied") != NULL);
        CHECK(!exists(path));
        rmdir(dir);
    }

    /* nvenc-only on a host without it: nothing is left behind either. */
    if (!reel_encoder_usable("h264_nvenc", NULL, 0)) {
        path_in(path, sizeof(path), "nvenc.mp4");
        cfg.path = path;
        cfg.pref = REEL_ENCPREF_NVENC;
        CHECK_INT_EQ(reel_output_open(&cfg, log, &of, &err), -REEL_EENCODER_UNAVAILABLE);
        CHECK(!exists(path));
        CHECK_INT_EQ(count_partials(), 0);
        cfg.pref = REEL_ENCPREF_NONE;
    }

    /* Abort after some frames: no output, no temporary file. */
    path_in(path, sizeof(path), "aborted.mp4");
    cfg.path = path;
    cfg.has_audio = true;
    CHECK_INT_EQ(reel_output_open(&cfg, log, &of, &err), 0);
    CHECK_INT_EQ(count_partials(), 1);
    for (int n = 0; of && n < 5; n++) {
        AVFrame *f = make_frame(reel_output_pix_fmt(of), n);
        CHECK_INT_EQ(reel_output_write_video(of, f, &err), 0);
        av_frame_free(&f);
    }
    reel_output_abort(&of);
    CHECK(of == NULL);
    reel_output_abort(&of);
    CHECK(!exists(path));
    CHECK_INT_EQ(count_partials(), 0);

    /* A wrong frame format is refused, not encoded as garbage. */
    cfg.has_audio = false;
    CHECK_INT_EQ(reel_output_open(&cfg, log, &of, &err), 0);
    if (of) {
        AVFrame *f = make_frame(AV_PIX_FMT_RGBA, 0);
        CHECK(reel_output_write_video(of, f, &err) < 0);
        av_frame_free(&f);
        reel_output_abort(&of);
    }
    CHECK(!exists(path));
}

static void test_poster(void)
{
    char path[512];
    struct reel_err err = {0};
    enum AVPixelFormat fmts[] = {AV_PIX_FMT_YUV420P, AV_PIX_FMT_RGBA, AV_PIX_FMT_NV12};
    for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
        AVFrame *f = make_frame(fmts[k], 3);
        AVFormatContext *fmt = NULL;
        AVCodecContext *dec = NULL;
        AVPacket *pkt = av_packet_alloc();
        AVFrame *out = av_frame_alloc();
        /* Flat mid grey in a corner block to check the range conversion. */
        if (fmts[k] == AV_PIX_FMT_RGBA) {
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    memset(f->data[0] + y * f->linesize[0] + 4 * x, 128, 3);
        } else {
            for (int y = 0; y < 32; y++)
                memset(f->data[0] + y * f->linesize[0], 126, 32); /* limited 126 = full 128 */
            for (int y = 0; y < 16; y++)
                memset(f->data[1] + y * f->linesize[1], 128, fmts[k] == AV_PIX_FMT_NV12 ? 32 : 16);
            for (int y = 0; fmts[k] == AV_PIX_FMT_YUV420P && y < 16; y++)
                memset(f->data[2] + y * f->linesize[2], 128, 16);
        }
        snprintf(path, sizeof(path), "%s/poster%zu.jpg", tmpdir, k);
        CHECK_INT_EQ(reel_write_jpeg(f, path, &err), 0);
        CHECK_INT_EQ(avformat_open_input(&fmt, path, NULL, NULL), 0);
        if (fmt && avformat_find_stream_info(fmt, NULL) >= 0 && fmt->nb_streams == 1) {
            AVCodecParameters *p = fmt->streams[0]->codecpar;
            CHECK_INT_EQ(p->codec_id, AV_CODEC_ID_MJPEG);
            CHECK_INT_EQ(p->width, W);
            CHECK_INT_EQ(p->height, H);
            dec = avcodec_alloc_context3(avcodec_find_decoder(p->codec_id));
            avcodec_parameters_to_context(dec, p);
            if (avcodec_open2(dec, dec->codec, NULL) >= 0 && av_read_frame(fmt, pkt) >= 0 &&
                avcodec_send_packet(dec, pkt) >= 0 && avcodec_receive_frame(dec, out) >= 0) {
                CHECK_INT_EQ(out->width, W);
                CHECK_NEAR(out->data[0][8 * out->linesize[0] + 8], 128, 3);
            } else {
                CHECK_MSG(0, "poster %zu does not decode", k);
            }
        } else {
            CHECK_MSG(0, "poster %zu unreadable", k);
        }
        avcodec_free_context(&dec);
        avformat_close_input(&fmt);
        av_packet_free(&pkt);
        av_frame_free(&out);
        av_frame_free(&f);
    }
    AVFrame *f = make_frame(AV_PIX_FMT_YUV420P, 0);
    CHECK_INT_EQ(reel_write_jpeg(f, "/proc/nonexistent/p.jpg", &err), -REEL_EOUTPUT);
    av_frame_free(&f);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    struct reel_log log;
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    reel_log_init(&log, NULL, "test", "encode");
    log.level = REEL_LOG_INFO;
    log.sink = capture;
    av_log_set_level(AV_LOG_ERROR);

    if (!avcodec_find_encoder_by_name("libx264")) {
        fprintf(stderr, "libx264 missing: skipping\n");
        return 77;
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/reel-encode-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_probe_and_fallback(&log);
    test_mapping(&log);
    test_mp4(&log);
    test_other_formats(&log);
    test_failures(&log);
    test_poster();
    if (!getenv("REEL_KEEP_TEST_FILES"))
        remove_tree(tmpdir);
    CHECK_DONE();
}
