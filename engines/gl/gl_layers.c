/*
 * Layer content for the gl engine, following the cpu engine step by step (docs/engines.md):
 * every layer becomes a "box texture" of round(box) texels with its content placed by the fit
 * mode and its effects applied; colour layers stay a solid colour. Static content is fitted once
 * here at prepare; video frames are converted from their YUV planes straight into the box texture
 * whenever the source frame changes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <GLES3/gl3.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "engines/gl/gl_priv.h"
#include "render/blur_kernel.h"
#include "timeline/geometry.h"

static void luma_coefs(enum AVColorSpace cs, double *kr, double *kb)
{
    switch (cs) {
    case AVCOL_SPC_BT709:
        *kr = 0.2126, *kb = 0.0722;
        break;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        *kr = 0.2627, *kb = 0.0593;
        break;
    case AVCOL_SPC_SMPTE240M:
        *kr = 0.212, *kb = 0.087;
        break;
    case AVCOL_SPC_FCC:
        *kr = 0.30, *kb = 0.11;
        break;
    default: /* BT.601 (BT470BG, SMPTE170M) and anything unknown */
        *kr = 0.299, *kb = 0.114;
        break;
    }
}

/* Fold the matrix and range into rgb = m * yuv + off over sampled values 0..1 (column-major m). */
static void yuv_matrix(const AVFrame *f, float m[9], float off[3])
{
    double kr, kb;
    luma_coefs(reel_video_frame_colorspace(f), &kr, &kb);
    double kg = 1.0 - kr - kb;
    bool full = reel_video_frame_is_full_range(f);
    double ay = full ? 1.0 : 255.0 / 219.0, by = full ? 0.0 : -16.0 / 219.0;
    double ac = full ? 1.0 : 255.0 / 224.0, bc = full ? -128.0 / 255.0 : -128.0 / 224.0;
    double rcr = 2.0 * (1.0 - kr), bcb = 2.0 * (1.0 - kb);
    double gcb = bcb * kb / kg, gcr = rcr * kr / kg;
    /* columns: Y, U (Cb), V (Cr) */
    m[0] = (float)ay, m[1] = (float)ay, m[2] = (float)ay;
    m[3] = 0.0f, m[4] = (float)(-gcb * ac), m[5] = (float)(bcb * ac);
    m[6] = (float)(rcr * ac), m[7] = (float)(-gcr * ac), m[8] = 0.0f;
    off[0] = (float)(by + rcr * bc);
    off[1] = (float)(by - (gcb + gcr) * bc);
    off[2] = (float)(by + bcb * bc);
}

static int tex_size(double box)
{
    double v = floor(box + 0.5);
    return v < 1.0 ? 1 : (v > REEL_GL_MAX_TEX ? REEL_GL_MAX_TEX : (int)v);
}

/* Where content of cw x ch lands in the box texture, in whole texels (the cpu engine's rule). */
static void content_rect(const struct reel_gl_layer *ly, enum reel_fit fit, double cw, double ch,
                         int *x0, int *y0, int *w, int *h)
{
    double dx, dy, dw, dh;
    reel_fit_rect(fit, cw, ch, ly->bw, ly->bh, &dx, &dy, &dw, &dh);
    double kx = ly->tex_w / ly->bw, ky = ly->tex_h / ly->bh;
    int ax = (int)floor(dx * kx + 0.5), bx = (int)floor((dx + dw) * kx + 0.5);
    int ay = (int)floor(dy * ky + 0.5), by = (int)floor((dy + dh) * ky + 0.5);
    *x0 = ax;
    *y0 = ay;
    *w = bx - ax > 0 ? bx - ax : (dw > 0.0 ? 1 : 0);
    *h = by - ay > 0 ? by - ay : (dh > 0.0 ? 1 : 0);
}

static void premultiply(struct reel_color c, int out[4])
{
    int a = c.a;
    int v[3] = {c.r * a, c.g * a, c.b * a};
    for (int i = 0; i < 3; i++) {
        int t = v[i] + 128;
        out[i] = (t + (t >> 8)) >> 8;
    }
    out[3] = a;
}

static bool has_effects(const struct reel_layer *l)
{
    for (int i = 0; i < l->n_effects; i++)
        if (l->effects[i].type != REEL_FX_NONE)
            return true;
    return false;
}

static bool has_blur(const struct reel_layer *l)
{
    for (int i = 0; i < l->n_effects; i++)
        if (l->effects[i].type == REEL_FX_BLUR && l->effects[i].sigma > 0.0)
            return true;
    return false;
}

/* ---- tent-filter taps for static content, computed exactly as the cpu engine does ---- */

/*
 * A R32F table, one row per output coordinate in [lo, hi): first source index, tap count, then
 * the normalised weights, for resampling src_n samples to dst_n.
 */
static GLuint taps_table(int src_n, int dst_n, int lo, int hi, int max_tex, struct reel_err *err)
{
    double scale = (double)src_n / dst_n;
    double support = scale > 1.0 ? scale : 1.0;
    int max_taps = (int)ceil(2.0 * support) + 2;
    int width = 2 + max_taps, rows = hi - lo;
    if (width > max_tex || rows > max_tex) {
        reel_err_set(err, REEL_ELIMIT, NULL,
                     "gl: resampling %d to %d pixels needs a %dx%d tap table (limit %d)", src_n,
                     dst_n, width, rows, max_tex);
        return 0;
    }
    float *t = calloc((size_t)width * rows, sizeof(*t));
    double *v = malloc(sizeof(*v) * (size_t)max_taps);
    if (!t || !v) {
        free(t);
        free(v);
        reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        return 0;
    }
    for (int i = lo; i < hi; i++) {
        float *row = t + (size_t)(i - lo) * width;
        double c = (i + 0.5) * scale - 0.5;
        int first = (int)floor(c - support) + 1;
        double sum = 0.0;
        int n = 0;
        for (int j = first; j < first + max_taps && j <= c + support; j++) {
            double w = 1.0 - fabs(j - c) / support;
            v[n] = w > 0.0 ? w : 0.0;
            sum += v[n];
            n++;
        }
        float *w = row + 2;
        for (int k = 0; k < n; k++)
            w[k] = sum > 0.0 ? (float)((float)v[k] / sum) : (k == 0 ? 1.0f : 0.0f);
        /* Zero taps add exactly nothing to the sums; leaving them out changes no result. */
        int lead = 0;
        while (lead < n - 1 && w[lead] == 0.0f)
            lead++;
        while (n - 1 > lead && w[n - 1] == 0.0f)
            n--;
        memmove(w, w + lead, sizeof(*w) * (size_t)(n - lead));
        row[0] = (float)(first + lead);
        row[1] = (float)(n - lead);
    }
    GLuint tex = reel_gl_texture(GL_R32F, width, rows, GL_NEAREST);
    glBindTexture(GL_TEXTURE_2D, tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, rows, GL_RED, GL_FLOAT, t);
    glBindTexture(GL_TEXTURE_2D, 0);
    free(t);
    free(v);
    return tex;
}

