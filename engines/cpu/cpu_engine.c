/*
 * The cpu engine: FFmpeg's libraries plus a small C compositor.
 *
 * Work is split where each tool is strong:
 *  - libavfilter, through its API, converts pictures. Every video layer has a graph
 *      buffer (the decoded frame's own format) [-> transpose/flip for a display matrix]
 *      [-> crop, for fit "none" overflowing the box] -> scale to the layer's fitted content size
 *      -> format=rgba -> buffersink
 *    built once at prepare (the box size is not animated, so the fitted size is fixed). The
 *    composed canvas goes through an output graph
 *      buffer (rgba) -> scale (out_color_matrix=bt709, out_range=tv) -> format=<pix_fmt> -> sink
 *    which is skipped when the caller asks for RGBA.
 *  - The compositor (compose.c) does what stock filters cannot express per frame at speed: each
 *    layer's affine transform (position, anchor, scale, rotation, slide offset), transition masks,
 *    opacity and premultiplied "over" blending, in integer arithmetic so output is bit-exact from
 *    run to run. Effects (effects.c) are applied to the content as fitted into its box, before the
 *    transform: once at prepare for static content, once per new source frame for video.
 *
 * Every layer is reduced at prepare to a "box image": premultiplied RGBA covering the layer's box,
 * with the content placed by its fit mode (transparent margins for contain, overflow cropped for
 * cover and none). Text and shape content is placed at its natural size, centred. Colour layers
 * are a solid colour, not an image. Rendering a frame is then: fill the background, evaluate each
 * visible layer (src/timeline/eval.h, geometry.h), fetch a new video frame if the source time moved
 * to another frame, and draw the box images bottom to top, in row bands over a persistent thread
 * pool.
 *
 * Memory does not grow with duration: per layer there is one box image, one filter graph, one
 * decoder with two frames, and per frame one canvas from a buffer pool.
 *
 * docs/engines.md states the exact arithmetic; it is the reference the gl engine follows.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libavfilter/avfilter.h>
#include <libavutil/buffer.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>

#include "core/thread.h"
#include "engines/cpu/compose.h"
#include "engines/cpu/effects.h"
#include "engines/cpu/graph.h"
#include "engines/cpu/pool.h"
#include "render/engine.h"
#include "render/video_opener.h"
#include "render/video_source.h"
#include "timeline/eval.h"
#include "timeline/geometry.h"

/* Largest box image side; a bigger box is sampled from a proportionally smaller image. */
#define MAX_TEX 8192
/* Most worker threads used when the configuration says "auto". */
#define MAX_AUTO_THREADS 16
/* Scaling flags for video: bicubic with full chroma interpolation. accurate_rnd is left out here
 * because it forces swscale's slow C paths (about twice the cost per frame) for a difference of
 * one code value; the output conversion keeps it, since it sets the exact BT.709 levels. */
#define VIDEO_SWS_FLAGS "bicubic+full_chroma_int"

struct layer {
    const struct reel_layer *l;
    bool is_drawn; /* a visual layer with something to draw */
    double bw, bh;
    int tex_w, tex_h;
    struct reel_image box; /* owned box image; data NULL when borrowing content or solid */
    const uint8_t *tex;    /* what draws sample; NULL = solid */
    int tex_stride;
    struct reel_cpu_occupancy occ; /* of a static tex: where it is not clear */
    uint8_t solid[4];

    /* Video */
    struct reel_video_source *vs;
    struct reel_cpu_graph graph;
    char chain[512];
    int cx0, cy0, cw, ch; /* the graph's output rectangle in box-image pixels */
    bool is_direct;       /* sample the graph's output frame itself (it is the whole box) */
    AVFrame *scaled;      /* graph output; held while sampled directly */
    AVFrame *yuv;         /* the decoded frame itself, when drawn as is on a YUV canvas */
    bool has_frame;
    bool is_parked; /* off screen: decoder closed, pictures released */
    int64_t frame_pts;
    struct reel_cpu_scratch scratch;
    struct reel_cpu_rect fx_at; /* the box-image pixels effects compute (what can show) */
    struct reel_cpu_rect fx_in; /* what they read: fx_at grown by every blur's radius */
};

struct cpu_priv {
    int threads;
    struct reel_cpu_pool *pool;
    AVBufferPool *canvas_pool;
    int canvas_stride;
    bool has_out_graph;
    enum AVPixelFormat out_fmt; /* the format prepare built the output for */
    /* yuv420p output is composed directly in the encoder's layout (no output conversion). */
    bool is_yuv_out;
    AVBufferPool *yuv_pool;
    int yuv_stride[3];
    size_t yuv_offset[3];
    uint8_t bg_yuv[3];
    struct reel_cpu_graph out_graph;
    const struct reel_scene *scene;
    struct layer *layers;
    int n_layers;
    struct reel_cpu_draw *draws;
    uint8_t bg[4];
    struct reel_engine_stats stats; /* since prepare, for get_stats */
    struct prefetch *prefetch;      /* NULL until frames come in order */
    int64_t next_us;                /* the frame after the last one rendered */
};

/*
 * Decoding ahead: while frame n is composed (and encoded), a thread of its own decodes the
 * frames its video layers show at n + 1, so the decoders need no threads of their own (frame
 * threads cost about 10 % more CPU for the same frames) and decoding overlaps composing. Sources
 * are claimed one at a time, and the render thread, once it has composed frame n and comes back
 * for n + 1, decodes the sources the thread has not reached yet instead of waiting: where two
 * clips overlap (a crossfade), the two are then decoded at once. Each source is only touched by
 * the thread that claimed it until prefetch_wait has returned; what is decoded is exactly what
 * the render thread's own query for n + 1 then finds, and an error is left for that query to
 * meet and report.
 */
#define PREFETCH_MAX 16

struct prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct reel_log *log;
    struct reel_video_source *vs[PREFETCH_MAX];
    int64_t at_us[PREFETCH_MAX];
    int n;       /* sources of the current job */
    int claimed; /* sources taken by either thread so far */
    int done;    /* sources decoded */
    bool busy, stop;
};

/* Decode the job's unclaimed sources one by one until none is left; with pf->lock held, which
 * is released around each decode. */
static void prefetch_drain(struct prefetch *pf)
{
    while (pf->claimed < pf->n) {
        int i = pf->claimed++;
        pthread_mutex_unlock(&pf->lock);
        const AVFrame *f;
        struct reel_err err = {0};
        (void)reel_video_source_get(pf->vs[i], pf->at_us[i], &f, &err);
        pthread_mutex_lock(&pf->lock);
        if (++pf->done == pf->n) {
            pf->busy = false;
            pthread_cond_broadcast(&pf->cond);
        }
    }
}

