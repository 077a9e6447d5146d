/*
 * Shared declarations of the bench module (not a public interface): the suite table, the measured
 * records, statistics, child processes, decoding and PSNR, the in-memory encode, and the reports.
 * Everything here runs on the bench's one thread.
 */
#ifndef REEL_BENCH_INTERNAL_H
#define REEL_BENCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <libavutil/frame.h>

#include "core/err.h"
#include "core/log.h"
#include "encode/encoder.h"
#include "timeline/timeline.h"

#define REEL_BENCH_MAX_RUNS 32
#define REEL_BENCH_MAX_SERIES 96
#define REEL_BENCH_MAX_RATIOS 64
#define REEL_BENCH_MAX_PSNR 32
#define REEL_BENCH_PSNR_SAMPLES 4

/* X(ENUM, "json key", "column title"): stage times a render child reports, in its stats order. */
#define REEL_BENCH_STAGES(X)                    \
    X(LOAD, "load", "fetch")                    \
    X(PREPARE, "prepare", "prepare")            \
    X(DECODE, "decode", "decode")               \
    X(UPLOAD, "upload", "upload")               \
    X(COMPOSE, "compose", "compose")            \
    X(CONVERT, "convert", "convert")            \
    X(READBACK, "readback", "readback")         \
    X(RENDER, "render", "render")               \
    X(ENCODE, "encode", "encode")               \
    X(MUX, "mux", "mux")                        \
    X(AUDIO, "audio", "audio")                  \
    X(QUEUE_FULL, "queue_full", "enc-wait")     \
    X(ENCODER_IDLE, "encoder_idle", "enc-idle") \
    X(TOTAL, "total", "total")

enum reel_bench_stage {
#define REEL_BENCH_STAGE_ENUM_(e, key, title) REEL_BENCH_STAGE_##e,
    REEL_BENCH_STAGES(REEL_BENCH_STAGE_ENUM_)
#undef REEL_BENCH_STAGE_ENUM_
        REEL_BENCH_STAGE_COUNT
};

/* JSON key and column title of a stage. */
const char *reel_bench_stage_key(enum reel_bench_stage s);
const char *reel_bench_stage_title(enum reel_bench_stage s);

/* ---- the suite ---- */

struct reel_bench_job {
    const char *name;  /* "w1-720"; the job file is bench/jobs/<name>.json */
    int peer_height;   /* 0: no FFmpeg CLI peer; else bench/peer/w1.sh at this height */
    bool has_floor;    /* measure the encode floor (the output's frames must fit in memory) */
    bool has_compose;  /* measure composition alone (encode skipped) */
    bool is_long;      /* one run by default and a one-frame warm-up */
    const char *about; /* one line for the report */
};

/* The built-in jobs, in run order; NULL-name terminated. */
extern const struct reel_bench_job reel_bench_suite[];
/* The suite entry called name, or NULL. */
const struct reel_bench_job *reel_bench_suite_find(const char *name);

/* ---- measurements ---- */

enum reel_bench_kind {
    REEL_BENCH_KIND_NONE = 0,
    REEL_BENCH_KIND_RENDER,  /* reel render, the whole process */
    REEL_BENCH_KIND_COMPOSE, /* reel's render loop with the encoder skipped */
    REEL_BENCH_KIND_PEER,    /* the FFmpeg CLI doing the same job */
    REEL_BENCH_KIND_FLOOR,   /* the same frames from memory through the same encoder */
    REEL_BENCH_KIND_DECODE,  /* the job's video decoded as the cpu engine decodes it, alone */
};

/* Name of a kind as used in the report ("render", "compose", "ffmpeg-cli", "floor", "decode"). */
const char *reel_bench_kind_name(enum reel_bench_kind k);

/* One run. Stages not reported are NaN. */
struct reel_bench_run {
    double wall_s, cpu_s, rss_mb;
    double stages[REEL_BENCH_STAGE_COUNT];
};