/* Upload premultiplied RGBA8 pixels into a new NEAREST texture. */
static GLuint upload_rgba(const uint8_t *data, int w, int h, int stride)
{
    GLuint tex = reel_gl_texture(GL_RGBA8, w, h, GL_NEAREST);
    glBindTexture(GL_TEXTURE_2D, tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    if (stride % 4 == 0) {
        glPixelStorei(GL_UNPACK_ROW_LENGTH, stride / 4);
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, data);
        glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    } else {
        for (int y = 0; y < h; y++)
            glTexSubImage2D(GL_TEXTURE_2D, 0, 0, y, w, 1, GL_RGBA, GL_UNSIGNED_BYTE,
                            data + (size_t)y * stride);
    }
    glBindTexture(GL_TEXTURE_2D, 0);
    return tex;
}

/* ---- effects ---- */

/* Weight textures for the layer's blurs (and the 16-bit intermediate), made once at prepare. */
static int prepare_blurs(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    struct reel_gl_priv *p = eng->priv;
    const struct reel_layer *l = ly->l;
    if (!has_blur(l))
        return 0;
    size_t count = (size_t)l->n_effects;
    if (!(ly->blur_w = calloc(count, sizeof(*ly->blur_w))) ||
        !(ly->blur_r = calloc(count, sizeof(*ly->blur_r))) ||
        !(ly->blur_w_row = calloc(count, sizeof(*ly->blur_w_row))))
        return reel_err_set(&eng->err, REEL_ENOMEM, l->path, "out of memory");
    ly->n_blur_slots = l->n_effects;
    for (int i = 0; i < l->n_effects; i++) {
        const struct reel_effect *e = &l->effects[i];
        if (e->type != REEL_FX_BLUR || !(e->sigma > 0.0))
            continue;
        double rr = ceil(3.0 * e->sigma);
        int row = p->max_tex < 4096 ? p->max_tex : 4096;
        if (rr > (double)row * (row / 2))
            return reel_err_set(&eng->err, REEL_ELIMIT, l->path, "gl: blur sigma %g is too large",
                                e->sigma);
        int r = (int)rr, n = 2 * r + 1;
        int rows = (n + row - 1) / row, width = n < row ? n : row;
        uint32_t *w = reel_blur_kernel_create(e->sigma, r);
        uint32_t *padded = w ? calloc((size_t)width * rows, sizeof(*padded)) : NULL;
        if (!padded) {
            free(w);
            return reel_err_set(&eng->err, REEL_ENOMEM, l->path, "out of memory");
        }
        memcpy(padded, w, sizeof(*w) * (size_t)n);
        free(w);
        ly->blur_w[i] = reel_gl_texture(GL_R32UI, width, rows, GL_NEAREST);
        glBindTexture(GL_TEXTURE_2D, ly->blur_w[i]);
        glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, rows, GL_RED_INTEGER, GL_UNSIGNED_INT,
                        padded);
        glBindTexture(GL_TEXTURE_2D, 0);
        free(padded);
        ly->blur_r[i] = r;
        ly->blur_w_row[i] = width;
    }
    return reel_gl_target_init(&ly->blur_tmp, GL_RGBA16UI, ly->tex_w, ly->tex_h, GL_NEAREST,
                               &eng->err);
}

static void swap_targets(struct reel_gl_target *a, struct reel_gl_target *b)
{
    struct reel_gl_target t = *a;
    *a = *b;
    *b = t;
}

/* A rectangle of box texels, x0 y0 x1 y1. */
struct texels {
    int x0, y0, x1, y1;
};

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static struct texels grow(struct texels a, int r, int w, int h)
{
    struct texels g = {clampi(a.x0 - r, 0, w), clampi(a.y0 - r, 0, h), 0, 0};
    g.x1 = clampi(a.x1 + r, g.x0, w);
    g.y1 = clampi(a.y1 + r, g.y0, h);
    return g;
}

/*
 * The box texels the layer's effects must compute, as the cpu engine chooses them: all, but with a
 * blur only those the output can show over the layer's life plus two texels (cost follows what is
 * seen, not the box). Computed once per prepare.
 */
static struct texels effects_region(struct reel_gl_priv *p, struct reel_gl_layer *ly)
{
    struct texels all = {0, 0, ly->box.w, ly->box.h};
    if (ly->fx_at[2] >= 0)
        return (struct texels){ly->fx_at[0], ly->fx_at[1], ly->fx_at[2], ly->fx_at[3]};
    struct texels at = all;
    double b[4];
    if (ly->is_solid || !has_blur(ly->l) || !(ly->bw > 0.0) || !(ly->bh > 0.0)) {
        at = all;
    } else if (!reel_layer_visible_box(p->scene->tl, ly->l, ly->bw, ly->bh, 2.0, b)) {
        at = (struct texels){0, 0, 0, 0};
    } else {
        double kx = ly->box.w / ly->bw, ky = ly->box.h / ly->bh;
        at.x0 = (int)fmax(floor(b[0] * kx) - 2.0, 0.0);
        at.y0 = (int)fmax(floor(b[1] * ky) - 2.0, 0.0);
        at.x1 = (int)fmin(ceil(b[2] * kx) + 2.0, ly->box.w);
        at.y1 = (int)fmin(ceil(b[3] * ky) + 2.0, ly->box.h);
    }
    ly->fx_at[0] = at.x0;
    ly->fx_at[1] = at.y0;
    ly->fx_at[2] = at.x1;
    ly->fx_at[3] = at.y1;
    return at;
}

static bool is_empty(struct texels t)
{
    return t.x0 >= t.x1 || t.y0 >= t.y1;
}

static void color_run(struct reel_gl_priv *p, struct reel_gl_layer *ly,
                      const struct reel_effect *fx, int n, struct texels at)
{
    GLint types[REEL_GL_MAX_FX];
    GLfloat params[2 * REEL_GL_MAX_FX], keys[2 * REEL_GL_MAX_FX];
    for (int i = 0; i < n; i++) {
        const struct reel_effect *e = &fx[i];
        types[i] = (GLint)e->type;
        params[2 * i] = (float)(e->type == REEL_FX_CHROMA_KEY ? e->similarity : e->value);
        params[2 * i + 1] = (float)e->smoothness;
        double r = e->color.r / 255.0, g = e->color.g / 255.0, b = e->color.b / 255.0;
        double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        keys[2 * i] = (float)((b - y) / 1.8556 + 0.5);
        keys[2 * i + 1] = (float)((r - y) / 1.5748 + 0.5);
    }
    GLuint prog = p->prog[REEL_GL_PROG_EFFECTS];
    glUseProgram(prog);
    glBindFramebuffer(GL_FRAMEBUFFER, ly->scratch.fbo);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, ly->box.tex);
    glUniform1i(reel_gl_uniform(prog, "u_src"), 0);
    glUniform1i(reel_gl_uniform(prog, "u_n"), n);
    glUniform1iv(reel_gl_uniform(prog, "u_type"), n, types);
    glUniform2fv(reel_gl_uniform(prog, "u_param"), n, params);
    glUniform2fv(reel_gl_uniform(prog, "u_key"), n, keys);
    reel_gl_draw_rect(prog, ly->box.w, ly->box.h, at.x0, at.y0, at.x1, at.y1);
    swap_targets(&ly->box, &ly->scratch);
}

