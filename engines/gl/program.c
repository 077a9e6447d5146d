#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <GLES3/gl3.h>

#include "engines/gl/program.h"
#include "engines/gl/shader_files.h"

#define MAX_INCLUDE_DEPTH 8
#define MAX_INCLUDES 32

/* Growable string. */
struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void sb_append(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_append(b, s, strlen(s));
}

void reel_gl_program_cache_init(struct reel_gl_program_cache *pc)
{
    memset(pc, 0, sizeof(*pc));
    const char *dir = getenv("REEL_SHADER_DIR");
    if (dir && *dir)
        snprintf(pc->shader_dir, sizeof(pc->shader_dir), "%s", dir);
}

void reel_gl_program_cache_uninit(struct reel_gl_program_cache *pc)
{
    if (!pc)
        return;
    for (int i = 0; i < pc->count; i++)
        glDeleteProgram(pc->items[i].program);
    free(pc->items);
    pc->items = NULL;
    pc->count = pc->cap = 0;
}

/* A stage or include file's text, malloc'ed. */
static int load_source(const struct reel_gl_program_cache *pc, const char *name, char **out,
                       struct reel_err *err)
{
    *out = NULL;
    if (pc->shader_dir[0]) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", pc->shader_dir, name);
        FILE *f = fopen(path, "rb");
        if (!f)
            return reel_err_set(err, REEL_ERENDER, "engine", "gl: cannot read shader %s: %s", path,
                                strerror(errno));
        struct sbuf b = {0};
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            sb_append(&b, chunk, n);
        fclose(f);
        if (b.failed || !b.s) {
            free(b.s);
            if (b.failed)
                return reel_err_set(err, REEL_ENOMEM, "engine", "out of memory");
            b.s = strdup("");
            if (!b.s)
                return reel_err_set(err, REEL_ENOMEM, "engine", "out of memory");
        }
        *out = b.s;
        return 0;
    }
    for (const struct reel_gl_shader_file *f = reel_gl_shader_files; f->name; f++) {
        if (!strcmp(f->name, name)) {
            if (!(*out = strdup(f->data)))
                return reel_err_set(err, REEL_ENOMEM, "engine", "out of memory");
            return 0;
        }
    }
    return reel_err_set(err, REEL_ERENDER, "engine", "gl: no shader file named %s", name);
}

/* If line is `#include "name"` (leading blanks allowed), copy name into buf and return true. */
static bool parse_include(const char *line, size_t len, char *buf, size_t cap)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (len - i < 8 || strncmp(line + i, "#include", 8) != 0)
        return false;
    i += 8;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i >= len || line[i] != '"')
        return false;
    size_t start = ++i;
    while (i < len && line[i] != '"')
        i++;
    if (i >= len || i - start + 1 > cap || i == start)
        return false;
    memcpy(buf, line + start, i - start);
    buf[i - start] = 0;
    return true;
}

struct include_state {
    char names[MAX_INCLUDES][64];
    int count;
};

/* Append text to b with its includes expanded (each include file once per stage). */
static int expand(const struct reel_gl_program_cache *pc, const char *text, int depth,
                  struct include_state *inc, struct sbuf *b, struct reel_err *err)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return reel_err_set(err, REEL_ERENDER, "engine", "gl: shader includes nested too deeply");
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char name[64];
        if (parse_include(p, len, name, sizeof(name))) {
            bool seen = false;
            for (int i = 0; i < inc->count; i++)
                seen = seen || !strcmp(inc->names[i], name);
            if (!seen) {
                if (inc->count == MAX_INCLUDES)
                    return reel_err_set(err, REEL_ERENDER, "engine", "gl: too many includes");
                snprintf(inc->names[inc->count++], sizeof(inc->names[0]), "%s", name);
                char path[96], *sub = NULL;
                snprintf(path, sizeof(path), "include/%s", name);
                int ret = load_source(pc, path, &sub, err);
                if (ret < 0)
                    return ret;
                ret = expand(pc, sub, depth + 1, inc, b, err);
                free(sub);
                if (ret < 0)
                    return ret;
            }
            sb_puts(b, "\n"); /* keeps one line per directive for the numbered listing */
        } else {
            sb_append(b, p, len);
            sb_puts(b, "\n");
        }
        p = nl ? nl + 1 : p + len;
    }
    return b->failed ? reel_err_set(err, REEL_ENOMEM, "engine", "out of memory") : 0;
}

