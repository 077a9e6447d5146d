/*
 * The frame path after composition: the canvas is converted on the GPU (luma at W x H, chroma at
 * W/2 x H/2 from 2x2 averages, BT.709 limited range; or straight RGBA), read into one of a ring
 * of pixel-pack buffers with a fence, and copied into an AVFrame only when that fence has passed,
 * so the composition of the next frame overlaps the transfer of this one.
 */
#include <string.h>

#include <GLES3/gl3.h>
#include <libavutil/frame.h>

#include "engines/gl/gl_priv.h"

/* How long receive may wait for one frame before the job fails (a hung GPU). */
#define WAIT_LIMIT_NS 60000000000ULL
#define WAIT_STEP_NS 100000000ULL

/* Can a read of the bound framebuffer use format/type without conversion? */
static bool read_format_ok(GLenum format)
{
    GLint f = 0, t = 0;
    glGetIntegerv(GL_IMPLEMENTATION_COLOR_READ_FORMAT, &f);
    glGetIntegerv(GL_IMPLEMENTATION_COLOR_READ_TYPE, &t);
    return (GLenum)f == format && (GLenum)t == GL_UNSIGNED_BYTE;
}

void reel_gl_output_uninit(struct reel_gl_priv *p)
{
    for (int i = 0; i < REEL_GL_RING; i++) {
        struct reel_gl_slot *s = &p->ring[i];
        if (s->fence)
            glDeleteSync(s->fence);
        if (s->pbo)
            glDeleteBuffers(1, &s->pbo);
        memset(s, 0, sizeof(*s));
    }
    /* out_v shares out_u's framebuffer; only its texture is its own. */
    if (p->out_v.tex)
        glDeleteTextures(1, &p->out_v.tex);
    p->out_v = (struct reel_gl_target){0};
    reel_gl_target_uninit(&p->out_u);
    reel_gl_target_uninit(&p->out_y);
    reel_gl_target_uninit(&p->out_rgba);
    reel_gl_target_uninit(&p->canvas);
    p->frame_bytes = 0;
    p->is_flushing = false;
}

int reel_gl_output_prepare(struct reel_engine *eng)
{
    struct reel_gl_priv *p = eng->priv;
    int w = eng->cfg.width, h = eng->cfg.height;
    struct reel_err *err = &eng->err;
    p->out_fmt = eng->cfg.pix_fmt;
    int ret = 0;
    if (p->out_fmt == AV_PIX_FMT_RGBA)
        ret = reel_gl_need(eng, REEL_GL_PROG_OUT_RGBA);
    else if ((ret = reel_gl_need(eng, REEL_GL_PROG_OUT_Y)) == 0)
        ret = reel_gl_need(eng, p->out_fmt == AV_PIX_FMT_NV12 ? REEL_GL_PROG_OUT_UV_NV12
                                                              : REEL_GL_PROG_OUT_UV_PLANAR);
    if (ret == 0)
        ret = reel_gl_target_init(&p->canvas, GL_RGBA8, w, h, GL_NEAREST, err);
    if (ret < 0)
        return ret;
    switch (p->out_fmt) {
    case AV_PIX_FMT_RGBA:
        ret = reel_gl_target_init(&p->out_rgba, GL_RGBA8, w, h, GL_NEAREST, err);
        p->frame_bytes = (size_t)w * h * 4;
        break;
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_NV12: {
        bool nv12 = p->out_fmt == AV_PIX_FMT_NV12;
        ret = reel_gl_target_init(&p->out_y, GL_R8, w, h, GL_NEAREST, err);
        if (ret == 0)
            ret = reel_gl_target_init(&p->out_u, nv12 ? GL_RG8 : GL_R8, w / 2, h / 2, GL_NEAREST,
                                      err);
        if (ret == 0 && !nv12) {
            /* U and V are written by one pass into two attachments of one framebuffer. */
            p->out_v.w = w / 2;
            p->out_v.h = h / 2;
            p->out_v.tex = reel_gl_texture(GL_R8, w / 2, h / 2, GL_NEAREST);
            glBindFramebuffer(GL_FRAMEBUFFER, p->out_u.fbo);
            glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT1, GL_TEXTURE_2D,
                                   p->out_v.tex, 0);
            const GLenum bufs[2] = {GL_COLOR_ATTACHMENT0, GL_COLOR_ATTACHMENT1};
            glDrawBuffers(2, bufs);
            if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE)
                ret = reel_err_set(err, REEL_ERENDER, "engine",
                                   "gl: the chroma framebuffer is incomplete");
        }
        if (ret < 0)
            break;
        /* Reads of one- and two-channel targets are an implementation choice in ES 3.0. */
        glBindFramebuffer(GL_FRAMEBUFFER, p->out_y.fbo);
        bool ok = read_format_ok(GL_RED);
        glBindFramebuffer(GL_FRAMEBUFFER, p->out_u.fbo);
        glReadBuffer(GL_COLOR_ATTACHMENT0);
        ok = ok && read_format_ok(nv12 ? GL_RG : GL_RED);
        if (!ok)
            ret = reel_err_set(err, REEL_ERENDER, "engine",
                               "gl: this driver cannot read back %s planes directly",
                               nv12 ? "R8/RG8" : "R8");
        p->frame_bytes = (size_t)w * h + 2 * (size_t)(w / 2) * (h / 2);
        break;
    }
    default:
        ret = reel_err_set(err, REEL_ERENDER, "engine", "gl: unsupported output format %d",
                           (int)p->out_fmt);
        break;
    }
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    if (ret < 0)
        return ret;
    for (int i = 0; i < REEL_GL_RING; i++) {
        glGenBuffers(1, &p->ring[i].pbo);
        glBindBuffer(GL_PIXEL_PACK_BUFFER, p->ring[i].pbo);
        glBufferData(GL_PIXEL_PACK_BUFFER, (GLsizeiptr)p->frame_bytes, NULL, GL_STREAM_READ);
    }
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    return reel_gl_check(err, "engine", "allocating output buffers");
}

