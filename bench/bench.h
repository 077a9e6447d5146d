/*
 * reel bench: the performance suite (bench/README.md). It renders the jobs in bench/jobs/ with each
 * engine, each run a child process of this binary so that wall time, CPU time and peak RSS belong
 * to that run alone, and sets the figures beside two references measured in the same session: the
 * FFmpeg CLI doing the same job (bench/peer/) and the encode floor (the same frames, already in
 * memory, through the same encoder). Results go to stdout (Markdown), a JSON file and an SVG chart.
 */
#ifndef REEL_BENCH_BENCH_H
#define REEL_BENCH_BENCH_H

#include "core/err.h"
#include "render/render.h"
#include "timeline/timeline.h"

/*
 * `reel bench [options]`: argv[1] is "bench". Parses its own options (reel bench --help), sets up
 * logging, runs the suite and prints the report. Returns the process exit status: 0 when every
 * measurement ran (targets are reported, never enforced), 1 when a run failed or the media cannot
 * be made, 2 on a usage error. Not thread-safe (process-wide: spawns children, sets up logging).
 */
int reel_bench_main(int argc, char **argv);

/*
 * Write one render's result as the JSON object `reel render --stats-json FILE` produces: engine,
 * encoder, frames, bytes, video_s and "stages_s" (load, prepare, render, encode, audio, mux, total,
 * convert, queue_full, encoder_idle, and decode, upload, compose, readback when the engine reports
 * them). load_s is the time taken to load the job and fetch and probe its assets. Returns 0, or
 * -REEL_EOUTPUT with err (may be NULL) naming the file and the OS reason. Thread-safe.
 */
int reel_bench_write_render_stats(const char *path, const struct reel_timeline *tl,
                                  const struct reel_render_result *res, double load_s,
                                  struct reel_err *err);

#endif
