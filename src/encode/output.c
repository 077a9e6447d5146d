/*
 * The output file. Everything is written to ".<name>.<pid>.partial" beside the destination and
 * renamed over it only once the trailer is on disk, so readers of the output path see either the
 * previous file or the complete new one, and a failed job leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "encode/output.h"

struct reel_output_file {
    struct reel_log *log;
    char *path;     /* destination */
    char *tmp_path; /* the .partial file; NULL once renamed or removed */
    AVFormatContext *fmt;
    struct reel_encoder *venc;
    AVStream *vst, *ast;
    AVPacket *pkt;  /* the video encoder's */
    AVPacket *apkt; /* the audio encoder's, which another thread may drive */
    pthread_mutex_t mux_lock;

    /* audio */
    AVCodecContext *actx;
    SwrContext *swr; /* only when the encoder needs another rate or sample layout */
    AVAudioFifo *fifo;
    AVFrame *aframe;
    uint8_t **conv; /* swr output planes */
    int conv_cap;   /* samples */
    int in_rate, channels;
    int64_t audio_pts; /* samples sent to the encoder */
    bool video_ended;  /* the video encoder has been flushed */
};

static const char *muxer_name(enum reel_format f)
{
    switch (f) {
    case REEL_FORMAT_MOV:
        return "mov";
    case REEL_FORMAT_WEBM:
        return "webm";
    case REEL_FORMAT_GIF:
        return "gif";
    case REEL_FORMAT_MP4:
    default:
        return "mp4";
    }
}

static enum reel_codec video_codec(const struct reel_output *o)
{
    if (o->format == REEL_FORMAT_GIF)
        return REEL_CODEC_GIF;
    if (o->codec != REEL_CODEC_NONE)
        return o->codec;
    return o->format == REEL_FORMAT_WEBM ? REEL_CODEC_VP9 : REEL_CODEC_H264;
}

static int av_fail(struct reel_err *err, int code, int averr, const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, buf, sizeof(buf));
    return reel_err_set(err, code, "output", "%s: %s", what, buf);
}

/* Build ".<base>.<pid>.partial" in the destination's folder. */
static char *temp_path_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (tmp)
        snprintf(tmp, cap, "%.*s.%s.%ld.partial", (int)dir_len, path, base, (long)getpid());
    return tmp;
}

static void free_file(struct reel_output_file *of)
{
    if (of->fmt) {
        avio_closep(&of->fmt->pb);
        avformat_free_context(of->fmt);
        of->fmt = NULL;
    }
    reel_encoder_close(&of->venc);
    avcodec_free_context(&of->actx);
    swr_free(&of->swr);
    if (of->fifo)
        av_audio_fifo_free(of->fifo);
    av_frame_free(&of->aframe);
    if (of->conv) {
        av_freep(&of->conv[0]);
        av_freep(&of->conv);
    }
    av_packet_free(&of->pkt);
    av_packet_free(&of->apkt);
    pthread_mutex_destroy(&of->mux_lock);
    if (of->tmp_path) {
        unlink(of->tmp_path);
        free(of->tmp_path);
    }
    free(of->path);
    free(of);
}

static bool rate_supported(const AVCodec *c, int rate)
{
    if (!c->supported_samplerates)
        return true;
    for (const int *r = c->supported_samplerates; *r; r++)
        if (*r == rate)
            return true;
    return false;
}

static bool fmt_supported(const AVCodec *c, enum AVSampleFormat f)
{
    if (!c->sample_fmts)
        return true;
    for (const enum AVSampleFormat *s = c->sample_fmts; *s != AV_SAMPLE_FMT_NONE; s++)
        if (*s == f)
            return true;
    return false;
}

static int open_audio(struct reel_output_file *of, const struct reel_output *o,
                      struct reel_err *err)
{
    const char *name = o->format == REEL_FORMAT_WEBM ? "libopus" : "aac";
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    AVChannelLayout in_layout = {0};
    AVCodecContext *c;
    AVDictionary *opts = NULL;
    int ret;