static void *prefetch_main(void *arg)
{
    struct prefetch *pf = arg;
    reel_thread_name("reel-decode");
    reel_log_set_thread_logger(pf->log);
    pthread_mutex_lock(&pf->lock);
    for (;;) {
        while (!pf->busy && !pf->stop)
            pthread_cond_wait(&pf->cond, &pf->lock);
        if (pf->stop)
            break;
        prefetch_drain(pf);
        /* Sources the render thread took may still be decoding: wait for the job to end. */
        while (pf->busy && !pf->stop)
            pthread_cond_wait(&pf->cond, &pf->lock);
    }
    pthread_mutex_unlock(&pf->lock);
    return NULL;
}

static struct prefetch *prefetch_start(struct reel_log *log)
{
    struct prefetch *pf = calloc(1, sizeof(*pf));
    if (!pf)
        return NULL;
    pf->log = log;
    pthread_mutex_init(&pf->lock, NULL);
    pthread_cond_init(&pf->cond, NULL);
    if (pthread_create(&pf->thread, NULL, prefetch_main, pf) != 0) {
        pthread_mutex_destroy(&pf->lock);
        pthread_cond_destroy(&pf->cond);
        free(pf);
        return NULL;
    }
    return pf;
}

/* Decode what the thread has not reached, then wait until the sources are the render thread's
 * again. */
static void prefetch_wait(struct prefetch *pf)
{
    if (!pf)
        return;
    pthread_mutex_lock(&pf->lock);
    prefetch_drain(pf);
    while (pf->busy)
        pthread_cond_wait(&pf->cond, &pf->lock);
    pthread_mutex_unlock(&pf->lock);
}

static void prefetch_stop(struct prefetch **pfp)
{
    struct prefetch *pf = *pfp;
    if (!pf)
        return;
    pthread_mutex_lock(&pf->lock);
    pf->stop = true;
    pthread_cond_broadcast(&pf->cond);
    pthread_mutex_unlock(&pf->lock);
    pthread_join(pf->thread, NULL);
    pthread_mutex_destroy(&pf->lock);
    pthread_cond_destroy(&pf->cond);
    free(pf);
    *pfp = NULL;
}

static const enum AVPixelFormat pix_fmts[] = {AV_PIX_FMT_YUV420P, AV_PIX_FMT_NV12, AV_PIX_FMT_RGBA,
                                              AV_PIX_FMT_NONE};

/* Formats the output graph can make besides the advertised ones: any software format swscale
 * writes (the render loop may ask for an encoder's own layout). */
static bool can_output(enum AVPixelFormat f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    return d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL) && sws_isSupportedOutput(f) > 0;
}

static bool is_rgb(enum AVPixelFormat f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    return d && (d->flags & AV_PIX_FMT_FLAG_RGB);
}

static int fail(struct reel_engine *eng, int ret, const char *stage)
{
    if (!eng->err.code)
        reel_err_set(&eng->err, ret, stage, NULL);
    REEL_ERROR(eng->log, "cpu engine: %s failed: %s%s%s", stage, eng->err.msg,
               eng->err.path[0] ? " at " : "", eng->err.path);
    return ret;
}

static int cpu_probe(const struct reel_engine_cfg *cfg)
{
    (void)cfg;
    const char *needed[] = {"buffer", "buffersink", "scale", "format",
                            "crop",   "transpose",  "hflip", "vflip"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        if (!avfilter_get_by_name(needed[i]))
            return -REEL_EENGINE_UNAVAILABLE;
    return 0;
}

static int auto_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > MAX_AUTO_THREADS ? MAX_AUTO_THREADS : (int)n);
}

static void cpu_describe(const struct reel_engine_cfg *cfg, char *buf, size_t cap)
{
    int threads = cfg && cfg->threads > 0 ? cfg->threads : auto_threads();
    unsigned v = avfilter_version();
    snprintf(buf, cap, "cpu: software compositor on libavfilter %u.%u.%u, %d worker thread%s\n",
             v >> 16, (v >> 8) & 0xff, v & 0xff, threads, threads == 1 ? "" : "s");
}

static int cpu_init(struct reel_engine *eng, const struct reel_engine_cfg *cfg)
{
    struct cpu_priv *p = eng->priv;
    int ret;
    if (cfg->width <= 0 || cfg->height <= 0 || cfg->width > 16384 || cfg->height > 16384) {
        ret = reel_err_set(&eng->err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "unsupported output size %dx%d", cfg->width, cfg->height);
        return fail(eng, ret, "init");
    }
    p->next_us = -1;
    p->threads = cfg->threads > 0 ? cfg->threads : auto_threads();
    ret = reel_cpu_pool_create(p->threads, &p->pool);
    if (ret < 0) {
        reel_err_set(&eng->err, ret, "engine", "cannot start %d worker threads", p->threads);
        return fail(eng, ret, "init");
    }
    p->canvas_stride = (cfg->width * 4 + 63) & ~63;
    p->canvas_pool = av_buffer_pool_init((size_t)p->canvas_stride * cfg->height + 64, NULL);
    if (!p->canvas_pool)
        return fail(eng, -REEL_ENOMEM, "init");
    REEL_DEBUG(eng->log, "cpu engine: %dx%d %s, %d threads", cfg->width, cfg->height,
               av_get_pix_fmt_name(cfg->pix_fmt), p->threads);
    return 0;
}

static void free_layers(struct cpu_priv *p)
{
    prefetch_stop(&p->prefetch);
    p->next_us = -1;
    for (int i = 0; p->layers && i < p->n_layers; i++) {
        struct layer *ly = &p->layers[i];
        reel_image_uninit(&ly->box);
        reel_cpu_occupancy_free(&ly->occ);
        reel_video_source_close(&ly->vs);
        reel_cpu_graph_uninit(&ly->graph);
        av_frame_free(&ly->scaled);
        av_frame_free(&ly->yuv);
        reel_cpu_scratch_uninit(&ly->scratch);
    }
    free(p->layers);
    free(p->draws);
    p->layers = NULL;
    p->draws = NULL;
    p->n_layers = 0;
}

static void cpu_uninit(struct reel_engine *eng)
{
    struct cpu_priv *p = eng->priv;
    if (!p)
        return;
    free_layers(p);
    if (p->has_out_graph)
        reel_cpu_graph_uninit(&p->out_graph);
    p->has_out_graph = false;
    reel_cpu_pool_destroy(&p->pool);
    av_buffer_pool_uninit(&p->canvas_pool);
    av_buffer_pool_uninit(&p->yuv_pool);
}

static void premultiply_color(struct reel_color c, uint8_t out[4])
{
    out[0] = (uint8_t)reel_cpu_div255((uint32_t)c.r * c.a);
    out[1] = (uint8_t)reel_cpu_div255((uint32_t)c.g * c.a);
    out[2] = (uint8_t)reel_cpu_div255((uint32_t)c.b * c.a);
    out[3] = c.a;
}

static int tex_size(double box)
{
    double v = floor(box + 0.5);
    return v < 1.0 ? 1 : (v > MAX_TEX ? MAX_TEX : (int)v);
}