/* One blur from the texels of in to those of out (out grown by the radius, clamped to the box):
 * the horizontal pass over out's columns and in's rows, the vertical over out. */
static void blur(struct reel_gl_priv *p, struct reel_gl_layer *ly, int i, struct texels in,
                 struct texels out)
{
    GLuint ph = p->prog[REEL_GL_PROG_BLUR_H], pv = p->prog[REEL_GL_PROG_BLUR_V];
    glUseProgram(ph);
    glBindFramebuffer(GL_FRAMEBUFFER, ly->blur_tmp.fbo);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, ly->box.tex);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, ly->blur_w[i]);
    glUniform1i(reel_gl_uniform(ph, "u_src"), 0);
    glUniform1i(reel_gl_uniform(ph, "u_w"), 1);
    glUniform1i(reel_gl_uniform(ph, "u_r"), ly->blur_r[i]);
    glUniform1i(reel_gl_uniform(ph, "u_w_row"), ly->blur_w_row[i]);
    reel_gl_draw_rect(ph, ly->box.w, ly->box.h, out.x0, in.y0, out.x1, in.y1);

    glUseProgram(pv);
    glBindFramebuffer(GL_FRAMEBUFFER, ly->box.fbo);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, ly->blur_tmp.tex);
    glUniform1i(reel_gl_uniform(pv, "u_src"), 0);
    glUniform1i(reel_gl_uniform(pv, "u_w"), 1);
    glUniform1i(reel_gl_uniform(pv, "u_r"), ly->blur_r[i]);
    glUniform1i(reel_gl_uniform(pv, "u_w_row"), ly->blur_w_row[i]);
    reel_gl_draw_rect(pv, ly->box.w, ly->box.h, out.x0, out.y0, out.x1, out.y1);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, 0);
    glActiveTexture(GL_TEXTURE0);
}

int reel_gl_layer_effects(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    struct reel_gl_priv *p = eng->priv;
    const struct reel_layer *l = ly->l;
    glDisable(GL_BLEND);
    /* Backwards: what each effect must produce so that the last produces what can show. */
    int n = l->n_effects;
    struct texels stack[16], *at = n < 16 ? stack : malloc(sizeof(*at) * (size_t)(n + 1));
    if (!at)
        return reel_err_set(&eng->err, REEL_ENOMEM, l->path, "out of memory");
    at[n] = effects_region(p, ly);
    for (int i = n - 1; i >= 0; i--) {
        bool blurs = l->effects[i].type == REEL_FX_BLUR && l->effects[i].sigma > 0.0 &&
                     ly->blur_w && ly->blur_w[i];
        at[i] = grow(at[i + 1], blurs ? ly->blur_r[i] : 0, ly->box.w, ly->box.h);
    }
    for (int i = 0; i < n;) {
        const struct reel_effect *e = &l->effects[i];
        if (e->type == REEL_FX_BLUR) {
            if (e->sigma > 0.0 && ly->blur_w && ly->blur_w[i] && !is_empty(at[i + 1]))
                blur(p, ly, i, at[i], at[i + 1]);
            i++;
            continue;
        }
        int j = i;
        while (j < n && l->effects[j].type != REEL_FX_BLUR && j - i < REEL_GL_MAX_FX)
            j++;
        if (!is_empty(at[i]))
            color_run(p, ly, e, j - i, at[i]);
        i = j;
    }
    if (at != stack)
        free(at);
    ly->draw_tex = ly->box.tex;
    return reel_gl_check(&eng->err, l->path, "effects");
}

static bool has_color_effects(const struct reel_layer *l)
{
    for (int i = 0; i < l->n_effects; i++)
        if (l->effects[i].type != REEL_FX_NONE && l->effects[i].type != REEL_FX_BLUR)
            return true;
    return false;
}

/* The box and, with effects, its ping-pong partner and the effects' programs. */
static int alloc_box(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    int ret = 0;
    if (has_color_effects(ly->l))
        ret = reel_gl_need(eng, REEL_GL_PROG_EFFECTS);
    if (ret == 0 && has_blur(ly->l) && (ret = reel_gl_need(eng, REEL_GL_PROG_BLUR_H)) == 0)
        ret = reel_gl_need(eng, REEL_GL_PROG_BLUR_V);
    if (ret == 0)
        ret = reel_gl_target_init(&ly->box, GL_RGBA8, ly->tex_w, ly->tex_h, GL_NEAREST, &eng->err);
    if (ret == 0 && has_effects(ly->l))
        ret = reel_gl_target_init(&ly->scratch, GL_RGBA8, ly->tex_w, ly->tex_h, GL_NEAREST,
                                  &eng->err);
    if (ret == 0)
        ret = prepare_blurs(eng, ly);
    return ret;
}

/* ---- colour layers ---- */

/* A solid colour with its effects: the effect passes run on a 1x1 box (a blur with clamped edges
 * leaves it unchanged) and the result is read back once. */
