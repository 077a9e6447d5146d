#include "render/video_opener.h"

#include <string.h>

#include "core/thread.h"

void reel_video_opener_init(struct reel_video_opener *o, const struct reel_engine *eng,
                            bool is_prefetched)
{
    memset(o, 0, sizeof(*o));
    o->threads = eng->cfg.threads;
    o->base = (struct reel_video_source_opts){.hwdec = eng->cfg.hwdec,
                                              .gpu_index = eng->cfg.gpu_index + 1,
                                              .is_prefetched = is_prefetched};
    o->log = eng->log;
    o->layer = -1;
}

/* The file of a video layer (resolved path, else src); NULL when it has none. */
static const char *layer_path(const struct reel_layer *l)
{
    return l->src_path ? l->src_path : l->src;
}

static struct reel_video_source_opts layer_opts(const struct reel_video_opener *o,
                                                const struct reel_layer *l)
{
    struct reel_video_source_opts vo = o->base;
    vo.no_deinterlace = l->no_deinterlace;
    return vo;
}

static void *opener_main(void *arg)
{
    struct reel_video_opener *o = arg;
    reel_thread_name("reel-open");
    reel_log_set_thread_logger(o->log);
    o->ret = reel_video_source_open_opts(o->path, o->threads, &o->vo, o->log, &o->vs, &o->err);
    return NULL;
}

/* Start opening the first video layer after layer `after`, when the opener is idle. */
static void start_after(struct reel_video_opener *o, const struct reel_timeline *tl, int after)
{
    if (o->layer >= 0)
        return;
    for (int i = after + 1; i < tl->n_layers; i++) {
        const struct reel_layer *l = &tl->layers[i];
        if (l->type != REEL_LAYER_VIDEO || !reel_layer_is_visual(l) || !layer_path(l))
            continue;
        o->path = layer_path(l);
        o->vo = layer_opts(o, l);
        o->vs = NULL;
        o->ret = 0;
        memset(&o->err, 0, sizeof(o->err));
        /* Without a thread, the layer is simply opened when prepare comes to it. */
        if (pthread_create(&o->thread, NULL, opener_main, o) == 0)
            o->layer = i;
        return;
    }
}

int reel_video_opener_take(struct reel_video_opener *o, const struct reel_timeline *tl, int i,
                           struct reel_video_source **out, struct reel_err *err)
{
    *out = NULL;
    if (o->layer == i) {
        pthread_join(o->thread, NULL);
        o->layer = -1;
        int ret = o->ret;
        *out = o->vs;
        o->vs = NULL;
        if (ret < 0)
            *err = o->err;
        start_after(o, tl, i);
        return ret;
    }
    start_after(o, tl, i);
    const struct reel_layer *l = &tl->layers[i];
    if (!layer_path(l))
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, l->path, "video layer has no source");
    struct reel_video_source_opts vo = layer_opts(o, l);
    return reel_video_source_open_opts(layer_path(l), o->threads, &vo, o->log, out, err);
}

void reel_video_opener_stop(struct reel_video_opener *o)
{
    if (o->layer >= 0)
        pthread_join(o->thread, NULL);
    o->layer = -1;
    reel_video_source_close(&o->vs);
}
