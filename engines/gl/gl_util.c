#include <GLES3/gl3.h>

#include "engines/gl/gl_priv.h"

GLuint reel_gl_texture(GLenum ifmt, int w, int h, GLenum filter)
{
    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexStorage2D(GL_TEXTURE_2D, 1, ifmt, w, h);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, (GLint)filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, (GLint)filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glBindTexture(GL_TEXTURE_2D, 0);
    return tex;
}

int reel_gl_target_init(struct reel_gl_target *t, GLenum ifmt, int w, int h, GLenum filter,
                        struct reel_err *err)
{
    t->w = w;
    t->h = h;
    t->tex = reel_gl_texture(ifmt, w, h, filter);
    glGenFramebuffers(1, &t->fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, t->fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, t->tex, 0);
    GLenum status = glCheckFramebufferStatus(GL_FRAMEBUFFER);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    if (status != GL_FRAMEBUFFER_COMPLETE) {
        GLenum e = glGetError();
        reel_gl_target_uninit(t);
        return reel_err_set(err, REEL_ERENDER, "engine",
                            "gl: a %dx%d render target (format 0x%x) is incomplete: status 0x%x, "
                            "error 0x%x",
                            w, h, ifmt, status, e);
    }
    return 0;
}

void reel_gl_target_uninit(struct reel_gl_target *t)
{
    if (t->fbo)
        glDeleteFramebuffers(1, &t->fbo);
    if (t->tex)
        glDeleteTextures(1, &t->tex);
    t->fbo = t->tex = 0;
    t->w = t->h = 0;
}

static const char *gl_error_name(GLenum e)
{
    switch (e) {
    case GL_INVALID_ENUM:
        return "GL_INVALID_ENUM";
    case GL_INVALID_VALUE:
        return "GL_INVALID_VALUE";
    case GL_INVALID_OPERATION:
        return "GL_INVALID_OPERATION";
    case GL_INVALID_FRAMEBUFFER_OPERATION:
        return "GL_INVALID_FRAMEBUFFER_OPERATION";
    case GL_OUT_OF_MEMORY:
        return "GL_OUT_OF_MEMORY";
    default:
        return "GL error";
    }
}

int reel_gl_check(struct reel_err *err, const char *path, const char *where)
{
    GLenum e = glGetError();
    if (e == GL_NO_ERROR)
        return 0;
    /* Drain the queue so that the next check reports only new errors. */
    for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; i++)
        ;
    return reel_err_set(err, REEL_ERENDER, path, "gl: %s (0x%x) during %s", gl_error_name(e), e,
                        where);
}

void reel_gl_draw_rect(GLuint prog, int target_w, int target_h, double x0, double y0, double x1,
                       double y1)
{
    glViewport(0, 0, target_w, target_h);
    glUniform4f(reel_gl_uniform(prog, "u_rect"), (float)x0, (float)y0, (float)x1, (float)y1);
    glUniform2f(reel_gl_uniform(prog, "u_target"), (float)target_w, (float)target_h);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

GLint reel_gl_uniform(GLuint prog, const char *name)
{
    return glGetUniformLocation(prog, name);
}
