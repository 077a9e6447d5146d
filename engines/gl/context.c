/*
 * Display choice, in the order the SPEC gives (section 6): a hardware EGL device, a DRM render
 * node through GBM, Mesa's surfaceless platform. Software devices (EGL_MESA_device_software, i.e.
 * llvmpipe) are skipped in the first step because the surfaceless platform reaches the same
 * renderer last, and a hardware render node should win over it.
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES3/gl3.h>
#include <gbm.h>

#include "engines/gl/context.h"

#define MAX_DEVICES 16
#define MAX_NODES 16
#define MAX_DISPLAYS 16

/* Not every eglext.h names these (they come from newer extension revisions). */
#ifndef EGL_DRM_RENDER_NODE_FILE_EXT
#define EGL_DRM_RENDER_NODE_FILE_EXT 0x3377
#endif
#ifndef EGL_DRM_DEVICE_FILE_EXT
#define EGL_DRM_DEVICE_FILE_EXT 0x3233
#endif
#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

struct reel_gl_display {
    char key[96]; /* "device:N", "gbm:/dev/dri/renderDN", "surfaceless" */
    EGLDisplay dpy;
    struct gbm_device *gbm;
    int fd;
    int refs;
    bool is_kept; /* a context was made on it: stays initialised until the process ends */
};

/* EGL's display table is process-wide, so ours is too; see context.h. */
static pthread_mutex_t displays_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reel_gl_display displays[MAX_DISPLAYS];
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

struct egl_fns {
    PFNEGLQUERYDEVICESEXTPROC query_devices;
    PFNEGLQUERYDEVICESTRINGEXTPROC query_device_string;
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display;
};

static bool has_ext(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && (p = strstr(p, name)); p += n) {
        bool starts = p == list || p[-1] == ' ';
        bool ends = p[n] == 0 || p[n] == ' ';
        if (starts && ends)
            return true;
    }
    return false;
}

