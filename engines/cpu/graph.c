#include <stdio.h>

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/error.h>

#include "engines/cpu/graph.h"

static int av_fail(struct reel_err *err, int code, int ret, const char *what)
{
    return reel_err_from_av(err, code, ret, what);
}

int reel_cpu_graph_init(struct reel_cpu_graph *g, int in_w, int in_h, enum AVPixelFormat in_fmt,
                        const char *chain, struct reel_err *err)
{
    char args[256];
    AVFilterInOut *outputs = NULL, *inputs = NULL;
    int ret;
    *g = (struct reel_cpu_graph){.in_fmt = in_fmt, .in_w = in_w, .in_h = in_h};
    if (!(g->graph = avfilter_graph_alloc()) || !(outputs = avfilter_inout_alloc()) ||
        !(inputs = avfilter_inout_alloc())) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    /* One thread: a graph otherwise starts a pool of one thread per CPU, per graph (one graph per
     * video layer), while the filters used here gain little from slice threading; the engine
     * parallelises its own work across row bands instead. */
    g->graph->nb_threads = 1;
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/1000000:pixel_aspect=1/1",
             in_w, in_h, (int)in_fmt);
    ret = avfilter_graph_create_filter(&g->src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                       g->graph);
    if (ret < 0) {
        ret = av_fail(err, REEL_ERENDER, ret, "creating the buffer source");
        goto fail;
    }
    ret = avfilter_graph_create_filter(&g->sink, avfilter_get_by_name("buffersink"), "out", NULL,
                                       NULL, g->graph);
    if (ret < 0) {
        ret = av_fail(err, REEL_ERENDER, ret, "creating the buffer sink");
        goto fail;
    }
    /* The chain's open ends are named as seen from the chain: its input is our source's output. */
    outputs->name = av_strdup("in");
    outputs->filter_ctx = g->src;
    outputs->pad_idx = 0;
    outputs->next = NULL;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = g->sink;
    inputs->pad_idx = 0;
    inputs->next = NULL;
    if (!outputs->name || !inputs->name) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    ret = avfilter_graph_parse_ptr(g->graph, chain, &inputs, &outputs, NULL);
    if (ret < 0) {
        ret = av_fail(err, REEL_ERENDER, ret, "parsing the filter chain");
        goto fail;
    }
    ret = avfilter_graph_config(g->graph, NULL);
    if (ret < 0) {
        ret = av_fail(err, REEL_ERENDER, ret, "configuring the filter graph");
        goto fail;
    }
    ret = 0;
fail:
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (ret < 0)
        reel_cpu_graph_uninit(g);
    return ret;
}

void reel_cpu_graph_uninit(struct reel_cpu_graph *g)
{
    if (!g)
        return;
    avfilter_graph_free(&g->graph);
    g->src = g->sink = NULL;
}

int reel_cpu_graph_run(struct reel_cpu_graph *g, AVFrame *in, AVFrame *out, struct reel_err *err)
{
    int ret = av_buffersrc_add_frame_flags(g->src, in, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0)
        return av_fail(err, REEL_ERENDER, ret, "feeding the filter graph");
    ret = av_buffersink_get_frame(g->sink, out);
    if (ret < 0)
        return av_fail(err, REEL_ERENDER, ret, "filtering a frame");
    return 0;
}