static int prepare_color(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    premultiply(ly->l->color, ly->solid);
    ly->is_solid = true;
    if (!has_effects(ly->l))
        return 0;
    ly->tex_w = ly->tex_h = 1;
    int ret = alloc_box(eng, ly);
    if (ret < 0)
        return ret;
    uint8_t px[4] = {(uint8_t)ly->solid[0], (uint8_t)ly->solid[1], (uint8_t)ly->solid[2],
                     (uint8_t)ly->solid[3]};
    glBindTexture(GL_TEXTURE_2D, ly->box.tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
    glBindTexture(GL_TEXTURE_2D, 0);
    ret = reel_gl_layer_effects(eng, ly);
    if (ret < 0)
        return ret;
    glBindFramebuffer(GL_FRAMEBUFFER, ly->box.fbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    for (int i = 0; i < 4; i++)
        ly->solid[i] = px[i];
    reel_gl_target_uninit(&ly->box);
    reel_gl_target_uninit(&ly->scratch);
    reel_gl_target_uninit(&ly->blur_tmp);
    ly->tex_w = ly->tex_h = 0;
    return reel_gl_check(&eng->err, ly->l->path, "colour layer effects");
}

/* ---- static content ---- */

static int prepare_static(struct reel_engine *eng, struct reel_gl_layer *ly,
                          const struct reel_image *content)
{
    struct reel_gl_priv *p = eng->priv;
    const struct reel_layer *l = ly->l;
    const struct reel_timeline *tl = p->scene->tl;
    reel_layer_box(tl, l, content->width, content->height, &ly->bw, &ly->bh);
    if (!(ly->bw > 0.0) || !(ly->bh > 0.0))
        return 0;
    ly->tex_w = tex_size(ly->bw);
    ly->tex_h = tex_size(ly->bh);
    if (content->width > p->max_tex || content->height > p->max_tex)
        return reel_err_set(&eng->err, REEL_ELIMIT, l->path,
                            "gl: content of %dx%d exceeds the GPU's texture limit %d",
                            content->width, content->height, p->max_tex);
    ly->content_tex = upload_rgba(content->data, content->width, content->height, content->stride);
    enum reel_fit fit = l->type == REEL_LAYER_IMAGE ? l->fit : REEL_FIT_NATURAL;
    int x0, y0, w, h;
    content_rect(ly, fit, content->width, content->height, &x0, &y0, &w, &h);
    if (x0 == 0 && y0 == 0 && w == ly->tex_w && h == ly->tex_h && w == content->width &&
        h == content->height && !has_effects(l)) {
        ly->draw_tex = ly->content_tex;
        return reel_gl_check(&eng->err, l->path, "uploading content");
    }
    int ret = alloc_box(eng, ly);
    if (ret < 0)
        return ret;
    int vx0 = x0 > 0 ? x0 : 0, vy0 = y0 > 0 ? y0 : 0;
    int vx1 = x0 + w < ly->tex_w ? x0 + w : ly->tex_w,
        vy1 = y0 + h < ly->tex_h ? y0 + h : ly->tex_h;
    glDisable(GL_BLEND);
    if (vx0 >= vx1 || vy0 >= vy1) {
        glBindFramebuffer(GL_FRAMEBUFFER, ly->box.fbo);
        glClearColor(0, 0, 0, 0);
        glClear(GL_COLOR_BUFFER_BIT);
    } else {
        if ((ret = reel_gl_need(eng, REEL_GL_PROG_RESAMPLE)) < 0)
            return ret;
        GLuint tx = taps_table(content->width, w, vx0 - x0, vx1 - x0, p->max_tex, &eng->err);
        GLuint ty =
            tx ? taps_table(content->height, h, vy0 - y0, vy1 - y0, p->max_tex, &eng->err) : 0;
        if (!tx || !ty) {
            glDeleteTextures(1, &tx);
            snprintf(eng->err.path, sizeof(eng->err.path), "%s", l->path);
            return -eng->err.code;
        }
        GLuint prog = p->prog[REEL_GL_PROG_RESAMPLE];
        glUseProgram(prog);
        glBindFramebuffer(GL_FRAMEBUFFER, ly->box.fbo);
        glActiveTexture(GL_TEXTURE0);
        glBindTexture(GL_TEXTURE_2D, ly->content_tex);
        glActiveTexture(GL_TEXTURE1);
        glBindTexture(GL_TEXTURE_2D, tx);
        glActiveTexture(GL_TEXTURE2);
        glBindTexture(GL_TEXTURE_2D, ty);
        glUniform1i(reel_gl_uniform(prog, "u_src"), 0);
        glUniform1i(reel_gl_uniform(prog, "u_taps_x"), 1);
        glUniform1i(reel_gl_uniform(prog, "u_taps_y"), 2);
        glUniform4i(reel_gl_uniform(prog, "u_win"), vx0, vy0, vx1, vy1);
        reel_gl_draw_rect(prog, ly->tex_w, ly->tex_h, 0, 0, ly->tex_w, ly->tex_h);
        glBindTexture(GL_TEXTURE_2D, 0);
        glActiveTexture(GL_TEXTURE1);
        glBindTexture(GL_TEXTURE_2D, 0);
        glActiveTexture(GL_TEXTURE0);
        glDeleteTextures(1, &tx);
        glDeleteTextures(1, &ty);
    }
    /* The content is not sampled again once it is in the box. */
    glDeleteTextures(1, &ly->content_tex);
    ly->content_tex = 0;
    ly->draw_tex = ly->box.tex;
    ret = reel_gl_check(&eng->err, l->path, "fitting content");
    if (ret == 0 && has_effects(l))
        ret = reel_gl_layer_effects(eng, ly);
    /* Static layers never run effects again: drop the working textures. */
    reel_gl_target_uninit(&ly->scratch);
    reel_gl_target_uninit(&ly->blur_tmp);
    return ret;
}

/* ---- video ---- */

static enum reel_gl_src_kind classify(enum AVPixelFormat fmt, bool *swap_uv)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    *swap_uv = false;
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                           AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_ALPHA | AV_PIX_FMT_FLAG_BE)))
        return REEL_GL_SRC_RGBA;
    if (d->nb_components != 3)
        return REEL_GL_SRC_RGBA;
    for (int i = 0; i < 3; i++)
        if (d->comp[i].depth != 8 || d->comp[i].shift != 0)
            return REEL_GL_SRC_RGBA;
    if (d->comp[0].plane == 0 && d->comp[1].plane == 1 && d->comp[2].plane == 2 &&
        d->comp[0].step == 1 && d->comp[1].step == 1 && d->comp[2].step == 1)
        return REEL_GL_SRC_PLANAR;
    if (d->comp[0].plane == 0 && d->comp[1].plane == 1 && d->comp[2].plane == 1 &&
        d->comp[1].step == 2 && d->comp[2].step == 2 && d->comp[0].step == 1) {
        *swap_uv = d->comp[1].offset == 1;
        return REEL_GL_SRC_NV12;
    }
    return REEL_GL_SRC_RGBA;
}

/* libswscale's SWS_BICUBIC kernel: Mitchell-Netravali with B = 0, C = 0.6. */
static double bicubic(double x)
{
    x = fabs(x);
    if (x < 1.0)
        return ((8.4 * x - 14.4) * x * x + 6.0) / 6.0;
    if (x < 2.0)
        return (((-3.6 * x + 18.0) * x - 28.8) * x + 14.4) / 6.0;
    return 0.0;
}

/*
 * A R32F weight table for resampling with the bicubic kernel: row i - lo, for output texel i in
 * [lo, hi), holds the first source texel, the tap count and the normalised weights, for source
 * position c = off + (i + 0.5) scale - 0.5 (centres aligned) and the kernel widened by the
 * reduction factor when shrinking, as libswscale builds its filters. 0 on failure (err filled).
 */
