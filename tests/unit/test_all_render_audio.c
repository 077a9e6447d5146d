/*
 * The render loop's audio thread, through reel_render_job: a rendered job's sound is whole (every
 * second of the tone at its level, the full duration) and interleaved with the video in the file;
 * an audio source that fails after the job was checked fails the job at stage "audio" with nothing
 * left behind, and a cancel ends the job, without either hanging on the audio thread.
 */
#include <dirent.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "assets/assets.h"
#include "check.h"
#include "render/render.h"
#include "timeline/parse.h"
#include "wav.h"

#define SECONDS 12
#define AMP 0.5
#define FREQ 1000.0

static char tmpdir[256];

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* A job of SECONDS at 96x54, 10 fps: a colour under an audio layer playing src. */
static struct reel_timeline *load_job(const char *src)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"output\": {\"width\": 96, \"height\": 54, \"fps\": 10, \"duration\": %d, "
             "\"format\": \"mp4\", \"video_codec\": \"h264\", \"preset\": \"ultrafast\"},"
             " \"layers\": [{\"type\": \"color\", \"color\": \"#204060\"},"
             " {\"type\": \"audio\", \"src\": \"%s\"}]}",
             SECONDS, src);
    struct reel_limits lim;
    reel_limits_default(&lim);
    struct reel_parse_opts po = {.limits = &lim, .base_dir = tmpdir};
    struct reel_errlist errs = {0};
    struct reel_timeline *tl = NULL;
    int ret = reel_timeline_parse(json, strlen(json), &po, &tl, &errs);
    if (ret == 0) {
        const char *roots[] = {tmpdir, NULL};
        struct reel_assets_cfg ac = {.roots = roots, .limits = &lim};
        ret = reel_assets_resolve_timeline(&ac, tl, NULL, &errs);
    }
    for (size_t i = 0; ret < 0 && i < errs.count; i++)
        fprintf(stderr, "job: %s: %s\n", errs.items[i].path, errs.items[i].msg);
    reel_errlist_uninit(&errs);
    if (ret < 0)
        reel_timeline_destroy(&tl);
    return tl;
}

/* Write <name>.wav (a tone of SECONDS) into tmpdir and load the job playing it; wav and out get the
 * paths of the tone and of <name>.mp4. NULL (a failed check) when the job does not load. */
static struct reel_timeline *tone_job(const char *name, char *wav, char *out, size_t cap)
{
    char file[64];
    snprintf(file, sizeof(file), "%s.wav", name);
    path_in(wav, cap, file);
    snprintf(file, sizeof(file), "%s.mp4", name);
    path_in(out, cap, file);
    CHECK_INT_EQ(wav_write_sine(wav, 48000, 2, SECONDS, AMP, FREQ), 0);
    snprintf(file, sizeof(file), "%s.wav", name);
    struct reel_timeline *tl = load_job(file);
    CHECK(tl != NULL);
    return tl;
}

static int render(const struct reel_timeline *tl, const char *out, atomic_int *cancel,
                  struct reel_render_result *res)
{
    struct reel_render_opts o = {
        .tl = tl,
        .out_path = out,
        .engine = "cpu",
        .gpu_index = -1,
        .hwdec = "none",
        .cancel = cancel,
    };
    return reel_render_job(&o, res);
}

/* Files in tmpdir whose name holds s. */
static int count_named(const char *s)
{
    int n = 0;
    DIR *d = opendir(tmpdir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, s) != NULL;
    if (d)
        closedir(d);
    return n;
}

struct readback {
    double spread;       /* largest gap between the audio and video read so far, in file order */
    double video_end;    /* end of the last video packet, seconds */
    int64_t samples;     /* decoded audio samples */
    double rms[SECONDS]; /* channel 0, per second */
    int channels;
};