/* Every run of one job by one engine (or peer, or floor) in one mode. */
struct reel_bench_series {
    char job[32];
    enum reel_bench_kind kind;
    char engine[16];  /* render/compose: the engine used; peer: the variant of bench/peer/w1.sh
                         ("exact", "fast"); floor: "-" */
    char encoder[32]; /* video encoder used */
    int64_t frames;
    double video_s;
    int width, height;
    struct reel_bench_run runs[REEL_BENCH_MAX_RUNS];
    int n_runs;
    bool failed;
    bool is_fastest; /* peer: the variant with the lowest median wall time for this job */
    char note[160];  /* why it failed, or a remark for the report */
};

/* median, min and max of n values (NaN values skipped); n_used says how many counted. */
struct reel_bench_summary {
    double median, min, max;
    int n_used;
};

/* Summarise v[0..n). An empty or all-NaN input gives NaN figures and n_used 0. */
void reel_bench_summarize(const double *v, int n, struct reel_bench_summary *out);

/* Which figure of a run to summarise. */
enum reel_bench_metric {
    REEL_BENCH_METRIC_NONE = 0,
    REEL_BENCH_METRIC_WALL,
    REEL_BENCH_METRIC_CPU,
    REEL_BENCH_METRIC_RSS,
    REEL_BENCH_METRIC_FPS,      /* frames / wall */
    REEL_BENCH_METRIC_REALTIME, /* video seconds / wall */
};

/* Summary of one metric over a series' runs. */
void reel_bench_series_summary(const struct reel_bench_series *s, enum reel_bench_metric m,
                               struct reel_bench_summary *out);
/* Summary of one stage over a series' runs. */
void reel_bench_series_stage(const struct reel_bench_series *s, enum reel_bench_stage st,
                             struct reel_bench_summary *out);

/* Ratios of wall times taken pair by pair (run i of `of` over run i of `to`). */
struct reel_bench_ratio {
    char job[32];
    char engine[16];
    enum reel_bench_kind of_kind; /* RENDER */
    enum reel_bench_kind to_kind; /* PEER or FLOOR */
    char peer[16];                /* PEER: the peer variant; "" for FLOOR */
    bool is_fastest;              /* PEER: against the job's fastest variant */
    double pairs[REEL_BENCH_MAX_RUNS];
    int n;
    double target; /* the ratio to stay at or below; 0 = none */
};

/* PSNR between reel's output and the peer's, per plane, over every frame both have. */
struct reel_bench_psnr {
    char job[32];
    char engine[16];
    char peer[16]; /* the peer variant compared */
    int frames;
    double mean_y, mean_u, mean_v; /* mean of per-frame PSNR, dB */
    double min_y;
    int min_y_frame;
    int sample_frame[REEL_BENCH_PSNR_SAMPLES];
    double sample_y[REEL_BENCH_PSNR_SAMPLES];
    char note[160]; /* why it could not be measured */
};

/* Facts about the machine, for the report and the results file name. */
struct reel_bench_host {
    char name[64]; /* "debian12-2core-cpu": OS, cores, engines measured */
    char os[128];  /* PRETTY_NAME */
    char kernel[128];
    char cpu[128];
    int cores;
    double mem_gb;
    char ffmpeg_cli[160];    /* first line of `ffmpeg -version`, or "" when missing */
    char libav[64];          /* av_version_info() */
    char engines_desc[1024]; /* each measured engine's describe() output, if any */
    char thp[32];            /* the kernel's transparent huge pages mode ("madvise"), or "" */
    char thp_reel[16];       /* REEL_HUGEPAGES as reel's children apply it: "off" or "system" */
    char date[32];           /* UTC, ISO 8601 */
};

struct reel_bench_results {
    struct reel_bench_host host;
    int runs; /* --runs, or 0 when each job's default was used */
    char command[512];
    struct reel_bench_series series[REEL_BENCH_MAX_SERIES];
    int n_series;
    struct reel_bench_ratio ratios[REEL_BENCH_MAX_RATIOS];
    int n_ratios;
    struct reel_bench_psnr psnr[REEL_BENCH_MAX_PSNR];
    int n_psnr;
};

