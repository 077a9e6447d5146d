/*
 * The render loop. The render thread evaluates and composes frame n while the encoder thread
 * encodes frame n-1, through a bounded queue (the audio thread mixes and encodes the sound
 * alongside, see below): at most QUEUE_CAP frames are in flight (fewer for large frames, see
 * queue_depth), so memory does not grow with the job's duration.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "audio/audio.h"
#include "core/clock.h"
#include "core/thread.h"
#include "encode/output.h"
#include "render/engine.h"
#include "render/render.h"
#include "render/scene.h"
#include "timeline/parse.h"

#define QUEUE_CAP 4
/* Frames queued for the encoder are kept under about this many bytes, and at least one: the
 * encoder thread holds the frame it is encoding and the encoder its own frames for lookahead and
 * threads, so a shallow queue in front of it costs no speed, and at 3840x2160 each frame is
 * 12 MB. */
#define QUEUE_BYTES (16u << 20)

/* ---- bounded frame queue between the render and encoder threads ---- */

struct frame_queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    AVFrame *items[QUEUE_CAP];
    int head, count;
    int cap;      /* at most QUEUE_CAP */
    bool closed;  /* producer is done */
    bool aborted; /* consumer failed: producer must stop */
};

/* How many frames of w x h (yuv420p or larger) the queue holds. */
static int queue_depth(int w, int h)
{
    size_t frame = (size_t)w * (size_t)h * 3 / 2;
    size_t n = frame ? QUEUE_BYTES / frame : QUEUE_CAP;
    return n < 1 ? 1 : (n > QUEUE_CAP ? QUEUE_CAP : (int)n);
}

static void fq_init(struct frame_queue *q, int cap)
{
    memset(q, 0, sizeof(*q));
    q->cap = cap;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
}

static void fq_uninit(struct frame_queue *q)
{
    for (int i = 0; i < q->count; i++)
        av_frame_free(&q->items[(q->head + i) % QUEUE_CAP]);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
}

/* Takes ownership of *f. Returns false when the consumer has aborted (the frame is freed). */
static bool fq_push(struct frame_queue *q, AVFrame **f)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == q->cap && !q->aborted)
        pthread_cond_wait(&q->cond, &q->lock);
    bool ok = !q->aborted;
    if (ok) {
        q->items[(q->head + q->count) % QUEUE_CAP] = *f;
        q->count++;
        *f = NULL;
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    av_frame_free(f);
    return ok;
}

/* Returns NULL when the queue is closed and empty, or at once when it was aborted: frames still
 * queued then are never encoded (fq_uninit frees them), so a cancel does not wait for them. */
static AVFrame *fq_pop(struct frame_queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->cond, &q->lock);
    AVFrame *f = NULL;
    if (q->count && !q->aborted) {
        f = q->items[q->head];
        q->head = (q->head + 1) % QUEUE_CAP;
        q->count--;
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return f;
}

static void fq_close(struct frame_queue *q, bool abort)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    if (abort)
        q->aborted = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* ---- audio thread ---- */

/*
 * The audio is mixed and encoded on a thread of its own at the lowest priority, so that it runs in
 * the moments the video encoder leaves a core idle (while the job prepares, and whenever its frame
 * threads wait on one another) instead of taking time from it. It starts as soon as the output is
 * open. The muxer holds each stream's packets until the other has caught up, so the file
 * interleaves the same whichever runs ahead; what it holds is kept small by keeping the audio near
 * the video: at most AUDIO_LEAD_US ahead of the video handed to the encoder (woken in steps of
 * AUDIO_STEP_US), and when it falls AUDIO_LAG_US behind, the encoder thread waits for it (the
 * cores are then idle, and the audio thread has them).
 */
#define AUDIO_LEAD_US 5000000
#define AUDIO_STEP_US 250000
#define AUDIO_LAG_US 2000000
#define AUDIO_NICE 19