/* A content edge rounded to the nearest texel edge; bounded so that absurd fits (a sliver of an
 * image covering a wide box) stay representable. */
static int texel_edge(double v)
{
    v = floor(v + 0.5);
    return v < -1e8 ? -100000000 : (v > 1e8 ? 100000000 : (int)v);
}

/* Where content of cw x ch lands in the box image, in whole texels, from the layer's fit. */
static void content_rect(const struct layer *ly, enum reel_fit fit, double cw, double ch, int *x0,
                         int *y0, int *w, int *h)
{
    double dx, dy, dw, dh;
    reel_fit_rect(fit, cw, ch, ly->bw, ly->bh, &dx, &dy, &dw, &dh);
    double kx = ly->tex_w / ly->bw, ky = ly->tex_h / ly->bh;
    int ax = texel_edge(dx * kx), bx = texel_edge((dx + dw) * kx);
    int ay = texel_edge(dy * ky), by = texel_edge((dy + dh) * ky);
    *x0 = ax;
    *y0 = ay;
    *w = bx - ax > 0 ? bx - ax : (dw > 0.0 ? 1 : 0);
    *h = by - ay > 0 ? by - ay : (dh > 0.0 ? 1 : 0);
}

/* Filter taps for one output coordinate of a tent-filter resample. */
struct taps {
    int first, n;
    float *w;
};

/* Tent ("bilinear") filter widened to the scale factor when shrinking, so a downscale averages
 * every source pixel instead of skipping some. Taps are clamped to the source edge. */
static int make_taps(int src_n, int dst_n, int lo, int hi, struct taps **out, float **wbuf)
{
    double scale = (double)src_n / dst_n;
    double support = scale > 1.0 ? scale : 1.0;
    int max_taps = (int)ceil(2.0 * support) + 2;
    struct taps *t = calloc((size_t)(hi - lo), sizeof(*t));
    float *w = malloc(sizeof(*w) * (size_t)(hi - lo) * max_taps);
    if (!t || !w) {
        free(t);
        free(w);
        return -REEL_ENOMEM;
    }
    for (int i = lo; i < hi; i++) {
        struct taps *ti = &t[i - lo];
        double c = (i + 0.5) * scale - 0.5;
        int first = (int)floor(c - support) + 1;
        ti->first = first;
        ti->w = w + (size_t)(i - lo) * max_taps;
        double sum = 0.0;
        int n = 0;
        for (int j = first; j < first + max_taps && j <= c + support; j++) {
            double v = 1.0 - fabs(j - c) / support;
            ti->w[n++] = (float)(v > 0.0 ? v : 0.0);
            sum += v > 0.0 ? v : 0.0;
        }
        for (int k = 0; k < n; k++)
            ti->w[k] = sum > 0.0 ? (float)(ti->w[k] / sum) : (k == 0 ? 1.0f : 0.0f);
        ti->n = n;
    }
    *out = t;
    *wbuf = w;
    return 0;
}

/*
 * Resample premultiplied src to a virtual dw x dh image and write its window [wx0, wx1) x
 * [wy0, wy1) to dst (dst row 0 = window row wy0). Vertical pass first, one row at a time, so the
 * working memory is one source row whatever the sizes.
 */
static int resample(const struct reel_image *src, int dw, int dh, int wx0, int wy0, int wx1,
                    int wy1, uint8_t *dst, int dst_stride)
{
    struct taps *tx = NULL, *ty = NULL;
    float *wx = NULL, *wy = NULL, *row = NULL;
    int ret = make_taps(src->width, dw, wx0, wx1, &tx, &wx);
    if (ret >= 0)
        ret = make_taps(src->height, dh, wy0, wy1, &ty, &wy);
    if (ret >= 0 && !(row = malloc(sizeof(*row) * (size_t)src->width * 4)))
        ret = -REEL_ENOMEM;
    if (ret < 0)
        goto out;
    for (int y = wy0; y < wy1; y++) {
        const struct taps *tv = &ty[y - wy0];
        for (int i = 0; i < src->width * 4; i++)
            row[i] = 0.0f;
        for (int k = 0; k < tv->n; k++) {
            int sy = tv->first + k;
            sy = sy < 0 ? 0 : (sy >= src->height ? src->height - 1 : sy);
            const uint8_t *s = src->data + (size_t)sy * src->stride;
            float wk = tv->w[k];
            for (int i = 0; i < src->width * 4; i++)
                row[i] += wk * s[i];
        }
        uint8_t *d = dst + (size_t)(y - wy0) * dst_stride;
        for (int x = wx0; x < wx1; x++) {
            const struct taps *th = &tx[x - wx0];
            float acc[4] = {0, 0, 0, 0};
            for (int k = 0; k < th->n; k++) {
                int sx = th->first + k;
                sx = sx < 0 ? 0 : (sx >= src->width ? src->width - 1 : sx);
                for (int c = 0; c < 4; c++)
                    acc[c] += th->w[k] * row[4 * sx + c];
            }
            uint8_t *o = d + 4 * (x - wx0);
            int a = (int)(acc[3] + 0.5f);
            a = a < 0 ? 0 : (a > 255 ? 255 : a);
            for (int c = 0; c < 3; c++) {
                int v = (int)(acc[c] + 0.5f);
                o[c] = (uint8_t)(v < 0 ? 0 : (v > a ? a : v));
            }
            o[3] = (uint8_t)a;
        }
    }
out:
    if (tx)
        free(tx);
    if (ty)
        free(ty);
    free(wx);
    free(wy);
    free(row);
    return ret;
}

/*
 * The box-image pixels the layer's effects must compute: all of them, but with a blur only those
 * the output can show over the layer's life (src/timeline/geometry.h) plus two texels for the
 * bilinear footprint, so that a blur's cost follows what is seen, not the box.
 */
static void effects_region(const struct reel_timeline *tl, struct layer *ly)
{
    const struct reel_layer *l = ly->l;
    ly->fx_at = ly->fx_in = (struct reel_cpu_rect){0, 0, ly->tex_w, ly->tex_h};
    double reach = 0.0;
    for (int i = 0; i < l->n_effects; i++)
        if (l->effects[i].type == REEL_FX_BLUR && l->effects[i].sigma > 0.0)
            reach += ceil(3.0 * l->effects[i].sigma);
    if (!(reach > 0.0) || !(ly->bw > 0.0) || !(ly->bh > 0.0))
        return;
    double b[4];
    if (!reel_layer_visible_box(tl, l, ly->bw, ly->bh, 2.0, b)) {
        ly->fx_at = ly->fx_in = (struct reel_cpu_rect){0, 0, 0, 0};
        return;
    }
    double kx = ly->tex_w / ly->bw, ky = ly->tex_h / ly->bh;
    double x0 = floor(b[0] * kx) - 2.0, y0 = floor(b[1] * ky) - 2.0;
    double x1 = ceil(b[2] * kx) + 2.0, y1 = ceil(b[3] * ky) + 2.0;
    ly->fx_at.x0 = (int)fmax(x0, 0.0);
    ly->fx_at.y0 = (int)fmax(y0, 0.0);
    ly->fx_at.x1 = (int)fmin(x1, ly->tex_w);
    ly->fx_at.y1 = (int)fmin(y1, ly->tex_h);
    ly->fx_in.x0 = (int)fmax(x0 - reach, 0.0);
    ly->fx_in.y0 = (int)fmax(y0 - reach, 0.0);
    ly->fx_in.x1 = (int)fmin(x1 + reach, ly->tex_w);
    ly->fx_in.y1 = (int)fmin(y1 + reach, ly->tex_h);
}