/* ---- child processes ---- */

struct reel_bench_proc {
    double wall_s; /* spawn to exit, monotonic clock */
    double cpu_s;  /* user + system, the child and its waited-for descendants */
    double rss_mb; /* peak resident set size of the largest process in the tree */
    int status;    /* exit status, or 128 + signal number */
};

/*
 * Run argv[0] (a path; not searched in PATH) with argv, stdin from /dev/null and stdout and stderr
 * appended to log_path (NULL: /dev/null), and wait for it. Returns 0 when the child ran (whatever
 * its exit status, in p->status), or -REEL_EINTERNAL with err filled when it could not be started.
 */
int reel_bench_spawn(char *const argv[], const char *log_path, struct reel_bench_proc *p,
                     struct reel_err *err);

/* User + system CPU seconds of this process so far, every thread. */
double reel_bench_process_cpu_s(void);

/* Is `name` an executable in PATH? Writes its full path to path (cap bytes) when found. */
bool reel_bench_find_program(const char *name, char *path, size_t cap);

/* ---- decoding and PSNR ---- */

struct reel_bench_decoder;

/* Open the first video stream of path; frames come out in fmt at the stream's size.
 * Errors: -REEL_EDECODE (err says why). */
int reel_bench_decoder_open(const char *path, enum AVPixelFormat fmt,
                            struct reel_bench_decoder **out, struct reel_err *err);
/* Next frame in presentation order into a new AVFrame (caller frees): 0, -REEL_EEOF at the end, or
 * -REEL_EDECODE. */
int reel_bench_decoder_next(struct reel_bench_decoder *d, AVFrame **out, struct reel_err *err);
void reel_bench_decoder_close(struct reel_bench_decoder **d);

/* PSNR in dB of two 8-bit planes of w x h (peak 255); identical planes give INFINITY. */
double reel_bench_psnr_plane(const uint8_t *a, int a_stride, const uint8_t *b, int b_stride, int w,
                             int h);

/* Compare two video files frame by frame (YUV 4:2:0), filling r (job and engine left as they are).
 * The samples are the frames at sample_t[i] seconds of fps. Returns 0 or -REEL_EDECODE. */
int reel_bench_compare_files(const char *a, const char *b, double fps,
                             const double sample_t[REEL_BENCH_PSNR_SAMPLES],
                             struct reel_bench_psnr *r, struct reel_err *err);

/* ---- the encode floor ---- */

struct reel_bench_encode_result {
    double open_s;   /* opening the encoder */
    double encode_s; /* sending every frame, draining every packet, flushing */
    double cpu_s;    /* process CPU time (all threads) over both */
    int64_t packets, bytes;
    char encoder[32];
};

/*
 * Encode frames[0..n) (software frames in yuv420p, the cfg's size) with the first encoder that
 * opens for cfg, as reel's output does, discarding the packets. Frames are converted beforehand
 * (not timed) when the encoder wants another layout. Returns 0 or a negative code (err filled).
 */
int reel_bench_encode_frames(const struct reel_enc_cfg *cfg, AVFrame *const *frames, int n,
                             struct reel_log *log, struct reel_bench_encode_result *r,
                             struct reel_err *err);

/* ---- child modes (reel bench _floor / _compose / _decode) ---- */

/* `reel bench _floor JOB.json [--asset-root DIR] --stats-json OUT`: render the job's frames into
 * memory with the cpu engine (not timed), exactly the frames reel encodes, then time
 * reel_bench_encode_frames on them with the job's encoder settings. Returns an exit status. */
int reel_bench_floor_main(int argc, char **argv, struct reel_log *log);
/* The arguments of the child modes: JOB.json [--engine E] [--asset-root DIR] --stats-json OUT.
 * Pointers into argv; NULL where not given. */
