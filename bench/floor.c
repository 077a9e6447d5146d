/*
 * The encode floor: what encoding alone costs. The job's frames are rendered into memory first by
 * reel's own render loop with the encoder skipped (not timed), so they are exactly the pictures
 * reel hands its encoder; then they go through the same encoder, opened through src/encode with
 * the job's own settings, and only that is timed. reel's wall time over this is the price of
 * everything that is not encoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "bench/internal.h"
#include "core/clock.h"
#include "render/render.h"

/* Convert every frame to fmt in place (hardware encoders may want NV12). */
static int convert_all(AVFrame *const *frames, int n, enum AVPixelFormat fmt, struct reel_err *err)
{
    struct SwsContext *sws = NULL;
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        AVFrame *src = frames[i], *dst = av_frame_alloc();
        if (!dst)
            return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        dst->format = fmt;
        dst->width = src->width;
        dst->height = src->height;
        sws = sws_getCachedContext(sws, src->width, src->height, src->format, dst->width,
                                   dst->height, fmt, SWS_BILINEAR, NULL, NULL, NULL);
        if (!sws || av_frame_get_buffer(dst, 0) < 0) {
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "cannot convert frames to %s",
                               av_get_pix_fmt_name(fmt));
        } else {
            sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                      dst->data, dst->linesize);
            av_frame_copy_props(dst, src);
            av_frame_unref(src);
            av_frame_move_ref(src, dst);
        }
        av_frame_free(&dst);
    }
    sws_freeContext(sws);
    return ret;
}

static int drain(struct reel_encoder *enc, AVPacket *pkt, struct reel_bench_encode_result *r,
                 struct reel_err *err)
{
    for (;;) {
        int ret = enc->ops->receive_packet(enc, pkt);
        if (ret == -REEL_EAGAIN || ret == -REEL_EEOF)
            return 0;
        if (ret < 0)
            return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, NULL, "encoder %s failed",
                                enc->ops->name);
        r->packets++;
        r->bytes += pkt->size;
        av_packet_unref(pkt);
    }
}

int reel_bench_encode_frames(const struct reel_enc_cfg *cfg, AVFrame *const *frames, int n,
                             struct reel_log *log, struct reel_bench_encode_result *r,
                             struct reel_err *err)
{
    struct reel_encoder *enc = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret;
    memset(r, 0, sizeof(*r));
    if (!pkt)
        return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
    double c0 = reel_bench_process_cpu_s(), t0 = reel_clock_s();
    ret = reel_encoder_open_first(cfg, log, &enc, err);
    r->open_s = reel_clock_s() - t0;
    r->cpu_s = reel_bench_process_cpu_s() - c0;
    if (ret < 0)
        goto out;
    snprintf(r->encoder, sizeof(r->encoder), "%s", enc->ops->name);
    if (n > 0 && frames[0]->format != enc->pix_fmt) {
        ret = convert_all(frames, n, enc->pix_fmt, err);
        if (ret < 0)
            goto out;
    }
    for (int i = 0; i < n; i++) {
        /* As reel's output does: pts is the frame index, colour tags BT.709 limited range. */
        frames[i]->pts = i;
        frames[i]->pict_type = AV_PICTURE_TYPE_NONE;
        frames[i]->color_primaries = AVCOL_PRI_BT709;
        frames[i]->color_trc = AVCOL_TRC_BT709;
        frames[i]->colorspace = AVCOL_SPC_BT709;
        frames[i]->color_range = AVCOL_RANGE_MPEG;
    }
    c0 = reel_bench_process_cpu_s();
    t0 = reel_clock_s();
    for (int i = 0; i < n && ret == 0; i++) {
        ret = enc->ops->send_frame(enc, frames[i]);
        if (ret < 0)
            ret = reel_err_set(err, ret, NULL, "encoder %s rejected frame %d", enc->ops->name, i);
        else
            ret = drain(enc, pkt, r, err);
    }
    if (ret == 0) {
        ret = enc->ops->send_frame(enc, NULL);
        if (ret < 0)
            ret = reel_err_set(err, ret, NULL, "flushing encoder %s failed", enc->ops->name);
        else
            ret = drain(enc, pkt, r, err);
    }
    r->encode_s = reel_clock_s() - t0;
    r->cpu_s += reel_bench_process_cpu_s() - c0;
out:
    reel_encoder_close(&enc);
    av_packet_free(&pkt);
    return ret;
}