static void load_fns(struct egl_fns *f)
{
    /* Function pointers from eglGetProcAddress are cast through void* as the EGL spec intends. */
    f->query_devices = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
    f->query_device_string =
        (PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
    f->get_platform_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
}

static const char *egl_error_name(EGLint e)
{
    switch (e) {
    case EGL_SUCCESS:
        return "EGL_SUCCESS";
    case EGL_NOT_INITIALIZED:
        return "EGL_NOT_INITIALIZED";
    case EGL_BAD_ACCESS:
        return "EGL_BAD_ACCESS";
    case EGL_BAD_ALLOC:
        return "EGL_BAD_ALLOC";
    case EGL_BAD_ATTRIBUTE:
        return "EGL_BAD_ATTRIBUTE";
    case EGL_BAD_CONFIG:
        return "EGL_BAD_CONFIG";
    case EGL_BAD_CONTEXT:
        return "EGL_BAD_CONTEXT";
    case EGL_BAD_DISPLAY:
        return "EGL_BAD_DISPLAY";
    case EGL_BAD_MATCH:
        return "EGL_BAD_MATCH";
    case EGL_BAD_PARAMETER:
        return "EGL_BAD_PARAMETER";
    case EGL_BAD_SURFACE:
        return "EGL_BAD_SURFACE";
    case EGL_CONTEXT_LOST:
        return "EGL_CONTEXT_LOST";
    default:
        return "EGL error";
    }
}

/* Append a reason to a "; "-separated list. */
static void note(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 3 >= cap)
        return;
    if (len) {
        snprintf(buf + len, cap - len, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static int pin_dri_driver(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    const char *name = info->dlpi_name;
    size_t n = name ? strlen(name) : 0;
    if (n > 7 && !strcmp(name + n - 7, "_dri.so") && strstr(name, "/dri/")) {
        void *h = dlopen(name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        if (h)
            dlclose(h); /* drops the reference just taken; the library stays marked */
    }
    return 0;
}

/*
 * Keep every Mesa DRI driver that eglInitialize loaded in memory for the life of the process
 * (RTLD_NODELETE), so that eglTerminate ends the screen but does not unload the driver. Mesa keeps
 * state of its own in the driver's globals that it never frees (on AMD Zen CPUs, Mesa 22.3's
 * CPU topology detection allocates an L3 affinity mask, once per load); unloading the driver makes
 * that memory unreachable, and every later load allocates it again, a leak per probe or per job in
 * a long-running server. Pinned, the driver is loaded once and its state stays its own. Drivers
 * that are not Mesa's (no "_dri.so" in /dri/) are left alone.
 */
static void pin_dri_drivers(void)
{
    dl_iterate_phdr(pin_dri_driver, NULL);
}

/*
 * Find or create the shared display for key. native/platform are used only when it is new.
 * gbm/fd (may be NULL/-1) pass to the new entry's ownership on success. Returns NULL when
 * eglGetPlatformDisplay or eglInitialize fails (reason in why).
 */
static struct reel_gl_display *display_acquire(const struct egl_fns *f, const char *key,
                                               EGLenum platform, void *native,
                                               struct gbm_device *gbm, int fd, char *why,
                                               size_t why_cap)
{
    struct reel_gl_display *d = NULL;
    pthread_mutex_lock(&displays_lock);
    for (int i = 0; i < MAX_DISPLAYS; i++) {
        if ((displays[i].refs > 0 || displays[i].is_kept) && !strcmp(displays[i].key, key)) {
            d = &displays[i];
            d->refs++;
            goto out;
        }
    }
    EGLDisplay dpy = f->get_platform_display(platform, native, NULL);
    if (dpy == EGL_NO_DISPLAY) {
        snprintf(why, why_cap, "%s: eglGetPlatformDisplay failed (%s)", key,
                 egl_error_name(eglGetError()));
        goto out;
    }
    /* Two keys may name one EGLDisplay; share it rather than initialise it twice. */
    for (int i = 0; i < MAX_DISPLAYS; i++) {
        if ((displays[i].refs > 0 || displays[i].is_kept) && displays[i].dpy == dpy) {
            d = &displays[i];
            d->refs++;
            goto out;
        }
    }
    EGLint major = 0, minor = 0;
    if (!eglInitialize(dpy, &major, &minor)) {
        snprintf(why, why_cap, "%s: eglInitialize failed (%s)", key, egl_error_name(eglGetError()));
        goto out;
    }
    pin_dri_drivers();
    for (int i = 0; i < MAX_DISPLAYS; i++) {
        if (displays[i].refs == 0 && !displays[i].is_kept) {
            d = &displays[i];
            break;
        }
    }
    if (!d) {
        eglTerminate(dpy);
        snprintf(why, why_cap, "%s: too many EGL displays open", key);
        goto out;
    }
    memset(d, 0, sizeof(*d));
    snprintf(d->key, sizeof(d->key), "%s", key);
    d->dpy = dpy;
    d->gbm = gbm;
    d->fd = fd;
    d->refs = 1;
    gbm = NULL;
    fd = -1;
out:
    pthread_mutex_unlock(&displays_lock);
    if (gbm)
        gbm_device_destroy(gbm);
    if (fd >= 0)
        close(fd);
    return d;
}

static void display_release(struct reel_gl_display **pd)
{
    struct reel_gl_display *d = *pd;
    if (!d)
        return;
    pthread_mutex_lock(&displays_lock);
    if (--d->refs == 0 && !d->is_kept) {
        eglTerminate(d->dpy);
        if (d->gbm)
            gbm_device_destroy(d->gbm);
        if (d->fd >= 0)
            close(d->fd);
        memset(d, 0, sizeof(*d));
    }
    pthread_mutex_unlock(&displays_lock);
    *pd = NULL;
}

/*
 * At process exit, terminate every kept display that no context uses any more. Terminating ends
 * the driver's screen: its worker threads (llvmpipe's rasterizer and compute pools, the shader
 * cache queue) are joined before exit-time checks such as LeakSanitizer's run, instead of being
 * left running while the process ends. A display still in use by an open context is left alone.
 * Runs from atexit, registered when the first context is opened: after the driver registered its
 * own handlers, so this one runs before them.
 */
static void terminate_kept_displays(void)
{
    pthread_mutex_lock(&displays_lock);
    for (int i = 0; i < MAX_DISPLAYS; i++) {
        struct reel_gl_display *d = &displays[i];
        if (!d->is_kept || d->refs > 0)
            continue;
        eglMakeCurrent(d->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        eglTerminate(d->dpy);
        if (d->gbm)
            gbm_device_destroy(d->gbm);
        if (d->fd >= 0)
            close(d->fd);
        memset(d, 0, sizeof(*d));
    }
    pthread_mutex_unlock(&displays_lock);
    eglReleaseThread();
}

static void register_exit_teardown(void)
{
    atexit(terminate_kept_displays);
}

/* Hardware EGL devices, in enumeration order: their indices in the full device list. */
static int hardware_devices(const struct egl_fns *f, EGLDeviceEXT *devs, int *n_all, int *hw)
{
    EGLint n = 0;
    *n_all = 0;
    if (!f->query_devices || !f->query_device_string || !f->query_devices(MAX_DEVICES, devs, &n) ||
        n < 0)
        return 0;
    *n_all = n;
    int n_hw = 0;
    for (int i = 0; i < n; i++) {
        const char *ext = f->query_device_string(devs[i], EGL_EXTENSIONS);
        if (!has_ext(ext, "EGL_MESA_device_software"))
            hw[n_hw++] = i;
    }
    return n_hw;
}

static const char *device_node(const struct egl_fns *f, EGLDeviceEXT dev)
{
    const char *ext = f->query_device_string(dev, EGL_EXTENSIONS);
    const char *node = NULL;
    if (has_ext(ext, "EGL_EXT_device_drm_render_node"))
        node = f->query_device_string(dev, EGL_DRM_RENDER_NODE_FILE_EXT);
    if (!node && has_ext(ext, "EGL_EXT_device_drm"))
        node = f->query_device_string(dev, EGL_DRM_DEVICE_FILE_EXT);
    return node ? node : "no DRM node";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /dev/dri/renderD* in name order; returns the count (names malloc'ed into nodes). */
static int render_nodes(char **nodes)
{
    int n = 0;
    DIR *dir = opendir("/dev/dri");
    if (!dir)
        return 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < MAX_NODES) {
        if (strncmp(e->d_name, "renderD", 7) != 0)
            continue;
        size_t len = strlen("/dev/dri/") + strlen(e->d_name) + 1;
        if (!(nodes[n] = malloc(len)))
            break;
        snprintf(nodes[n], len, "/dev/dri/%s", e->d_name);
        n++;
    }
    closedir(dir);
    qsort(nodes, (size_t)n, sizeof(*nodes), cmp_str);
    return n;
}

/*
 * The choice itself. On success *out holds a reference and desc says what was chosen and why;
 * on failure returns -REEL_EENGINE_UNAVAILABLE with every rejection in err.
 */
static int choose_display(int gpu_index, struct reel_log *log, struct reel_gl_display **out,
                          enum reel_gl_platform *platform, char *desc, size_t desc_cap,
                          struct reel_err *err)
{
    struct egl_fns f;
    char why[768] = "", one[256];
    *out = NULL;
    load_fns(&f);
    const char *cext = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
    if (!cext || !f.get_platform_display || !has_ext(cext, "EGL_EXT_platform_base"))
        return reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                            "gl: no usable EGL implementation (no client extensions or "
                            "EGL_EXT_platform_base; is an EGL vendor library installed?)");

    /* 1. A hardware EGL device. */
    if (has_ext(cext, "EGL_EXT_device_enumeration") && has_ext(cext, "EGL_EXT_platform_device")) {
        EGLDeviceEXT devs[MAX_DEVICES];
        int hw[MAX_DEVICES], n_all = 0;
        int n_hw = hardware_devices(&f, devs, &n_all, hw);
        if (gpu_index >= 0 && n_hw > 0 && gpu_index >= n_hw)
            return reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                                "gl: --gpu %d asked for, but only %d hardware EGL device%s found",
                                gpu_index, n_hw, n_hw == 1 ? "" : "s");
        for (int k = 0; k < n_hw; k++) {
            if (gpu_index >= 0 && k != gpu_index)
                continue;
            char key[32];
            snprintf(key, sizeof(key), "device:%d", hw[k]);
            struct reel_gl_display *d = display_acquire(&f, key, EGL_PLATFORM_DEVICE_EXT,
                                                        devs[hw[k]], NULL, -1, one, sizeof(one));
            if (d) {
                snprintf(desc, desc_cap,
                         "EGL device %d (%s): hardware device %d of %d%s, through "
                         "EGL_EXT_platform_device",
                         hw[k], device_node(&f, devs[hw[k]]), k, n_hw,
                         gpu_index >= 0 ? " as asked by --gpu" : ", the first that initialised");
                *out = d;
                *platform = REEL_GL_PLATFORM_DEVICE;
                return 0;
            }
            REEL_WARN(log, "stage=engine gl: %s", one);
            note(why, sizeof(why), "%s", one);
        }
        if (n_hw == 0)
            note(why, sizeof(why), "no hardware EGL device (%d software)", n_all);
    } else {
        note(why, sizeof(why), "EGL device enumeration not offered");
    }

    /* 2. A DRM render node through GBM. */
    if (has_ext(cext, "EGL_KHR_platform_gbm") || has_ext(cext, "EGL_MESA_platform_gbm")) {
        char *nodes[MAX_NODES];
        int n = render_nodes(nodes);
        struct reel_gl_display *d = NULL;
        for (int k = 0; k < n && !d; k++) {
            if (gpu_index >= 0 && k != gpu_index)
                continue;
            int fd = open(nodes[k], O_RDWR | O_CLOEXEC);
            if (fd < 0) {
                note(why, sizeof(why), "%s: cannot open (%s)", nodes[k], strerror(errno));
                continue;
            }
            struct gbm_device *gbm = gbm_create_device(fd);
            if (!gbm) {
                close(fd);
                note(why, sizeof(why), "%s: gbm_create_device failed", nodes[k]);
                continue;
            }
            char key[96];
            snprintf(key, sizeof(key), "gbm:%s", nodes[k]);
            d = display_acquire(&f, key, EGL_PLATFORM_GBM_KHR, gbm, gbm, fd, one, sizeof(one));
            if (d) {
                snprintf(desc, desc_cap,
                         "DRM render node %s through GBM (EGL_KHR_platform_gbm): no hardware EGL "
                         "device was usable",
                         nodes[k]);
                *platform = REEL_GL_PLATFORM_GBM;
            } else {
                REEL_WARN(log, "stage=engine gl: %s", one);
                note(why, sizeof(why), "%s", one);
            }
        }
        if (n == 0)
            note(why, sizeof(why), "no DRM render node in /dev/dri");
        for (int k = 0; k < n; k++)
            free(nodes[k]);
        if (d) {
            *out = d;
            return 0;
        }
    }

    /* 3. Mesa's surfaceless platform (llvmpipe on a host without a GPU). */
    if (has_ext(cext, "EGL_MESA_platform_surfaceless")) {
        struct reel_gl_display *d =
            display_acquire(&f, "surfaceless", EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY,
                            NULL, -1, one, sizeof(one));
        if (d) {
            snprintf(desc, desc_cap,
                     "Mesa surfaceless platform (EGL_MESA_platform_surfaceless): %s",
                     why[0] ? why : "no other display");
            if (gpu_index >= 0)
                REEL_WARN(log,
                          "stage=engine gl: --gpu %d ignored: no hardware device or render "
                          "node is usable",
                          gpu_index);
            *out = d;
            *platform = REEL_GL_PLATFORM_SURFACELESS;
            return 0;
        }
        note(why, sizeof(why), "%s", one);
    } else {
        note(why, sizeof(why), "no EGL_MESA_platform_surfaceless");
    }
    return reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine", "gl: no EGL display: %s", why);
}

static bool is_software_renderer(const char *r)
{
    static const char *const names[] = {"llvmpipe",    "softpipe", "swrast",
                                        "SwiftShader", "lavapipe", "Software Rasterizer"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strstr(r, names[i]))
            return true;
    return false;
}

int reel_gl_ctx_open(struct reel_gl_ctx *c, int gpu_index, struct reel_log *log,
                     struct reel_err *err)
{
    memset(c, 0, sizeof(*c));
    c->ctx = EGL_NO_CONTEXT;
    c->dpy = EGL_NO_DISPLAY;
    int ret = choose_display(gpu_index, log, &c->disp, &c->platform, c->desc, sizeof(c->desc), err);
    if (ret < 0)
        return ret;
    c->dpy = c->disp->dpy;
    /*
     * A display that renders is kept initialised for the rest of the process: initialising it
     * again would cost a new driver screen per job. A display that was only probed is still
     * terminated when its last user goes. Kept displays are terminated at exit
     * (terminate_kept_displays).
     */
    pthread_mutex_lock(&displays_lock);
    c->disp->is_kept = true;
    pthread_mutex_unlock(&displays_lock);
    pthread_once(&exit_once, register_exit_teardown);

    const char *dext = eglQueryString(c->dpy, EGL_EXTENSIONS);
    if (!has_ext(dext, "EGL_KHR_surfaceless_context")) {
        ret = reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: the EGL display lacks EGL_KHR_surfaceless_context (%s)", c->desc);
        goto fail;
    }
    if (!eglBindAPI(EGL_OPENGL_ES_API)) {
        ret = reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: eglBindAPI(EGL_OPENGL_ES_API) failed (%s)",
                           egl_error_name(eglGetError()));
        goto fail;
    }
    EGLConfig cfg = (EGLConfig)0; /* EGL_NO_CONFIG_KHR */
    if (!has_ext(dext, "EGL_KHR_no_config_context") &&
        !has_ext(dext, "EGL_MESA_configless_context")) {
        const EGLint attrs[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_ES3_BIT, EGL_SURFACE_TYPE, 0,
                                EGL_NONE};
        EGLint n = 0;
        if (!eglChooseConfig(c->dpy, attrs, &cfg, 1, &n) || n < 1) {
            ret = reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                               "gl: no EGL config for OpenGL ES 3 (%s)", c->desc);
            goto fail;
        }
    }
    const EGLint ctx_attrs[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 0,
                                EGL_NONE};
    c->ctx = eglCreateContext(c->dpy, cfg, EGL_NO_CONTEXT, ctx_attrs);
    if (c->ctx == EGL_NO_CONTEXT) {
        ret = reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: cannot create an OpenGL ES 3.0 context (%s) on %s",
                           egl_error_name(eglGetError()), c->desc);
        goto fail;
    }
    ret = reel_gl_ctx_begin(c, err);
    if (ret < 0) {
        err->code = REEL_EENGINE_UNAVAILABLE;
        ret = -REEL_EENGINE_UNAVAILABLE;
        goto fail;
    }
    const char *renderer = (const char *)glGetString(GL_RENDERER);
    const char *version = (const char *)glGetString(GL_VERSION);
    snprintf(c->renderer, sizeof(c->renderer), "%s", renderer ? renderer : "?");
    snprintf(c->version, sizeof(c->version), "%s", version ? version : "?");
    reel_gl_ctx_end(c);
    int major = 0;
    if (sscanf(c->version, "OpenGL ES %d.", &major) != 1 || major < 3) {
        ret = reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                           "gl: the context is '%s', OpenGL ES 3 is needed", c->version);
        goto fail;
    }
    c->is_hw = c->platform != REEL_GL_PLATFORM_SURFACELESS && !is_software_renderer(c->renderer);
    REEL_INFO(log, "stage=engine gl: using %s; renderer %s, %s%s", c->desc, c->renderer, c->version,
              c->is_hw ? "" : " (software rendering)");
    return 0;
fail:
    reel_gl_ctx_close(c);
    return ret;
}