/* Fit static content into the layer's box image (or borrow it when it already is one). */
static int place_static(struct layer *ly, const struct reel_image *content, enum reel_fit fit)
{
    int x0, y0, w, h;
    content_rect(ly, fit, content->width, content->height, &x0, &y0, &w, &h);
    if (x0 == 0 && y0 == 0 && w == ly->tex_w && h == ly->tex_h && w == content->width &&
        h == content->height && ly->l->n_effects == 0) {
        ly->tex = content->data;
        ly->tex_stride = content->stride;
        return 0;
    }
    int ret = reel_image_alloc(&ly->box, ly->tex_w, ly->tex_h);
    if (ret < 0)
        return ret;
    ly->tex = ly->box.data;
    ly->tex_stride = ly->box.stride;
    /* Only the texels the effects read (all of them without a blur). */
    int vx0 = x0 > ly->fx_in.x0 ? x0 : ly->fx_in.x0, vy0 = y0 > ly->fx_in.y0 ? y0 : ly->fx_in.y0;
    int vx1 = x0 + w < ly->fx_in.x1 ? x0 + w : ly->fx_in.x1,
        vy1 = y0 + h < ly->fx_in.y1 ? y0 + h : ly->fx_in.y1;
    if (vx0 >= vx1 || vy0 >= vy1)
        return 0;
    uint8_t *dst = ly->box.data + (size_t)vy0 * ly->box.stride + 4 * vx0;
    if (w == content->width && h == content->height) {
        for (int y = vy0; y < vy1; y++)
            memcpy(dst + (size_t)(y - vy0) * ly->box.stride,
                   content->data + (size_t)(y - y0) * content->stride + 4 * (vx0 - x0),
                   (size_t)(vx1 - vx0) * 4);
        return 0;
    }
    return resample(content, w, h, vx0 - x0, vy0 - y0, vx1 - x0, vy1 - y0, dst, ly->box.stride);
}

/* Build the layer's scale graph for frames like f. */
static int build_video_graph(struct layer *ly, const AVFrame *f, struct reel_err *err)
{
    reel_cpu_graph_uninit(&ly->graph);
    return reel_cpu_graph_init(&ly->graph, f->width, f->height, (enum AVPixelFormat)f->format,
                               ly->chain, err);
}

static int prepare_video(struct reel_engine *eng, const struct reel_timeline *tl,
                         struct reel_video_opener *o, int i, struct layer *ly)
{
    const struct reel_layer *l = ly->l;
    int ret = reel_video_opener_take(o, tl, i, &ly->vs, &eng->err);
    if (ret < 0)
        return ret;
    int sw, sh, fw, fh;
    reel_video_source_size(ly->vs, &sw, &sh);
    reel_video_source_frame_size(ly->vs, &fw, &fh);
    bool is_square_px = fw == sw && fh == sh; /* else stretched by its sample aspect ratio */
    /* Turn the picture upright first (phones store portrait video sideways with a display
     * matrix); everything after works on the upright size. */
    const char *turn = "";
    switch (reel_video_source_rotation(ly->vs)) {
    case 90:
        turn = "transpose=clock,";
        break;
    case 180:
        turn = "hflip,vflip,";
        break;
    case 270:
        turn = "transpose=cclock,";
        break;
    default:
        break;
    }
    if (reel_video_source_rotation(ly->vs) % 180) {
        int t = sw;
        sw = sh;
        sh = t;
    }
    reel_layer_box(tl, l, sw, sh, &ly->bw, &ly->bh);
    ly->tex_w = tex_size(ly->bw);
    ly->tex_h = tex_size(ly->bh);
    effects_region(tl, ly);
    content_rect(ly, l->fit, sw, sh, &ly->cx0, &ly->cy0, &ly->cw, &ly->ch);
    if (ly->cw <= 0 || ly->ch <= 0) {
        ly->is_drawn = false;
        return 0;
    }
    /* Natural size overflowing the box: crop the source to what shows; no scaling is involved,
     * so the crop is exact. Other fits scale the whole picture (a cover overflow is at most the
     * box's aspect ratio times the source's). */
    if (l->fit == REEL_FIT_NATURAL &&
        (ly->cx0 < 0 || ly->cy0 < 0 || ly->cx0 + ly->cw > ly->tex_w ||
         ly->cy0 + ly->ch > ly->tex_h) &&
        ly->cw == sw && ly->ch == sh && is_square_px) {
        int x = ly->cx0 < 0 ? -ly->cx0 : 0, y = ly->cy0 < 0 ? -ly->cy0 : 0;
        int w = (ly->cx0 + ly->cw < ly->tex_w ? ly->cx0 + ly->cw : ly->tex_w) - (ly->cx0 + x);
        int h = (ly->cy0 + ly->ch < ly->tex_h ? ly->cy0 + ly->ch : ly->tex_h) - (ly->cy0 + y);
        snprintf(ly->chain, sizeof(ly->chain),
                 "%scrop=w=%d:h=%d:x=%d:y=%d:exact=1,scale=flags=" VIDEO_SWS_FLAGS ",format=rgba",
                 turn, w, h, x, y);
        ly->cx0 += x;
        ly->cy0 += y;
        ly->cw = w;
        ly->ch = h;
    } else {
        if ((int64_t)ly->cw * ly->ch > (int64_t)MAX_TEX * MAX_TEX)
            return reel_err_set(&eng->err, REEL_ELIMIT, l->path,
                                "video content fitted to %dx%d is too large", ly->cw, ly->ch);
        snprintf(ly->chain, sizeof(ly->chain),
                 "%sscale=w=%d:h=%d:flags=" VIDEO_SWS_FLAGS ",format=rgba", turn, ly->cw, ly->ch);
    }
    const AVFrame *f = NULL;
    ret = reel_video_source_get(ly->vs, l->trim_us, &f, &eng->err);
    if (ret < 0)
        return ret;
    ret = build_video_graph(ly, f, &eng->err);
    if (ret < 0)
        return ret;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    bool has_alpha = desc && (desc->flags & AV_PIX_FMT_FLAG_ALPHA);
    /* Opaque video scaled to exactly the box is already a valid premultiplied box image. */
    ly->is_direct = !has_alpha && l->n_effects == 0 && ly->cx0 == 0 && ly->cy0 == 0 &&
                    ly->cw == ly->tex_w && ly->ch == ly->tex_h;
    if (!(ly->scaled = av_frame_alloc()) || !(ly->yuv = av_frame_alloc()))
        return -REEL_ENOMEM;
    /* Nothing is decoded until the layer shows (its box image is allocated then, too); a layer
     * shown from the first frame keeps its decoder open, with that frame already decoded. */
    struct reel_layer_state st0;
    reel_eval_layer(tl, l, 0, &st0);
    if (!st0.visible)
        reel_video_source_suspend(ly->vs);
    return 0;
}