struct audio_thread {
    struct reel_output_file *of;
    struct reel_audio_mix *mix;
    const struct reel_timeline *tl;
    struct reel_log *log;
    int64_t samples_done;
    float *buf[8];
    int chunk;
    double audio_s;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t video_us; /* output time the video has been handed to the encoder up to */
    int64_t done_us;  /* output time the audio has been written up to */
    int64_t wake_us;  /* video_us at which the waiting audio thread has a step to write */
    bool stop;        /* the render failed or was canceled */
    bool finished;    /* the thread is done (ret says how) */
    bool has_sync;    /* lock and cond initialised */
    bool is_started;  /* thread running or not yet joined */
    pthread_t thread;
    int ret;
    struct reel_err err;
};

/* Mix and encode audio up to output time t_us (exclusive), in chunks of the encoder's frame size.
 */
static int write_audio_until(struct audio_thread *at, int64_t t_us)
{
    double t0 = reel_clock_s();
    const struct reel_output *o = &at->tl->out;
    int64_t target = av_rescale(t_us, o->audio_sample_rate, REEL_US);
    int ret = 0;
    while (at->samples_done < target) {
        int n = (int)FFMIN((int64_t)at->chunk, target - at->samples_done);
        ret = reel_audio_mix_read(at->mix, at->buf, n, &at->err);
        if (ret < 0)
            break;
        ret = reel_output_write_audio(at->of, (const float *const *)at->buf, n, &at->err);
        if (ret < 0)
            break;
        at->samples_done += n;
    }
    at->audio_s += reel_clock_s() - t0;
    return ret;
}

static void *audio_main(void *arg)
{
    struct audio_thread *at = arg;
    reel_thread_name("reel-audio");
    reel_log_set_thread_logger(at->log);
    /* Per thread on Linux; without it the audio merely competes as before. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), AUDIO_NICE) != 0)
        REEL_DEBUG(at->log, "audio thread priority unchanged: %s", strerror(errno));
    int64_t end = at->tl->out.duration_us;
    int ret = reel_audio_mix_create(at->tl, at->log, &at->mix, &at->err);
    pthread_mutex_lock(&at->lock);
    if (ret < 0)
        at->stop = true;
    while (!at->stop && at->done_us < end) {
        int64_t target = at->video_us >= end - AUDIO_LEAD_US ? end : at->video_us + AUDIO_LEAD_US;
        if (target <= at->done_us) {
            at->wake_us = at->done_us + AUDIO_STEP_US - AUDIO_LEAD_US;
            pthread_cond_wait(&at->cond, &at->lock);
            continue;
        }
        /* A step at a time, so that a stop is seen soon. */
        if (target - at->done_us > AUDIO_STEP_US && at->done_us + AUDIO_STEP_US < end)
            target = at->done_us + AUDIO_STEP_US;
        pthread_mutex_unlock(&at->lock);
        ret = write_audio_until(at, target);
        pthread_mutex_lock(&at->lock);
        if (ret < 0)
            break;
        at->done_us = target;
        pthread_cond_broadcast(&at->cond);
    }
    at->ret = ret;
    at->finished = true;
    pthread_cond_broadcast(&at->cond);
    pthread_mutex_unlock(&at->lock);
    return NULL;
}

/* The video has been handed to the encoder up to video_us: let the audio follow, and wait while it
 * is too far behind. Returns the audio thread's error, once it has failed. */
static int audio_follow(struct audio_thread *at, int64_t video_us, struct reel_err *err)
{
    pthread_mutex_lock(&at->lock);
    at->video_us = video_us;
    if (video_us >= at->wake_us)
        pthread_cond_broadcast(&at->cond);
    while (!at->finished && !at->stop && at->done_us + AUDIO_LAG_US < video_us)
        pthread_cond_wait(&at->cond, &at->lock);
    int ret = at->finished ? at->ret : 0;
    if (ret < 0)
        *err = at->err;
    pthread_mutex_unlock(&at->lock);
    return ret;
}

/* Whether the audio thread has stopped on an error. */
static bool audio_failed(struct audio_thread *at)
{
    if (!at->is_started)
        return false;
    pthread_mutex_lock(&at->lock);
    bool failed = at->finished && at->ret < 0;
    pthread_mutex_unlock(&at->lock);
    return failed;
}

