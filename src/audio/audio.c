/*
 * The audio mix. Each sounding layer is a source that streams: demux, decode, feed a small
 * filter graph (mono upmix, resample to the output rate and layout, atempo for speed), and keep
 * only the samples the next read needs in a FIFO. Output sample i is at t = i / rate; a layer's
 * first sample is the first i with t >= start, and its FIFO head always corresponds to the next
 * output index it will be asked for, so the mix never drifts from the timeline.
 *
 * Time mapping follows reel_eval_source_time: the source starts at trim, runs at speed, and with
 * loop wraps from the media duration back to trim (silence pads a short audio stream up to the
 * media duration, so audio wraps together with the picture). Without loop the source falls
 * silent at its end.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "audio/audio.h"
#include "core/media.h"
#include "timeline/eval.h"

#define CHUNK 4096
#define MAX_CHANNELS 8
/* A gap in the source's timestamps larger than this is a timestamp jump, not missing audio. */
#define MAX_GAP_S 10
#define PREROLL_US 200000

struct source {
    const struct reel_layer *layer;
    struct reel_log *log;
    bool is_open;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
    int64_t zero_ts; /* stream timestamp of source time 0 */
    AVPacket *pkt;
    AVFrame *frame, *out;
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    AVAudioFifo *fifo; /* mixed-format samples (fltp, output rate and layout) */
    int fifo_channels; /* the output's, or 1 for a mono source in a stereo mix */

    int src_rate;        /* decoder sample rate */
    int in_fmt, in_rate; /* the graph's input format, for silence */
    AVChannelLayout in_layout;
    int64_t pos; /* next source sample to feed (source time * src_rate) */
    int64_t trim_pos;
    int64_t end_pos; /* where the source wraps (loop) or stops; INT64_MAX = at the stream end */
    int64_t fed;     /* samples given to the graph: its input timestamps */
    int64_t fed_since_seek;
    bool need_sync;  /* align pos with the next frame's timestamp (after a seek) */
    bool at_end;     /* reached end_pos; drop frames until the wrap */
    bool input_done; /* the graph was told the input ended */
    bool out_eof;    /* the graph has no more output */
    bool warned_decode;

    int64_t first_index, end_index; /* output samples [first, end) the layer covers */
    int64_t next_index;             /* output index of the FIFO's first sample */
};

struct reel_audio_mix {
    const struct reel_timeline *tl;
    struct reel_log *log;
    int rate, channels;
    AVChannelLayout layout;
    int64_t out_end; /* output samples in the duration */
    int64_t cur;     /* next output index */
    struct source *src;
    int n_src;
    float *scratch[MAX_CHANNELS];
};

static bool volume_positive(const struct reel_layer *l)
{
    const struct reel_anim *a = &l->anim[REEL_PROP_VOLUME];
    if (l->volume > 0)
        return true;
    for (int i = 0; i < a->n_keys; i++)
        if (a->keys[i].value > 0)
            return true;
    return false;
}

static bool layer_has_sound(const struct reel_layer *l)
{
    if (l->duration_us <= 0)
        return false;
    if (l->type != REEL_LAYER_AUDIO && !(l->type == REEL_LAYER_VIDEO && l->media_has_audio))
        return false;
    return volume_positive(l);
}

bool reel_audio_has_sound(const struct reel_timeline *tl)
{
    for (int i = 0; tl && i < tl->n_layers; i++)
        if (layer_has_sound(&tl->layers[i]))
            return true;
    return false;
}

static int src_fail(struct source *s, struct reel_err *err, int code, int averr, const char *what)
{
    char path[64], buf[AV_ERROR_MAX_STRING_SIZE] = "";
    if (averr)
        av_strerror(averr, buf, sizeof(buf));
    snprintf(path, sizeof(path), "%s.src", s->layer->path);
    reel_err_set(err, code, path, "%s: %s%s%s", s->layer->src ? s->layer->src : "(no src)", what,
                 averr ? ": " : "", buf);
    REEL_ERROR(s->log, "audio stage: %s: %s", path, err ? err->msg : what);
    return -code;
}

