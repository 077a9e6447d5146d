/*
 * A linear libavfilter graph: buffer source -> a filter chain -> buffersink, one frame in, one
 * frame out. Used for each video layer's scale/convert step and for the output conversion.
 */
#ifndef REEL_ENGINES_CPU_GRAPH_H
#define REEL_ENGINES_CPU_GRAPH_H

#include <libavfilter/avfilter.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "core/err.h"

struct reel_cpu_graph {
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    /* The input the source was configured for; frames must match it. */
    enum AVPixelFormat in_fmt;
    int in_w, in_h;
};

/*
 * Build and configure a graph for in_w x in_h frames of in_fmt (time base 1/1000000) through
 * `chain` (filter-graph syntax, e.g. "scale=w=64:h=36,format=rgba"). Returns 0 or -REEL_ERENDER /
 * -REEL_ENOMEM (err filled).
 */
int reel_cpu_graph_init(struct reel_cpu_graph *g, int in_w, int in_h, enum AVPixelFormat in_fmt,
                        const char *chain, struct reel_err *err);
/* Free the graph; accepts a zeroed or partly built one. */
void reel_cpu_graph_uninit(struct reel_cpu_graph *g);

/*
 * Send `in` (a new reference is taken; the caller keeps its own) and receive the one frame it
 * produces into `out` (which must be blank). Returns 0 or -REEL_ERENDER (err filled).
 */
int reel_cpu_graph_run(struct reel_cpu_graph *g, AVFrame *in, AVFrame *out, struct reel_err *err);

#endif
