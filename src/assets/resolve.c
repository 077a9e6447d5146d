#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "assets/assets.h"
#include "assets/internal.h"

size_t reel_assets_scheme_len(const char *s)
{
    /* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    if (!s || !isalpha((unsigned char)s[0]))
        return 0;
    size_t n = 1;
    while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
        n++;
    return s[n] == ':' ? n : 0;
}

const struct reel_limits *reel_assets_limits(const struct reel_assets_cfg *cfg,
                                             struct reel_limits *tmp)
{
    if (cfg && cfg->limits)
        return cfg->limits;
    reel_limits_default(tmp);
    return tmp;
}

static bool has_dotdot(const char *rel)
{
    const char *p = rel;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/* True when path is root itself or lies below it; both are canonical (realpath) forms. */
static bool is_inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return !strncmp(path, root, n) && (path[n] == '/' || path[n] == '\0');
}

/* True when the canonical path lies inside the canonical form of any of the roots. A symbolic
 * link from one asset root into another is as safe as naming the file under that other root. */
static bool is_inside_any(const char *path, const char *const *roots)
{
    char root_real[PATH_MAX];
    for (int i = 0; roots && roots[i]; i++)
        if (realpath(roots[i], root_real) && is_inside(path, root_real))
            return true;
    return false;
}

static void list_roots(const char *const *roots, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; roots && roots[i] && o < cap; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", roots[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    if (!buf[0])
        snprintf(buf, cap, "(no asset roots)");
}

int reel_assets_find_local(const char *const *roots, const char *rel, char *out, size_t cap,
                           struct reel_err *err)
{
    char root_real[PATH_MAX], joined[PATH_MAX + 8], real[PATH_MAX], names[512];

    if (!rel || !rel[0])
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "empty asset path");
    if (rel[0] == '/')
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL,
                            "asset path '%s' is absolute; paths are relative to an asset root",
                            rel);
    if (has_dotdot(rel))
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL,
                            "asset path '%s' contains '..'; paths may not leave their root", rel);

    for (int i = 0; roots && roots[i]; i++) {
        if (!realpath(roots[i], root_real))
            continue; /* a missing root simply holds nothing */
        if (snprintf(joined, sizeof(joined), "%s/%s", root_real, rel) >= (int)sizeof(joined))
            return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "asset path '%s' is too long",
                                rel);
        if (!realpath(joined, real))
            continue;
        /* Checked before existence matters so a link pointing out of every root is reported as
         * such instead of being looked up in the next root. */
        if (!is_inside(real, root_real) && !is_inside_any(real, roots))
            return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL,
                                "asset '%s' leaves its root '%s' (through a symbolic link)", rel,
                                roots[i]);
        struct stat st;
        if (stat(real, &st) != 0)
            continue;
        if (!S_ISREG(st.st_mode))
            return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL,
                                "asset '%s' under '%s' is not a regular file", rel, roots[i]);
        if (strlen(real) >= cap)
            return reel_err_set(err, REEL_EINTERNAL, NULL, "resolved path of '%s' is too long",
                                rel);
        memcpy(out, real, strlen(real) + 1);
        return 0;
    }
    list_roots(roots, names, sizeof(names));
    return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "asset '%s' not found under %s", rel,
                        names);
}

int reel_assets_resolve_src(const struct reel_assets_cfg *cfg, const char *src, char *out,
                            size_t cap, struct reel_log *log, struct reel_err *err)
{
    size_t scheme = reel_assets_scheme_len(src);
    if (!scheme)
        return reel_assets_find_local(cfg ? cfg->roots : NULL, src, out, cap, err);
    if ((scheme == 4 && !strncasecmp(src, "http", 4)) ||
        (scheme == 5 && !strncasecmp(src, "https", 5)))
        return reel_assets_fetch_url(cfg, src, out, cap, log, err);
    return reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                        "unsupported URL scheme '%.*s:' in '%.64s'; use a path under an asset "
                        "root or an http(s) URL",
                        (int)scheme, src, src);
}

int reel_assets_resolve(const struct reel_assets_cfg *cfg, const char *src, char *out, size_t cap,
                        struct reel_log *log, struct reel_err *err)
{
    struct reel_err local;
    if (!err)
        err = &local;
    int ret = reel_assets_resolve_src(cfg, src, out, cap, log, err);
    if (ret < 0)
        REEL_WARN(log, "assets: resolve failed: %s", err->msg);
    return ret;
}