    of->in_rate = o->audio_sample_rate > 0 ? o->audio_sample_rate : 48000;
    of->channels = o->audio_channels > 0 ? o->audio_channels : 2;
    if (!codec)
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.audio",
                            "libavcodec was built without the %s encoder", name);
    c = of->actx = avcodec_alloc_context3(codec);
    if (!c)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    c->sample_rate = rate_supported(codec, of->in_rate) ? of->in_rate : 48000;
    c->sample_fmt =
        fmt_supported(codec, AV_SAMPLE_FMT_FLTP) ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_FLT;
    av_channel_layout_default(&c->ch_layout, of->channels);
    av_channel_layout_default(&in_layout, of->channels);
    c->bit_rate = o->audio_bitrate > 0 ? o->audio_bitrate : 128000;
    c->time_base = (AVRational){1, c->sample_rate};
    if (of->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (o->format == REEL_FORMAT_WEBM && of->channels > 2)
        av_dict_set(&opts, "mapping_family", "1", 0);
    ret = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        return av_fail(err, REEL_EENCODER_UNAVAILABLE, ret, "opening the audio encoder");

    if (c->sample_rate != of->in_rate || c->sample_fmt != AV_SAMPLE_FMT_FLTP) {
        ret = swr_alloc_set_opts2(&of->swr, &c->ch_layout, c->sample_fmt, c->sample_rate,
                                  &in_layout, AV_SAMPLE_FMT_FLTP, of->in_rate, 0, NULL);
        if (ret >= 0)
            ret = swr_init(of->swr);
        if (ret < 0)
            return av_fail(err, REEL_EINTERNAL, ret, "audio resampler");
    }
    of->fifo = av_audio_fifo_alloc(c->sample_fmt, of->channels,
                                   c->frame_size > 0 ? 2 * c->frame_size : 2048);
    of->aframe = av_frame_alloc();
    if (!of->fifo || !of->aframe)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    of->aframe->format = c->sample_fmt;
    of->aframe->sample_rate = c->sample_rate;
    of->aframe->nb_samples = c->frame_size > 0 ? c->frame_size : 1024;
    ret = av_channel_layout_copy(&of->aframe->ch_layout, &c->ch_layout);
    if (ret >= 0)
        ret = av_frame_get_buffer(of->aframe, 0);
    if (ret < 0)
        return av_fail(err, REEL_ENOMEM, ret, "audio frame");

    of->ast = avformat_new_stream(of->fmt, NULL);
    if (!of->ast)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    ret = avcodec_parameters_from_context(of->ast->codecpar, c);
    if (ret < 0)
        return av_fail(err, REEL_EINTERNAL, ret, "audio stream parameters");
    of->ast->time_base = c->time_base;
    return 0;
}

int reel_output_open(const struct reel_output_cfg *cfg, struct reel_log *log,
                     struct reel_output_file **out, struct reel_err *err)
{
    const struct reel_output *o = cfg->out;
    struct reel_output_file *of;
    struct reel_enc_cfg ec;
    AVDictionary *mux_opts = NULL;
    char *url = NULL;
    int fd, ret;