struct reel_bench_child_args {
    const char *job, *engine, *asset_root, *stats;
};
/* Parse them; -1 on an unknown option (getopt has said which). */
int reel_bench_child_args(int argc, char **argv, struct reel_bench_child_args *a);
/* Print o (consumed) as JSON to path. Returns 0, or -REEL_EOUTPUT with err naming the file and the
 * OS reason (err's path set to `what`, may be NULL). */
int reel_bench_write_json(const char *path, cJSON *o, const char *what, struct reel_err *err);
/* Load and resolve a job as `reel render` does: asset roots are the job's folder, then
 * asset_root (may be NULL). Returns 0, or 1 with the reason logged. */
int reel_bench_load_job(const char *path, const char *asset_root, struct reel_log *log,
                        struct reel_timeline **out);
/* `reel bench _compose JOB.json --engine E [--asset-root DIR] --stats-json OUT`: render with the
 * encoder skipped. Returns an exit status. */
int reel_bench_compose_main(int argc, char **argv, struct reel_log *log);
/* `reel bench _decode JOB.json [--asset-root DIR] --stats-json OUT`: open the job's video sources
 * as the cpu engine does and decode the frames its render loop asks for, nothing else; only that
 * is timed (wall_s, cpu_s). Returns an exit status. */
int reel_bench_decode_main(int argc, char **argv, struct reel_log *log);

/* ---- reports ---- */

/* One of the targets, evaluated on the results (reported, never enforced). */
struct reel_bench_target {
    char what[128];
    double value, limit; /* met when value <= limit */
    bool is_met;
};

/* Mark, per job, the peer variant with the lowest median wall time (series and ratios), and keep
 * the target of reel ÷ ffmpeg-cli on that variant's ratio only. Call once every run is in. */
void reel_bench_pick_fastest_peers(struct reel_bench_results *r);

/* The targets that the results can speak to, at most cap of them. Returns how many. */
int reel_bench_targets(const struct reel_bench_results *r, struct reel_bench_target *out, int cap);

/*
 * reel's CPU time for a job beside the encoder's alone (the floor's timed part) and the
 * composition's alone (the render loop with the encoder skipped), medians of each series.
 * bound = (floor + composition) / floor: the wall ratio to the floor that reel comes to when it
 * keeps the cores as busy as the floor does. overhead = reel / (floor + composition): what doing
 * the two at once costs on top of doing each alone (1: nothing). With a decoding series as well:
 * decode_s, its median CPU time, and decode_bound = (floor + decoding) / floor, the part of bound
 * that decoding the job's clips alone accounts for (NaN without one).
 */
struct reel_bench_cpu_split {
    char job[32];
    char engine[16];
    double reel_s, floor_s, compose_s, decode_s;
    double bound, overhead, decode_bound;
};

/* The split for each job and engine with a render, a floor and a composition series, at most cap
 * of them. Returns how many. */
int reel_bench_cpu_splits(const struct reel_bench_results *r, struct reel_bench_cpu_split *out,
                          int cap);

/* The Markdown report (tables of figures, ratios against targets, PSNR) to f. */
void reel_bench_report_markdown(FILE *f, const struct reel_bench_results *r);
/* Every run and summary as JSON. Returns 0 or -REEL_EOUTPUT (err filled). */
int reel_bench_report_json(const char *path, const struct reel_bench_results *r,
                           struct reel_err *err);
/* A bar chart of frames per second per job: each engine rendering and composing, the FFmpeg CLI
 * peer and the encode floor, with min-max whiskers. Returns 0 or -REEL_EOUTPUT (err filled). */
int reel_bench_report_svg(const char *path, const struct reel_bench_results *r,
                          struct reel_err *err);

/* "12.3" style number with a precision fit for its size; "-" for NaN. */
void reel_bench_format_num(char *buf, size_t cap, double v);

#endif