/* Let the audio thread finish the audio (complete) or give up, and wait for it. */
static int audio_join(struct audio_thread *at, bool complete)
{
    pthread_mutex_lock(&at->lock);
    if (complete)
        at->video_us = at->tl->out.duration_us;
    else
        at->stop = true;
    pthread_cond_broadcast(&at->cond);
    pthread_mutex_unlock(&at->lock);
    pthread_join(at->thread, NULL);
    at->is_started = false;
    return at->ret;
}

/* Start the audio thread (it opens the mix itself: a failure there ends it with ret). */
static int start_audio(struct audio_thread *at, struct reel_output_file *of,
                       const struct reel_timeline *tl, struct reel_log *log, struct reel_err *err)
{
    at->of = of;
    at->tl = tl;
    at->log = log;
    at->chunk = reel_output_audio_frame_size(of);
    if (at->chunk <= 0)
        at->chunk = 1024;
    for (int c = 0; c < tl->out.audio_channels && c < 8; c++)
        if (!(at->buf[c] = calloc((size_t)at->chunk, sizeof(float))))
            return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    pthread_mutex_init(&at->lock, NULL);
    pthread_cond_init(&at->cond, NULL);
    at->has_sync = true;
    if (pthread_create(&at->thread, NULL, audio_main, at) != 0)
        return reel_err_set(err, REEL_EINTERNAL, "audio", "cannot start the audio thread");
    at->is_started = true;
    return 0;
}

/* Stop the audio thread if it still runs, and free what start_audio made. */
static void stop_audio(struct audio_thread *at)
{
    if (at->is_started)
        audio_join(at, false);
    at->is_started = false;
    if (at->has_sync) {
        pthread_mutex_destroy(&at->lock);
        pthread_cond_destroy(&at->cond);
        at->has_sync = false;
    }
    reel_audio_mix_destroy(&at->mix);
    for (int c = 0; c < 8; c++) {
        free(at->buf[c]);
        at->buf[c] = NULL;
    }
}

/* ---- encoder thread ---- */

struct enc_thread {
    struct frame_queue q;
    struct reel_output_file *of;
    struct audio_thread *audio; /* NULL without sound */
    const struct reel_timeline *tl;
    struct reel_log *log;
    double encode_s, idle_s;
    pthread_t thread;
    int ret;
    struct reel_err err;
};

static void *enc_main(void *arg)
{
    struct enc_thread *et = arg;
    reel_thread_name("reel-encode");
    reel_log_set_thread_logger(et->log);
    AVFrame *f;
    int64_t n = 0;
    double w0 = reel_clock_s();
    while ((f = fq_pop(&et->q))) {
        et->idle_s += reel_clock_s() - w0;
        if (et->ret == 0) {
            double t0 = reel_clock_s();
            et->ret = reel_output_write_video(et->of, f, &et->err);
            et->encode_s += reel_clock_s() - t0;
            n++;
            if (et->ret == 0 && et->audio)
                et->ret = audio_follow(et->audio, reel_timeline_frame_time_us(et->tl, n), &et->err);
            if (et->ret < 0)
                fq_close(&et->q, true); /* tell the producer to stop */
        }
        av_frame_free(&f);
        w0 = reel_clock_s();
    }
    return NULL;
}

/* ---- engine choice ---- */

const char *reel_render_auto_engine(int gpu_index, struct reel_log *log)
{
    struct reel_engine_cfg cfg = {.width = 64, .height = 64, .gpu_index = gpu_index, .log = log};
    for (int i = 0; reel_engine_registry[i]; i++) {
        const struct reel_engine_ops *ops = reel_engine_registry[i];
        struct reel_engine *eng = NULL;
        if (ops->probe(&cfg) < 0)
            continue;
        if (reel_engine_create(ops->name, &cfg, log, &eng, NULL) < 0)
            continue;
        struct reel_engine_caps caps = {0};
        ops->query_caps(eng, &caps);
        reel_engine_destroy(&eng);
        if (caps.is_hw)
            return ops->name;
    }
    return "cpu";
}

static bool caps_have(const struct reel_engine_caps *caps, enum AVPixelFormat fmt)
{
    for (int i = 0; i < 8 && caps->pix_fmts[i] != AV_PIX_FMT_NONE; i++)
        if (caps->pix_fmts[i] == fmt)
            return true;
    return false;
}