static int assemble(const struct reel_gl_program_cache *pc, const char *name, const char *defines,
                    char **out, struct reel_err *err)
{
    struct sbuf b = {0};
    struct include_state inc = {.count = 0};
    char *text = NULL;
    *out = NULL;
    int ret = load_source(pc, name, &text, err);
    if (ret < 0)
        return ret;
    sb_puts(&b, "#version 300 es\nprecision highp float;\nprecision highp int;\n"
                "precision highp sampler2D;\n");
    if (defines)
        sb_puts(&b, defines);
    ret = expand(pc, text, 0, &inc, &b, err);
    free(text);
    if (ret < 0) {
        free(b.s);
        return ret;
    }
    *out = b.s;
    return 0;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Log lines of text in messages short enough for the logger (it keeps about 2 KiB a line). */
static void log_chunked(struct reel_log *log, const char *head, const char *text)
{
    const size_t max = 1700;
    size_t len = strlen(text), pos = 0;
    int part = 1;
    while (pos < len || part == 1) {
        size_t n = len - pos;
        if (n > max) {
            n = max;
            while (n > 0 && text[pos + n - 1] != '\n')
                n--;
            if (n == 0)
                n = max;
        }
        REEL_ERROR(log, "stage=prepare gl: %s (part %d):\n%.*s", head, part, (int)n, text + pos);
        pos += n;
        part++;
    }
}

/* Log the info log and the source with line numbers; copy the log's first line into first. */
static void log_failure(struct reel_log *log, const char *what, const char *name, const char *info,
                        const char *src, char *first, size_t cap)
{
    struct sbuf b = {0};
    char num[16], head[160];
    int line = 1;
    for (const char *p = src; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(num, sizeof(num), "%4d| ", line++);
        sb_puts(&b, num);
        sb_append(&b, p, len);
        sb_puts(&b, "\n");
        p = nl ? nl + 1 : p + len;
    }
    snprintf(head, sizeof(head), "%s %s failed, info log", what, name);
    log_chunked(log, head, info && *info ? info : "(no info log)");
    snprintf(head, sizeof(head), "%s %s failed, source", what, name);
    log_chunked(log, head, b.s ? b.s : "(out of memory)");
    free(b.s);
    const char *s = info && *info ? info : "no info log";
    size_t n = strcspn(s, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(first, s, n);
    first[n] = 0;
}

static char *info_log(GLuint obj, bool is_program)
{
    GLint len = 0;
    if (is_program)
        glGetProgramiv(obj, GL_INFO_LOG_LENGTH, &len);
    else
        glGetShaderiv(obj, GL_INFO_LOG_LENGTH, &len);
    char *s = malloc(len > 0 ? (size_t)len + 1 : 1);
    if (!s)
        return NULL;
    s[0] = 0;
    if (len > 0) {
        if (is_program)
            glGetProgramInfoLog(obj, len + 1, NULL, s);
        else
            glGetShaderInfoLog(obj, len + 1, NULL, s);
    }
    return s;
}

static int compile(GLenum type, const char *name, const char *src, struct reel_log *log,
                   GLuint *out, struct reel_err *err)
{
    GLuint sh = glCreateShader(type);
    if (!sh)
        return reel_err_set(err, REEL_ERENDER, "engine", "gl: glCreateShader failed (0x%x)",
                            glGetError());
    glShaderSource(sh, 1, &src, NULL);
    glCompileShader(sh);
    GLint ok = 0;
    glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char *info = info_log(sh, false), first[256];
        log_failure(log, "compiling", name, info, src, first, sizeof(first));
        free(info);
        glDeleteShader(sh);
        return reel_err_set(err, REEL_ERENDER, "engine", "gl: shader %s failed to compile: %s",
                            name, first);
    }
    *out = sh;
    return 0;
}

int reel_gl_program_get(struct reel_gl_program_cache *pc, const char *vert, const char *frag,
                        const char *defines, struct reel_log *log, GLuint *out,
                        struct reel_err *err)
{
    char *vs = NULL, *fs = NULL;
    GLuint v = 0, f = 0, prog = 0;
    int ret = assemble(pc, vert, defines, &vs, err);
    if (ret == 0)
        ret = assemble(pc, frag, defines, &fs, err);
    if (ret < 0)
        goto out;
    uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ULL, vs), "\x01");
    h = fnv1a(h, fs);
    for (int i = 0; i < pc->count; i++) {
        if (pc->items[i].hash == h) {
            *out = pc->items[i].program;
            goto out;
        }
    }
    if ((ret = compile(GL_VERTEX_SHADER, vert, vs, log, &v, err)) < 0 ||
        (ret = compile(GL_FRAGMENT_SHADER, frag, fs, log, &f, err)) < 0)
        goto out;
    prog = glCreateProgram();
    glAttachShader(prog, v);
    glAttachShader(prog, f);
    glLinkProgram(prog);
    GLint ok = 0;
    glGetProgramiv(prog, GL_LINK_STATUS, &ok);
    if (!ok) {
        char *info = info_log(prog, true), first[256];
        char both[128];
        snprintf(both, sizeof(both), "%s + %s", vert, frag);
        log_failure(log, "linking", both, info, fs, first, sizeof(first));
        free(info);
        ret = reel_err_set(err, REEL_ERENDER, "engine", "gl: program %s failed to link: %s", both,
                           first);
        goto out;
    }
    if (pc->count == pc->cap) {
        int cap = pc->cap ? pc->cap * 2 : 16;
        struct reel_gl_program_entry *items = realloc(pc->items, sizeof(*items) * (size_t)cap);
        if (!items) {
            ret = reel_err_set(err, REEL_ENOMEM, "engine", "out of memory");
            goto out;
        }
        pc->items = items;
        pc->cap = cap;
    }
    pc->items[pc->count++] = (struct reel_gl_program_entry){.hash = h, .program = prog};
    *out = prog;
    prog = 0;
out:
    if (prog)
        glDeleteProgram(prog);
    if (v)
        glDeleteShader(v);
    if (f)
        glDeleteShader(f);
    free(vs);
    free(fs);
    return ret;
}
