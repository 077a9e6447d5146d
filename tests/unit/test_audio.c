/* Audio mix tests against generated sine WAV files: placement, gain, fades, trim, loop, speed,
 * resampling, sound detection and streaming consistency. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "check.h"
#include "wav.h"

#define RATE 48000
#define AMP 0.8
#define FREQ 440.0

static char tmpdir[256];
static char wav_stereo[300], wav_mono[300];

/* 16-bit PCM sine, AMP amplitude, FREQ Hz, starting at phase 0. */
static int write_wav(const char *path, int rate, int channels, double seconds)
{
    return wav_write_sine(path, rate, channels, seconds, AMP, FREQ);
}

struct fixture {
    struct reel_timeline tl;
    struct reel_layer layers[3];
};

static void init_tl(struct fixture *fx, double duration_s, int n_layers)
{
    memset(fx, 0, sizeof(*fx));
    fx->tl.out.width = 320;
    fx->tl.out.height = 240;
    fx->tl.out.fps_num = 30;
    fx->tl.out.fps_den = 1;
    fx->tl.out.duration_us = (int64_t)llround(duration_s * REEL_US);
    fx->tl.out.audio_sample_rate = RATE;
    fx->tl.out.audio_channels = 2;
    fx->tl.layers = fx->layers;
    fx->tl.n_layers = n_layers;
}

/* An audio layer as resolve would leave it. */
static void audio_layer(struct reel_layer *l, int index, const char *path, double start_s,
                        double duration_s, double media_s)
{
    memset(l, 0, sizeof(*l));
    l->type = REEL_LAYER_AUDIO;
    l->index = index;
    snprintf(l->path, sizeof(l->path), "layers[%d]", index);
    l->src = (char *)path;
    l->src_path = (char *)path;
    l->start_us = (int64_t)llround(start_s * REEL_US);
    l->duration_us = (int64_t)llround(duration_s * REEL_US);
    l->has_duration = true;
    l->speed = 1;
    l->volume = 1;
    l->media_duration_us = (int64_t)llround(media_s * REEL_US);
    l->media_has_audio = true;
}

/* Mix the whole duration (plus extra seconds) into left/right arrays, in reads of `chunk`. */
static int mix_all(const struct reel_timeline *tl, double extra_s, int chunk, float **left,
                   float **right, int *count)
{
    struct reel_audio_mix *m = NULL;
    struct reel_err err = {0};
    int n = (int)((double)tl->out.duration_us / REEL_US * RATE + extra_s * RATE);
    int ret = reel_audio_mix_create(tl, NULL, &m, &err);
    *left = calloc((size_t)n, sizeof(float));
    *right = calloc((size_t)n, sizeof(float));
    *count = n;
    if (ret < 0) {
        fprintf(stderr, "mix_create: %s (%s)\n", err.msg, err.path);
        return ret;
    }
    for (int done = 0; done < n && ret == 0;) {
        int k = n - done < chunk ? n - done : chunk;
        float *planes[2] = {*left + done, *right + done};
        ret = reel_audio_mix_read(m, planes, k, &err);
        done += k;
    }
    reel_audio_mix_destroy(&m);
    CHECK(m == NULL);
    return ret;
}

static double rms(const float *x, int a, int b)
{
    double s = 0;
    for (int i = a; i < b; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (b - a));
}

static double max_abs(const float *x, int a, int b)
{
    double mx = 0;
    for (int i = a; i < b; i++)
        mx = fmax(mx, fabs(x[i]));
    return mx;
}

static int idx(double t)
{
    return (int)lround(t * RATE);
}

/* Largest deviation from gain(t) * AMP * sin(2 pi f (src(t))) over [a, b). */
static double max_err(const float *x, int a, int b, double gain, double start_s, double trim_s,
                      double period_s)
{
    double e = 0;
    for (int i = a; i < b; i++) {
        double src = (double)i / RATE - start_s;
        if (period_s > 0)
            src = fmod(src, period_s);
        double want = gain * AMP * sin(2 * M_PI * FREQ * (src + trim_s));
        e = fmax(e, fabs(x[i] - want));
    }
    return e;
}