/*
 * The output conversion for the format asked for now. It is chosen here, not at init, because the
 * caller may change eng->cfg.pix_fmt between init and prepare (to RGBA when its encoder wants a
 * layout the engine does not list); init therefore accepts any format.
 * YUV gets BT.709 limited range; other RGB layouts are a plain repack.
 */
static int prepare_output(struct reel_engine *eng)
{
    struct cpu_priv *p = eng->priv;
    enum AVPixelFormat fmt = eng->cfg.pix_fmt;
    if (p->has_out_graph && p->out_fmt == fmt)
        return 0;
    if (p->has_out_graph)
        reel_cpu_graph_uninit(&p->out_graph);
    p->has_out_graph = false;
    p->out_fmt = fmt;
    p->is_yuv_out = false;
    if (fmt == AV_PIX_FMT_RGBA)
        return 0;
    if (fmt == AV_PIX_FMT_YUV420P && !(eng->cfg.width & 1) && !(eng->cfg.height & 1)) {
        /* Three planes in one pooled buffer, rows aligned for SIMD. */
        int w = eng->cfg.width, h = eng->cfg.height;
        p->yuv_stride[0] = (w + 63) & ~63;
        p->yuv_stride[1] = p->yuv_stride[2] = (w / 2 + 63) & ~63;
        p->yuv_offset[0] = 0;
        p->yuv_offset[1] = (size_t)p->yuv_stride[0] * h;
        p->yuv_offset[2] = p->yuv_offset[1] + (size_t)p->yuv_stride[1] * (h / 2);
        size_t size = p->yuv_offset[2] + (size_t)p->yuv_stride[2] * (h / 2) + 64;
        av_buffer_pool_uninit(&p->yuv_pool);
        if (!(p->yuv_pool = av_buffer_pool_init(size, NULL)))
            return -REEL_ENOMEM;
        p->is_yuv_out = true;
        return 0;
    }
    if (!can_output(fmt)) {
        const char *name = av_get_pix_fmt_name(fmt);
        return reel_err_set(&eng->err, REEL_ERENDER, "engine", "cannot output pixel format %s",
                            name ? name : "(none)");
    }
    char chain[256];
    snprintf(chain, sizeof(chain), "scale=w=%d:h=%d:flags=bicubic+accurate_rnd%s,format=%s",
             eng->cfg.width, eng->cfg.height,
             is_rgb(fmt) ? "" : ":out_color_matrix=bt709:out_range=tv", av_get_pix_fmt_name(fmt));
    int ret = reel_cpu_graph_init(&p->out_graph, eng->cfg.width, eng->cfg.height, AV_PIX_FMT_RGBA,
                                  chain, &eng->err);
    if (ret < 0)
        return ret;
    p->has_out_graph = true;
    return 0;
}

static int cpu_prepare(struct reel_engine *eng, const struct reel_scene *scene)
{
    struct cpu_priv *p = eng->priv;
    const struct reel_timeline *tl = scene->tl;
    int ret = 0;
    free_layers(p);
    p->scene = NULL; /* rendering needs a prepare that succeeded */
    memset(&eng->err, 0, sizeof(eng->err));
    ret = prepare_output(eng);
    if (ret < 0)
        return fail(eng, ret, "prepare");
    premultiply_color(tl->out.background, p->bg);
    reel_cpu_rgba_to_yuv(p->bg, p->bg_yuv);
    if (tl->n_layers > 0) {
        p->layers = calloc((size_t)tl->n_layers, sizeof(*p->layers));
        p->draws = calloc((size_t)tl->n_layers, sizeof(*p->draws));
        if (!p->layers || !p->draws) {
            free_layers(p);
            return fail(eng, -REEL_ENOMEM, "prepare");
        }
    }
    p->n_layers = tl->n_layers;
    struct reel_video_opener opener;
    reel_video_opener_init(&opener, eng, true); /* decoded ahead on the prefetch thread */
    for (int i = 0; i < tl->n_layers; i++) {
        struct layer *ly = &p->layers[i];
        const struct reel_layer *l = &tl->layers[i];
        ly->l = l;
        if (!reel_layer_is_visual(l))
            continue;
        ly->is_drawn = true;
        const struct reel_image *content = scene->content ? &scene->content[i] : NULL;
        switch (l->type) {
        case REEL_LAYER_COLOR:
            reel_layer_box(tl, l, 0, 0, &ly->bw, &ly->bh);
            premultiply_color(l->color, ly->solid);
            /* A solid fill stays solid under every effect (blur with clamped edges included). */
            reel_cpu_effects_pixel(l->effects, l->n_effects, ly->solid);
            break;
        case REEL_LAYER_IMAGE:
        case REEL_LAYER_TEXT:
        case REEL_LAYER_SHAPE: {
            if (!content || !content->data || content->width <= 0 || content->height <= 0) {
                /* Empty text rasterises to nothing; an image must have pixels. */
                if (l->type == REEL_LAYER_IMAGE) {
                    ret = reel_err_set(&eng->err, REEL_ERENDER, l->path,
                                       "image layer has no decoded content");
                    goto fail;
                }
                ly->is_drawn = false;
                continue;
            }
            reel_layer_box(tl, l, content->width, content->height, &ly->bw, &ly->bh);
            ly->tex_w = tex_size(ly->bw);
            ly->tex_h = tex_size(ly->bh);
            enum reel_fit fit = l->type == REEL_LAYER_IMAGE ? l->fit : REEL_FIT_NATURAL;
            effects_region(tl, ly);
            ret = place_static(ly, content, fit);
            if (ret >= 0 && ly->box.data)
                ret = reel_cpu_effects_apply_rect(l->effects, l->n_effects, &ly->box, &ly->fx_at,
                                                  p->pool, &ly->scratch);
            reel_cpu_scratch_uninit(&ly->scratch);
            if (ret >= 0 && ly->tex)
                ret = reel_cpu_occupancy_build(&ly->occ, ly->tex, ly->tex_stride, ly->tex_w,
                                               ly->tex_h);
            if (ret < 0) {
                reel_err_set(&eng->err, ret, l->path, "preparing the layer's content: %s",
                             reel_err_default_msg(ret));
                goto fail;
            }
            break;
        }
        case REEL_LAYER_VIDEO:
            ret = prepare_video(eng, tl, &opener, i, ly);
            if (ret < 0) {
                if (!eng->err.code)
                    reel_err_set(&eng->err, ret, l->path, NULL);
                snprintf(eng->err.path, sizeof(eng->err.path), "%s", l->path);
                goto fail;
            }
            break;
        default:
            ly->is_drawn = false;
            break;
        }
        if (!(ly->bw > 0.0) || !(ly->bh > 0.0))
            ly->is_drawn = false;
    }
    reel_video_opener_stop(&opener);
    p->scene = scene;
    memset(&p->stats, 0, sizeof(p->stats));
    return 0;
fail:
    reel_video_opener_stop(&opener);
    fail(eng, ret, "prepare");
    free_layers(p);
    return ret;
}