/*
 * Create the engine for a job. "auto" picks a hardware engine when one probes, else cpu; when the
 * chosen engine fails to start under "auto", the other is used and the result says so. An engine
 * named explicitly gets no fallback.
 */
static int open_engine(const struct reel_render_opts *o, struct reel_engine_cfg *cfg,
                       struct reel_engine **eng, struct reel_render_result *res)
{
    const char *want = o->engine;
    if (!want || !*want)
        want = o->tl->engine == REEL_ENGPREF_GL    ? "gl"
               : o->tl->engine == REEL_ENGPREF_CPU ? "cpu"
                                                   : "auto";
    bool is_auto = !strcmp(want, "auto");
    const char *name = is_auto ? reel_render_auto_engine(o->gpu_index, o->log) : want;
    struct reel_err err = {0};
    int ret = reel_engine_create(name, cfg, o->log, eng, &err);
    if (ret < 0 && is_auto) {
        for (int i = 0; reel_engine_registry[i] && ret < 0; i++) {
            const char *other = reel_engine_registry[i]->name;
            if (!strcmp(other, name))
                continue;
            REEL_WARN(o->log, "stage=engine engine %s failed to start (%s); continuing on %s", name,
                      err.msg, other);
            res->engine_fell_back = true;
            snprintf(res->fallback_reason, sizeof(res->fallback_reason), "%s: %.200s", name,
                     err.msg);
            name = other;
            ret = reel_engine_create(name, cfg, o->log, eng, &err);
        }
    }
    if (ret < 0) {
        res->err = err;
        res->err.path[0] = 0;
        snprintf(res->stage, sizeof(res->stage), "engine");
        REEL_ERROR(o->log, "stage=engine %s: %s", reel_err_code_str(ret), err.msg);
        return ret;
    }
    snprintf(res->engine, sizeof(res->engine), "%s", name);
    REEL_INFO(o->log, "stage=engine using engine %s", name);
    return 0;
}

/* Convert a frame to another pixel format with swscale (only when the engine cannot produce the
 * encoder's layout directly). */
static int convert_frame(struct SwsContext **sws, const AVFrame *src, enum AVPixelFormat fmt,
                         AVFrame **out)
{
    AVFrame *dst = av_frame_alloc();
    if (!dst)
        return -REEL_ENOMEM;
    dst->format = fmt;
    dst->width = src->width;
    dst->height = src->height;
    if (av_frame_get_buffer(dst, 0) < 0) {
        av_frame_free(&dst);
        return -REEL_ENOMEM;
    }
    *sws = sws_getCachedContext(*sws, src->width, src->height, src->format, dst->width, dst->height,
                                fmt, SWS_BILINEAR, NULL, NULL, NULL);
    if (!*sws) {
        av_frame_free(&dst);
        return -REEL_ERENDER;
    }
    const int *coefs = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(*sws, coefs, 1, coefs, 0, 0, 1 << 16, 1 << 16);
    sws_scale(*sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
              dst->linesize);
    av_frame_copy_props(dst, src);
    dst->color_primaries = AVCOL_PRI_BT709;
    dst->color_trc = AVCOL_TRC_BT709;
    dst->colorspace = AVCOL_SPC_BT709;
    dst->color_range = AVCOL_RANGE_MPEG;
    *out = dst;
    return 0;
}

static void fail(struct reel_render_result *res, struct reel_log *log, const char *stage, int code,
                 const struct reel_err *cause)
{
    if (cause && cause->code)
        res->err = *cause;
    else
        reel_err_set(&res->err, code, NULL, "%s", reel_err_default_msg(code));
    if (!res->err.code)
        res->err.code = -code;
    snprintf(res->stage, sizeof(res->stage), "%s", stage);
    REEL_ERROR(log, "stage=%s %s: %s", stage, reel_err_code_str(res->err.code), res->err.msg);
}

/*
 * Frames in output order from an engine: through render() one at a time, or, when the engine offers
 * send_time/receive_frame, with as many frames in flight as the engine allows, so that composing
 * frame n+1 overlaps the transfer of frame n.
 */
