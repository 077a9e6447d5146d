#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavformat/avformat.h>
#include <libavutil/dict.h>

#include "assets/assets.h"
#include "assets/internal.h"
#include "core/media.h"

/* FFmpeg 5.1 demuxer names; a name with commas is one demuxer ("mov,mp4,...", "matroska,webm"). */
static const char *const allowed_demuxers[] = {
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "mpegts",
    "flv",
    "ogg",
    "wav",
    "mp3",
    "aac",
    "flac",
    "image2",
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "gif",
    "apng",
};
#define N_ALLOWED (sizeof(allowed_demuxers) / sizeof(allowed_demuxers[0]))

static bool demuxer_allowed(const char *name)
{
    for (size_t i = 0; i < N_ALLOWED; i++)
        if (!strcmp(name, allowed_demuxers[i]))
            return true;
    return false;
}

static bool is_still_demuxer(const char *name)
{
    size_t n = strlen(name);
    return !strcmp(name, "image2") || (n > 5 && !strcmp(name + n - 5, "_pipe"));
}

void reel_media_open_options(struct AVDictionary **opts)
{
    char list[256];
    size_t o = 0;
    for (size_t i = 0; i < N_ALLOWED; i++)
        o +=
            (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? "," : "", allowed_demuxers[i]);
    av_dict_set(opts, "protocol_whitelist", "file", 0);
    av_dict_set(opts, "format_whitelist", list, 0);
    /* image2 would otherwise read "%d" or glob patterns in a name as a numbered sequence. */
    av_dict_set(opts, "pattern_type", "none", 0);
}

/*
 * Detect the container ourselves first so a format outside the allow-list is reported as
 * unsupported rather than as FFmpeg's generic "invalid argument" from its whitelist check.
 */
static int detect_format(const char *url, const AVInputFormat **fmt, struct reel_err *err)
{
    AVIOContext *pb = NULL;
    AVDictionary *opts = NULL;
    int ret;

    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    ret = avio_open2(&pb, url, AVIO_FLAG_READ, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        return reel_err_from_av(err, REEL_EASSET_NOT_FOUND, ret, "cannot open media file");
    ret = av_probe_input_buffer2(pb, fmt, url, NULL, 0, 0);
    avio_closep(&pb);
    if (ret < 0 || !*fmt)
        return reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                            "not a recognised media format (PNG, JPEG, WebP, MP4/MOV, WebM/MKV, "
                            "AVI, MPEG-TS, FLV, Ogg, WAV, MP3, AAC, FLAC, GIF)");
    if (!demuxer_allowed((*fmt)->name))
        return reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                            "media format '%s' is not supported", (*fmt)->name);
    return 0;
}