static GLuint bicubic_table(double off, double scale, int lo, int hi, int max_tex,
                            struct reel_err *err)
{
    double stretch = scale > 1.0 ? scale : 1.0;
    int max_taps = (int)ceil(4.0 * stretch) + 1;
    int width = 2 + max_taps, rows = hi - lo;
    if (width > max_tex || rows > max_tex || rows <= 0) {
        reel_err_set(err, REEL_ELIMIT, NULL, "gl: a %dx%d bicubic table exceeds the limit %d",
                     width, rows, max_tex);
        return 0;
    }
    float *t = calloc((size_t)width * rows, sizeof(*t));
    if (!t) {
        reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
        return 0;
    }
    for (int i = lo; i < hi; i++) {
        float *row = t + (size_t)(i - lo) * width;
        double c = off + (i + 0.5) * scale - 0.5;
        int j0 = (int)ceil(c - 2.0 * stretch), j1 = (int)floor(c + 2.0 * stretch);
        double sum = 0.0;
        for (int j = j0; j <= j1; j++)
            sum += bicubic((j - c) / stretch);
        int n = 0, first = j0;
        for (int j = j0; j <= j1 && n < max_taps; j++) {
            double w = bicubic((j - c) / stretch);
            if (w == 0.0 && n == 0) {
                first = j + 1; /* leading zero taps add nothing */
                continue;
            }
            row[2 + n++] = (float)(sum != 0.0 ? w / sum : 0.0);
        }
        while (n > 1 && row[2 + n - 1] == 0.0f)
            n--;
        row[0] = (float)first;
        row[1] = (float)n;
    }
    GLuint tex = reel_gl_texture(GL_R32F, width, rows, GL_NEAREST);
    glBindTexture(GL_TEXTURE_2D, tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, rows, GL_RED, GL_FLOAT, t);
    glBindTexture(GL_TEXTURE_2D, 0);
    free(t);
    return tex;
}

/* Texel centres land on texel centres: unscaled, and offset by whole texels. */
static bool is_identity(double offset, double scale)
{
    return fabs(scale - 1.0) < 1e-12 && fabs(offset - floor(offset + 0.5)) < 1e-12;
}

/* The weight tables and identity shortcuts of both passes for the current source rectangle. */
static int resample_plan(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    struct reel_gl_priv *p = eng->priv;
    int n_sets = ly->kind == REEL_GL_SRC_RGBA ? 1 : 2;
    int col0 = ly->vx0 - ly->cx0;
    for (int k = 0; k < n_sets; k++) {
        double kx = (double)ly->up_w[k] / ly->up_w[0], ky = (double)ly->up_h[k] / ly->up_h[0];
        double off_x = ly->src_x * kx, scale_x = ly->src_w * kx / ly->cw;
        double off_y = ly->src_y * ky, scale_y = ly->src_h * ky / ly->ch;
        ly->is_id_h[k] = is_identity(off_x, scale_x);
        ly->first_h[k] = (int)floor(off_x + 0.5) + col0;
        if (k == 0) {
            ly->is_id_v = is_identity(off_y, scale_y);
            ly->first_v = (int)floor(off_y + 0.5) + ly->vis_row0;
        }
        ly->taps_h[k] =
            bicubic_table(off_x, scale_x, col0, col0 + ly->vis_w, p->max_tex, &eng->err);
        ly->taps_v[k] = ly->taps_h[k]
                            ? bicubic_table(off_y, scale_y, ly->vis_row0, ly->vis_row0 + ly->vis_h,
                                            p->max_tex, &eng->err)
                            : 0;
        if (!ly->taps_v[k])
            return -eng->err.code;
    }
    return 0;
}

static void free_planes(struct reel_gl_layer *ly)
{
    for (int i = 0; i < 3; i++) {
        if (ly->planes[i])
            glDeleteTextures(1, &ly->planes[i]);
        ly->planes[i] = 0;
    }
    if (ly->upload_pbo)
        glDeleteBuffers(1, &ly->upload_pbo);
    ly->upload_pbo = 0;
    ly->upload_size = 0;
    reel_gl_target_uninit(&ly->h_luma);
    reel_gl_target_uninit(&ly->h_chroma);
    for (int i = 0; i < 2; i++) {
        if (ly->taps_h[i])
            glDeleteTextures(1, &ly->taps_h[i]);
        if (ly->taps_v[i])
            glDeleteTextures(1, &ly->taps_v[i]);
        ly->taps_h[i] = ly->taps_v[i] = 0;
    }
    sws_freeContext(ly->sws);
    ly->sws = NULL;
    av_frame_free(&ly->rgba);
    ly->kind = REEL_GL_SRC_NONE;
}

/*
 * Texel index maps from the upright picture to a decoded plane of pw x ph texels for a clockwise
 * turn of deg degrees (what transpose=clock, hflip+vflip and transpose=cclock do for 90, 180 and
 * 270): decoded x = m0 j + m1 r + m2, y = m3 j + m4 r + m5 for upright column j, row r.
 */
static void orientation(int deg, int pw, int ph, int m[6], int *up_w, int *up_h)
{
    const int turns[4][6] = {
        {1, 0, 0, 0, 1, 0},
        {0, 1, 0, -1, 0, ph - 1},
        {-1, 0, pw - 1, 0, -1, ph - 1},
        {0, -1, pw - 1, 1, 0, 0},
    };
    int k = (deg / 90) & 3;
    memcpy(m, turns[k], sizeof(turns[k]));
    *up_w = k & 1 ? ph : pw;
    *up_h = k & 1 ? pw : ph;
}