static void test_placement_gain_fade(void)
{
    struct fixture fx;
    float *l, *r;
    int n;
    init_tl(&fx, 3.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.5, 2.0, 1.0);
    fx.layers[0].volume = 0.5;
    fx.layers[0].fade_in_us = 100000;
    CHECK(reel_audio_has_sound(&fx.tl));
    CHECK_INT_EQ(mix_all(&fx.tl, 0.5, 1000, &l, &r, &n), 0);

    /* Nothing before the start, exactly. */
    CHECK(max_abs(l, 0, idx(0.5)) == 0);
    CHECK(max_abs(r, 0, idx(0.5)) == 0);
    /* After the fade: half the source level, in phase with the source started at 0.5 s. */
    double src_rms = AMP / sqrt(2.0);
    CHECK_NEAR(rms(l, idx(0.6), idx(1.5)), 0.5 * src_rms, 0.005 * src_rms);
    CHECK_NEAR(rms(r, idx(0.6), idx(1.5)), 0.5 * src_rms, 0.005 * src_rms);
    CHECK_MSG(max_err(l, idx(0.6), idx(1.5), 0.5, 0.5, 0, 0) < 1e-3, "phase/gain error %g",
              max_err(l, idx(0.6), idx(1.5), 0.5, 0.5, 0, 0));
    /* The fade: a linear ramp 0 -> 0.5 over 0.1 s, so each 5 ms window's peak grows. */
    double worst = 0, prev_peak = -1;
    bool monotonic = true;
    for (int i = idx(0.5); i < idx(0.6); i++) {
        double t = (double)i / RATE - 0.5;
        double want = 0.5 * (t / 0.1) * AMP * sin(2 * M_PI * FREQ * t);
        worst = fmax(worst, fabs(l[i] - want));
    }
    for (int w = 0; w < 20; w++) {
        double peak = max_abs(l, idx(0.5 + w * 0.005), idx(0.5 + (w + 1) * 0.005));
        if (peak < prev_peak - 1e-4)
            monotonic = false;
        prev_peak = peak;
    }
    CHECK_MSG(worst < 1e-3, "fade error %g", worst);
    CHECK(monotonic);
    CHECK(max_abs(l, idx(0.5), idx(0.505)) < 0.5 * AMP * 0.06);
    /* The source is 1 s long and does not loop: silence after 1.5 s, and past the output end. */
    CHECK(max_abs(l, idx(1.5) + 1, n) < 1e-6);
    CHECK(max_abs(r, idx(1.5) + 1, n) < 1e-6);
    free(l);
    free(r);
}

static void test_loop_and_trim(void)
{
    struct fixture fx;
    float *l, *r;
    int n;

    /* Loop: the 1 s source repeats from 1.5 s on, same phase law. */
    init_tl(&fx, 3.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.5, 2.5, 1.0);
    fx.layers[0].loop = true;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 777, &l, &r, &n), 0);
    CHECK_NEAR(rms(l, idx(1.6), idx(2.9)), AMP / sqrt(2.0), 0.01);
    CHECK_MSG(max_err(l, idx(0.5), idx(3.0), 1.0, 0.5, 0, 1.0) < 2e-3, "loop error %g",
              max_err(l, idx(0.5), idx(3.0), 1.0, 0.5, 0, 1.0));
    free(l);
    free(r);

    /* Loop with a trim: wraps every (1 - trim) seconds back to the trim point. */
    init_tl(&fx, 2.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.0, 2.0, 1.0);
    fx.layers[0].loop = true;
    fx.layers[0].trim_us = 600000;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 4096, &l, &r, &n), 0);
    CHECK_MSG(max_err(l, 0, idx(2.0), 1.0, 0.0, 0.6, 0.4) < 2e-3, "loop+trim error %g",
              max_err(l, 0, idx(2.0), 1.0, 0.0, 0.6, 0.4));
    free(l);
    free(r);

    /* A late start (the source opens on demand) and media longer than its audio stream: silence
     * pads the audio to the media duration, then it wraps with the picture. */
    init_tl(&fx, 4.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 1.25, 2.75, 1.2);
    fx.layers[0].loop = true;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1500, &l, &r, &n), 0);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double local = (double)i / RATE - 1.25, want = 0;
        if (local >= 0) {
            double src = fmod(local, 1.2);
            want = src < 1.0 ? AMP * sin(2 * M_PI * FREQ * src) : 0;
        }
        worst = fmax(worst, fabs(l[i] - want));
    }
    CHECK_MSG(worst < 2e-3, "late loop error %g", worst);
    CHECK(max_abs(l, idx(2.25) + 1, idx(2.45) - 1) < 1e-6);
    CHECK(rms(l, idx(2.5), idx(3.4)) > 0.5);
    free(l);
    free(r);

    /* Trim at an odd point: the output starts mid-source, in phase. */
    init_tl(&fx, 1.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.0, 1.0, 1.0);
    fx.layers[0].trim_us = 237100;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 512, &l, &r, &n), 0);
    /* The in-point is the nearest source sample. */
    double trim_s = round(0.2371 * RATE) / RATE;
    CHECK_MSG(max_err(l, 0, idx(1.0 - 0.2371), 1.0, 0.0, trim_s, 0) < 1e-3, "trim error %g",
              max_err(l, 0, idx(1.0 - 0.2371), 1.0, 0.0, trim_s, 0));
    CHECK(max_abs(l, idx(1.0 - 0.2371) + 1, n) < 1e-6);
    free(l);
    free(r);
}