    *out = NULL;
    if (!cfg->path || !cfg->path[0] || !o)
        return reel_err_set(err, REEL_EINTERNAL, "output", "no output path");
    of = calloc(1, sizeof(*of));
    if (!of)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    of->log = log;
    pthread_mutex_init(&of->mux_lock, NULL);
    of->path = strdup(cfg->path);
    of->tmp_path = temp_path_for(cfg->path);
    of->pkt = av_packet_alloc();
    of->apkt = av_packet_alloc();
    if (!of->path || !of->tmp_path || !of->pkt || !of->apkt) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }

    /* Create the file before any encoder work so an unwritable destination fails at once. */
    fd = open(of->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = reel_err_set(err, REEL_EOUTPUT, "output", "cannot write %s: %s", of->tmp_path,
                           strerror(errno));
        free(of->tmp_path);
        of->tmp_path = NULL;
        goto fail;
    }
    close(fd);

    url = malloc(strlen(of->tmp_path) + 6);
    if (!url) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    /* The file: prefix keeps a colon in the name from being read as a protocol. */
    sprintf(url, "file:%s", of->tmp_path);
    ret = avformat_alloc_output_context2(&of->fmt, NULL, muxer_name(o->format), url);
    if (ret < 0 || !of->fmt) {
        ret = av_fail(err, REEL_EOUTPUT, ret, "creating the muxer");
        goto fail;
    }

    memset(&ec, 0, sizeof(ec));
    ec.width = o->width;
    ec.height = o->height;
    ec.fps_num = o->fps_num;
    ec.fps_den = o->fps_den;
    ec.codec = video_codec(o);
    ec.quality = o->quality;
    ec.preset = o->preset;
    ec.pref = cfg->pref != REEL_ENCPREF_NONE ? cfg->pref : o->encoder;
    ec.global_header = (of->fmt->oformat->flags & AVFMT_GLOBALHEADER) != 0;
    ec.threads = cfg->threads;
    ec.gpu_index = cfg->gpu_index;
    ret = reel_encoder_open_first(&ec, log, &of->venc, err);
    if (ret < 0)
        goto fail;

    of->vst = avformat_new_stream(of->fmt, NULL);
    if (!of->vst) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    ret = avcodec_parameters_from_context(of->vst->codecpar, of->venc->avctx);
    if (ret < 0) {
        ret = av_fail(err, REEL_EINTERNAL, ret, "video stream parameters");
        goto fail;
    }
    of->vst->time_base = of->venc->avctx->time_base;
    of->vst->avg_frame_rate = of->venc->avctx->framerate;
    /* hvc1 (parameter sets in the sample entry) is the tag Apple players require. */
    if (ec.codec == REEL_CODEC_HEVC &&
        (o->format == REEL_FORMAT_MP4 || o->format == REEL_FORMAT_MOV))
        of->vst->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');

    if (cfg->has_audio && o->format != REEL_FORMAT_GIF) {
        ret = open_audio(of, o, err);
        if (ret < 0)
            goto fail;
    }

    ret = avio_open(&of->fmt->pb, url, AVIO_FLAG_WRITE);
    if (ret < 0) {
        ret = av_fail(err, REEL_EOUTPUT, ret, "opening the output file");
        goto fail;
    }
    if (o->format == REEL_FORMAT_MP4 || o->format == REEL_FORMAT_MOV)
        av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    ret = avformat_write_header(of->fmt, &mux_opts);
    av_dict_free(&mux_opts);
    if (ret < 0) {
        ret = av_fail(err, REEL_EOUTPUT, ret, "writing the file header");
        goto fail;
    }
    free(url);
    REEL_DEBUG(log, "output %s: %s via %s%s, writing to %s", of->path, muxer_name(o->format),
               of->venc->ops->name, of->actx ? (of->swr ? " + audio (resampled)" : " + audio") : "",
               of->tmp_path);
    *out = of;
    return 0;
fail:
    REEL_ERROR(log, "encode stage: cannot open output %s: %s", cfg->path,
               err ? err->msg : reel_err_default_msg(ret));
    free(url);
    free_file(of);
    return ret;
}

enum AVPixelFormat reel_output_pix_fmt(const struct reel_output_file *of)
{
    return of && of->venc ? of->venc->pix_fmt : AV_PIX_FMT_NONE;
}

const char *reel_output_encoder_name(const struct reel_output_file *of)
{
    return of && of->venc ? of->venc->ops->name : "";
}

int reel_output_audio_frame_size(const struct reel_output_file *of)
{
    if (!of || !of->actx || of->actx->frame_size <= 0)
        return 1024;
    return of->actx->frame_size;
}

static int write_packet(struct reel_output_file *of, AVPacket *pkt, AVRational tb, AVStream *st,
                        struct reel_err *err)
{
    int ret;
    av_packet_rescale_ts(pkt, tb, st->time_base);
    pkt->stream_index = st->index;
    pthread_mutex_lock(&of->mux_lock);
    ret = av_interleaved_write_frame(of->fmt, pkt);
    pthread_mutex_unlock(&of->mux_lock);
    av_packet_unref(pkt);
    if (ret < 0) {
        ret = av_fail(err, REEL_EOUTPUT, ret, "writing a packet");
        REEL_ERROR(of->log, "encode stage: %s", err ? err->msg : "writing a packet failed");
    }
    return ret;
}