/* (Re)create the plane textures and the intermediates for frames like f. */
static int setup_planes(struct reel_engine *eng, struct reel_gl_layer *ly, const AVFrame *f)
{
    struct reel_gl_priv *p = eng->priv;
    free_planes(ly);
    if (f->width > p->max_tex || f->height > p->max_tex)
        return reel_err_set(&eng->err, REEL_ELIMIT, ly->l->path,
                            "gl: video of %dx%d exceeds the GPU's texture limit %d", f->width,
                            f->height, p->max_tex);
    ly->kind =
        ly->is_fallback ? REEL_GL_SRC_RGBA : classify((enum AVPixelFormat)f->format, &ly->swap_uv);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int n = 0;
    GLenum ifmt[3] = {GL_R8, GL_R8, GL_R8};
    switch (ly->kind) {
    case REEL_GL_SRC_PLANAR:
        n = 3;
        for (int i = 0; i < 3; i++) {
            ly->plane_w[i] = i ? AV_CEIL_RSHIFT(f->width, d->log2_chroma_w) : f->width;
            ly->plane_h[i] = i ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
            ly->plane_bpp[i] = 1;
        }
        break;
    case REEL_GL_SRC_NV12:
        n = 2;
        ly->plane_w[0] = f->width;
        ly->plane_h[0] = f->height;
        ly->plane_bpp[0] = 1;
        ly->plane_w[1] = AV_CEIL_RSHIFT(f->width, d->log2_chroma_w);
        ly->plane_h[1] = AV_CEIL_RSHIFT(f->height, d->log2_chroma_h);
        ly->plane_bpp[1] = 2;
        ifmt[1] = GL_RG8;
        break;
    default:
        n = 1;
        ly->kind = REEL_GL_SRC_RGBA;
        ly->plane_w[0] = f->width;
        ly->plane_h[0] = f->height;
        ly->plane_bpp[0] = 4;
        ifmt[0] = GL_RGBA8;
        if (!(ly->rgba = av_frame_alloc()))
            return reel_err_set(&eng->err, REEL_ENOMEM, ly->l->path, "out of memory");
        ly->rgba->format = AV_PIX_FMT_RGBA;
        ly->rgba->width = f->width;
        ly->rgba->height = f->height;
        if (av_frame_get_buffer(ly->rgba, 0) < 0)
            return reel_err_set(&eng->err, REEL_ENOMEM, ly->l->path, "out of memory");
        REEL_INFO(eng->log, "%s: %s video is converted to RGBA on the CPU before upload",
                  ly->l->path, d ? d->name : "unknown");
        break;
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        ly->planes[i] = reel_gl_texture(ifmt[i], ly->plane_w[i], ly->plane_h[i], GL_NEAREST);
        total += (size_t)ly->plane_w[i] * ly->plane_bpp[i] * ly->plane_h[i];
    }
    glGenBuffers(1, &ly->upload_pbo);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, ly->upload_pbo);
    glBufferData(GL_PIXEL_UNPACK_BUFFER, (GLsizeiptr)total, NULL, GL_STREAM_DRAW);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    ly->upload_size = total;
    ly->frame_w = f->width;
    ly->frame_h = f->height;
    ly->frame_fmt = f->format;

    bool is_yuv = ly->kind != REEL_GL_SRC_RGBA;
    orientation(ly->rotation, ly->plane_w[0], ly->plane_h[0], ly->orient[0], &ly->up_w[0],
                &ly->up_h[0]);
    int ret = reel_gl_target_init(&ly->h_luma, is_yuv ? GL_R32I : GL_RGBA32I, ly->vis_w,
                                  ly->up_h[0], GL_NEAREST, &eng->err);
    if (ret == 0 && is_yuv) {
        orientation(ly->rotation, ly->plane_w[1], ly->plane_h[1], ly->orient[1], &ly->up_w[1],
                    &ly->up_h[1]);
        ret = reel_gl_target_init(&ly->h_chroma, GL_RG32I, ly->vis_w, ly->up_h[1], GL_NEAREST,
                                  &eng->err);
    }
    if (ret == 0)
        ret = resample_plan(eng, ly);
    if (ret < 0)
        return ret;
    return reel_gl_check(&eng->err, ly->l->path, "creating video textures");
}

/* Copy the frame's planes through the pixel-unpack buffer into the plane textures. */
static int upload_frame(struct reel_engine *eng, struct reel_gl_layer *ly, const AVFrame *f)
{
    const uint8_t *const *data = (const uint8_t *const *)f->data;
    const int *linesize = f->linesize;
    int n = ly->kind == REEL_GL_SRC_PLANAR ? 3 : ly->kind == REEL_GL_SRC_NV12 ? 2 : 1;
    if (ly->kind == REEL_GL_SRC_RGBA) {
        ly->sws = sws_getCachedContext(
            ly->sws, f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
            AV_PIX_FMT_RGBA, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
        if (!ly->sws)
            return reel_err_set(&eng->err, REEL_ERENDER, ly->l->path,
                                "gl: cannot convert %s video to RGBA",
                                av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        const int *coefs = sws_getCoefficients(reel_video_frame_colorspace(f));
        const int *rgb = sws_getCoefficients(SWS_CS_DEFAULT);
        sws_setColorspaceDetails(ly->sws, coefs, reel_video_frame_is_full_range(f), rgb, 1, 0,
                                 1 << 16, 1 << 16);
        sws_scale(ly->sws, data, linesize, 0, f->height, ly->rgba->data, ly->rgba->linesize);
        data = (const uint8_t *const *)ly->rgba->data;
        linesize = ly->rgba->linesize;
    }
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, ly->upload_pbo);
    uint8_t *dst = glMapBufferRange(GL_PIXEL_UNPACK_BUFFER, 0, (GLsizeiptr)ly->upload_size,
                                    GL_MAP_WRITE_BIT | GL_MAP_INVALIDATE_BUFFER_BIT);
    if (!dst) {
        glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
        return reel_err_set(&eng->err, REEL_ERENDER, ly->l->path,
                            "gl: cannot map the upload buffer (0x%x)", glGetError());
    }
    size_t off[3] = {0, 0, 0}, pos = 0;
    for (int i = 0; i < n; i++) {
        size_t row = (size_t)ly->plane_w[i] * ly->plane_bpp[i];
        off[i] = pos;
        for (int y = 0; y < ly->plane_h[i]; y++)
            memcpy(dst + pos + (size_t)y * row, data[i] + (ptrdiff_t)y * linesize[i], row);
        pos += row * ly->plane_h[i];
    }
    glUnmapBuffer(GL_PIXEL_UNPACK_BUFFER);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    for (int i = 0; i < n; i++) {
        GLenum fmt = ly->plane_bpp[i] == 4 ? GL_RGBA : ly->plane_bpp[i] == 2 ? GL_RG : GL_RED;
        glBindTexture(GL_TEXTURE_2D, ly->planes[i]);
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, ly->plane_w[i], ly->plane_h[i], fmt,
                        GL_UNSIGNED_BYTE, (const void *)(uintptr_t)off[i]);
    }
    glBindTexture(GL_TEXTURE_2D, 0);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    if (ly->kind != REEL_GL_SRC_RGBA)
        yuv_matrix(f, ly->yuv_m, ly->yuv_off);
    return 0;
}

static void bind_unit(int unit, GLuint tex)
{
    glActiveTexture(GL_TEXTURE0 + (GLenum)unit);
    glBindTexture(GL_TEXTURE_2D, tex);
}

/* The first, horizontal (upright x) pass for plane set k (0 luma or RGBA, 1 chroma) into its
 * intermediate. */