/* Close the demuxer and decoder only; the filter graph and FIFO carry on across a loop. */
static void media_close(struct source *s)
{
    avcodec_free_context(&s->dec);
    avformat_close_input(&s->fmt);
}

static void source_close(struct source *s)
{
    media_close(s);
    avfilter_graph_free(&s->graph);
    s->src = s->sink = NULL;
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    av_frame_free(&s->out);
    av_channel_layout_uninit(&s->in_layout);
    if (s->fifo)
        av_audio_fifo_free(s->fifo);
    s->fifo = NULL;
    s->is_open = false;
}

static int media_open(struct source *s, struct reel_err *err)
{
    const struct reel_layer *l = s->layer;
    AVDictionary *opts = NULL;
    const AVCodec *codec = NULL;
    AVStream *st;
    int ret;

    if (!l->src_path)
        return src_fail(s, err, REEL_EASSET_NOT_FOUND, 0, "the source was not resolved");
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    ret = avformat_open_input(&s->fmt, l->src_path, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        return src_fail(s, err, ret == AVERROR(ENOENT) ? REEL_EASSET_NOT_FOUND : REEL_EDECODE, ret,
                        "cannot open");
    ret = reel_find_stream_info(s->fmt, AVMEDIA_TYPE_AUDIO);
    if (ret < 0)
        return src_fail(s, err, REEL_EDECODE, ret, "cannot read stream info");
    ret = av_find_best_stream(s->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (ret < 0 || !codec)
        return src_fail(s, err, REEL_EDECODE, 0, "no decodable audio stream");
    s->stream = ret;
    for (unsigned i = 0; i < s->fmt->nb_streams; i++)
        if ((int)i != s->stream)
            s->fmt->streams[i]->discard = AVDISCARD_ALL;
    st = s->fmt->streams[s->stream];
    s->dec = avcodec_alloc_context3(codec);
    if (!s->dec)
        return src_fail(s, err, REEL_ENOMEM, 0, "out of memory");
    ret = avcodec_parameters_to_context(s->dec, st->codecpar);
    if (ret >= 0) {
        s->dec->pkt_timebase = st->time_base;
        s->dec->thread_count = 1;
        ret = avcodec_open2(s->dec, codec, NULL);
    }
    if (ret < 0)
        return src_fail(s, err, REEL_EDECODE, ret, "cannot open the audio decoder");
    if (s->dec->sample_rate <= 0 || s->dec->ch_layout.nb_channels <= 0)
        return src_fail(s, err, REEL_EDECODE, 0, "audio stream without rate or channels");
    s->zero_ts = s->fmt->start_time != AV_NOPTS_VALUE
                     ? av_rescale_q(s->fmt->start_time, AV_TIME_BASE_Q, st->time_base)
                     : 0;
    return 0;
}

/*
 * Position freshly opened media so that the next sample fed is source sample `target`. Decoders
 * need a little history after a seek (AAC's overlapped transform, Opus pre-roll), so the seek
 * lands PREROLL_US early and the surplus is dropped by timestamp; an in-point closer to the start
 * than that decodes from the start, which also keeps the container's priming skip.
 */
static void media_position(struct source *s, int64_t target)
{
    if (s->layer->trim_us > PREROLL_US) {
        AVStream *st = s->fmt->streams[s->stream];
        int64_t ts = s->zero_ts +
                     av_rescale_q(s->layer->trim_us - PREROLL_US, AV_TIME_BASE_Q, st->time_base);
        int ret = avformat_seek_file(s->fmt, s->stream, INT64_MIN, ts, ts, 0);
        if (ret < 0)
            REEL_DEBUG(s->log, "%s: seek failed (%s), decoding from the start", s->layer->path,
                       av_err2str(ret));
        else
            avcodec_flush_buffers(s->dec);
    }
    s->pos = target;
    s->need_sync = true;
    s->at_end = false;
    s->fed_since_seek = 0;
}

/* Open the source and position it at its first output sample. */
static int source_open(struct reel_audio_mix *m, struct source *s, struct reel_err *err)
{
    const struct reel_layer *l = s->layer;
    double local_s;
    bool ended = false;
    int64_t src_us;
    int ret = media_open(s, err);
    if (ret < 0)
        return ret;

    s->pkt = av_packet_alloc();
    s->frame = av_frame_alloc();
    s->out = av_frame_alloc();
    /* A mono source plays at full level on both sides of a stereo mix (the resampler's
     * default upmix would lower it by 3 dB): it stays mono here and is spread when mixed. */
    s->fifo_channels = s->dec->ch_layout.nb_channels == 1 && m->channels == 2 ? 1 : m->channels;
    s->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, s->fifo_channels, CHUNK);
    if (!s->pkt || !s->frame || !s->out || !s->fifo)
        return src_fail(s, err, REEL_ENOMEM, 0, "out of memory");

    s->src_rate = s->dec->sample_rate;
    s->trim_pos = av_rescale(l->trim_us, s->src_rate, REEL_US);
    s->end_pos = INT64_MAX;
    if (l->media_duration_us > 0 && l->media_duration_us > l->trim_us)
        s->end_pos = av_rescale(l->media_duration_us, s->src_rate, REEL_US);
    s->fed = 0;
    s->input_done = s->out_eof = false;
    s->next_index = s->first_index;

    /* The first output sample may fall a fraction of a sample after the layer's start. */
    local_s = (double)s->first_index / m->rate - (double)l->start_us / REEL_US;
    src_us = reel_eval_source_time(l, (int64_t)llround(local_s * 1e6), &ended);
    media_position(s, s->trim_pos +
                          (int64_t)llround((double)(src_us - l->trim_us) / 1e6 * s->src_rate));
    s->at_end = ended;
    s->is_open = true;
    return 0;
}

static int build_graph(struct reel_audio_mix *m, struct source *s, const AVFrame *f,
                       struct reel_err *err)
{
    char args[512], desc[512], in_layout[128], out_layout[128];
    AVChannelLayout lay = {0};
    AVFilterInOut *in = NULL, *outs = NULL;
    double speed = s->layer->speed > 0 ? s->layer->speed : 1.0;
    size_t used = 0;
    int ret;

    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&lay, f->ch_layout.nb_channels);
    else if ((ret = av_channel_layout_copy(&lay, &f->ch_layout)) < 0)
        return src_fail(s, err, REEL_ENOMEM, ret, "channel layout");
    av_channel_layout_describe(&lay, in_layout, sizeof(in_layout));
    av_channel_layout_uninit(&s->in_layout);
    if ((ret = av_channel_layout_copy(&s->in_layout, &lay)) < 0) {
        av_channel_layout_uninit(&lay);
        return src_fail(s, err, REEL_ENOMEM, ret, "channel layout");
    }
    s->in_fmt = f->format;
    s->in_rate = f->sample_rate;
    if (s->fifo_channels == 1)
        snprintf(out_layout, sizeof(out_layout), "mono");
    else
        av_channel_layout_describe(&m->layout, out_layout, sizeof(out_layout));
    if (f->sample_rate != s->src_rate)
        REEL_WARN(s->log, "%s: audio rate changed from %d to %d Hz", s->layer->path, s->src_rate,
                  f->sample_rate);

    s->graph = avfilter_graph_alloc();
    if (!s->graph) {
        av_channel_layout_uninit(&lay);
        return src_fail(s, err, REEL_ENOMEM, 0, "out of memory");
    }
    s->graph->nb_threads = 1;
    snprintf(args, sizeof(args), "time_base=1/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             f->sample_rate, f->sample_rate, av_get_sample_fmt_name((enum AVSampleFormat)f->format),
             in_layout);
    ret = avfilter_graph_create_filter(&s->src, avfilter_get_by_name("abuffer"), "in", args, NULL,
                                       s->graph);
    if (ret >= 0)
        ret = avfilter_graph_create_filter(&s->sink, avfilter_get_by_name("abuffersink"), "out",
                                           NULL, NULL, s->graph);
    if (ret < 0)
        goto fail;

    used += (size_t)snprintf(desc + used, sizeof(desc) - used, "aresample=%d,", m->rate);
    /* atempo takes factors in [0.5, 2] per instance (pitch is preserved); chain for the rest. */
    if (fabs(speed - 1.0) > 1e-9) {
        double rest = speed;
        while (rest > 2.0 && used < sizeof(desc) - 40) {
            used += (size_t)snprintf(desc + used, sizeof(desc) - used, "atempo=2,");
            rest /= 2.0;
        }
        while (rest < 0.5 && used < sizeof(desc) - 40) {
            used += (size_t)snprintf(desc + used, sizeof(desc) - used, "atempo=0.5,");
            rest /= 0.5;
        }
        used += (size_t)snprintf(desc + used, sizeof(desc) - used, "atempo=%.9f,", rest);
    }
    snprintf(desc + used, sizeof(desc) - used,
             "aformat=sample_fmts=fltp:sample_rates=%d:channel_layouts=%s", m->rate, out_layout);

    outs = avfilter_inout_alloc();
    in = avfilter_inout_alloc();
    if (!outs || !in) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    outs->name = av_strdup("in");
    outs->filter_ctx = s->src;
    in->name = av_strdup("out");
    in->filter_ctx = s->sink;
    ret = avfilter_graph_parse_ptr(s->graph, desc, &in, &outs, NULL);
    if (ret >= 0)
        ret = avfilter_graph_config(s->graph, NULL);
    if (ret < 0)
        goto fail;
    avfilter_inout_free(&in);
    avfilter_inout_free(&outs);
    av_channel_layout_uninit(&lay);
    REEL_DEBUG(s->log, "%s: audio graph %s -> %s", s->layer->path, args, desc);
    return 0;
fail:
    avfilter_inout_free(&in);
    avfilter_inout_free(&outs);
    av_channel_layout_uninit(&lay);
    return src_fail(s, err, REEL_EDECODE, ret, "audio filter graph");
}