struct frame_source {
    struct reel_engine *eng;
    const struct reel_timeline *tl;
    int64_t total, sent;
    bool is_pipelined, is_flushed;
};

/* 0 with a new frame in *out, -REEL_EEOF after the last frame, or an engine error. */
static int source_next(struct frame_source *s, AVFrame **out)
{
    const struct reel_engine_ops *ops = s->eng->ops;
    if (!s->is_pipelined) {
        if (s->sent == s->total)
            return -REEL_EEOF;
        return ops->render(s->eng, reel_timeline_frame_time_us(s->tl, s->sent++), out);
    }
    for (;;) {
        int ret;
        if (s->sent < s->total) {
            ret = ops->send_time(s->eng, reel_timeline_frame_time_us(s->tl, s->sent));
            if (ret == 0) {
                s->sent++;
                continue; /* keep the engine's slots full */
            }
            if (ret != -REEL_EAGAIN)
                return ret;
        } else if (!s->is_flushed) {
            ret = ops->send_time(s->eng, INT64_MIN);
            if (ret < 0 && ret != -REEL_EEOF)
                return ret;
            s->is_flushed = true;
        }
        ret = ops->receive_frame(s->eng, out);
        if (ret != -REEL_EAGAIN)
            return ret;
    }
}

/* Poster: <output without extension>.jpg */
static void poster_path(const char *out, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", out);
    char *slash = strrchr(buf, '/');
    char *dot = strrchr(buf, '.');
    if (dot && (!slash || dot > slash))
        *dot = 0;
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, ".jpg");
}