static int drain_video(struct reel_output_file *of, struct reel_err *err)
{
    for (;;) {
        int ret = of->venc->ops->receive_packet(of->venc, of->pkt);
        if (ret == -REEL_EAGAIN || ret == -REEL_EEOF)
            return 0;
        if (ret < 0)
            return reel_err_set(err, REEL_EOUTPUT, "output", "video encoder %s failed",
                                of->venc->ops->name);
        ret = write_packet(of, of->pkt, of->venc->avctx->time_base, of->vst, err);
        if (ret < 0)
            return ret;
    }
}

int reel_output_write_video(struct reel_output_file *of, const AVFrame *frame, struct reel_err *err)
{
    int ret;
    if (!frame)
        return reel_err_set(err, REEL_EINTERNAL, "output", "no frame");
    ret = of->venc->ops->send_frame(of->venc, frame);
    if (ret < 0)
        return reel_err_set(err, ret, "output", "video encoder %s rejected frame %lld",
                            of->venc->ops->name, (long long)frame->pts);
    return drain_video(of, err);
}

static int drain_audio(struct reel_output_file *of, struct reel_err *err)
{
    for (;;) {
        int ret = avcodec_receive_packet(of->actx, of->apkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return av_fail(err, REEL_EOUTPUT, ret, "audio encoder");
        ret = write_packet(of, of->apkt, of->actx->time_base, of->ast, err);
        if (ret < 0)
            return ret;
    }
}

/* Send whole encoder frames from the FIFO; with final, the short remainder too. */
static int encode_fifo(struct reel_output_file *of, bool final, struct reel_err *err)
{
    int fs = of->actx->frame_size;
    int frame_cap = fs > 0 ? fs : 1024;
    int caps = of->actx->codec->capabilities;
    bool small_ok =
        fs <= 0 || (caps & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE));
    for (;;) {
        int avail = av_audio_fifo_size(of->fifo);
        int n = avail < frame_cap ? avail : frame_cap;
        int ret;
        if (avail < frame_cap && (!final || avail == 0))
            return 0;
        ret = av_frame_make_writable(of->aframe);
        if (ret < 0)
            return av_fail(err, REEL_ENOMEM, ret, "audio frame");
        of->aframe->nb_samples = frame_cap;
        if (av_audio_fifo_read(of->fifo, (void **)of->aframe->extended_data, n) != n)
            return reel_err_set(err, REEL_EINTERNAL, "output", "audio FIFO underrun");
        if (n < frame_cap) {
            if (small_ok)
                of->aframe->nb_samples = n;
            else
                av_samples_set_silence(of->aframe->extended_data, n, frame_cap - n, of->channels,
                                       of->actx->sample_fmt);
        }
        of->aframe->pts = of->audio_pts;
        of->audio_pts += of->aframe->nb_samples;
        ret = avcodec_send_frame(of->actx, of->aframe);
        if (ret < 0)
            return av_fail(err, REEL_EOUTPUT, ret, "audio encoder");
        ret = drain_audio(of, err);
        if (ret < 0)
            return ret;
    }
}

/* Make the conversion buffer hold at least n samples. */
static int fifo_reserve(struct reel_output_file *of, int n, struct reel_err *err)
{
    if (n <= of->conv_cap)
        return 0;
    if (of->conv) {
        av_freep(&of->conv[0]);
        av_freep(&of->conv);
    }
    of->conv_cap = 0;
    if (av_samples_alloc_array_and_samples(&of->conv, NULL, of->channels, n, of->actx->sample_fmt,
                                           0) < 0)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    of->conv_cap = n;
    return 0;
}

static int fifo_put(struct reel_output_file *of, const float *const *planes, int nb_samples,
                    struct reel_err *err)
{
    int got, ret;
    if (!of->swr) {
        if (av_audio_fifo_write(of->fifo, (void **)planes, nb_samples) != nb_samples)
            return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        return 0;
    }
    ret = fifo_reserve(of, swr_get_out_samples(of->swr, nb_samples), err);
    if (ret < 0)
        return ret;
    got = swr_convert(of->swr, of->conv, of->conv_cap, (const uint8_t **)planes, nb_samples);
    if (got < 0)
        return av_fail(err, REEL_EINTERNAL, got, "audio resampler");
    if (got && av_audio_fifo_write(of->fifo, (void **)of->conv, got) != got)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    return 0;
}