static void video_h(struct reel_gl_layer *ly, int k)
{
    GLuint prog = ly->is_fallback ? ly->prog_h_rgba : ly->prog_h[k];
    const struct reel_gl_target *dst = k ? &ly->h_chroma : &ly->h_luma;
    const int *m = ly->orient[k];
    glUseProgram(prog);
    glBindFramebuffer(GL_FRAMEBUFFER, dst->fbo);
    bind_unit(0, ly->planes[k]);
    bind_unit(1, k && ly->kind == REEL_GL_SRC_PLANAR ? ly->planes[2] : 0);
    bind_unit(2, ly->taps_h[k]);
    glUniform1i(reel_gl_uniform(prog, "u_plane0"), 0);
    glUniform1i(reel_gl_uniform(prog, "u_plane1"), 1);
    glUniform1i(reel_gl_uniform(prog, "u_taps"), 2);
    glUniform3i(reel_gl_uniform(prog, "u_orient_x"), m[0], m[1], m[2]);
    glUniform3i(reel_gl_uniform(prog, "u_orient_y"), m[3], m[4], m[5]);
    glUniform1i(reel_gl_uniform(prog, "u_up_w"), ly->up_w[k]);
    glUniform1i(reel_gl_uniform(prog, "u_first"), ly->first_h[k]);
    reel_gl_draw_rect(prog, dst->w, dst->h, 0, 0, dst->w, dst->h);
}

/* Resample, convert and premultiply the uploaded frame into the box texture: a horizontal pass
 * per plane set, then one vertical pass that also converts. */
static void fit_video(struct reel_gl_layer *ly)
{
    bool is_yuv = ly->kind != REEL_GL_SRC_RGBA;
    glDisable(GL_BLEND);
    video_h(ly, 0);
    if (is_yuv)
        video_h(ly, 1);

    GLuint prog = ly->is_fallback ? ly->prog_v_rgba : ly->prog_v;
    glUseProgram(prog);
    glBindFramebuffer(GL_FRAMEBUFFER, ly->box.fbo);
    bind_unit(0, ly->h_luma.tex);
    bind_unit(1, is_yuv ? ly->h_chroma.tex : 0);
    bind_unit(2, ly->taps_v[0]);
    bind_unit(3, is_yuv ? ly->taps_v[1] : 0);
    glUniform1i(reel_gl_uniform(prog, "u_h0"), 0);
    glUniform1i(reel_gl_uniform(prog, "u_h1"), 1);
    glUniform1i(reel_gl_uniform(prog, "u_taps0"), 2);
    glUniform1i(reel_gl_uniform(prog, "u_taps1"), 3);
    glUniform4i(reel_gl_uniform(prog, "u_content"), ly->cx0, ly->cy0, ly->cw, ly->ch);
    glUniform2i(reel_gl_uniform(prog, "u_vis0"), ly->vx0 - ly->cx0, ly->vis_row0);
    glUniform2i(reel_gl_uniform(prog, "u_rows"), ly->up_h[0], is_yuv ? ly->up_h[1] : 1);
    glUniform1i(reel_gl_uniform(prog, "u_first"), ly->first_v);
    glUniform1i(reel_gl_uniform(prog, "u_swap_uv"), ly->swap_uv ? 1 : 0);
    if (is_yuv) {
        glUniformMatrix3fv(reel_gl_uniform(prog, "u_yuv_m"), 1, GL_FALSE, ly->yuv_m);
        glUniform3fv(reel_gl_uniform(prog, "u_yuv_off"), 1, ly->yuv_off);
    }
    reel_gl_draw_rect(prog, ly->tex_w, ly->tex_h, 0, 0, ly->tex_w, ly->tex_h);
    for (int i = 3; i >= 0; i--)
        bind_unit(i, 0);
}

