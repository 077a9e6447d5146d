/*
 * The gl engine: headless EGL + OpenGL ES 3.0, the same picture as the cpu engine.
 *
 * Every layer is reduced to a box texture (gl_layers.c), then each frame is: clear the canvas to
 * the background, draw the visible layers bottom to top with compose.frag (geometry from
 * src/timeline/geometry.h evaluated here per layer, masks and edge coverage per fragment), and
 * convert and read back the canvas (gl_output.c). The arithmetic mirrors engines/cpu step by step
 * (docs/engines.md), so the two engines agree to the last bit on most pixels.
 *
 * Threading: the engine owns its context; every entry point makes it current on the calling
 * thread and releases it before returning, so the engine may move between threads between calls
 * and several engines may run on several threads at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <GLES3/gl3.h>
#include <libavutil/pixdesc.h>

#include "engines/gl/gl_priv.h"
#include "timeline/eval.h"
#include "timeline/geometry.h"

static const enum AVPixelFormat pix_fmts[] = {AV_PIX_FMT_YUV420P, AV_PIX_FMT_NV12, AV_PIX_FMT_RGBA,
                                              AV_PIX_FMT_NONE};

static const struct {
    const char *frag, *defines;
} programs[REEL_GL_PROG_COUNT] = {
    [REEL_GL_PROG_RESAMPLE] = {"resample.frag", NULL},
    [REEL_GL_PROG_EFFECTS] = {"effects.frag", NULL},
    [REEL_GL_PROG_BLUR_H] = {"blur_h.frag", NULL},
    [REEL_GL_PROG_BLUR_V] = {"blur_v.frag", NULL},
    [REEL_GL_PROG_OUT_Y] = {"out_y.frag", NULL},
    [REEL_GL_PROG_OUT_UV_PLANAR] = {"out_uv.frag", "#define PLANAR 1\n"},
    [REEL_GL_PROG_OUT_UV_NV12] = {"out_uv.frag", "#define NV12 1\n"},
    [REEL_GL_PROG_OUT_RGBA] = {"out_rgba.frag", NULL},
};

static bool supported_fmt(enum AVPixelFormat f)
{
    for (int i = 0; pix_fmts[i] != AV_PIX_FMT_NONE; i++)
        if (pix_fmts[i] == f)
            return true;
    return false;
}

/* Log the job-ending error once, with its stage, and return ret. */
static int fail(struct reel_engine *eng, int ret, const char *stage)
{
    if (!eng->err.code)
        reel_err_set(&eng->err, -ret, stage, "%s", reel_err_default_msg(ret));
    REEL_ERROR(eng->log, "stage=%s gl engine: %s%s%s", stage, eng->err.msg,
               eng->err.path[0] ? " at " : "", eng->err.path);
    return ret;
}

static int begin(struct reel_engine *eng)
{
    struct reel_gl_priv *p = eng->priv;
    if (!p->is_open)
        return reel_err_set(&eng->err, REEL_ERENDER, "engine", "gl: the engine is not open");
    return reel_gl_ctx_begin(&p->ctx, &eng->err);
}

static void end(struct reel_engine *eng)
{
    struct reel_gl_priv *p = eng->priv;
    reel_gl_ctx_end(&p->ctx);
}

static int gl_probe(const struct reel_engine_cfg *cfg)
{
    char desc[1024];
    struct reel_log *log = cfg ? cfg->log : NULL;
    int ret = reel_gl_probe_display(cfg ? cfg->gpu_index : -1, log, desc, sizeof(desc));
    /* The one line that says why "auto" went to cpu, or why --engine gl cannot start. */
    if (ret < 0)
        REEL_WARN(log, "stage=engine gl engine unavailable: %s", desc);
    return ret;
}

