/*
 * Shader programs of the gl engine: stage sources from the embedded shaders/ files (or from
 * REEL_SHADER_DIR on disk), `#include "x.glsl"` resolved from shaders/include/, the version,
 * precision and defines prepended, compiled and linked once per context and cached by a hash of
 * the final sources (so of source and defines).
 *
 * All calls need the owning context current on the calling thread.
 */
#ifndef REEL_ENGINES_GL_PROGRAM_H
#define REEL_ENGINES_GL_PROGRAM_H

#include <stdint.h>

#include <GLES3/gl3.h>

#include "core/err.h"
#include "core/log.h"

struct reel_gl_program_entry {
    uint64_t hash;
    GLuint program;
};

struct reel_gl_program_cache {
    struct reel_gl_program_entry *items;
    int count, cap;
    char shader_dir[1024]; /* REEL_SHADER_DIR at init, "" = embedded sources */
};

/* Read REEL_SHADER_DIR (once per cache, so a job sees one set of sources). */
void reel_gl_program_cache_init(struct reel_gl_program_cache *pc);
/* Delete every program; accepts a zeroed cache. */
void reel_gl_program_cache_uninit(struct reel_gl_program_cache *pc);

/*
 * The program made of shaders vert and frag ("rect.vert", "compose.frag") with defines (lines of
 * "#define NAME VALUE\n", may be NULL), built on first use and cached. On a compile or link
 * failure the info log and the line-numbered source are logged at ERROR and -REEL_ERENDER is
 * returned with err naming the stage file. -REEL_ENOMEM on allocation failure.
 */
int reel_gl_program_get(struct reel_gl_program_cache *pc, const char *vert, const char *frag,
                        const char *defines, struct reel_log *log, GLuint *out,
                        struct reel_err *err);

#endif