/* Hand cnt samples (from offset off of f, or silence when f is NULL) to the graph. */
static int feed(struct source *s, const AVFrame *f, int off, int cnt, struct reel_err *err)
{
    AVFrame *x;
    int ret;
    if (cnt <= 0 || !s->graph)
        return 0;
    x = av_frame_alloc();
    if (!x)
        return src_fail(s, err, REEL_ENOMEM, 0, "out of memory");
    /* Frames keep the graph's input format; the layout is the one the graph was built with. */
    x->format = s->in_fmt;
    x->sample_rate = s->in_rate;
    ret = av_channel_layout_copy(&x->ch_layout, &s->in_layout);
    x->nb_samples = cnt;
    if (ret >= 0)
        ret = av_frame_get_buffer(x, 0);
    if (ret < 0) {
        av_frame_free(&x);
        return src_fail(s, err, REEL_ENOMEM, ret, "audio buffer");
    }
    if (f)
        av_samples_copy(x->extended_data, f->extended_data, 0, off, cnt, x->ch_layout.nb_channels,
                        (enum AVSampleFormat)x->format);
    else
        av_samples_set_silence(x->extended_data, 0, cnt, x->ch_layout.nb_channels,
                               (enum AVSampleFormat)x->format);
    x->pts = s->fed;
    s->fed += cnt;
    s->fed_since_seek += cnt;
    ret = av_buffersrc_add_frame_flags(s->src, x, 0);
    av_frame_free(&x);
    if (ret < 0)
        return src_fail(s, err, REEL_EDECODE, ret, "audio filter input");
    return 0;
}