static void test_resample_mono_speed(void)
{
    struct fixture fx;
    float *l, *r;
    int n;

    /* 44.1 kHz mono: resampled to 48 kHz, on both channels at full level, without delay. */
    init_tl(&fx, 1.0, 1);
    audio_layer(&fx.layers[0], 0, wav_mono, 0.0, 1.0, 1.0);
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1024, &l, &r, &n), 0);
    CHECK_NEAR(rms(l, idx(0.1), idx(0.9)), AMP / sqrt(2.0), 0.01);
    CHECK_NEAR(rms(r, idx(0.1), idx(0.9)), AMP / sqrt(2.0), 0.01);
    double e = max_err(l, idx(0.05), idx(0.95), 1.0, 0.0, 0, 0);
    CHECK_MSG(e < 0.005, "resampled error %g", e);
    CHECK(!memcmp(l, r, (size_t)n * sizeof(float)));
    free(l);
    free(r);

    /* Speed 2: the 1 s source is over by 0.5 s, and the pitch stays at 440 Hz. */
    init_tl(&fx, 1.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.0, 1.0, 1.0);
    fx.layers[0].speed = 2.0;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1000, &l, &r, &n), 0);
    int crossings = 0;
    for (int i = idx(0.1); i < idx(0.4); i++)
        if ((l[i - 1] < 0) != (l[i] < 0))
            crossings++;
    CHECK_NEAR(crossings / 0.3 / 2, FREQ, 10);
    CHECK_NEAR(rms(l, idx(0.1), idx(0.4)), AMP / sqrt(2.0), 0.08);
    CHECK(rms(l, idx(0.55), idx(1.0)) < 0.01);
    free(l);
    free(r);

    /* Speed 0.25 (a chain of atempo): still 440 Hz, still sounding at the end. */
    init_tl(&fx, 1.0, 1);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.0, 1.0, 1.0);
    fx.layers[0].speed = 0.25;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1000, &l, &r, &n), 0);
    crossings = 0;
    for (int i = idx(0.2); i < idx(0.9); i++)
        if ((l[i - 1] < 0) != (l[i] < 0))
            crossings++;
    CHECK_NEAR(crossings / 0.7 / 2, FREQ, 10);
    CHECK(rms(l, idx(0.8), idx(1.0)) > 0.3);
    free(l);
    free(r);
}

static void test_sum_animation_video(void)
{
    struct fixture fx;
    struct reel_keyframe keys[2] = {{.time_us = 0, .value = 0}, {.time_us = 1000000, .value = 1}};
    float *l, *r, *l2, *r2;
    int n, n2;

    /* A video layer with sound: animated volume 0 -> 1, no audio fades for video layers. */
    init_tl(&fx, 1.0, 2);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.0, 1.0, 1.0);
    fx.layers[0].type = REEL_LAYER_VIDEO;
    fx.layers[0].volume = 0;
    fx.layers[0].fade_in_us = 500000;
    fx.layers[0].anim[REEL_PROP_VOLUME].keys = keys;
    fx.layers[0].anim[REEL_PROP_VOLUME].n_keys = 2;
    fx.layers[1].type = REEL_LAYER_COLOR;
    fx.layers[1].duration_us = REEL_US;
    CHECK(reel_audio_has_sound(&fx.tl));
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1000, &l, &r, &n), 0);
    double worst = 0;
    for (int i = 0; i < idx(1.0); i++) {
        double t = (double)i / RATE;
        worst = fmax(worst, fabs(l[i] - t * AMP * sin(2 * M_PI * FREQ * t)));
    }
    CHECK_MSG(worst < 1e-3, "animated volume error %g", worst);
    free(l);
    free(r);

    /* Two loud layers: summed, then clamped to [-1, 1]. */
    init_tl(&fx, 1.0, 2);
    audio_layer(&fx.layers[0], 0, wav_stereo, 0.0, 1.0, 1.0);
    audio_layer(&fx.layers[1], 1, wav_stereo, 0.0, 1.0, 1.0);
    fx.layers[0].volume = 0.5;
    fx.layers[1].volume = 0.25;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1000, &l, &r, &n), 0);
    CHECK(max_err(l, 0, idx(1.0), 0.75, 0, 0, 0) < 1e-3);
    /* Reading in other chunk sizes gives bit-identical output (streaming has no seams). */
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 9001, &l2, &r2, &n2), 0);
    CHECK(n == n2 && !memcmp(l, l2, (size_t)n * sizeof(float)));
    free(l);
    free(r);
    free(l2);
    free(r2);
    fx.layers[0].volume = 4;
    fx.layers[1].volume = 4;
    CHECK_INT_EQ(mix_all(&fx.tl, 0, 1000, &l, &r, &n), 0);
    CHECK(max_abs(l, 0, n) <= 1.0);
    CHECK(max_abs(l, 0, n) > 0.999);
    free(l);
    free(r);
}

