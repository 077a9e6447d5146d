/*
 * Private state of the gl engine, shared by its source files. Everything here belongs to one
 * engine instance and is used only while its context is current on the calling thread.
 */
#ifndef REEL_ENGINES_GL_GL_PRIV_H
#define REEL_ENGINES_GL_GL_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <GLES3/gl3.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

#include "engines/gl/context.h"
#include "engines/gl/program.h"
#include "render/engine.h"
#include "render/video_opener.h"
#include "render/video_source.h"

/* Largest box texture side, as in the cpu engine. */
#define REEL_GL_MAX_TEX 8192
/* Frames in flight between send_time and receive_frame. */
#define REEL_GL_RING 3
/* Colour effects per effects pass (a longer run takes several passes). */
#define REEL_GL_MAX_FX 16

/* A texture with an optional framebuffer around it. */
struct reel_gl_target {
    GLuint tex, fbo;
    int w, h;
};

enum reel_gl_src_kind {
    REEL_GL_SRC_NONE = 0,
    REEL_GL_SRC_PLANAR, /* 8-bit planar YUV: three R8 planes */
    REEL_GL_SRC_NV12,   /* 8-bit semi-planar YUV: R8 + RG8 */
    REEL_GL_SRC_RGBA,   /* anything else, converted to straight RGBA on the CPU */
};

struct reel_gl_layer {
    const struct reel_layer *l;
    bool is_drawn;
    bool is_solid;
    int solid[4]; /* premultiplied 0..255, effects applied */
    double bw, bh;
    int tex_w, tex_h;
    /* The box texture drawn by compose: box.tex (owned) or a borrowed content texture. */
    struct reel_gl_target box;
    GLuint content_tex; /* static content as uploaded (may be what compose samples) */
    GLuint draw_tex;
    struct reel_gl_target scratch;  /* effect ping-pong, box-sized RGBA8 */
    struct reel_gl_target blur_tmp; /* RGBA16UI, box-sized, when the layer blurs */
    GLuint *blur_w;                 /* per effect: its blur's weight texture (0 = none) */
    int *blur_r, *blur_w_row;       /* per effect: blur radius, weights per texture row */
    int n_blur_slots;               /* length of the three arrays above */
    int fx_at[4]; /* box texels effects compute, x0 y0 x1 y1 (gl_layers.c); fx_at[2] < 0: unset */

    /* Video */
    struct reel_video_source *vs;
    int cx0, cy0, cw, ch;              /* content rectangle in box texels */
    double src_x, src_y, src_w, src_h; /* source rectangle shown there, upright luma texels */
    int rotation;                      /* display matrix: clockwise degrees to turn upright */
    int vx0, vis_w;                    /* box columns the content covers */
    int vis_row0, vis_h;               /* content rows inside the box */
    GLuint taps_h[2], taps_v[2];       /* bicubic weight tables: luma (or RGBA), chroma */
    bool is_id_h[2], is_id_v;          /* passes that map texel centres to texel centres */
    int first_h[2], first_v;           /* their source offsets */
    int orient[2][6];                  /* luma, chroma: upright texel -> decoded texel */
    int up_w[2], up_h[2];              /* luma, chroma plane sizes, upright */
    struct reel_gl_target h_luma;      /* first-pass intermediates (R32I / RGBA32I, RG32I) */
    struct reel_gl_target h_chroma;
    enum reel_gl_src_kind kind;
    int frame_w, frame_h, frame_fmt; /* what the planes are sized for */
    GLuint planes[3];
    int plane_w[3], plane_h[3], plane_bpp[3];
    GLuint upload_pbo;
    size_t upload_size;
    struct SwsContext *sws;
    AVFrame *rgba; /* REEL_GL_SRC_RGBA conversion target */
    float yuv_m[9], yuv_off[3];
    bool swap_uv;
    bool has_frame;
    int64_t frame_pts;
    bool is_fallback; /* the stream changed mid-way: every frame goes the RGBA way */

    /* Programs (owned by the engine's cache), chosen at prepare. */
    GLuint prog_draw;      /* compose, general */
    GLuint prog_draw_fast; /* compose, whole-pixel translation (texture layers) */
    GLuint prog_h[2];      /* video: first pass for luma (or RGBA) and chroma */
    GLuint prog_v;         /* video: second pass */
    GLuint prog_h_rgba;    /* video: the RGBA way, for a stream that changes mid-way */
    GLuint prog_v_rgba;
};