static void run_pass(GLuint prog, const struct reel_gl_target *dst, GLuint canvas)
{
    glUseProgram(prog);
    glBindFramebuffer(GL_FRAMEBUFFER, dst->fbo);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, canvas);
    glUniform1i(reel_gl_uniform(prog, "u_canvas"), 0);
    reel_gl_draw_rect(prog, dst->w, dst->h, 0, 0, dst->w, dst->h);
}

int reel_gl_output_start(struct reel_engine *eng, struct reel_gl_slot *s)
{
    struct reel_gl_priv *p = eng->priv;
    int w = eng->cfg.width, h = eng->cfg.height;
    glDisable(GL_BLEND);
    glBindBuffer(GL_PIXEL_PACK_BUFFER, s->pbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    if (p->out_fmt == AV_PIX_FMT_RGBA) {
        run_pass(p->prog[REEL_GL_PROG_OUT_RGBA], &p->out_rgba, p->canvas.tex);
        glReadBuffer(GL_COLOR_ATTACHMENT0);
        glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
    } else {
        bool nv12 = p->out_fmt == AV_PIX_FMT_NV12;
        size_t luma = (size_t)w * h, chroma = (size_t)(w / 2) * (h / 2);
        run_pass(p->prog[REEL_GL_PROG_OUT_Y], &p->out_y, p->canvas.tex);
        glReadBuffer(GL_COLOR_ATTACHMENT0);
        glReadPixels(0, 0, w, h, GL_RED, GL_UNSIGNED_BYTE, NULL);
        run_pass(p->prog[nv12 ? REEL_GL_PROG_OUT_UV_NV12 : REEL_GL_PROG_OUT_UV_PLANAR], &p->out_u,
                 p->canvas.tex);
        glReadBuffer(GL_COLOR_ATTACHMENT0);
        glReadPixels(0, 0, w / 2, h / 2, nv12 ? GL_RG : GL_RED, GL_UNSIGNED_BYTE,
                     (void *)(uintptr_t)luma);
        if (!nv12) {
            glReadBuffer(GL_COLOR_ATTACHMENT1);
            glReadPixels(0, 0, w / 2, h / 2, GL_RED, GL_UNSIGNED_BYTE,
                         (void *)(uintptr_t)(luma + chroma));
            glReadBuffer(GL_COLOR_ATTACHMENT0);
        }
    }
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    s->fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    /* Submit now so that the GPU works while the caller composes the next frame. */
    glFlush();
    if (!s->fence)
        return reel_err_set(&eng->err, REEL_ERENDER, "render", "gl: glFenceSync failed (0x%x)",
                            glGetError());
    return reel_gl_check(&eng->err, "render", "output conversion and readback");
}

static void copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int row, int rows)
{
    for (int y = 0; y < rows; y++)
        memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * row, (size_t)row);
}