int reel_output_write_audio(struct reel_output_file *of, const float *const *planes, int nb_samples,
                            struct reel_err *err)
{
    int ret;
    if (!of->actx || nb_samples <= 0)
        return 0;
    ret = fifo_put(of, planes, nb_samples, err);
    if (ret < 0)
        return ret;
    return encode_fifo(of, false, err);
}

static int flush_audio(struct reel_output_file *of, struct reel_err *err)
{
    int ret;
    if (of->swr) {
        /* Drain the resampler's delay line; its tail belongs to the last samples written. */
        for (;;) {
            int got, want = swr_get_out_samples(of->swr, 0);
            if (want <= 0)
                break;
            ret = fifo_reserve(of, want, err);
            if (ret < 0)
                return ret;
            got = swr_convert(of->swr, of->conv, of->conv_cap, NULL, 0);
            if (got < 0)
                return av_fail(err, REEL_EINTERNAL, got, "audio resampler");
            if (got == 0)
                break;
            if (av_audio_fifo_write(of->fifo, (void **)of->conv, got) != got)
                return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        }
    }
    ret = encode_fifo(of, true, err);
    if (ret < 0)
        return ret;
    ret = avcodec_send_frame(of->actx, NULL);
    if (ret < 0 && ret != AVERROR_EOF)
        return av_fail(err, REEL_EOUTPUT, ret, "flushing the audio encoder");
    return drain_audio(of, err);
}

int reel_output_end_video(struct reel_output_file *of, struct reel_err *err)
{
    if (of->video_ended)
        return 0;
    int ret = of->venc->ops->send_frame(of->venc, NULL);
    if (ret < 0)
        return reel_err_set(err, ret, "output", "flushing video encoder %s failed",
                            of->venc->ops->name);
    of->video_ended = true;
    return drain_video(of, err);
}

int reel_output_finish(struct reel_output_file **pof, int64_t *bytes, struct reel_err *err)
{
    struct reel_output_file *of = pof ? *pof : NULL;
    struct stat sb;
    int ret, fd;

    if (!of)
        return reel_err_set(err, REEL_EINTERNAL, "output", "no output");
    *pof = NULL;
    ret = reel_output_end_video(of, err);
    if (ret < 0)
        goto fail;
    if (of->actx) {
        ret = flush_audio(of, err);
        if (ret < 0)
            goto fail;
    }
    ret = av_write_trailer(of->fmt);
    if (ret < 0) {
        ret = av_fail(err, REEL_EOUTPUT, ret, "writing the trailer");
        goto fail;
    }
    ret = avio_closep(&of->fmt->pb);
    if (ret < 0) {
        ret = av_fail(err, REEL_EOUTPUT, ret, "closing the output file");
        goto fail;
    }
    /* Make the data durable before the rename publishes it. */
    fd = open(of->tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        ret = reel_err_set(err, REEL_EOUTPUT, "output", "syncing %s: %s", of->tmp_path,
                           strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    close(fd);
    if (rename(of->tmp_path, of->path) != 0) {
        ret = reel_err_set(err, REEL_EOUTPUT, "output", "renaming into %s: %s", of->path,
                           strerror(errno));
        goto fail;
    }
    free(of->tmp_path);
    of->tmp_path = NULL;
    if (bytes)
        *bytes = stat(of->path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    REEL_INFO(of->log, "output %s written (%lld bytes, video %s)", of->path,
              stat(of->path, &sb) == 0 ? (long long)sb.st_size : 0LL, of->venc->ops->name);
    free_file(of);
    return 0;
fail:
    REEL_ERROR(of->log, "encode stage: finishing %s failed: %s", of->path,
               err ? err->msg : reel_err_default_msg(ret));
    free_file(of);
    return ret;
}

void reel_output_abort(struct reel_output_file **pof)
{
    if (!pof || !*pof)
        return;
    free_file(*pof);
    *pof = NULL;
}