struct copy_job {
    struct layer *ly;
    const AVFrame *src;
};

/* Premultiply the graph's output into the box image and clear the margins around it. */
static void copy_band(void *ctx, int band, int n_bands)
{
    struct copy_job *j = ctx;
    struct layer *ly = j->ly;
    int y0, y1;
    reel_cpu_band_rows(0, ly->tex_h, band, n_bands, &y0, &y1);
    int vx0 = ly->cx0 > 0 ? ly->cx0 : 0;
    int vx1 = ly->cx0 + ly->cw < ly->tex_w ? ly->cx0 + ly->cw : ly->tex_w;
    for (int y = y0; y < y1; y++) {
        uint8_t *row = ly->box.data + (size_t)y * ly->box.stride;
        int sy = y - ly->cy0;
        if (sy < 0 || sy >= ly->ch || vx0 >= vx1) {
            memset(row, 0, (size_t)ly->tex_w * 4);
            continue;
        }
        if (vx0 > 0)
            memset(row, 0, (size_t)vx0 * 4);
        if (vx1 < ly->tex_w)
            memset(row + 4 * vx1, 0, (size_t)(ly->tex_w - vx1) * 4);
        const uint8_t *s = j->src->data[0] + (size_t)sy * j->src->linesize[0] + 4 * (vx0 - ly->cx0);
        reel_cpu_premultiply_row(row + 4 * vx0, s, vx1 - vx0);
    }
}

/* Whether decoded frame f can be drawn as it is on the YUV canvas: already yuv420p at the box's
 * size, filling it, in the output's matrix and range, with nothing to apply to it. */
static bool frame_is_canvas_ready(const struct layer *ly, const AVFrame *f)
{
    return f->format == AV_PIX_FMT_YUV420P && reel_video_frame_colorspace(f) == AVCOL_SPC_BT709 &&
           f->color_range != AVCOL_RANGE_JPEG && f->width == ly->tex_w && f->height == ly->tex_h &&
           ly->cw == ly->tex_w && ly->ch == ly->tex_h && ly->cx0 == 0 && ly->cy0 == 0 &&
           ly->l->n_effects == 0 && reel_video_source_rotation(ly->vs) == 0;
}

/* Keep f itself for drawing on the YUV canvas (a reference; nothing is converted). */
static int hold_yuv(struct layer *ly, const AVFrame *f)
{
    if (ly->yuv->buf[0] && ly->yuv->pts == f->pts)
        return 0;
    av_frame_unref(ly->yuv);
    return av_frame_ref(ly->yuv, f) < 0 ? -REEL_ENOMEM : 0;
}

/* A layer that does not show: close its decoder and let go of every picture it holds. */
static void park_video(struct layer *ly)
{
    if (ly->is_parked)
        return;
    ly->is_parked = true;
    reel_video_source_suspend(ly->vs);
    av_frame_unref(ly->yuv);
    av_frame_unref(ly->scaled);
    reel_image_uninit(&ly->box);
    reel_cpu_graph_uninit(&ly->graph);
    reel_cpu_scratch_uninit(&ly->scratch);
    ly->has_frame = false;
    ly->tex = NULL;
#ifdef __GLIBC__
    /* A decoder's buffers are large and freed in a burst; hand the space back to the system
     * rather than keep it in the heap for the next clip. */
    malloc_trim(0);
#endif
}