static int feed_silence(struct source *s, int64_t n, struct reel_err *err)
{
    while (n > 0) {
        int c = n > CHUNK ? CHUNK : (int)n;
        int ret = feed(s, NULL, 0, c, err);
        if (ret < 0)
            return ret;
        n -= c;
    }
    return 0;
}

/* Take one decoded frame, trimmed to the part at or after pos and before end_pos. */
static int push_frame(struct reel_audio_mix *m, struct source *s, const AVFrame *f,
                      struct reel_err *err)
{
    int64_t off = 0, cnt;
    int ret;
    if (s->at_end || f->nb_samples <= 0)
        return 0;
    if (!s->graph) {
        ret = build_graph(m, s, f, err);
        if (ret < 0)
            return ret;
    }
    if (f->format != s->in_fmt || f->sample_rate != s->in_rate ||
        f->ch_layout.nb_channels != s->in_layout.nb_channels) {
        if (!s->warned_decode)
            REEL_WARN(s->log, "%s: audio format changed mid-stream; dropping the rest",
                      s->layer->path);
        s->warned_decode = true;
        return 0;
    }
    if (s->need_sync) {
        int64_t ts = f->best_effort_timestamp;
        if (ts != AV_NOPTS_VALUE) {
            AVStream *st = s->fmt->streams[s->stream];
            int64_t start =
                av_rescale_q(ts - s->zero_ts, st->time_base, (AVRational){1, s->src_rate});
            if (start > s->pos) {
                int64_t gap = start - s->pos;
                if (gap < (int64_t)MAX_GAP_S * s->src_rate) {
                    ret = feed_silence(s, gap, err);
                    if (ret < 0)
                        return ret;
                }
                s->pos = start;
            } else {
                off = s->pos - start;
                if (off >= f->nb_samples)
                    return 0;
            }
        }
        s->need_sync = false;
    }
    cnt = f->nb_samples - off;
    if (s->end_pos != INT64_MAX && s->pos + cnt > s->end_pos)
        cnt = s->end_pos - s->pos;
    if (cnt > 0) {
        ret = feed(s, f, (int)off, (int)cnt, err);
        if (ret < 0)
            return ret;
        s->pos += cnt;
    }
    if (s->end_pos != INT64_MAX && s->pos >= s->end_pos)
        s->at_end = true;
    return 0;
}