/* Frames handed over by the render loop, kept in order. */
struct frame_list {
    AVFrame **frames;
    int n, cap;
    bool is_short; /* out of memory: a frame was dropped */
};

static void keep_frame(void *opaque, AVFrame *f)
{
    struct frame_list *fl = opaque;
    if (fl->n == fl->cap) {
        int ncap = fl->cap ? fl->cap * 2 : 256;
        AVFrame **nf = realloc(fl->frames, sizeof(*nf) * (size_t)ncap);
        if (!nf) {
            fl->is_short = true;
            av_frame_free(&f);
            return;
        }
        fl->frames = nf;
        fl->cap = ncap;
    }
    fl->frames[fl->n++] = f;
}

static int write_floor_stats(const char *path, const struct reel_bench_encode_result *r, int frames,
                             struct reel_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "encoder", r->encoder);
    cJSON_AddNumberToObject(o, "frames", frames);
    cJSON_AddNumberToObject(o, "packets", (double)r->packets);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "open_s", r->open_s);
    cJSON_AddNumberToObject(o, "encode_s", r->encode_s);
    cJSON_AddNumberToObject(o, "wall_s", r->open_s + r->encode_s);
    cJSON_AddNumberToObject(o, "cpu_s", r->cpu_s);
    return reel_bench_write_json(path, o, NULL, err);
}

int reel_bench_floor_main(int argc, char **argv, struct reel_log *log)
{
    struct reel_bench_child_args a;
    if (reel_bench_child_args(argc, argv, &a) < 0)
        return 2;
    if (!a.job || !a.stats) {
        fprintf(stderr, "reel bench _floor: JOB.json and --stats-json are needed\n");
        return 2;
    }
    const char *job = a.job, *root = a.asset_root, *stats = a.stats;

    struct reel_err err = {0};
    struct reel_timeline *tl = NULL;
    struct frame_list fl = {0};
    int status = 1;
    if (reel_bench_load_job(job, root, log, &tl))
        goto out;
    struct reel_render_opts ro = {
        .tl = tl,
        .engine = "cpu",
        .gpu_index = -1,
        .skip_encode = true,
        .on_frame = keep_frame,
        .on_frame_opaque = &fl,
        .log = log,
    };
    struct reel_render_result res;
    if (reel_render_job(&ro, &res) < 0) {
        REEL_ERROR(log, "stage=floor rendering the frames: %s", res.err.msg);
        goto out;
    }
    if (fl.is_short) {
        REEL_ERROR(log, "stage=floor out of memory holding %d frames", fl.n);
        goto out;
    }
    const struct reel_output *o = &tl->out;
    struct reel_enc_cfg cfg = {
        .width = o->width,
        .height = o->height,
        .fps_num = o->fps_num,
        .fps_den = o->fps_den,
        .codec = o->codec != REEL_CODEC_NONE ? o->codec : REEL_CODEC_H264,
        .quality = o->quality,
        .preset = o->preset,
        .pref = o->encoder != REEL_ENCPREF_NONE ? o->encoder : REEL_ENCPREF_AUTO,
        .global_header = o->format != REEL_FORMAT_GIF,
        .threads = 0,
        .gpu_index = -1,
    };
    struct reel_bench_encode_result r;
    int ret = reel_bench_encode_frames(&cfg, fl.frames, fl.n, log, &r, &err);
    if (ret < 0) {
        REEL_ERROR(log, "stage=floor encoding: %s", err.msg);
        goto out;
    }
    if (write_floor_stats(stats, &r, fl.n, &err) < 0) {
        REEL_ERROR(log, "stage=floor %s", err.msg);
        goto out;
    }
    status = 0;
out:
    for (int i = 0; i < fl.n; i++)
        av_frame_free(&fl.frames[i]);
    free(fl.frames);
    reel_timeline_destroy(&tl);
    return status;
}
