/*
 * Headless EGL for the gl engine: choose a display (a hardware EGL device, else a DRM render node
 * through GBM, else Mesa's surfaceless platform), create an OpenGL ES 3 context without a surface,
 * and make it current around each engine call.
 *
 * EGL displays are process-wide (the same native display gives the same EGLDisplay, and
 * eglTerminate ends it for every user), so displays are shared between contexts with a reference
 * count here; every context is private to the engine that opened it. A display on which a context
 * was created stays initialised until the process exits, where it is terminated if no context
 * uses it any more (see reel_gl_ctx_open); one that was only probed is terminated when its last
 * user releases it.
 */
#ifndef REEL_ENGINES_GL_CONTEXT_H
#define REEL_ENGINES_GL_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <EGL/egl.h>

#include "core/err.h"
#include "core/log.h"

enum reel_gl_platform {
    REEL_GL_PLATFORM_NONE = 0,
    REEL_GL_PLATFORM_DEVICE,      /* EGL_EXT_platform_device */
    REEL_GL_PLATFORM_GBM,         /* EGL_KHR_platform_gbm on a DRM render node */
    REEL_GL_PLATFORM_SURFACELESS, /* EGL_MESA_platform_surfaceless */
};

struct reel_gl_display;

struct reel_gl_ctx {
    struct reel_gl_display *disp; /* shared, counted */
    EGLDisplay dpy;
    EGLContext ctx;
    enum reel_gl_platform platform;
    bool is_hw;         /* a real GPU: a hardware device or node and not a software renderer */
    char desc[256];     /* which display was chosen and why */
    char renderer[128]; /* GL_RENDERER */
    char version[128];  /* GL_VERSION */
};

/*
 * Choose a display (gpu_index: which hardware device or render node, -1 = the first), initialise
 * it and create an ES 3 context. Each choice and rejection is logged. Returns 0, or
 * -REEL_EENGINE_UNAVAILABLE with err saying why (no display, no ES 3 context, no surfaceless
 * context support). The context is left not current. Any thread may call this.
 */
int reel_gl_ctx_open(struct reel_gl_ctx *c, int gpu_index, struct reel_log *log,
                     struct reel_err *err);

/* Destroy the context and release the display; accepts a zeroed or partly opened ctx. Makes the
 * context current on the calling thread first if needed, so GL objects must be freed before. */
void reel_gl_ctx_close(struct reel_gl_ctx *c);

/* Make the context current on the calling thread. Returns 0 or -REEL_ERENDER (err filled). */
int reel_gl_ctx_begin(struct reel_gl_ctx *c, struct reel_err *err);
/* Release the context from the calling thread so that another thread may make it current. */
void reel_gl_ctx_end(struct reel_gl_ctx *c);

/*
 * Cheap check: can a display be initialised (no context is created)? Writes the display that
 * would be chosen, and why, into desc. Returns 0 or -REEL_EENGINE_UNAVAILABLE.
 */
int reel_gl_probe_display(int gpu_index, struct reel_log *log, char *desc, size_t cap);

/*
 * Describe every EGL device and render node seen, one per line, marking software devices, for
 * `reel probe`. Writes into buf (always NUL-terminated).
 */
void reel_gl_list_devices(char *buf, size_t cap);

#endif