static int drain_decoder(struct reel_audio_mix *m, struct source *s, struct reel_err *err)
{
    for (;;) {
        int ret = avcodec_receive_frame(s->dec, s->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            if (!s->warned_decode)
                REEL_WARN(s->log, "%s: audio decode error skipped: %s", s->layer->path,
                          av_err2str(ret));
            s->warned_decode = true;
            return 0;
        }
        ret = push_frame(m, s, s->frame, err);
        if (ret < 0)
            return ret;
    }
}

/* The source reached its end (demuxer EOF, or end_pos): wrap for loop, else end the input. */
static int source_end(struct source *s, bool demux_eof, struct reel_err *err)
{
    int ret;
    if (s->layer->loop && s->fed_since_seek > 0) {
        if (demux_eof && s->end_pos != INT64_MAX && s->pos < s->end_pos) {
            ret = feed_silence(s, s->end_pos - s->pos, err);
            if (ret < 0)
                return ret;
        }
        /* Reopening rather than seeking back gives the decoder the same clean start (and
         * priming skip) as the first pass. */
        media_close(s);
        ret = media_open(s, err);
        if (ret < 0)
            return ret;
        media_position(s, s->trim_pos);
        return 0;
    }
    s->input_done = true;
    if (!s->graph) {
        s->out_eof = true;
        return 0;
    }
    ret = av_buffersrc_add_frame_flags(s->src, NULL, 0);
    if (ret < 0)
        return src_fail(s, err, REEL_EDECODE, ret, "audio filter flush");
    return 0;
}