/* Bring the layer's box image up to date with source frame f. */
static int update_video(struct reel_engine *eng, struct layer *ly, const AVFrame *f)
{
    struct cpu_priv *p = eng->priv;
    int ret;
    if (ly->has_frame && ly->frame_pts == f->pts)
        return 0;
    ly->has_frame = false;
    if (!ly->graph.graph || f->format != ly->graph.in_fmt || f->width != ly->graph.in_w ||
        f->height != ly->graph.in_h) {
        if (ly->graph.graph)
            REEL_INFO(eng->log,
                      "%s: the video changed to %dx%d %s mid-stream; rebuilding its scaler",
                      ly->l->path, f->width, f->height,
                      av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        ret = build_video_graph(ly, f, &eng->err);
        if (ret < 0)
            return ret;
    }
    if (!ly->is_direct && !ly->box.data &&
        (ret = reel_image_alloc(&ly->box, ly->tex_w, ly->tex_h)) < 0)
        return ret;
    AVFrame *in = av_frame_clone(f);
    if (!in)
        return -REEL_ENOMEM;
    in->colorspace = reel_video_frame_colorspace(in);
    in->sample_aspect_ratio = (AVRational){1, 1};
    av_frame_unref(ly->scaled);
    ret = reel_cpu_graph_run(&ly->graph, in, ly->scaled, &eng->err);
    av_frame_free(&in);
    if (ret < 0)
        return ret;
    if (ly->scaled->width != ly->cw || ly->scaled->height != ly->ch ||
        ly->scaled->format != AV_PIX_FMT_RGBA)
        return reel_err_set(&eng->err, REEL_ERENDER, ly->l->path,
                            "the scaler produced %dx%d, expected %dx%d rgba", ly->scaled->width,
                            ly->scaled->height, ly->cw, ly->ch);
    if (ly->is_direct) {
        ly->tex = ly->scaled->data[0];
        ly->tex_stride = ly->scaled->linesize[0];
    } else {
        struct copy_job job = {.ly = ly, .src = ly->scaled};
        reel_cpu_pool_run(p->pool, copy_band, &job);
        av_frame_unref(ly->scaled);
        ly->tex = ly->box.data;
        ly->tex_stride = ly->box.stride;
        ret = reel_cpu_effects_apply_rect(ly->l->effects, ly->l->n_effects, &ly->box, &ly->fx_at,
                                          p->pool, &ly->scratch);
        if (ret < 0)
            return reel_err_set(&eng->err, ret, ly->l->path, "applying effects: %s",
                                reel_err_default_msg(ret));
    }
    ly->has_frame = true;
    ly->frame_pts = f->pts;
    return 0;
}

static bool is_mask(enum reel_transition_type t)
{
    switch (t) {
    case REEL_TR_WIPE_LEFT:
    case REEL_TR_WIPE_RIGHT:
    case REEL_TR_WIPE_UP:
    case REEL_TR_WIPE_DOWN:
    case REEL_TR_CIRCLE_OPEN:
    case REEL_TR_CIRCLE_CLOSE:
    case REEL_TR_RADIAL:
        return true;
    default:
        return false;
    }
}

struct frame_job {
    struct reel_cpu_canvas canvas;
    struct reel_cpu_yuv_canvas yuv; /* used when yuv.data[0] is set */
    const uint8_t *bg, *bg_yuv;
    bool skip_fill; /* the first draw covers every pixel opaquely */
    const struct reel_cpu_draw *draws;
    int n_draws;
    bool unpremultiply;
};

static void frame_band(void *ctx, int band, int n_bands)
{
    struct frame_job *j = ctx;
    int y0, y1;
    if (j->yuv.data[0]) {
        /* Bands of whole chroma rows, so that each 2x2 block belongs to one band. */
        reel_cpu_band_rows(0, j->yuv.height / 2, band, n_bands, &y0, &y1);
        y0 *= 2;
        y1 *= 2;
        if (!j->skip_fill)
            reel_cpu_yuv_fill_rows(&j->yuv, y0, y1, j->bg_yuv);
        for (int i = 0; i < j->n_draws; i++)
            reel_cpu_yuv_draw_rows(&j->yuv, &j->draws[i], y0, y1);
        return;
    }
    reel_cpu_band_rows(0, j->canvas.height, band, n_bands, &y0, &y1);
    reel_cpu_fill_rows(&j->canvas, y0, y1, j->bg);
    for (int i = 0; i < j->n_draws; i++)
        reel_cpu_draw_rows(&j->canvas, &j->draws[i], y0, y1);
    if (j->unpremultiply)
        for (int y = y0; y < y1; y++)
            reel_cpu_unpremultiply_row(j->canvas.data + (size_t)y * j->canvas.stride,
                                       j->canvas.width);
}

static bool has_alpha(enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    return d && (d->flags & AV_PIX_FMT_FLAG_ALPHA);
}

static void tag_frame(AVFrame *f, int64_t pts_us, bool is_rgb_out)
{
    f->pts = pts_us;
    f->color_range = is_rgb_out ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    f->colorspace = is_rgb_out ? AVCOL_SPC_RGB : AVCOL_SPC_BT709;
    f->color_primaries = AVCOL_PRI_BT709;
    f->color_trc = AVCOL_TRC_BT709;
    f->sample_aspect_ratio = (AVRational){1, 1};
}

/* A blank frame for the canvas from the engine's pools: RGBA, or yuv420p when composing in it. */
static AVFrame *new_canvas(struct cpu_priv *p, const struct reel_engine_cfg *cfg, bool yuv)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->buf[0] = av_buffer_pool_get(yuv ? p->yuv_pool : p->canvas_pool);
    if (!f->buf[0]) {
        av_frame_free(&f);
        return NULL;
    }
    if (yuv) {
        for (int k = 0; k < 3; k++) {
            f->data[k] = f->buf[0]->data + p->yuv_offset[k];
            f->linesize[k] = p->yuv_stride[k];
        }
    } else {
        f->data[0] = f->buf[0]->data;
        f->linesize[0] = p->canvas_stride;
    }
    f->width = cfg->width;
    f->height = cfg->height;
    f->format = yuv ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_RGBA;
    return f;
}

/*
 * Whether d covers the whole canvas with opaque pixels (an opaque picture or a solid colour). On
 * the fast path output pixel x shows texel x + fast_dx, so the layer spans output columns
 * [-fast_dx, tex_w - fast_dx): it covers [0, width) only when it starts at or before column 0
 * and ends at or after the last. A layer wholly off one side covers nothing.
 */
static bool covers_canvas(const struct reel_cpu_draw *d, const struct reel_engine_cfg *cfg)
{
    bool opaque = d->planes[0] || (!d->data && d->solid[3] == 255);
    return opaque && d->is_fast && !d->n_masks && d->alpha >= 1.0 && d->fast_dx >= 0 &&
           d->fast_dy >= 0 && d->tex_w - d->fast_dx >= cfg->width &&
           d->tex_h - d->fast_dy >= cfg->height;
}

/*
 * Once frames come in order (this one is the frame after the last), hand the prefetch thread the
 * video frames of the next frame. Layers are evaluated as cpu_render does; a layer that shows
 * nothing at n + 1 is left for the render thread to park.
 */
static void prefetch_next(struct reel_engine *eng, int64_t pts_us)
{
    struct cpu_priv *p = eng->priv;
    const struct reel_timeline *tl = p->scene->tl;
    int64_t n = (int64_t)ceil((double)pts_us * tl->out.fps_num / (1e6 * tl->out.fps_den));
    if (reel_timeline_frame_time_us(tl, n) != pts_us)
        n = -1;
    bool in_order = pts_us == p->next_us;
    p->next_us = n >= 0 ? reel_timeline_frame_time_us(tl, n + 1) : -1;
    if (!in_order || n < 0 || n + 1 >= reel_timeline_frame_count(tl))
        return;
    if (!p->prefetch && !(p->prefetch = prefetch_start(eng->log)))
        return; /* no thread: the render thread decodes as before */
    struct prefetch *pf = p->prefetch;
    int k = 0;
    for (int i = 0; i < p->n_layers && k < PREFETCH_MAX; i++) {
        struct layer *ly = &p->layers[i];
        if (!ly->is_drawn || ly->l->type != REEL_LAYER_VIDEO || !ly->vs)
            continue;
        struct reel_layer_state st;
        reel_eval_layer(tl, ly->l, p->next_us, &st);
        if (!st.visible || !(st.opacity * reel_transition_alpha(&st) > 0.0))
            continue;
        pf->vs[k] = ly->vs;
        pf->at_us[k++] = st.source_us;
    }
    if (!k)
        return;
    pthread_mutex_lock(&pf->lock);
    pf->n = k;
    pf->claimed = pf->done = 0;
    pf->busy = true;
    pthread_cond_broadcast(&pf->cond);
    pthread_mutex_unlock(&pf->lock);
}

