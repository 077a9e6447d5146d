/*
 * Pieces of the assets module shared between its files. Not part of the module's interface.
 */
#ifndef REEL_ASSETS_INTERNAL_H
#define REEL_ASSETS_INTERNAL_H

#include <stddef.h>

#include "assets/assets.h"

/*
 * Find a relative path under the NULL-terminated roots (first root holding it wins) and write its
 * canonical path to out. Refuses absolute paths, ".." components and paths whose canonical form
 * leaves the root. Errors: -REEL_EASSET_NOT_FOUND (message says why), -REEL_EINTERNAL (out too
 * small).
 */
int reel_assets_find_local(const char *const *roots, const char *rel, char *out, size_t cap,
                           struct reel_err *err);

/* reel_assets_resolve without its log line, for callers that report the problem themselves. */
int reel_assets_resolve_src(const struct reel_assets_cfg *cfg, const char *src, char *out,
                            size_t cap, struct reel_log *log, struct reel_err *err);

/*
 * Fetch an http(s) URL into the cache (see reel_assets_resolve) and write the cached file's path
 * to out. Errors: -REEL_EASSET_FETCH, -REEL_EASSET_UNSUPPORTED, -REEL_EINTERNAL.
 */
int reel_assets_fetch_url(const struct reel_assets_cfg *cfg, const char *url, char *out, size_t cap,
                          struct reel_log *log, struct reel_err *err);

/*
 * Length of the URL scheme at the start of s ("https" in "https://x" gives 5), or 0 when s does
 * not start with "<scheme>:". Relative paths whose first component holds a colon can be written
 * "./name:with:colons".
 */
size_t reel_assets_scheme_len(const char *s);

/* The limits in cfg, or the defaults (copied into *tmp) when cfg has none. */
const struct reel_limits *reel_assets_limits(const struct reel_assets_cfg *cfg,
                                             struct reel_limits *tmp);

#endif