/* For gif/apng, which may hold one picture or an animation: a second video packet decides. */
static bool single_picture(AVFormatContext *fc, int vidx)
{
    AVPacket *pkt = av_packet_alloc();
    int seen = 0;
    if (!pkt)
        return false;
    for (int i = 0; i < 256 && seen < 2; i++) {
        if (av_read_frame(fc, pkt) < 0)
            break;
        if (pkt->stream_index == vidx)
            seen++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return seen == 1;
}

/* Packets read from the last keyframe on before giving up on finding the stream's end. */
#define MAX_TAIL_PACKETS 20000

/*
 * The length of video stream vidx from its start to the end of its last frame (the largest
 * pts + duration of its packets, read from the last keyframe on, not decoded), rounded down to
 * the microsecond so that a clip of n frames never covers part of an n + 1st output frame.
 * Container durations are no substitute: MP4 writers round theirs up to the millisecond, and
 * they cover the audio as well. Returns 0 when the end cannot be found (no seek, no timestamps).
 * Leaves fc positioned anywhere.
 */
static int64_t video_stream_length_us(AVFormatContext *fc, int vidx)
{
    AVStream *st = fc->streams[vidx];
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    /* Where to seek: the stream's or the container's end, else as far as the demuxer goes. */
    int64_t guess = INT64_MAX / 2, d = 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        d = st->duration;
    else if (fc->duration != AV_NOPTS_VALUE && fc->duration > 0)
        d = av_rescale_q(fc->duration, AV_TIME_BASE_Q, st->time_base);
    if (d > 0 && d < INT64_MAX / 4 && start >= INT64_MIN / 4 && start <= INT64_MAX / 4)
        guess = start + d;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    int64_t nominal = fr.num > 0 && fr.den > 0 ? av_rescale_q(1, av_inv_q(fr), st->time_base) : 0;
    for (unsigned i = 0; i < fc->nb_streams; i++)
        fc->streams[i]->discard = (int)i == vidx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    if (av_seek_frame(fc, vidx, guess, AVSEEK_FLAG_BACKWARD) < 0)
        return 0;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return 0;
    int64_t end = AV_NOPTS_VALUE, last_dur = 0;
    for (int n = 0; n < MAX_TAIL_PACKETS;) {
        if (av_read_frame(fc, pkt) < 0)
            break;
        if (pkt->stream_index == vidx) {
            n++;
            int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            /* A frame without a duration (often the last, in variable-rate MP4s) lasts as
             * long as the frame before it. */
            if (pkt->duration > 0)
                last_dur = pkt->duration;
            int64_t dur = last_dur > 0 ? last_dur : nominal;
            if (ts != AV_NOPTS_VALUE && ts <= INT64_MAX / 4 && ts >= INT64_MIN / 4 &&
                dur < INT64_MAX / 4 && (end == AV_NOPTS_VALUE || ts + dur > end))
                end = ts + dur;
        }
        av_packet_unref(pkt);
    }
    bool done = av_read_frame(fc, pkt) < 0; /* the tail was read to the end */
    av_packet_free(&pkt);
    if (!done || end == AV_NOPTS_VALUE || end <= start || start < INT64_MIN / 4)
        return 0;
    return av_rescale_q_rnd(end - start, st->time_base, AV_TIME_BASE_Q, AV_ROUND_DOWN);
}

int reel_media_probe(const char *path, const struct reel_limits *limits,
                     struct reel_media_info *info, struct reel_err *err)
{
    struct reel_limits defaults;
    const AVInputFormat *fmt = NULL;
    AVFormatContext *fc = NULL;
    AVDictionary *opts = NULL;
    char url[4200];
    struct stat st;
    int ret, vidx = -1;

    memset(info, 0, sizeof(*info));
    if (!limits) {
        reel_limits_default(&defaults);
        limits = &defaults;
    }
    if (stat(path, &st) != 0)
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "media file '%s': %s", path,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "media file '%s' is not a file",
                            path);
    if ((int64_t)st.st_size > limits->max_source_bytes)
        return reel_err_set(err, REEL_ELIMIT, NULL,
                            "media file is %lld bytes, over the limit of %lld bytes",
                            (long long)st.st_size, (long long)limits->max_source_bytes);
    if (st.st_size == 0)
        return reel_err_set(err, REEL_EDECODE, NULL, "media file '%s' is empty", path);

    /* The "file:" prefix keeps a colon in the name from being read as a protocol. */
    if (snprintf(url, sizeof(url), "file:%s", path) >= (int)sizeof(url))
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "media path is too long");
    if ((ret = detect_format(url, &fmt, err)) < 0)
        return ret;

    reel_media_open_options(&opts);
    ret = avformat_open_input(&fc, url, fmt, &opts);
    if (ret < 0) {
        ret = reel_err_from_av(err, REEL_EDECODE, ret, "cannot read the media file");
        goto out;
    }
    ret = reel_probe_stream_info(fc);
    if (ret < 0) {
        ret = reel_err_from_av(err, REEL_EDECODE, ret, "cannot read the media streams");
        goto out;
    }

    for (unsigned i = 0; i < fc->nb_streams; i++) {
        const AVCodecParameters *par = fc->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && vidx < 0 && par->width > 0 &&
            par->height > 0 && !(fc->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            vidx = (int)i;
            info->has_video = true;
            info->width = par->width;
            info->height = par->height;
        } else if (par->codec_type == AVMEDIA_TYPE_AUDIO && par->sample_rate > 0 &&
                   par->ch_layout.nb_channels > 0) {
            info->has_audio = true;
        }
    }
    if (!info->has_video && !info->has_audio) {
        ret = reel_err_set(err, REEL_EDECODE, NULL,
                           "no decodable video or audio stream in the %s file", fmt->name);
        goto out;
    }
    if (info->width > limits->max_source_px || info->height > limits->max_source_px) {
        ret = reel_err_set(err, REEL_ELIMIT, NULL,
                           "media is %dx%d pixels, over the limit of %d pixels a side", info->width,
                           info->height, limits->max_source_px);
        goto out;
    }

    if (is_still_demuxer(fmt->name))
        info->is_still = info->has_video && !info->has_audio;
    else if ((!strcmp(fmt->name, "gif") || !strcmp(fmt->name, "apng")) && vidx >= 0)
        info->is_still = single_picture(fc, vidx);

    if (!info->is_still && vidx >= 0)
        info->duration_us = video_stream_length_us(fc, vidx);
    if (!info->is_still && info->duration_us <= 0) {
        if (fc->duration != AV_NOPTS_VALUE && fc->duration > 0) {
            info->duration_us = fc->duration; /* AV_TIME_BASE is microseconds */
        } else {
            for (unsigned i = 0; i < fc->nb_streams; i++) {
                const AVStream *s = fc->streams[i];
                if (s->duration == AV_NOPTS_VALUE || s->duration <= 0)
                    continue;
                int64_t d = av_rescale_q(s->duration, s->time_base, AV_TIME_BASE_Q);
                if (d > info->duration_us)
                    info->duration_us = d;
            }
        }
    }
    ret = 0;
out:
    av_dict_free(&opts);
    avformat_close_input(&fc);
    return ret;
}