int reel_gl_output_finish(struct reel_engine *eng, struct reel_gl_slot *s, bool wait, AVFrame **out)
{
    struct reel_gl_priv *p = eng->priv;
    int w = eng->cfg.width, h = eng->cfg.height;
    GLenum r = glClientWaitSync(s->fence, GL_SYNC_FLUSH_COMMANDS_BIT, 0);
    if (r == GL_TIMEOUT_EXPIRED && !wait)
        return -REEL_EAGAIN;
    for (uint64_t waited = 0; r == GL_TIMEOUT_EXPIRED && waited < WAIT_LIMIT_NS;
         waited += WAIT_STEP_NS)
        r = glClientWaitSync(s->fence, GL_SYNC_FLUSH_COMMANDS_BIT, WAIT_STEP_NS);
    if (r != GL_ALREADY_SIGNALED && r != GL_CONDITION_SATISFIED) {
        s->is_busy = false;
        glDeleteSync(s->fence);
        s->fence = NULL;
        return reel_err_set(&eng->err, REEL_ERENDER, "render",
                            r == GL_TIMEOUT_EXPIRED ? "gl: the GPU did not finish a frame in 60 s"
                                                    : "gl: waiting for a frame failed (0x%x)",
                            glGetError());
    }
    glDeleteSync(s->fence);
    s->fence = NULL;
    s->is_busy = false;

    AVFrame *f = av_frame_alloc();
    if (!f)
        return reel_err_set(&eng->err, REEL_ENOMEM, "render", "out of memory");
    f->format = p->out_fmt;
    f->width = w;
    f->height = h;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return reel_err_set(&eng->err, REEL_ENOMEM, "render", "out of memory");
    }
    glBindBuffer(GL_PIXEL_PACK_BUFFER, s->pbo);
    const uint8_t *src =
        glMapBufferRange(GL_PIXEL_PACK_BUFFER, 0, (GLsizeiptr)p->frame_bytes, GL_MAP_READ_BIT);
    if (!src) {
        glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
        av_frame_free(&f);
        return reel_err_set(&eng->err, REEL_ERENDER, "render",
                            "gl: cannot map the readback buffer (0x%x)", glGetError());
    }
    size_t luma = (size_t)w * h, chroma = (size_t)(w / 2) * (h / 2);
    switch (p->out_fmt) {
    case AV_PIX_FMT_RGBA:
        copy_plane(f->data[0], f->linesize[0], src, w * 4, h);
        break;
    case AV_PIX_FMT_NV12:
        copy_plane(f->data[0], f->linesize[0], src, w, h);
        copy_plane(f->data[1], f->linesize[1], src + luma, (w / 2) * 2, h / 2);
        break;
    default:
        copy_plane(f->data[0], f->linesize[0], src, w, h);
        copy_plane(f->data[1], f->linesize[1], src + luma, w / 2, h / 2);
        copy_plane(f->data[2], f->linesize[2], src + luma + chroma, w / 2, h / 2);
        break;
    }
    glUnmapBuffer(GL_PIXEL_PACK_BUFFER);
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    f->pts = s->pts_us;
    f->sample_aspect_ratio = (AVRational){1, 1};
    f->color_primaries = AVCOL_PRI_BT709;
    f->color_trc = AVCOL_TRC_BT709;
    if (p->out_fmt == AV_PIX_FMT_RGBA) {
        f->colorspace = AVCOL_SPC_RGB;
        f->color_range = AVCOL_RANGE_JPEG;
    } else {
        f->colorspace = AVCOL_SPC_BT709;
        f->color_range = AVCOL_RANGE_MPEG;
    }
    int ret = reel_gl_check(&eng->err, "render", "reading a frame back");
    if (ret < 0)
        av_frame_free(&f);
    *out = f;
    return ret;
}