int reel_gl_layer_update_video(struct reel_engine *eng, struct reel_gl_layer *ly, int64_t source_us)
{
    const AVFrame *f = NULL;
    int ret = reel_video_source_get(ly->vs, source_us, &f, &eng->err);
    if (ret < 0)
        return ret;
    if (ly->has_frame && ly->frame_pts == f->pts)
        return 0;
    ly->has_frame = false;
    if (ly->kind == REEL_GL_SRC_NONE || f->width != ly->frame_w || f->height != ly->frame_h ||
        f->format != ly->frame_fmt) {
        /* Programs are only built at prepare, for the stream as it started; a stream that
         * changes goes through the general RGBA programs built then for this case. */
        REEL_INFO(eng->log, "%s: the video changed to %dx%d %s mid-stream", ly->l->path, f->width,
                  f->height, av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        ly->is_fallback = true;
        /* The picture keeps its place in the box; a resized stream is scaled into it. */
        bool turned = ly->rotation % 180 != 0;
        ly->src_x = 0;
        ly->src_y = 0;
        ly->src_w = turned ? f->height : f->width;
        ly->src_h = turned ? f->width : f->height;
        if ((ret = setup_planes(eng, ly, f)) < 0)
            return ret;
    }
    if ((ret = upload_frame(eng, ly, f)) < 0)
        return ret;
    fit_video(ly);
    ly->draw_tex = ly->box.tex;
    if ((ret = reel_gl_check(&eng->err, ly->l->path, "video conversion")) < 0)
        return ret;
    if (has_effects(ly->l) && (ret = reel_gl_layer_effects(eng, ly)) < 0)
        return ret;
    ly->has_frame = true;
    ly->frame_pts = f->pts;
    return 0;
}

/* The layer's video programs for its stream (kind and scales are known after the first frame),
 * plus the general RGBA ones for a stream that changes mid-way. */
static int video_programs(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    char defs[128];
    bool is_yuv = ly->kind != REEL_GL_SRC_RGBA;
    int ret = 0;
    for (int k = 0; k < (is_yuv ? 2 : 1) && ret == 0; k++) {
        const char *ch = !is_yuv                          ? "CH_RGBA"
                         : k == 0                         ? "CH_Y"
                         : ly->kind == REEL_GL_SRC_PLANAR ? "CH_UV2"
                                                          : "CH_UV";
        snprintf(defs, sizeof(defs), "#define %s 1\n%s", ch,
                 ly->is_id_h[k] ? "#define IDENTITY 1\n" : "");
        ret = reel_gl_program(eng, "video_h.frag", defs, &ly->prog_h[k]);
    }
    if (ret == 0) {
        snprintf(defs, sizeof(defs), "#define %s 1\n%s", is_yuv ? "SRC_YUV" : "SRC_RGBA",
                 ly->is_id_v ? "#define IDENTITY 1\n" : "");
        ret = reel_gl_program(eng, "video_v.frag", defs, &ly->prog_v);
    }
    if (ret == 0)
        ret = reel_gl_program(eng, "video_h.frag", "#define CH_RGBA 1\n", &ly->prog_h_rgba);
    if (ret == 0)
        ret = reel_gl_program(eng, "video_v.frag", "#define SRC_RGBA 1\n", &ly->prog_v_rgba);
    return ret;
}

static int prepare_video(struct reel_engine *eng, struct reel_gl_layer *ly, int i,
                         struct reel_video_opener *opener)
{
    struct reel_gl_priv *p = eng->priv;
    const struct reel_layer *l = ly->l;
    int ret = reel_video_opener_take(opener, p->scene->tl, i, &ly->vs, &eng->err);
    if (ret < 0)
        return ret;
    int sw, sh;
    reel_video_source_size(ly->vs, &sw, &sh);
    /* Phones store portrait video sideways with a display matrix: everything from the box on
     * works on the upright picture, and the first resample pass reads the decoded one turned. */
    ly->rotation = reel_video_source_rotation(ly->vs);
    if (ly->rotation % 180) {
        int t = sw;
        sw = sh;
        sh = t;
    }
    reel_layer_box(p->scene->tl, l, sw, sh, &ly->bw, &ly->bh);
    if (!(ly->bw > 0.0) || !(ly->bh > 0.0))
        return 0;
    ly->tex_w = tex_size(ly->bw);
    ly->tex_h = tex_size(ly->bh);
    content_rect(ly, l->fit, sw, sh, &ly->cx0, &ly->cy0, &ly->cw, &ly->ch);
    /* The whole picture maps onto the content rectangle; the part that overflows the box (cover,
     * a natural size larger than the box) has no texel to land on and is never computed. */
    ly->vx0 = ly->cx0 > 0 ? ly->cx0 : 0;
    int vx1 = ly->cx0 + ly->cw < ly->tex_w ? ly->cx0 + ly->cw : ly->tex_w;
    ly->vis_w = vx1 - ly->vx0;
    ly->vis_row0 = ly->cy0 < 0 ? -ly->cy0 : 0;
    ly->vis_h =
        (ly->cy0 + ly->ch < ly->tex_h ? ly->cy0 + ly->ch : ly->tex_h) - ly->cy0 - ly->vis_row0;
    if (ly->cw <= 0 || ly->ch <= 0 || ly->vis_w <= 0 || ly->vis_h <= 0)
        return 0;
    /* The source rectangle is in decoded texels: an anamorphic frame (sample aspect ratio) is
     * narrower than the size fitted above, and is stretched onto it. */
    int fw, fh;
    reel_video_source_frame_size(ly->vs, &fw, &fh);
    ly->src_x = 0;
    ly->src_y = 0;
    ly->src_w = ly->rotation % 180 ? fh : fw;
    ly->src_h = ly->rotation % 180 ? fw : fh;
    if ((ret = alloc_box(eng, ly)) < 0)
        return ret;
    /* Decode the first frame now: a broken file fails the job before any frame is rendered. */
    const AVFrame *f = NULL;
    if ((ret = reel_video_source_get(ly->vs, l->trim_us, &f, &eng->err)) < 0)
        return ret;
    if ((ret = setup_planes(eng, ly, f)) < 0)
        return ret;
    if ((ret = video_programs(eng, ly)) < 0)
        return ret;
    ly->is_drawn = true;
    return 0;
}

static bool is_mask(enum reel_transition_type t)
{
    return t == REEL_TR_WIPE_LEFT || t == REEL_TR_WIPE_RIGHT || t == REEL_TR_WIPE_UP ||
           t == REEL_TR_WIPE_DOWN || t == REEL_TR_CIRCLE_OPEN || t == REEL_TR_CIRCLE_CLOSE ||
           t == REEL_TR_RADIAL;
}

/* The compose programs the layer draws with: per-pixel masks only when its transitions have
 * them; for texture layers also the whole-pixel translation variant. */
static int draw_programs(struct reel_engine *eng, struct reel_gl_layer *ly)
{
    char defs[128];
    const char *masks =
        is_mask(ly->l->tr_in.type) || is_mask(ly->l->tr_out.type) ? "#define MASKS 1\n" : "";
    snprintf(defs, sizeof(defs), "%s%s", ly->is_solid ? "#define SOLID 1\n" : "", masks);
    int ret = reel_gl_program(eng, "compose.frag", defs, &ly->prog_draw);
    if (ret == 0 && !ly->is_solid) {
        snprintf(defs, sizeof(defs), "#define FAST 1\n%s", masks);
        ret = reel_gl_program(eng, "compose.frag", defs, &ly->prog_draw_fast);
    }
    return ret;
}

int reel_gl_layer_prepare(struct reel_engine *eng, int i, struct reel_video_opener *opener)
{
    struct reel_gl_priv *p = eng->priv;
    const struct reel_timeline *tl = p->scene->tl;
    struct reel_gl_layer *ly = &p->layers[i];
    const struct reel_layer *l = &tl->layers[i];
    const struct reel_image *content = p->scene->content ? &p->scene->content[i] : NULL;
    int ret = 0;
    ly->l = l;
    ly->fx_at[2] = -1; /* the effects' region is worked out when they first run */
    if (!reel_layer_is_visual(l))
        return 0;
    switch (l->type) {
    case REEL_LAYER_COLOR:
        reel_layer_box(tl, l, 0, 0, &ly->bw, &ly->bh);
        ret = prepare_color(eng, ly);
        ly->is_drawn = ret == 0 && ly->bw > 0.0 && ly->bh > 0.0;
        break;
    case REEL_LAYER_IMAGE:
    case REEL_LAYER_TEXT:
    case REEL_LAYER_SHAPE:
        if (!content || !content->data || content->width <= 0 || content->height <= 0) {
            /* Empty text rasterises to nothing; an image must have pixels. */
            if (l->type == REEL_LAYER_IMAGE)
                ret = reel_err_set(&eng->err, REEL_ERENDER, l->path,
                                   "image layer has no decoded content");
            break;
        }
        ret = prepare_static(eng, ly, content);
        ly->is_drawn = ret == 0 && ly->draw_tex && ly->bw > 0.0 && ly->bh > 0.0;
        break;
    case REEL_LAYER_VIDEO:
        ret = prepare_video(eng, ly, i, opener);
        break;
    default:
        break;
    }
    if (ret == 0 && ly->is_drawn)
        ret = draw_programs(eng, ly);
    if (ret < 0 && !eng->err.path[0])
        snprintf(eng->err.path, sizeof(eng->err.path), "%s", l->path);
    return ret;
}

void reel_gl_layer_uninit(struct reel_gl_layer *ly)
{
    free_planes(ly);
    reel_video_source_close(&ly->vs);
    reel_gl_target_uninit(&ly->box);
    reel_gl_target_uninit(&ly->scratch);
    reel_gl_target_uninit(&ly->blur_tmp);
    if (ly->content_tex)
        glDeleteTextures(1, &ly->content_tex);
    ly->content_tex = 0;
    /* Nothing here reads the timeline: it may be gone when a new scene is prepared. */
    for (int i = 0; ly->blur_w && i < ly->n_blur_slots; i++)
        if (ly->blur_w[i])
            glDeleteTextures(1, &ly->blur_w[i]);
    free(ly->blur_w);
    free(ly->blur_r);
    free(ly->blur_w_row);
    ly->blur_w = NULL;
    ly->blur_r = ly->blur_w_row = NULL;
    ly->draw_tex = 0;
}