/* Demux and decode one packet of the source's stream, or handle its end. */
static int step(struct reel_audio_mix *m, struct source *s, struct reel_err *err)
{
    int ret;
    if (s->at_end)
        return source_end(s, false, err);
    ret = av_read_frame(s->fmt, s->pkt);
    if (ret < 0) {
        if (ret != AVERROR_EOF)
            REEL_DEBUG(s->log, "%s: read ended: %s", s->layer->path, av_err2str(ret));
        avcodec_send_packet(s->dec, NULL);
        ret = drain_decoder(m, s, err);
        if (ret < 0)
            return ret;
        avcodec_flush_buffers(s->dec);
        return source_end(s, true, err);
    }
    if (s->pkt->stream_index == s->stream) {
        ret = avcodec_send_packet(s->dec, s->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN)) {
            if (!s->warned_decode)
                REEL_WARN(s->log, "%s: bad audio packet skipped: %s", s->layer->path,
                          av_err2str(ret));
            s->warned_decode = true;
        }
    }
    av_packet_unref(s->pkt);
    return drain_decoder(m, s, err);
}

/* Make the FIFO hold need samples, unless the source has ended. */
static int fill(struct reel_audio_mix *m, struct source *s, int need, struct reel_err *err)
{
    while (av_audio_fifo_size(s->fifo) < need && !s->out_eof) {
        int ret;
        if (s->graph) {
            ret = av_buffersink_get_frame(s->sink, s->out);
            if (ret >= 0) {
                int n = s->out->nb_samples;
                int w = av_audio_fifo_write(s->fifo, (void **)s->out->extended_data, n);
                av_frame_unref(s->out);
                if (w != n)
                    return src_fail(s, err, REEL_ENOMEM, 0, "out of memory");
                continue;
            }
            if (ret == AVERROR_EOF) {
                s->out_eof = true;
                break;
            }
            if (ret != AVERROR(EAGAIN))
                return src_fail(s, err, REEL_EDECODE, ret, "audio filter output");
        }
        if (s->input_done) {
            s->out_eof = true;
            break;
        }
        ret = step(m, s, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static double layer_gain(const struct reel_audio_mix *m, const struct source *s, int64_t i)
{
    const struct reel_layer *l = s->layer;
    double t = (double)i / m->rate;
    double local = t - (double)l->start_us / REEL_US;
    int64_t local_us = av_rescale(i, REEL_US, m->rate) - l->start_us;
    double g = reel_anim_value(&l->anim[REEL_PROP_VOLUME], local_us, l->volume);
    if (g <= 0)
        return 0;
    if (g > 4)
        g = 4;
    if (l->type == REEL_LAYER_AUDIO) {
        double dur = (double)l->duration_us / REEL_US;
        double fin = (double)l->fade_in_us / REEL_US, fout = (double)l->fade_out_us / REEL_US;
        if (fin > 0 && local < fin)
            g *= local > 0 ? local / fin : 0;
        if (fout > 0 && dur - local < fout)
            g *= dur - local > 0 ? (dur - local) / fout : 0;
    }
    return g;
}

int reel_audio_mix_create(const struct reel_timeline *tl, struct reel_log *log,
                          struct reel_audio_mix **out, struct reel_err *err)
{
    struct reel_audio_mix *m = calloc(1, sizeof(*m));
    int ret = 0;
    *out = NULL;
    if (!m)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    m->tl = tl;
    m->log = log;
    m->rate = tl->out.audio_sample_rate > 0 ? tl->out.audio_sample_rate : 48000;
    m->channels = tl->out.audio_channels > 0 ? tl->out.audio_channels : 2;
    if (m->channels > MAX_CHANNELS) {
        ret = reel_err_set(err, REEL_EINVALID_JOB, "output.audio.channels",
                           "at most %d audio channels", MAX_CHANNELS);
        goto fail;
    }
    av_channel_layout_default(&m->layout, m->channels);
    m->out_end = (tl->out.duration_us * m->rate + REEL_US - 1) / REEL_US;
    for (int c = 0; c < m->channels; c++) {
        m->scratch[c] = malloc(CHUNK * sizeof(float));
        if (!m->scratch[c]) {
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
            goto fail;
        }
    }
    m->src = calloc((size_t)(tl->n_layers > 0 ? tl->n_layers : 1), sizeof(*m->src));
    if (!m->src) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    for (int i = 0; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        struct source *s;
        if (!layer_has_sound(l))
            continue;
        s = &m->src[m->n_src++];
        s->layer = l;
        s->log = log;
        /* First i with i / rate >= start, and first i at or past the end. */
        s->first_index = (l->start_us * m->rate + REEL_US - 1) / REEL_US;
        s->end_index = ((l->start_us + l->duration_us) * m->rate + REEL_US - 1) / REEL_US;
        if (s->end_index > m->out_end)
            s->end_index = m->out_end;
        /* Open now so a missing or undecodable file fails the job before rendering; sources
         * that start later are closed again until needed, to bound memory. */
        ret = source_open(m, s, err);
        if (ret < 0)
            goto fail;
        if (s->first_index > m->rate || s->first_index >= s->end_index)
            source_close(s);
    }
    REEL_DEBUG(log, "audio mix: %d sources, %d Hz, %d channels", m->n_src, m->rate, m->channels);
    *out = m;
    return 0;
fail:
    reel_audio_mix_destroy(&m);
    return ret;
}

void reel_audio_mix_destroy(struct reel_audio_mix **pm)
{
    struct reel_audio_mix *m = pm ? *pm : NULL;
    if (!m)
        return;
    for (int i = 0; i < m->n_src; i++)
        source_close(&m->src[i]);
    free(m->src);
    for (int c = 0; c < MAX_CHANNELS; c++)
        free(m->scratch[c]);
    av_channel_layout_uninit(&m->layout);
    free(m);
    *pm = NULL;
}

/* Add the source's share of output samples [cur, cur + n) into planes at offset base. */
static int mix_source(struct reel_audio_mix *m, struct source *s, float *const *planes, int base,
                      int64_t cur, int n, struct reel_err *err)
{
    int64_t a = cur > s->first_index ? cur : s->first_index;
    int64_t b = cur + n < s->end_index ? cur + n : s->end_index;
    int ret, got;
    if (a >= b)
        return 0;
    if (!s->is_open) {
        ret = source_open(m, s, err);
        if (ret < 0)
            return ret;
    }
    /* Reads are contiguous, so this only skips when a read began before the layer did. */
    while (s->next_index < a) {
        int k = a - s->next_index > CHUNK ? CHUNK : (int)(a - s->next_index);
        int have;
        ret = fill(m, s, k, err);
        if (ret < 0)
            return ret;
        have = av_audio_fifo_size(s->fifo);
        av_audio_fifo_drain(s->fifo, have < k ? have : k);
        s->next_index += k;
    }
    ret = fill(m, s, (int)(b - a), err);
    if (ret < 0)
        return ret;
    got = av_audio_fifo_read(s->fifo, (void **)m->scratch, (int)(b - a));
    if (got < 0)
        got = 0;
    for (int j = 0; j < got; j++) {
        double g = layer_gain(m, s, a + j);
        if (g == 0)
            continue;
        for (int c = 0; c < m->channels; c++)
            planes[c][base + (a - cur) + j] +=
                (float)(g * m->scratch[s->fifo_channels == 1 ? 0 : c][j]);
    }
    /* Whatever the source could not supply is silence; keep the index in step regardless. */
    s->next_index = b;
    if (b >= s->end_index)
        source_close(s);
    return 0;
}

int reel_audio_mix_read(struct reel_audio_mix *m, float *const *planes, int nb_samples,
                        struct reel_err *err)
{
    for (int c = 0; c < m->channels; c++)
        memset(planes[c], 0, (size_t)nb_samples * sizeof(float));
    for (int done = 0; done < nb_samples;) {
        int n = nb_samples - done > CHUNK ? CHUNK : nb_samples - done;
        for (int i = 0; i < m->n_src; i++) {
            int ret = mix_source(m, &m->src[i], planes, done, m->cur, n, err);
            if (ret < 0)
                return ret;
        }
        done += n;
        m->cur += n;
    }
    for (int c = 0; c < m->channels; c++)
        for (int i = 0; i < nb_samples; i++) {
            float v = planes[c][i];
            planes[c][i] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        }
    return 0;
}
