/*
 * The GLSL stage files of shaders/, embedded at build time by cmake/embed_shaders.cmake into
 * gen/reel_shaders.c. Names are paths relative to shaders/ ("compose.frag", "include/color.glsl").
 */
#ifndef REEL_ENGINES_GL_SHADER_FILES_H
#define REEL_ENGINES_GL_SHADER_FILES_H

#include <stddef.h>

struct reel_gl_shader_file {
    const char *name;
    const char *data; /* NUL-terminated */
    size_t len;       /* bytes, without the NUL */
};

/* Terminated by an entry whose name is NULL. */
extern const struct reel_gl_shader_file reel_gl_shader_files[];

#endif