static void test_detection_and_errors(void)
{
    struct fixture fx;
    struct reel_audio_mix *m = NULL;
    struct reel_err err = {0};
    struct reel_keyframe keys[1] = {{.time_us = 0, .value = 0.3}};

    init_tl(&fx, 1.0, 1);
    fx.layers[0].type = REEL_LAYER_COLOR;
    fx.layers[0].duration_us = REEL_US;
    CHECK(!reel_audio_has_sound(&fx.tl));
    /* A mix with no sources is silence. */
    CHECK_INT_EQ(reel_audio_mix_create(&fx.tl, NULL, &m, &err), 0);
    if (m) {
        float a[64], b[64];
        float *planes[2] = {a, b};
        a[3] = 1;
        CHECK_INT_EQ(reel_audio_mix_read(m, planes, 64, &err), 0);
        CHECK(a[3] == 0 && b[63] == 0);
    }
    reel_audio_mix_destroy(&m);
    reel_audio_mix_destroy(&m);

    audio_layer(&fx.layers[0], 0, wav_stereo, 0, 1, 1);
    fx.layers[0].type = REEL_LAYER_VIDEO;
    fx.layers[0].media_has_audio = false;
    CHECK(!reel_audio_has_sound(&fx.tl));
    fx.layers[0].media_has_audio = true;
    CHECK(reel_audio_has_sound(&fx.tl));
    fx.layers[0].volume = 0;
    CHECK(!reel_audio_has_sound(&fx.tl));
    fx.layers[0].anim[REEL_PROP_VOLUME].keys = keys;
    fx.layers[0].anim[REEL_PROP_VOLUME].n_keys = 1;
    CHECK(reel_audio_has_sound(&fx.tl));

    char missing[400];
    snprintf(missing, sizeof(missing), "%s/missing.wav", tmpdir);
    audio_layer(&fx.layers[0], 0, missing, 0, 1, 1);
    CHECK_INT_EQ(reel_audio_mix_create(&fx.tl, NULL, &m, &err), -REEL_EASSET_NOT_FOUND);
    CHECK(m == NULL);
    CHECK_STR_EQ(err.path, "layers[0].src");

    /* Not audio at all. */
    char junk[400];
    snprintf(junk, sizeof(junk), "%s/junk.wav", tmpdir);
    FILE *f = fopen(junk, "wb");
    fputs("this is not a media file", f);
    fclose(f);
    audio_layer(&fx.layers[0], 0, junk, 0, 1, 1);
    CHECK_INT_EQ(reel_audio_mix_create(&fx.tl, NULL, &m, &err), -REEL_EDECODE);
    unlink(junk);
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    snprintf(tmpdir, sizeof(tmpdir), "%s/reel-audio-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(wav_stereo, sizeof(wav_stereo), "%s/sine48k.wav", tmpdir);
    snprintf(wav_mono, sizeof(wav_mono), "%s/sine44k.wav", tmpdir);
    if (write_wav(wav_stereo, RATE, 2, 1.0) || write_wav(wav_mono, 44100, 1, 1.0)) {
        perror("write wav");
        return 1;
    }
    test_placement_gain_fade();
    test_loop_and_trim();
    test_resample_mono_speed();
    test_sum_animation_video();
    test_detection_and_errors();
    unlink(wav_stereo);
    unlink(wav_mono);
    rmdir(tmpdir);
    CHECK_DONE();
}