void reel_gl_ctx_close(struct reel_gl_ctx *c)
{
    if (!c)
        return;
    if (c->ctx != EGL_NO_CONTEXT && c->ctx) {
        /* Destroying a context current on another thread would defer it; release ours first. */
        if (eglGetCurrentContext() == c->ctx)
            reel_gl_ctx_end(c);
        eglDestroyContext(c->dpy, c->ctx);
    }
    c->ctx = EGL_NO_CONTEXT;
    display_release(&c->disp);
    c->dpy = EGL_NO_DISPLAY;
}

int reel_gl_ctx_begin(struct reel_gl_ctx *c, struct reel_err *err)
{
    eglBindAPI(EGL_OPENGL_ES_API);
    if (!eglMakeCurrent(c->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, c->ctx))
        return reel_err_set(err, REEL_ERENDER, "engine", "gl: eglMakeCurrent failed (%s)",
                            egl_error_name(eglGetError()));
    return 0;
}

void reel_gl_ctx_end(struct reel_gl_ctx *c)
{
    eglBindAPI(EGL_OPENGL_ES_API);
    eglMakeCurrent(c->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
}

int reel_gl_probe_display(int gpu_index, struct reel_log *log, char *desc, size_t cap)
{
    struct reel_gl_display *d = NULL;
    enum reel_gl_platform platform;
    struct reel_err err = {0};
    char buf[256] = "";
    int ret = choose_display(gpu_index, log, &d, &platform, buf, sizeof(buf), &err);
    if (ret < 0)
        snprintf(desc, cap, "%s", err.msg);
    else
        snprintf(desc, cap, "%s", buf);
    display_release(&d);
    return ret;
}

void reel_gl_list_devices(char *buf, size_t cap)
{
    struct egl_fns f;
    size_t len = 0;
    buf[0] = 0;
    load_fns(&f);
    const char *cext = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
    EGLDeviceEXT devs[MAX_DEVICES];
    EGLint n = 0;
    if (has_ext(cext, "EGL_EXT_device_enumeration") && f.query_devices && f.query_device_string &&
        f.query_devices(MAX_DEVICES, devs, &n)) {
        for (int i = 0; i < n && len < cap; i++) {
            const char *ext = f.query_device_string(devs[i], EGL_EXTENSIONS);
            bool sw = has_ext(ext, "EGL_MESA_device_software");
            len += (size_t)snprintf(buf + len, cap - len, "EGL device %d: %s%s\n", i,
                                    device_node(&f, devs[i]),
                                    sw ? " (software, skipped)" : " (hardware)");
        }
    } else if (len < cap) {
        len += (size_t)snprintf(buf + len, cap - len, "EGL device enumeration: not offered\n");
    }
    char *nodes[MAX_NODES];
    int nn = render_nodes(nodes);
    for (int i = 0; i < nn; i++) {
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "render node %d: %s\n", i, nodes[i]);
        free(nodes[i]);
    }
    if (nn == 0 && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "render nodes: none in /dev/dri\n");
    if (len < cap)
        snprintf(buf + len, cap - len, "surfaceless platform: %s\n",
                 has_ext(cext, "EGL_MESA_platform_surfaceless") ? "offered" : "not offered");
}