static int cpu_render(struct reel_engine *eng, int64_t pts_us, AVFrame **out)
{
    struct cpu_priv *p = eng->priv;
    const struct reel_engine_cfg *cfg = &eng->cfg;
    int ret;
    *out = NULL;
    memset(&eng->err, 0, sizeof(eng->err));
    if (!p->scene)
        return fail(eng, reel_err_set(&eng->err, REEL_ERENDER, "render", "not prepared"), "render");
    const struct reel_timeline *tl = p->scene->tl;
    int64_t t_start = av_gettime_relative(), decode_us = 0;
    prefetch_wait(p->prefetch);
    p->stats.decode_s += (av_gettime_relative() - t_start) / 1e6;
    t_start = av_gettime_relative();

    int n_draws = 0;
    for (int i = 0; i < p->n_layers; i++) {
        struct layer *ly = &p->layers[i];
        if (!ly->is_drawn)
            continue;
        const struct reel_layer *l = ly->l;
        struct reel_layer_state st;
        reel_eval_layer(tl, l, pts_us, &st);
        if (!st.visible) {
            if (l->type == REEL_LAYER_VIDEO)
                park_video(ly);
            continue;
        }
        double alpha = st.opacity * reel_transition_alpha(&st);
        if (!(alpha > 0.0))
            continue;
        struct reel_cpu_draw *d = &p->draws[n_draws];
        memset(d, 0, sizeof(*d));
        /* A video's picture is fetched below, once the draw shows which form it needs; setup
         * only asks whether there is one. */
        d->data = l->type == REEL_LAYER_VIDEO ? (const uint8_t *)ly : ly->tex;
        d->stride = ly->tex_stride;
        d->occ = ly->occ.sat ? &ly->occ : NULL;
        d->tex_w = ly->tex_w;
        d->tex_h = ly->tex_h;
        memcpy(d->solid, ly->solid, 4);
        d->bw = ly->bw;
        d->bh = ly->bh;
        d->alpha = alpha > 1.0 ? 1.0 : alpha;
        d->out_w = cfg->width;
        d->out_h = cfg->height;
        if (is_mask(st.tr_in.type))
            d->masks[d->n_masks++] = st.tr_in;
        if (is_mask(st.tr_out.type))
            d->masks[d->n_masks++] = st.tr_out;
        struct reel_affine fwd;
        if (reel_layer_transform(l, &st, ly->bw, ly->bh, cfg->width, cfg->height, &fwd, &d->inv) <
                0 ||
            !reel_cpu_draw_setup(d, &fwd))
            continue;
        if (l->type == REEL_LAYER_VIDEO) {
            const AVFrame *f = NULL;
            int64_t t_dec = av_gettime_relative();
            ly->is_parked = false;
            ret = reel_video_source_get(ly->vs, st.source_us, &f, &eng->err);
            bool as_yuv = ret >= 0 && p->is_yuv_out && reel_cpu_draw_takes_yuv(d) &&
                          frame_is_canvas_ready(ly, f);
            if (ret >= 0)
                ret = as_yuv ? hold_yuv(ly, f) : update_video(eng, ly, f);
            decode_us += av_gettime_relative() - t_dec;
            if (ret < 0) {
                if (!eng->err.code)
                    reel_err_set(&eng->err, ret, l->path, NULL);
                snprintf(eng->err.path, sizeof(eng->err.path), "%s", l->path);
                return fail(eng, ret, "render");
            }
            if (as_yuv) {
                d->data = NULL;
                for (int k = 0; k < 3; k++) {
                    d->planes[k] = ly->yuv->data[k];
                    d->plane_stride[k] = ly->yuv->linesize[k];
                }
            } else {
                d->data = ly->tex;
                d->stride = ly->tex_stride;
            }
        }
        n_draws++;
    }
    /* Whatever lies under an opaque layer covering the whole frame does not show. */
    int first = 0;
    for (int i = n_draws - 1; i > 0 && !first; i--)
        if (covers_canvas(&p->draws[i], cfg))
            first = i;

    AVFrame *canvas = new_canvas(p, cfg, p->is_yuv_out);
    if (!canvas)
        return fail(eng, -REEL_ENOMEM, "render");
    struct frame_job job = {
        .canvas = {canvas->data[0], canvas->linesize[0], cfg->width, cfg->height},
        .bg = p->bg,
        .bg_yuv = p->bg_yuv,
        .skip_fill = n_draws > 0 && covers_canvas(&p->draws[first], cfg),
        .draws = p->draws + first,
        .n_draws = n_draws - first,
        /* Output with alpha (RGBA, and BGRA or YUVA made from it) is straight alpha, like every
         * such frame in FFmpeg. Without alpha, the premultiplied colour is the picture over
         * black. */
        .unpremultiply = !p->is_yuv_out && (!p->has_out_graph || has_alpha(p->out_fmt)),
    };
    if (p->is_yuv_out) {
        for (int k = 0; k < 3; k++) {
            job.yuv.data[k] = canvas->data[k];
            job.yuv.stride[k] = canvas->linesize[k];
        }
        job.yuv.width = cfg->width;
        job.yuv.height = cfg->height;
    }
    prefetch_next(eng, pts_us);
    reel_cpu_pool_run(p->pool, frame_band, &job);
    int64_t t_composed = av_gettime_relative();
    p->stats.decode_s += decode_us / 1e6;
    p->stats.compose_s += (t_composed - t_start - decode_us) / 1e6;

    if (!p->has_out_graph) {
        tag_frame(canvas, pts_us, !p->is_yuv_out);
        *out = canvas;
        return 0;
    }
    tag_frame(canvas, pts_us, true);
    AVFrame *conv = av_frame_alloc();
    if (!conv) {
        av_frame_free(&canvas);
        return fail(eng, -REEL_ENOMEM, "render");
    }
    ret = reel_cpu_graph_run(&p->out_graph, canvas, conv, &eng->err);
    av_frame_free(&canvas);
    p->stats.convert_s += (av_gettime_relative() - t_composed) / 1e6;
    if (ret < 0) {
        av_frame_free(&conv);
        return fail(eng, ret, "render");
    }
    tag_frame(conv, pts_us, is_rgb(p->out_fmt));
    *out = conv;
    return 0;
}

/* Decode covers fetching source frames and fitting them to their boxes; compose the rest of
 * building the canvas; convert the output graph. */
static void cpu_get_stats(const struct reel_engine *eng, struct reel_engine_stats *st)
{
    const struct cpu_priv *p = eng->priv;
    *st = p->stats;
}

static void cpu_query_caps(const struct reel_engine *eng, struct reel_engine_caps *caps)
{
    (void)eng;
    memset(caps, 0, sizeof(*caps));
    caps->is_hw = false;
    size_t n = sizeof(pix_fmts) / sizeof(pix_fmts[0]);
    for (size_t i = 0; i < n && i < sizeof(caps->pix_fmts) / sizeof(caps->pix_fmts[0]); i++)
        caps->pix_fmts[i] = pix_fmts[i];
    caps->max_layers = 0;
}

const struct reel_engine_ops reel_engine_cpu_ops = {
    .name = "cpu",
    .priv_size = sizeof(struct cpu_priv),
    .probe = cpu_probe,
    .init = cpu_init,
    .uninit = cpu_uninit,
    .prepare = cpu_prepare,
    .render = cpu_render,
    .query_caps = cpu_query_caps,
    .describe = cpu_describe,
    .get_stats = cpu_get_stats,
};