int reel_render_job(const struct reel_render_opts *o, struct reel_render_result *res)
{
    const struct reel_timeline *tl = o->tl;
    struct reel_engine *eng = NULL;
    struct reel_scene scene = {0};
    struct reel_output_file *of = NULL;
    struct SwsContext *sws = NULL;
    struct enc_thread et = {0};
    struct audio_thread at = {0};
    bool thread_started = false;
    int ret = 0;
    double t_start = reel_clock_s();
    memset(res, 0, sizeof(*res));
    reel_log_set_thread_logger(o->log);

    int64_t frames_total = reel_timeline_frame_count(tl);
    bool has_audio =
        !o->skip_encode && reel_audio_has_sound(tl) && tl->out.format != REEL_FORMAT_GIF;

    /* Output first: it fixes the pixel format and fails fast on an unwritable destination. */
    enum AVPixelFormat want_fmt = AV_PIX_FMT_YUV420P;
    if (!o->skip_encode) {
        struct reel_output_cfg ocfg = {
            .path = o->out_path,
            .out = &tl->out,
            .pref = o->encoder,
            .has_audio = has_audio,
            .threads = o->threads,
            .gpu_index = o->gpu_index,
        };
        struct reel_err err = {0};
        ret = reel_output_open(&ocfg, o->log, &of, &err);
        if (ret < 0) {
            fail(res, o->log, "encode", ret, &err);
            goto out;
        }
        want_fmt = reel_output_pix_fmt(of);
        snprintf(res->encoder, sizeof(res->encoder), "%s", reel_output_encoder_name(of));
        if (has_audio) {
            ret = start_audio(&at, of, tl, o->log, &err);
            if (ret < 0) {
                fail(res, o->log, "audio", ret, &err);
                goto out;
            }
        }
    }

    struct reel_engine_cfg ecfg = {
        .width = tl->out.width,
        .height = tl->out.height,
        .pix_fmt = want_fmt,
        .threads = o->threads,
        .gpu_index = o->gpu_index,
        .hwdec = o->hwdec,
        .log = o->log,
    };
    double t0 = reel_clock_s();
    struct reel_log scene_log;
    reel_log_init(&scene_log, o->log, NULL, "raster");
    struct reel_limits lim;
    reel_limits_default(&lim);
    struct reel_err err = {0};
    ret = reel_scene_init(&scene, tl, o->font_dirs, lim.max_source_px, &scene_log, &err);
    if (ret < 0) {
        fail(res, o->log, "raster", ret, &err);
        goto out;
    }
    /* The engine's output layout: the encoder's when the engine offers it, else RGBA converted
     * here. */
    ret = open_engine(o, &ecfg, &eng, res);
    if (ret < 0)
        goto out;
    struct reel_engine_caps caps = {0};
    eng->ops->query_caps(eng, &caps);
    if (!caps_have(&caps, want_fmt)) {
        ecfg.pix_fmt = AV_PIX_FMT_RGBA;
        eng->cfg.pix_fmt = AV_PIX_FMT_RGBA;
    }
    ret = eng->ops->prepare(eng, &scene);
    if (ret < 0) {
        fail(res, o->log, "prepare", ret, &eng->err);
        goto out;
    }
    res->times.prepare_s = reel_clock_s() - t0;

    if (!o->skip_encode) {
        fq_init(&et.q, queue_depth(tl->out.width, tl->out.height));
        et.of = of;
        et.tl = tl;
        et.log = o->log;
        if (at.is_started)
            et.audio = &at;
        if (pthread_create(&et.thread, NULL, enc_main, &et) != 0) {
            fail(res, o->log, "encode", REEL_EINTERNAL, NULL);
            ret = -REEL_EINTERNAL;
            goto out;
        }
        thread_started = true;
    }

    double last_progress = 0;
    struct frame_source src = {
        .eng = eng,
        .tl = tl,
        .total = frames_total,
        .is_pipelined = eng->ops->send_time && eng->ops->receive_frame,
    };
    for (int64_t n = 0;; n++) {
        if (o->cancel && atomic_load(o->cancel)) {
            ret = reel_err_set(&res->err, REEL_ECANCELED, NULL, "the job was canceled");
            snprintf(res->stage, sizeof(res->stage), "render");
            REEL_WARN(o->log, "stage=render canceled at frame %lld", (long long)n);
            break;
        }
        AVFrame *frame = NULL;
        double r0 = reel_clock_s();
        ret = source_next(&src, &frame);
        if (ret == -REEL_EEOF) {
            ret = 0;
            break;
        }
        if (ret == 0 && frame->format != want_fmt && !o->skip_encode) {
            AVFrame *conv = NULL;
            double c0 = reel_clock_s();
            ret = convert_frame(&sws, frame, want_fmt, &conv);
            res->times.convert_s += reel_clock_s() - c0;
            av_frame_free(&frame);
            frame = conv;
        }
        res->times.render_s += reel_clock_s() - r0;
        if (ret < 0) {
            av_frame_free(&frame);
            fail(res, o->log, "render", ret, &eng->err);
            break;
        }
        frame->pts = n;
        res->frames = n + 1;
        if (o->skip_encode) {
            if (o->on_frame) {
                o->on_frame(o->on_frame_opaque, frame);
                frame = NULL;
            }
            av_frame_free(&frame);
        } else {
            double q0 = reel_clock_s();
            bool is_pushed = fq_push(&et.q, &frame);
            res->times.queue_full_s += reel_clock_s() - q0;
            if (!is_pushed)
                break; /* the encoder thread failed; its error is reported below */
        }
        double t = reel_clock_s();
        if (o->progress && (t - last_progress >= 0.25 || n + 1 == frames_total)) {
            last_progress = t;
            struct reel_progress p = {.frames_done = n + 1, .frames_total = frames_total};
            p.elapsed_s = t - t_start;
            p.fps = p.elapsed_s > 0 ? (double)(n + 1) / p.elapsed_s : 0;
            p.eta_s = p.fps > 0 ? (double)(frames_total - n - 1) / p.fps : 0;
            o->progress(o->progress_opaque, &p);
        }
    }

    if (eng->ops->get_stats) {
        struct reel_engine_stats st = {0};
        eng->ops->get_stats(eng, &st);
        res->times.has_engine_stats = true;
        res->times.decode_s = st.decode_s;
        res->times.upload_s = st.upload_s;
        res->times.compose_s = st.compose_s;
        res->times.convert_s += st.convert_s;
        res->times.readback_s = st.readback_s;
    }
    if (thread_started) {
        fq_close(&et.q, ret < 0);
        pthread_join(et.thread, NULL);
        thread_started = false;
        res->times.encode_s = et.encode_s;
        res->times.encoder_idle_s = et.idle_s;
        if (ret == 0 && et.ret < 0) {
            ret = et.ret;
            bool by_audio = audio_failed(&at);
            fail(res, o->log, by_audio ? "audio" : "encode", ret, by_audio ? &at.err : &et.err);
        }
    }
    if (ret < 0)
        goto out;

    if (!o->skip_encode && tl->out.has_poster) {
        AVFrame *pf = NULL;
        char ppath[4096];
        poster_path(o->out_path, ppath, sizeof(ppath));
        ret = eng->ops->render(eng, tl->out.poster_us, &pf);
        if (ret == 0)
            ret = reel_write_jpeg(pf, ppath, &err);
        else
            err = eng->err;
        av_frame_free(&pf);
        if (ret < 0) {
            fail(res, o->log, "poster", ret, &err);
            goto out;
        }
    }

    if (of) {
        /* The encoder's delayed frames first, while the audio thread still has the idle core;
         * the audio is complete before its encoder is flushed. */
        double f0 = reel_clock_s();
        ret = reel_output_end_video(of, &err);
        if (ret < 0) {
            fail(res, o->log, "mux", ret, &err);
            goto out;
        }
        if (at.is_started) {
            ret = audio_join(&at, true);
            if (ret < 0) {
                fail(res, o->log, "audio", ret, &at.err);
                goto out;
            }
        }
        ret = reel_output_finish(&of, &res->bytes, &err);
        res->times.mux_s = reel_clock_s() - f0;
        if (ret < 0) {
            fail(res, o->log, "mux", ret, &err);
            goto out;
        }
    }

out:
    if (thread_started) {
        fq_close(&et.q, true);
        pthread_join(et.thread, NULL);
    }
    if (et.of)
        fq_uninit(&et.q);
    stop_audio(&at);
    res->times.audio_s = at.audio_s;
    reel_output_abort(&of);
    sws_freeContext(sws);
    reel_engine_destroy(&eng);
    reel_scene_uninit(&scene);
    res->times.total_s = reel_clock_s() - t_start;
    return ret < 0 ? ret : 0;
}