/* Programs shared by every layer; compiled at prepare when the scene needs them. */
enum reel_gl_prog {
    REEL_GL_PROG_NONE = 0,
    REEL_GL_PROG_RESAMPLE,
    REEL_GL_PROG_EFFECTS,
    REEL_GL_PROG_BLUR_H,
    REEL_GL_PROG_BLUR_V,
    REEL_GL_PROG_OUT_Y,
    REEL_GL_PROG_OUT_UV_PLANAR,
    REEL_GL_PROG_OUT_UV_NV12,
    REEL_GL_PROG_OUT_RGBA,
    REEL_GL_PROG_COUNT
};

struct reel_gl_slot {
    bool is_busy;
    uint64_t seq; /* send order */
    int64_t pts_us;
    GLuint pbo;
    GLsync fence;
};

struct reel_gl_priv {
    struct reel_gl_ctx ctx;
    bool is_open;
    struct reel_gl_program_cache programs;
    GLuint prog[REEL_GL_PROG_COUNT];
    GLuint vao;
    int max_tex;

    const struct reel_scene *scene;
    struct reel_gl_layer *layers;
    int n_layers;
    int bg[4]; /* premultiplied background 0..255 */

    /* Output */
    enum AVPixelFormat out_fmt;     /* fixed at prepare */
    struct reel_gl_target canvas;   /* RGBA8, W x H */
    struct reel_gl_target out_rgba; /* straight RGBA, W x H */
    struct reel_gl_target out_y;    /* R8, W x H */
    struct reel_gl_target out_u;    /* R8 W/2 x H/2, or RG8 for NV12 */
    struct reel_gl_target out_v;    /* R8 W/2 x H/2, shares out_u's framebuffer (MRT) */
    size_t frame_bytes;
    struct reel_gl_slot ring[REEL_GL_RING];
    uint64_t next_seq;
    bool is_flushing;
};

/* ---- gl_util.c ---- */

/* Create a w x h texture of internal format ifmt (immutable storage), filter and clamp set. */
GLuint reel_gl_texture(GLenum ifmt, int w, int h, GLenum filter);
/* Create a texture with a framebuffer around it. Returns 0 or -REEL_ERENDER (err filled). */
int reel_gl_target_init(struct reel_gl_target *t, GLenum ifmt, int w, int h, GLenum filter,
                        struct reel_err *err);
void reel_gl_target_uninit(struct reel_gl_target *t);
/* glGetError at a pass boundary: 0, or -REEL_ERENDER with the error and where it was seen. */
int reel_gl_check(struct reel_err *err, const char *path, const char *where);
/* Bind target, set the viewport, and draw program prog over the rectangle x0,y0,x1,y1. The
 * program must be in use with its own uniforms set; this sets u_rect and u_target. */
void reel_gl_draw_rect(GLuint prog, int target_w, int target_h, double x0, double y0, double x1,
                       double y1);
/* Uniform location by name (-1 when the program does not use it). */
GLint reel_gl_uniform(GLuint prog, const char *name);

/* ---- gl_engine.c ---- */

/* rect.vert + shaders/<frag> with defines, from the engine's cache (compiled on first use; call
 * only from prepare). Returns 0 or -REEL_ERENDER / -REEL_ENOMEM (eng->err filled). */
int reel_gl_program(struct reel_engine *eng, const char *frag, const char *defines, GLuint *out);
/* The shared program `which`, compiled on first use (prepare only). */
int reel_gl_need(struct reel_engine *eng, enum reel_gl_prog which);

/* ---- gl_layers.c ---- */

/* Prepare layer i of the scene (static content fitted with its effects, or a video source, taken
 * from opener, which meanwhile opens the next one). */
int reel_gl_layer_prepare(struct reel_engine *eng, int i, struct reel_video_opener *opener);
/* Release a layer's GL objects and source; the context must be current. */
void reel_gl_layer_uninit(struct reel_gl_layer *ly);
/* Bring a video layer's box texture to the frame at source time source_us. */
int reel_gl_layer_update_video(struct reel_engine *eng, struct reel_gl_layer *ly,
                               int64_t source_us);
/* Apply the layer's effects to box (in place, through scratch). */
int reel_gl_layer_effects(struct reel_engine *eng, struct reel_gl_layer *ly);

/* ---- gl_output.c ---- */

/* Allocate the canvas, the output targets and the readback ring for eng->cfg.pix_fmt. */
int reel_gl_output_prepare(struct reel_engine *eng);
void reel_gl_output_uninit(struct reel_gl_priv *p);
/* Convert the canvas to the output format and start reading it back into slot s. */
int reel_gl_output_start(struct reel_engine *eng, struct reel_gl_slot *s);
/* Wait for slot s (when wait) and copy it into a new frame. -REEL_EAGAIN when not ready. */
int reel_gl_output_finish(struct reel_engine *eng, struct reel_gl_slot *s, bool wait,
                          AVFrame **out);

#endif
