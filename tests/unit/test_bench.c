/* Bench module tests: statistics, child-process measurement, decoding and PSNR of a file written
 * through reel's own output, the in-memory encode used for the floor, targets and the three
 * report formats. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libavutil/frame.h>

#include "bench/internal.h"
#include "check.h"
#include "encode/output.h"

#define W 128
#define H 72
#define NFRAMES 20

static char tmpdir[] = "/tmp/reel-test-bench-XXXXXX";

static void test_summaries(void)
{
    struct reel_bench_summary s;
    double odd[] = {3, 1, 2};
    reel_bench_summarize(odd, 3, &s);
    CHECK_NEAR(s.median, 2, 1e-12);
    CHECK_NEAR(s.min, 1, 1e-12);
    CHECK_NEAR(s.max, 3, 1e-12);
    CHECK_INT_EQ(s.n_used, 3);

    double even[] = {4, NAN, 1, 2, 10};
    reel_bench_summarize(even, 5, &s);
    CHECK_NEAR(s.median, 3, 1e-12); /* NaN skipped: 1 2 4 10 */
    CHECK_INT_EQ(s.n_used, 4);

    reel_bench_summarize(even, 0, &s);
    CHECK(isnan(s.median));
    CHECK_INT_EQ(s.n_used, 0);

    struct reel_bench_series ser = {.frames = 300, .video_s = 10, .n_runs = 3};
    double walls[] = {5, 4, 6};
    for (int i = 0; i < 3; i++) {
        ser.runs[i].wall_s = walls[i];
        for (int k = 0; k < REEL_BENCH_STAGE_COUNT; k++)
            ser.runs[i].stages[k] = NAN;
        ser.runs[i].stages[REEL_BENCH_STAGE_ENCODE] = walls[i] / 2;
    }
    reel_bench_series_summary(&ser, REEL_BENCH_METRIC_FPS, &s);
    CHECK_NEAR(s.median, 60, 1e-9);
    CHECK_NEAR(s.min, 50, 1e-9);
    CHECK_NEAR(s.max, 75, 1e-9);
    reel_bench_series_summary(&ser, REEL_BENCH_METRIC_REALTIME, &s);
    CHECK_NEAR(s.median, 2, 1e-9);
    reel_bench_series_stage(&ser, REEL_BENCH_STAGE_ENCODE, &s);
    CHECK_NEAR(s.median, 2.5, 1e-9);
    reel_bench_series_stage(&ser, REEL_BENCH_STAGE_MUX, &s);
    CHECK_INT_EQ(s.n_used, 0);
    CHECK_STR_EQ(reel_bench_stage_key(REEL_BENCH_STAGE_QUEUE_FULL), "queue_full");
}