int reel_render_still(const struct reel_render_opts *o, int64_t t_us, const char *png_path,
                      struct reel_render_result *res)
{
    const struct reel_timeline *tl = o->tl;
    struct reel_engine *eng = NULL;
    struct reel_scene scene = {0};
    struct reel_err err = {0};
    AVFrame *frame = NULL;
    memset(res, 0, sizeof(*res));
    struct reel_limits lim;
    reel_limits_default(&lim);
    int ret = reel_scene_init(&scene, tl, o->font_dirs, lim.max_source_px, o->log, &err);
    if (ret < 0) {
        fail(res, o->log, "raster", ret, &err);
        goto out;
    }
    struct reel_engine_cfg ecfg = {
        .width = tl->out.width,
        .height = tl->out.height,
        .pix_fmt = AV_PIX_FMT_RGBA,
        .threads = o->threads,
        .gpu_index = o->gpu_index,
        .hwdec = o->hwdec,
        .log = o->log,
    };
    ret = open_engine(o, &ecfg, &eng, res);
    if (ret < 0)
        goto out;
    ret = eng->ops->prepare(eng, &scene);
    if (ret == 0)
        ret = eng->ops->render(eng, t_us, &frame);
    if (ret < 0) {
        fail(res, o->log, "render", ret, &eng->err);
        goto out;
    }
    if (frame->format != AV_PIX_FMT_RGBA) {
        ret = -REEL_ERENDER;
        fail(res, o->log, "render", REEL_ERENDER, NULL);
        goto out;
    }
    struct reel_image img = {
        .width = frame->width,
        .height = frame->height,
        .stride = frame->linesize[0],
        .data = frame->data[0],
    };
    ret = reel_image_write_png(&img, png_path, &err);
    if (ret < 0)
        fail(res, o->log, "output", ret, &err);
    res->frames = 1;
out:
    av_frame_free(&frame);
    reel_engine_destroy(&eng);
    reel_scene_uninit(&scene);
    return ret < 0 ? ret : 0;
}