static int read_back(const char *path, struct readback *rb)
{
    AVFormatContext *fc = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    double sum[SECONDS] = {0};
    int64_t count[SECONDS] = {0};
    int ret = -1;
    memset(rb, 0, sizeof(*rb));
    if (!pkt || !f || avformat_open_input(&fc, path, NULL, NULL) < 0 ||
        avformat_find_stream_info(fc, NULL) < 0)
        goto out;
    int vi = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    int ai = av_find_best_stream(fc, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (vi < 0 || ai < 0)
        goto out;
    const AVCodecParameters *par = fc->streams[ai]->codecpar;
    dec = avcodec_alloc_context3(avcodec_find_decoder(par->codec_id));
    if (!dec || avcodec_parameters_to_context(dec, par) < 0 || avcodec_open2(dec, NULL, NULL) < 0)
        goto out;
    double last_v = -1, last_a = -1;
    while (av_read_frame(fc, pkt) >= 0) {
        AVRational tb = fc->streams[pkt->stream_index]->time_base;
        double t = pkt->dts == AV_NOPTS_VALUE ? 0 : pkt->dts * av_q2d(tb);
        if (pkt->stream_index == vi) {
            last_v = t;
            rb->video_end = fmax(rb->video_end, (pkt->pts + pkt->duration) * av_q2d(tb));
        } else if (pkt->stream_index == ai) {
            last_a = t;
            if (avcodec_send_packet(dec, pkt) == 0) {
                while (avcodec_receive_frame(dec, f) == 0) {
                    const float *x = (const float *)f->extended_data[0]; /* AAC decodes to fltp */
                    for (int i = 0; i < f->nb_samples; i++) {
                        int64_t s = (rb->samples + i) / par->sample_rate;
                        if (s < SECONDS) {
                            sum[s] += (double)x[i] * x[i];
                            count[s]++;
                        }
                    }
                    rb->samples += f->nb_samples;
                    rb->channels = f->ch_layout.nb_channels;
                }
            }
        }
        if (last_v >= 0 && last_a >= 0)
            rb->spread = fmax(rb->spread, fabs(last_v - last_a));
        av_packet_unref(pkt);
    }
    for (int s = 0; s < SECONDS; s++)
        rb->rms[s] = count[s] ? sqrt(sum[s] / count[s]) : 0;
    ret = dec->sample_fmt == AV_SAMPLE_FMT_FLTP ? 0 : -1;
out:
    avcodec_free_context(&dec);
    avformat_close_input(&fc);
    av_packet_free(&pkt);
    av_frame_free(&f);
    return ret;
}

static void test_whole_and_interleaved(void)
{
    char wav[512], out[512];
    struct reel_timeline *tl = tone_job("tone", wav, out, sizeof(wav));
    if (!tl)
        return;
    struct reel_render_result res;
    CHECK_INT_EQ(render(tl, out, NULL, &res), 0);
    CHECK_INT_EQ(res.frames, SECONDS * 10);
    struct readback rb;
    CHECK_INT_EQ(read_back(out, &rb), 0);
    fprintf(stderr,
            "  audio %.4f s in %d ch, video to %.2f s, largest A/V gap in file order %.3f s\n",
            (double)rb.samples / 48000, rb.channels, rb.video_end, rb.spread);
    CHECK_INT_EQ(rb.channels, 2);
    CHECK_NEAR(rb.video_end, SECONDS, 0.001);
    /* The whole duration, give or take the encoder's last frame. */
    CHECK_NEAR((double)rb.samples / 48000, SECONDS, 1024.0 / 48000 + 1e-6);
    /* A file that plays while it downloads has the two streams within a fraction of a second of
     * each other throughout; audio that ends early shows here as a gap of seconds. */
    CHECK_MSG(rb.spread <= 0.5, "audio and video %.3f s apart in the file", rb.spread);
    /* Every second carries the tone at its level: nothing lost, doubled or silent. */
    for (int s = 0; s < SECONDS; s++)
        CHECK_MSG(fabs(rb.rms[s] - AMP / sqrt(2)) <= 0.03, "second %d: RMS %.4f, expected %.4f", s,
                  rb.rms[s], AMP / sqrt(2));
    reel_timeline_destroy(&tl);
}

static void test_source_fails(void)
{
    char wav[512], out[512];
    struct reel_timeline *tl = tone_job("gone", wav, out, sizeof(wav));
    if (!tl)
        return;
    /* Checked and resolved, then gone before the render opens it. */
    CHECK_INT_EQ(unlink(wav), 0);
    struct reel_render_result res;
    int ret = render(tl, out, NULL, &res);
    fprintf(stderr, "  missing source: ret %d, stage %s: %s\n", ret, res.stage, res.err.msg);
    CHECK(ret < 0);
    CHECK_STR_EQ(res.stage, "audio");
    CHECK(res.err.code != 0);
    CHECK_MSG(access(out, F_OK) != 0, "%s exists after a failed render", out);
    CHECK_INT_EQ(count_named("gone.mp4"), 0); /* no partial file either */
    reel_timeline_destroy(&tl);
}

static void test_cancel(void)
{
    char wav[512], out[512];
    struct reel_timeline *tl = tone_job("cancel", wav, out, sizeof(wav));
    if (!tl)
        return;
    atomic_int cancel = 1; /* the audio thread is under way before the first frame */
    struct reel_render_result res;
    int ret = render(tl, out, &cancel, &res);
    CHECK_INT_EQ(ret, -REEL_ECANCELED);
    CHECK_INT_EQ(res.err.code, REEL_ECANCELED);
    CHECK_INT_EQ(res.frames, 0);
    CHECK_INT_EQ(count_named("cancel.mp4"), 0);
    reel_timeline_destroy(&tl);
}

int main(void)
{
    av_log_set_level(AV_LOG_ERROR);
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_ERROR);
    snprintf(tmpdir, sizeof(tmpdir), "%s/reel-render-audio-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_whole_and_interleaved();
    test_source_fails();
    test_cancel();
    if (!getenv("REEL_KEEP_TEST_FILES")) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    CHECK_DONE();
}