static void test_spawn(void)
{
    struct reel_bench_proc p;
    struct reel_err err = {0};
    char *exit3[] = {"/bin/sh", "-c", "exit 3", NULL};
    CHECK_INT_EQ(reel_bench_spawn(exit3, NULL, &p, &err), 0);
    CHECK_INT_EQ(p.status, 3);

    char *sleeper[] = {"/bin/sh", "-c", "sleep 0.2", NULL};
    CHECK_INT_EQ(reel_bench_spawn(sleeper, NULL, &p, &err), 0);
    CHECK_INT_EQ(p.status, 0);
    CHECK(p.wall_s >= 0.19 && p.wall_s < 5);

    /* dd holds one 64 MiB block: the peak RSS must show it, and be this child's alone. */
    char *dd[] = {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=2", NULL};
    CHECK_INT_EQ(reel_bench_spawn(dd, NULL, &p, &err), 0);
    CHECK_INT_EQ(p.status, 0);
    CHECK_MSG(p.rss_mb >= 60 && p.rss_mb < 200, "rss %.1f MB", p.rss_mb);
    CHECK(p.cpu_s >= 0);

    char log_path[512];
    snprintf(log_path, sizeof(log_path), "%s/child.log", tmpdir);
    char *echo[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
    CHECK_INT_EQ(reel_bench_spawn(echo, log_path, &p, &err), 0);
    FILE *f = fopen(log_path, "r");
    char buf[64] = "";
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    CHECK_STR_EQ(buf, "out\nerr\n");

    char *missing[] = {"/nonexistent/program", NULL};
    CHECK(reel_bench_spawn(missing, NULL, &p, &err) < 0 || p.status == 127);

    char path[512];
    CHECK(reel_bench_find_program("sh", path, sizeof(path)));
    CHECK(strstr(path, "/sh") != NULL);
    CHECK(!reel_bench_find_program("reel-no-such-program-here", path, sizeof(path)));
}

static void test_psnr_plane(void)
{
    uint8_t a[16 * 8], b[16 * 8];
    for (int i = 0; i < 16 * 8; i++)
        a[i] = b[i] = (uint8_t)(i * 3);
    CHECK(isinf(reel_bench_psnr_plane(a, 16, b, 16, 16, 8)));
    b[5] = (uint8_t)(a[5] + 16); /* one pixel off by 16: MSE = 256 / 128 = 2 */
    CHECK_NEAR(reel_bench_psnr_plane(a, 16, b, 16, 16, 8), 10 * log10(255.0 * 255.0 / 2), 1e-9);
    /* Only w x h counts: a difference past the width is ignored. */
    CHECK(isinf(reel_bench_psnr_plane(a, 16, a, 16, 4, 8)));
}

static AVFrame *pattern_frame(int n)
{
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = W;
    f->height = H;
    av_frame_get_buffer(f, 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            f->data[0][y * f->linesize[0] + x] = (uint8_t)(16 + ((x + 2 * n) ^ y) % 200);
    for (int c = 1; c < 3; c++)
        for (int y = 0; y < H / 2; y++)
            memset(f->data[c] + y * f->linesize[c], 128 + (c == 1 ? n : -n), W / 2);
    f->pts = n;
    return f;
}

/* Write NFRAMES pattern frames through reel's own output (libx264, mp4). */
static int write_clip(const char *path)
{
    struct reel_output o = {
        .width = W,
        .height = H,
        .fps_num = 30,
        .fps_den = 1,
        .duration_us = NFRAMES * 1000000LL / 30,
        .format = REEL_FORMAT_MP4,
        .codec = REEL_CODEC_H264,
        .quality = 18,
        .preset = REEL_PRESET_ULTRAFAST,
        .encoder = REEL_ENCPREF_SOFTWARE,
    };
    struct reel_output_cfg cfg = {.path = path, .out = &o, .pref = REEL_ENCPREF_SOFTWARE};
    struct reel_output_file *of = NULL;
    struct reel_err err = {0};
    int ret = reel_output_open(&cfg, NULL, &of, &err);
    for (int n = 0; ret == 0 && n < NFRAMES; n++) {
        AVFrame *f = pattern_frame(n);
        ret = reel_output_write_video(of, f, &err);
        av_frame_free(&f);
    }
    if (ret == 0)
        ret = reel_output_finish(&of, NULL, &err);
    reel_output_abort(&of);
    if (ret < 0)
        fprintf(stderr, "write_clip: %s\n", err.msg);
    return ret;
}

static void test_decode_compare_encode(void)
{
    char clip[512];
    snprintf(clip, sizeof(clip), "%s/clip.mp4", tmpdir);
    if (write_clip(clip) < 0) {
        CHECK_MSG(0, "no software H.264 encoder (libx264, which install-deps installs): the "
                     "decode tests cannot run");
        return;
    }
    struct reel_err err = {0};
    struct reel_bench_decoder *d = NULL;
    CHECK_INT_EQ(reel_bench_decoder_open(clip, AV_PIX_FMT_YUV420P, &d, &err), 0);
    AVFrame *frames[NFRAMES + 1] = {NULL};
    int n = 0, ret;
    AVFrame *f = NULL;
    while ((ret = reel_bench_decoder_next(d, &f, &err)) == 0) {
        if (n < NFRAMES + 1)
            frames[n] = f;
        else
            av_frame_free(&f);
        n++;
    }
    CHECK_INT_EQ(ret, -REEL_EEOF);
    CHECK_INT_EQ(n, NFRAMES);
    reel_bench_decoder_close(&d);
    CHECK(d == NULL);
    if (n >= 3) {
        /* Decoded frame 2 is close to pattern 2 and far from pattern 3. */
        AVFrame *p2 = pattern_frame(2), *p3 = pattern_frame(3);
        double same = reel_bench_psnr_plane(frames[2]->data[0], frames[2]->linesize[0], p2->data[0],
                                            p2->linesize[0], W, H);
        double other = reel_bench_psnr_plane(frames[2]->data[0], frames[2]->linesize[0],
                                             p3->data[0], p3->linesize[0], W, H);
        CHECK_MSG(same > 30 && same > other + 5, "same %.2f other %.2f", same, other);
        av_frame_free(&p2);
        av_frame_free(&p3);
    }

    /* A file against itself: every frame identical, the mean capped, samples found. */
    struct reel_bench_psnr q;
    memset(&q, 0, sizeof(q));
    const double samples[REEL_BENCH_PSNR_SAMPLES] = {0, 0.1, 0.3, 5};
    CHECK_INT_EQ(reel_bench_compare_files(clip, clip, 30, samples, &q, &err), 0);
    CHECK_INT_EQ(q.frames, NFRAMES);
    CHECK_NEAR(q.mean_y, 100, 1e-9);
    CHECK_INT_EQ(q.sample_frame[1], 3);
    CHECK(isinf(q.sample_y[1]));
    CHECK(isnan(q.sample_y[3])); /* past the end */
    CHECK(reel_bench_compare_files(clip, "/nonexistent.mp4", 30, samples, &q, &err) < 0);

    /* The floor's encode: every frame goes in, packets come out, timings are filled. */
    struct reel_enc_cfg cfg = {
        .width = W,
        .height = H,
        .fps_num = 30,
        .fps_den = 1,
        .codec = REEL_CODEC_H264,
        .quality = 23,
        .preset = REEL_PRESET_VERYFAST,
        .pref = REEL_ENCPREF_SOFTWARE,
        .global_header = true,
        .gpu_index = -1,
    };
    struct reel_bench_encode_result r;
    CHECK_INT_EQ(reel_bench_encode_frames(&cfg, frames, n, NULL, &r, &err), 0);
    CHECK_INT_EQ(r.packets, n);
    CHECK(r.bytes > 0);
    CHECK(r.encode_s > 0 && r.open_s >= 0 && r.cpu_s >= 0);
    CHECK_STR_EQ(r.encoder, "libx264");
    for (int i = 0; i < n && i < NFRAMES + 1; i++)
        av_frame_free(&frames[i]);
}

static void add_series(struct reel_bench_results *r, const char *job, enum reel_bench_kind kind,
                       const char *engine, int height, const double *walls, double rss, int n)
{
    struct reel_bench_series *s = &r->series[r->n_series++];
    memset(s, 0, sizeof(*s));
    snprintf(s->job, sizeof(s->job), "%s", job);
    snprintf(s->engine, sizeof(s->engine), "%s", engine);
    s->kind = kind;
    s->frames = 300;
    s->video_s = 10;
    s->height = height;
    s->width = height * 16 / 9;
    s->n_runs = n;
    for (int i = 0; i < n; i++) {
        s->runs[i].wall_s = walls[i];
        s->runs[i].cpu_s = walls[i] * 1.8;
        s->runs[i].rss_mb = rss;
        for (int k = 0; k < REEL_BENCH_STAGE_COUNT; k++)
            s->runs[i].stages[k] = NAN;
        if (kind == REEL_BENCH_KIND_RENDER)
            s->runs[i].stages[REEL_BENCH_STAGE_ENCODE] = walls[i] * 0.7;
    }
}

static void test_reports(void)
{
    struct reel_bench_results *r = calloc(1, sizeof(*r));
    snprintf(r->host.name, sizeof(r->host.name), "testos1-2core-cpu");
    snprintf(r->host.cpu, sizeof(r->host.cpu), "A <fast> CPU & co");
    double reel_w[] = {6, 5, 7}, peer_w[] = {10, 10, 10}, fast_w[] = {8, 9, 8.5},
           floor_w[] = {4, 4, 4};
    add_series(r, "w1-1080", REEL_BENCH_KIND_RENDER, "cpu", 1080, reel_w, 380, 3);
    add_series(r, "w1-1080", REEL_BENCH_KIND_PEER, "exact", 1080, peer_w, 300, 3);
    add_series(r, "w1-1080", REEL_BENCH_KIND_PEER, "fast", 1080, fast_w, 300, 3);
    /* A variant that failed has no runs: never the fastest. */
    add_series(r, "w1-1080", REEL_BENCH_KIND_PEER, "broken", 1080, fast_w, 300, 0);
    r->series[r->n_series - 1].failed = true;
    snprintf(r->series[r->n_series - 1].note, sizeof(r->series[0].note), "exit status 1");
    add_series(r, "w1-1080", REEL_BENCH_KIND_FLOOR, "-", 1080, floor_w, 900, 3);
    /* Composition only, for the CPU split: 1.8 CPU-s a run beside the floor's 7.2 and reel's 10.8
     * (add_series gives each run 1.8 CPU-s per wall second). */
    double compose_w[] = {1, 1, 1};
    add_series(r, "w1-1080", REEL_BENCH_KIND_COMPOSE, "cpu", 1080, compose_w, 150, 3);
    /* Decoding only: 1.44 CPU-s a run, so (floor + decoding) / floor = 8.64 / 7.2 = 1.2. */
    double decode_w[] = {0.8, 0.8, 0.8};
    add_series(r, "w1-1080", REEL_BENCH_KIND_DECODE, "-", 1080, decode_w, 90, 3);
    /* A job with a split but no decoding series: its decoding columns stay empty. */
    add_series(r, "w1-720", REEL_BENCH_KIND_RENDER, "cpu", 720, reel_w, 200, 3);
    add_series(r, "w1-720", REEL_BENCH_KIND_FLOOR, "-", 720, floor_w, 400, 3);
    add_series(r, "w1-720", REEL_BENCH_KIND_COMPOSE, "cpu", 720, compose_w, 100, 3);
    add_series(r, "long-1080", REEL_BENCH_KIND_RENDER, "cpu", 1080, reel_w, 450, 1);
    struct reel_bench_ratio *q = &r->ratios[r->n_ratios++];
    snprintf(q->job, sizeof(q->job), "w1-1080");
    snprintf(q->engine, sizeof(q->engine), "cpu");
    q->of_kind = REEL_BENCH_KIND_RENDER;
    q->to_kind = REEL_BENCH_KIND_FLOOR;
    q->target = 1.3;
    for (int i = 0; i < 3; i++)
        q->pairs[q->n++] = reel_w[i] / floor_w[i];
    /* Both peer variants carry the target until the fastest is picked. */
    const char *variants[] = {"exact", "fast"};
    const double *variant_w[] = {peer_w, fast_w};
    for (int v = 0; v < 2; v++) {
        q = &r->ratios[r->n_ratios++];
        snprintf(q->job, sizeof(q->job), "w1-1080");
        snprintf(q->engine, sizeof(q->engine), "cpu");
        snprintf(q->peer, sizeof(q->peer), "%s", variants[v]);
        q->of_kind = REEL_BENCH_KIND_RENDER;
        q->to_kind = REEL_BENCH_KIND_PEER;
        q->target = 0.8;
        for (int i = 0; i < 3; i++)
            q->pairs[q->n++] = reel_w[i] / variant_w[v][i];
    }
    reel_bench_pick_fastest_peers(r);
    CHECK(!r->series[1].is_fastest);
    CHECK(r->series[2].is_fastest); /* fast: median 8.5 s against exact's 10 s */
    CHECK(!r->series[3].is_fastest);
    CHECK(!r->ratios[1].is_fastest && r->ratios[1].target == 0);
    CHECK(r->ratios[2].is_fastest && r->ratios[2].target == 0.8);
    CHECK(!r->ratios[0].is_fastest); /* the floor's */

    struct reel_bench_target t[16];
    int nt = reel_bench_targets(r, t, 16);
    CHECK_INT_EQ(nt, 5); /* floor ratio, fastest peer, two 1080p RSS limits, long vs w1 */
    CHECK_NEAR(t[0].value, 1.5, 1e-9);
    CHECK(!t[0].is_met);
    CHECK_NEAR(t[1].value, 0.75, 1e-9); /* median of 6/8, 5/9, 7/8.5 */
    CHECK(t[1].is_met);
    CHECK_STR_EQ(t[1].what, "cpu w1-1080 wall time ÷ fastest FFmpeg CLI peer (fast)");
    CHECK(t[2].is_met);  /* 380 MB <= 400 */
    CHECK(!t[3].is_met); /* long-1080 at 450 MB */
    CHECK_NEAR(t[4].value, 450.0 / 380.0, 1e-9);
    CHECK(!t[4].is_met);

    char *md = NULL;
    size_t md_len = 0;
    FILE *mf = open_memstream(&md, &md_len);
    reel_bench_report_markdown(mf, r);
    fclose(mf);
    CHECK(strstr(md, "| w1-1080 | reel cpu | 3 | 6.00 (5.00–7.00) |") != NULL);
    CHECK(strstr(md, "| w1-1080 | ffmpeg CLI exact | 3 | 10.0 (10.0–10.0) |") != NULL);
    CHECK(strstr(md, "| w1-1080 | ffmpeg CLI fast (fastest) | 3 | 8.50 (8.00–9.00) |") != NULL);
    CHECK(strstr(md, "| w1-1080 | ffmpeg CLI broken | 0 | failed: exit status 1 |") != NULL);
    CHECK(strstr(md, "reel ÷ floor | 1.50 | 1.25–1.75 | 3 | ≤ 1.30: missed |") != NULL);
    CHECK(strstr(md, "reel ÷ ffmpeg-cli exact | 0.60 | 0.50–0.70 | 3 | - |") != NULL);
    CHECK(strstr(md, "reel ÷ ffmpeg-cli fast (fastest) | 0.75 | 0.56–0.82 | 3 | ≤ 0.80: met |") !=
          NULL);
    /* (7.2 + 1.8) / 7.2, (7.2 + 1.44) / 7.2 and 10.8 / (7.2 + 1.8); long-1080 has neither floor
     * nor composition */
    CHECK(strstr(md, "| w1-1080 | cpu | 10.8 | 7.20 | 1.80 | 1.44 | 1.25 | 1.20 | 1.20 |") != NULL);
    CHECK(strstr(md, "| w1-720 | cpu | 10.8 | 7.20 | 1.80 | - | 1.25 | - | 1.20 |") != NULL);
    CHECK(strstr(md, "| w1-1080 | decoding only | 3 | 0.80 (0.80–0.80) |") != NULL);
    CHECK(strstr(md, "| long-1080 | cpu | 10.8 |") == NULL);
    CHECK(strstr(md, " encode |") != NULL); /* a stage column present in the data */
    CHECK(strstr(md, " mux |") == NULL);    /* and one that is not */
    free(md);

    char path[512];
    struct reel_err err = {0};
    snprintf(path, sizeof(path), "%s/r.json", tmpdir);
    CHECK_INT_EQ(reel_bench_report_json(path, r, &err), 0);
    FILE *f = fopen(path, "r");
    static char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    CHECK(root != NULL);
    const cJSON *series = cJSON_GetObjectItem(root, "series");
    CHECK_INT_EQ(cJSON_GetArraySize(series), 11);
    const cJSON *split = cJSON_GetObjectItem(root, "cpu_split");
    CHECK_INT_EQ(cJSON_GetArraySize(split), 2);
    const cJSON *sp = cJSON_GetArrayItem(split, 0);
    CHECK_STR_EQ(cJSON_GetObjectItem(sp, "job")->valuestring, "w1-1080");
    CHECK_NEAR(cJSON_GetObjectItem(sp, "compose_cpu_s")->valuedouble, 1.8, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItem(sp, "decode_cpu_s")->valuedouble, 1.44, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItem(sp, "bound")->valuedouble, 1.25, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItem(sp, "decode_bound")->valuedouble, 1.2, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItem(sp, "overhead")->valuedouble, 1.2, 1e-9);
    /* Without a decoding series the two keys are left out, not written as 0. */
    const cJSON *sp720 = cJSON_GetArrayItem(split, 1);
    CHECK_STR_EQ(cJSON_GetObjectItem(sp720, "job")->valuestring, "w1-720");
    CHECK(cJSON_GetObjectItem(sp720, "decode_cpu_s") == NULL);
    CHECK(cJSON_GetObjectItem(sp720, "decode_bound") == NULL);
    const cJSON *first = cJSON_GetArrayItem(series, 0);
    int fastest = 0;
    for (int i = 0; i < cJSON_GetArraySize(series); i++) {
        const cJSON *x = cJSON_GetArrayItem(series, i);
        if (cJSON_IsTrue(cJSON_GetObjectItem(x, "fastest"))) {
            fastest++;
            CHECK_STR_EQ(cJSON_GetObjectItem(x, "variant")->valuestring, "fast");
        }
    }
    CHECK_INT_EQ(fastest, 1);
    const cJSON *rq = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "ratios"), 2);
    CHECK_STR_EQ(cJSON_GetObjectItem(rq, "peer_variant")->valuestring, "fast");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(rq, "fastest")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(rq, "target_met")));
    rq = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "ratios"), 1);
    CHECK(cJSON_GetObjectItem(rq, "target") == NULL);
    const cJSON *wall = cJSON_GetObjectItem(cJSON_GetObjectItem(first, "summary"), "wall_s");
    CHECK_NEAR(cJSON_GetObjectItem(wall, "median")->valuedouble, 6, 1e-9);
    CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(first, "runs")), 3);
    CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(root, "targets")), 5);
    cJSON_Delete(root);

    snprintf(path, sizeof(path), "%s/r.svg", tmpdir);
    CHECK_INT_EQ(reel_bench_report_svg(path, r, &err), 0);
    f = fopen(path, "r");
    n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    CHECK(strncmp(buf, "<svg ", 5) == 0);
    CHECK(strstr(buf, "</svg>") != NULL);
    CHECK(strstr(buf, "A &lt;fast&gt; CPU &amp; co") != NULL);
    int rects = 0;
    for (const char *p = buf; (p = strstr(p, "<rect")); p++)
        rects++;
    CHECK_INT_EQ(rects, 1 + 10); /* background + one bar per series with runs */
    CHECK(strstr(buf, ">ffmpeg CLI fast (fastest)<") != NULL);
    CHECK(strstr(buf, ">decoding only<") != NULL);
    CHECK(strstr(buf, ">long-1080<") != NULL);
    CHECK(reel_bench_report_svg("/nonexistent/dir/x.svg", r, &err) < 0);
    free(r);
}

int main(void)
{
    reel_log_setup(stderr, REEL_LOG_FORMAT_TEXT, REEL_LOG_WARN);
    reel_log_bridge_ffmpeg();
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_summaries();
    test_spawn();
    test_psnr_plane();
    test_decode_compare_encode();
    test_reports();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    CHECK_DONE();
}