static int gl_init(struct reel_engine *eng, const struct reel_engine_cfg *cfg)
{
    struct reel_gl_priv *p = eng->priv;
    int ret;
    if (cfg->width <= 0 || cfg->height <= 0 || (cfg->width | cfg->height) & 1) {
        ret = reel_err_set(&eng->err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: unsupported output size %dx%d", cfg->width, cfg->height);
        return fail(eng, ret, "init");
    }
    if (!supported_fmt(cfg->pix_fmt)) {
        const char *name = av_get_pix_fmt_name(cfg->pix_fmt);
        ret = reel_err_set(&eng->err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: unsupported output pixel format %s", name ? name : "(none)");
        return fail(eng, ret, "init");
    }
    ret = reel_gl_ctx_open(&p->ctx, cfg->gpu_index, eng->log, &eng->err);
    if (ret < 0)
        return fail(eng, -REEL_EENGINE_UNAVAILABLE, "init");
    p->is_open = true;
    if ((ret = begin(eng)) < 0) {
        eng->err.code = REEL_EENGINE_UNAVAILABLE;
        return fail(eng, -REEL_EENGINE_UNAVAILABLE, "init");
    }
    reel_gl_program_cache_init(&p->programs);
    if (p->programs.shader_dir[0])
        REEL_INFO(eng->log, "stage=init gl: shaders are read from %s (REEL_SHADER_DIR)",
                  p->programs.shader_dir);
    glGenVertexArrays(1, &p->vao);
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &p->max_tex);
    if (p->max_tex > REEL_GL_MAX_TEX)
        p->max_tex = REEL_GL_MAX_TEX;
    ret = reel_gl_check(&eng->err, "engine", "init");
    if (ret == 0 && (cfg->width > p->max_tex || cfg->height > p->max_tex))
        ret = reel_err_set(&eng->err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: %dx%d exceeds the GPU's texture limit %d", cfg->width, cfg->height,
                           p->max_tex);
    end(eng);
    if (ret < 0) {
        eng->err.code = REEL_EENGINE_UNAVAILABLE;
        return fail(eng, -REEL_EENGINE_UNAVAILABLE, "init");
    }
    return 0;
}

static void free_scene(struct reel_gl_priv *p)
{
    for (int i = 0; p->layers && i < p->n_layers; i++)
        reel_gl_layer_uninit(&p->layers[i]);
    free(p->layers);
    p->layers = NULL;
    p->n_layers = 0;
    reel_gl_output_uninit(p);
    p->scene = NULL;
}

static void gl_uninit(struct reel_engine *eng)
{
    struct reel_gl_priv *p = eng->priv;
    if (!p || !p->is_open)
        return;
    if (reel_gl_ctx_begin(&p->ctx, NULL) == 0) {
        free_scene(p);
        reel_gl_program_cache_uninit(&p->programs);
        if (p->vao)
            glDeleteVertexArrays(1, &p->vao);
        p->vao = 0;
        reel_gl_ctx_end(&p->ctx);
    } else {
        /* Without the context the GL objects die with it; the CPU-side state still goes. */
        for (int i = 0; p->layers && i < p->n_layers; i++) {
            struct reel_gl_layer *ly = &p->layers[i];
            reel_video_source_close(&ly->vs);
            sws_freeContext(ly->sws);
            av_frame_free(&ly->rgba);
            free(ly->blur_w);
            free(ly->blur_r);
            free(ly->blur_w_row);
        }
        free(p->layers);
        p->layers = NULL;
        free(p->programs.items);
        p->programs.items = NULL;
    }
    reel_gl_ctx_close(&p->ctx);
    /* Nothing is current on this thread after close; free the thread's EGL state too. */
    eglReleaseThread();
    p->is_open = false;
}

int reel_gl_program(struct reel_engine *eng, const char *frag, const char *defines, GLuint *out)
{
    struct reel_gl_priv *p = eng->priv;
    return reel_gl_program_get(&p->programs, "rect.vert", frag, defines, eng->log, out, &eng->err);
}

int reel_gl_need(struct reel_engine *eng, enum reel_gl_prog which)
{
    struct reel_gl_priv *p = eng->priv;
    if (p->prog[which])
        return 0;
    return reel_gl_program(eng, programs[which].frag, programs[which].defines, &p->prog[which]);
}

static int gl_prepare(struct reel_engine *eng, const struct reel_scene *scene)
{
    struct reel_gl_priv *p = eng->priv;
    memset(&eng->err, 0, sizeof(eng->err));
    int ret = begin(eng);
    if (ret < 0)
        return fail(eng, ret, "prepare");
    free_scene(p);
    if (!supported_fmt(eng->cfg.pix_fmt)) {
        ret = reel_err_set(&eng->err, REEL_ERENDER, "engine", "gl: unsupported output format %s",
                           av_get_pix_fmt_name(eng->cfg.pix_fmt));
        goto out;
    }
    p->scene = scene;
    const struct reel_timeline *tl = scene->tl;
    struct reel_color bg = tl->out.background;
    int v[3] = {bg.r * bg.a + 128, bg.g * bg.a + 128, bg.b * bg.a + 128};
    for (int i = 0; i < 3; i++)
        p->bg[i] = (v[i] + (v[i] >> 8)) >> 8;
    p->bg[3] = bg.a;

    glBindVertexArray(p->vao);
    if ((ret = reel_gl_output_prepare(eng)) < 0)
        goto out;
    if (tl->n_layers > 0 && !(p->layers = calloc((size_t)tl->n_layers, sizeof(*p->layers)))) {
        ret = reel_err_set(&eng->err, REEL_ENOMEM, "engine", "out of memory");
        goto out;
    }
    p->n_layers = tl->n_layers;
    struct reel_video_opener opener;
    reel_video_opener_init(&opener, eng, false);
    for (int i = 0; i < tl->n_layers; i++)
        if ((ret = reel_gl_layer_prepare(eng, i, &opener)) < 0)
            break;
    reel_video_opener_stop(&opener);
    if (ret < 0)
        goto out;
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    ret = reel_gl_check(&eng->err, "engine", "prepare");
out:
    if (ret < 0) {
        free_scene(p);
        fail(eng, ret, "prepare");
    }
    end(eng);
    return ret;
}

/* Draw one layer over the canvas (the cpu engine's reel_cpu_draw_setup and draw rows). */
static void draw_layer(const struct reel_engine_cfg *cfg, const struct reel_gl_layer *ly,
                       const struct reel_layer_state *st, double alpha)
{
    struct reel_affine fwd, inv;
    if (reel_layer_transform(ly->l, st, ly->bw, ly->bh, cfg->width, cfg->height, &fwd, &inv) < 0)
        return;
    /* The pixels the box touches, with one pixel of margin for the anti-aliased edge. */
    double cx[4] = {0.0, ly->bw, 0.0, ly->bw}, cy[4] = {0.0, 0.0, ly->bh, ly->bh};
    double minx = INFINITY, maxx = -INFINITY, miny = INFINITY, maxy = -INFINITY;
    for (int i = 0; i < 4; i++) {
        double ox = fwd.a * cx[i] + fwd.b * cy[i] + fwd.c;
        double oy = fwd.d * cx[i] + fwd.e * cy[i] + fwd.f;
        minx = fmin(minx, ox);
        maxx = fmax(maxx, ox);
        miny = fmin(miny, oy);
        maxy = fmax(maxy, oy);
    }
    double x0 = fmax(0.0, fmin(floor(minx) - 1.0, cfg->width));
    double x1 = fmax(0.0, fmin(ceil(maxx) + 1.0, cfg->width));
    double y0 = fmax(0.0, fmin(floor(miny) - 1.0, cfg->height));
    double y1 = fmax(0.0, fmin(ceil(maxy) + 1.0, cfg->height));
    double grad_u = hypot(inv.a, inv.b), grad_v = hypot(inv.d, inv.e);
    if (!(x0 < x1) || !(y0 < y1) || !(grad_u > 0.0) || !(grad_v > 0.0))
        return;

    /* An unscaled, unrotated box at a whole-pixel offset maps pixel centres onto texel centres:
     * its pixels copy texels, and its edges cover whole pixels or none. */
    double rc = nearbyint(inv.c), rf = nearbyint(inv.f);
    bool is_fast = !ly->is_solid && inv.a == 1.0 && inv.b == 0.0 && inv.d == 0.0 && inv.e == 1.0 &&
                   ly->tex_w == ly->bw && ly->tex_h == ly->bh && fabs(inv.c - rc) < 1e-9 &&
                   fabs(inv.f - rf) < 1e-9 && fabs(rc) < 1e9 && fabs(rf) < 1e9;
    if (is_fast) {
        x0 = fmax(x0, -rc);
        x1 = fmin(x1, ly->tex_w - rc);
        y0 = fmax(y0, -rf);
        y1 = fmin(y1, ly->tex_h - rf);
        if (!(x0 < x1) || !(y0 < y1))
            return;
    }

    GLuint prog = is_fast ? ly->prog_draw_fast : ly->prog_draw;
    glUseProgram(prog);
    glUniform1f(reel_gl_uniform(prog, "u_alpha"), (float)alpha);
    glUniform2i(reel_gl_uniform(prog, "u_mask_type"), (GLint)st->tr_in.type,
                (GLint)st->tr_out.type);
    glUniform2f(reel_gl_uniform(prog, "u_mask_p"), (float)st->tr_in.p, (float)st->tr_out.p);
    glUniform2f(reel_gl_uniform(prog, "u_frame"), (float)cfg->width, (float)cfg->height);
    if (is_fast) {
        glUniform2i(reel_gl_uniform(prog, "u_fast_off"), (GLint)rc, (GLint)rf);
    } else {
        glUniform3f(reel_gl_uniform(prog, "u_inv_u"), (float)inv.a, (float)inv.b, (float)inv.c);
        glUniform3f(reel_gl_uniform(prog, "u_inv_v"), (float)inv.d, (float)inv.e, (float)inv.f);
        glUniform2f(reel_gl_uniform(prog, "u_box"), (float)ly->bw, (float)ly->bh);
        glUniform2f(reel_gl_uniform(prog, "u_grad"), (float)grad_u, (float)grad_v);
    }
    if (ly->is_solid) {
        glUniform4f(reel_gl_uniform(prog, "u_solid"), (float)ly->solid[0], (float)ly->solid[1],
                    (float)ly->solid[2], (float)ly->solid[3]);
    } else {
        glActiveTexture(GL_TEXTURE0);
        glBindTexture(GL_TEXTURE_2D, ly->draw_tex);
        glUniform1i(reel_gl_uniform(prog, "u_tex"), 0);
        glUniform2f(reel_gl_uniform(prog, "u_tex_scale"), (float)(ly->tex_w / ly->bw),
                    (float)(ly->tex_h / ly->bh));
    }
    reel_gl_draw_rect(prog, cfg->width, cfg->height, x0, y0, x1, y1);
}

/* Compose the frame at pts_us into the canvas. */
static int compose(struct reel_engine *eng, int64_t pts_us)
{
    struct reel_gl_priv *p = eng->priv;
    const struct reel_engine_cfg *cfg = &eng->cfg;
    const struct reel_timeline *tl = p->scene->tl;
    int ret;
    glBindVertexArray(p->vao);

    /* Video boxes first: they render into their own targets. */
    for (int i = 0; i < p->n_layers; i++) {
        struct reel_gl_layer *ly = &p->layers[i];
        if (!ly->is_drawn || !ly->vs)
            continue;
        struct reel_layer_state st;
        reel_eval_layer(tl, ly->l, pts_us, &st);
        if (!st.visible) {
            /* Decoders of layers off screen are closed, so memory follows what shows, not how
             * many clips the job has; the texture is refilled when the layer comes back. */
            reel_video_source_suspend(ly->vs);
            ly->has_frame = false;
            continue;
        }
        if (!(st.opacity * reel_transition_alpha(&st) > 0.0))
            continue;
        if ((ret = reel_gl_layer_update_video(eng, ly, st.source_us)) < 0) {
            snprintf(eng->err.path, sizeof(eng->err.path), "%s", ly->l->path);
            return ret;
        }
    }

    glBindFramebuffer(GL_FRAMEBUFFER, p->canvas.fbo);
    glViewport(0, 0, cfg->width, cfg->height);
    glDisable(GL_BLEND);
    glClearColor(p->bg[0] / 255.0f, p->bg[1] / 255.0f, p->bg[2] / 255.0f, p->bg[3] / 255.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glEnable(GL_BLEND);
    glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    glBlendEquation(GL_FUNC_ADD);
    for (int i = 0; i < p->n_layers; i++) {
        const struct reel_gl_layer *ly = &p->layers[i];
        if (!ly->is_drawn)
            continue;
        struct reel_layer_state st;
        reel_eval_layer(tl, ly->l, pts_us, &st);
        if (!st.visible)
            continue;
        double alpha = st.opacity * reel_transition_alpha(&st);
        if (!(alpha > 0.0))
            continue;
        if (!ly->is_solid && !ly->draw_tex)
            continue;
        draw_layer(cfg, ly, &st, alpha > 1.0 ? 1.0 : alpha);
    }
    glDisable(GL_BLEND);
    return reel_gl_check(&eng->err, "render", "composition");
}

static int busy_count(const struct reel_gl_priv *p)
{
    int n = 0;
    for (int i = 0; i < REEL_GL_RING; i++)
        n += p->ring[i].is_busy;
    return n;
}

/* send_time with the context current. */
static int send_locked(struct reel_engine *eng, int64_t pts_us)
{
    struct reel_gl_priv *p = eng->priv;
    if (!p->scene)
        return reel_err_set(&eng->err, REEL_ERENDER, "render", "gl: not prepared");
    if (pts_us == INT64_MIN) {
        p->is_flushing = true;
        return 0;
    }
    if (p->is_flushing)
        return -REEL_EEOF;
    struct reel_gl_slot *s = NULL;
    for (int i = 0; i < REEL_GL_RING && !s; i++)
        if (!p->ring[i].is_busy)
            s = &p->ring[i];
    if (!s)
        return -REEL_EAGAIN;
    int ret = compose(eng, pts_us);
    if (ret < 0)
        return ret;
    s->pts_us = pts_us;
    s->seq = p->next_seq++;
    ret = reel_gl_output_start(eng, s);
    if (ret < 0) {
        if (s->fence)
            glDeleteSync(s->fence);
        s->fence = NULL;
        return ret;
    }
    s->is_busy = true;
    return 0;
}

/* receive_frame with the context current; wait forces a blocking wait for the oldest frame. */
static int receive_locked(struct reel_engine *eng, bool wait, AVFrame **out)
{
    struct reel_gl_priv *p = eng->priv;
    struct reel_gl_slot *oldest = NULL;
    for (int i = 0; i < REEL_GL_RING; i++)
        if (p->ring[i].is_busy && (!oldest || p->ring[i].seq < oldest->seq))
            oldest = &p->ring[i];
    if (!oldest) {
        if (p->is_flushing) {
            p->is_flushing = false; /* drained: the next send starts a new sequence */
            return -REEL_EEOF;
        }
        return -REEL_EAGAIN;
    }
    wait = wait || p->is_flushing || busy_count(p) == REEL_GL_RING;
    return reel_gl_output_finish(eng, oldest, wait, out);
}

static int gl_send_time(struct reel_engine *eng, int64_t pts_us)
{
    memset(&eng->err, 0, sizeof(eng->err));
    int ret = begin(eng);
    if (ret < 0)
        return fail(eng, ret, "render");
    ret = send_locked(eng, pts_us);
    end(eng);
    if (ret < 0 && ret != -REEL_EAGAIN && ret != -REEL_EEOF)
        return fail(eng, ret, "render");
    return ret;
}

static int gl_receive_frame(struct reel_engine *eng, AVFrame **out)
{
    *out = NULL;
    memset(&eng->err, 0, sizeof(eng->err));
    int ret = begin(eng);
    if (ret < 0)
        return fail(eng, ret, "render");
    ret = receive_locked(eng, false, out);
    end(eng);
    if (ret < 0 && ret != -REEL_EAGAIN && ret != -REEL_EEOF)
        return fail(eng, ret, "render");
    return ret;
}

static int gl_render(struct reel_engine *eng, int64_t pts_us, AVFrame **out)
{
    struct reel_gl_priv *p = eng->priv;
    *out = NULL;
    memset(&eng->err, 0, sizeof(eng->err));
    int ret = begin(eng);
    if (ret < 0)
        return fail(eng, ret, "render");
    if (busy_count(p) > 0 || p->is_flushing)
        ret = reel_err_set(&eng->err, REEL_ERENDER, "render",
                           "gl: render() called while pipelined frames are in flight");
    else if ((ret = send_locked(eng, pts_us)) == 0)
        ret = receive_locked(eng, true, out);
    end(eng);
    if (ret < 0)
        return fail(eng, ret, "render");
    return 0;
}

static void gl_query_caps(const struct reel_engine *eng, struct reel_engine_caps *caps)
{
    const struct reel_gl_priv *p = eng->priv;
    memset(caps, 0, sizeof(*caps));
    caps->is_hw = p && p->is_open && p->ctx.is_hw;
    size_t n = sizeof(pix_fmts) / sizeof(pix_fmts[0]);
    for (size_t i = 0; i < n && i < sizeof(caps->pix_fmts) / sizeof(caps->pix_fmts[0]); i++)
        caps->pix_fmts[i] = pix_fmts[i];
    caps->max_layers = 0;
}

static void gl_describe(const struct reel_engine_cfg *cfg, char *buf, size_t cap)
{
    size_t len = 0;
    struct reel_gl_ctx ctx;
    struct reel_err err = {0};
    reel_gl_list_devices(buf, cap);
    len = strlen(buf);
    if (reel_gl_ctx_open(&ctx, cfg->gpu_index, cfg->log, &err) < 0) {
        snprintf(buf + len, cap - len, "chosen: none: %s\n", err.msg);
        return;
    }
    snprintf(buf + len, cap - len, "chosen: %s\nrenderer: %s, %s (%s)\n", ctx.desc, ctx.renderer,
             ctx.version, ctx.is_hw ? "hardware" : "software: auto prefers the cpu engine");
    reel_gl_ctx_close(&ctx);
}

const struct reel_engine_ops reel_engine_gl_ops = {
    .name = "gl",
    .priv_size = sizeof(struct reel_gl_priv),
    .probe = gl_probe,
    .init = gl_init,
    .uninit = gl_uninit,
    .prepare = gl_prepare,
    .render = gl_render,
    .query_caps = gl_query_caps,
    .describe = gl_describe,
    .send_time = gl_send_time,
    .receive_frame = gl_receive_frame,
};
