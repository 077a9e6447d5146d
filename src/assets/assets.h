/*
 * Asset roots and source resolution (SPEC 2.6): a job's `src` is a path relative to one of the
 * asset roots (never leaving it), or an http(s) URL fetched by reel into a content-addressed cache.
 * URLs resolving to loopback, private, link-local or metadata addresses are refused unless allowed.
 * FFmpeg only ever opens local files (protocol "file", a format allow-list).
 */
#ifndef REEL_ASSETS_ASSETS_H
#define REEL_ASSETS_ASSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/parse.h"
#include "timeline/timeline.h"

struct reel_assets_cfg {
    const char *const *roots;         /* NULL-terminated folders, searched in order */
    const char *cache_dir;            /* URL cache; NULL = $XDG_CACHE_HOME/reel or ~/.cache/reel */
    bool allow_private_urls;          /* allow loopback/private/link-local targets (tests only) */
    const struct reel_limits *limits; /* NULL = defaults */
    /* Host names (NULL-terminated) whose URLs may reach addresses the rules refuse (a private
     * asset server); compared case-insensitively with the URL's host. */
    const char *const *allow_hosts;
    /* The URL cache is pruned to this many bytes after each download, least recently used files
     * first (a cache hit counts as a use); 0 = no pruning. */
    int64_t cache_max_bytes;
    /* reel_assets_resolve_timeline on a timeline that already has problems (a partial one from
     * the parser): check each layer's src and font file only, skipping layers without a src and
     * leaving durations alone, so that every problem is listed without echoes of the others. */
    bool sources_only;
};

/*
 * Resolve src into a local file path (written to out, cap bytes).
 * Relative paths: the first root under which the file exists; "..", absolute paths and symlinks
 * that resolve outside every root are refused (-REEL_EASSET_NOT_FOUND with a message saying why).
 * A symlink from one root into another root is allowed.
 * http(s) URLs: fetched (once; cached by SHA-256 of the URL) within the limits.
 * Errors: -REEL_EASSET_NOT_FOUND, -REEL_EASSET_FETCH, -REEL_EASSET_UNSUPPORTED (other schemes).
 * Thread-safe.
 */
int reel_assets_resolve(const struct reel_assets_cfg *cfg, const char *src, char *out, size_t cap,
                        struct reel_log *log, struct reel_err *err);

/*
 * True when a connection to this socket address is allowed without allow_private_urls: false for
 * loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud metadata address,
 * fe80::/10), 0.0.0.0/8, CGNAT 100.64/10, multicast, reserved and broadcast addresses, and for IPv6
 * forms embedding one of those (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16).
 * sa is an AF_INET or AF_INET6 address of len bytes; anything else is refused. Pure, thread-safe.
 */
struct sockaddr;
bool reel_assets_addr_allowed(const struct sockaddr *sa, size_t len);

/* What reel_assets_url_check found wrong with a URL (NONE when it may be reached). */
enum reel_url_problem {
    REEL_URL_PROBLEM_NONE = 0,
    REEL_URL_PROBLEM_MALFORMED,  /* not a URL, or no usable host or port */
    REEL_URL_PROBLEM_SCHEME,     /* not http or https */
    REEL_URL_PROBLEM_UNRESOLVED, /* the name does not resolve to any IPv4 or IPv6 address */
    REEL_URL_PROBLEM_REFUSED,    /* an address it resolves to is refused by the address rules */
};

/* An http(s) URL checked for reaching: its host (without brackets), port, and the CURLOPT_RESOLVE
 * entry pinning the checked addresses ("host:port:addr,..."; "" for an IP literal). */
struct reel_url_target {
    char host[256];
    char port[8];
    char pin[1024];
    enum reel_url_problem problem;
    char refused_addr[64]; /* with REFUSED: the address that was refused */
};

/*
 * Parse url, allow only http and https, resolve the host and check every address it resolves to
 * with reel_assets_addr_allowed (skipped when allow_private): any refused answer refuses the host.
 * The caller pins tg->pin so that the connection goes to a checked address. The one check of URL
 * targets, used for asset downloads and for webhooks. Blocking (name lookup); thread-safe.
 * Returns 0, or -REEL_EASSET_FETCH / -REEL_EASSET_UNSUPPORTED (scheme) / -REEL_ENOMEM with err
 * filled and tg->problem saying what was wrong.
 */
int reel_assets_url_check(const char *url, bool allow_private, struct reel_url_target *tg,
                          struct reel_err *err);

/* Facts about a media file, read with libavformat (allow-listed formats, file protocol only). */
struct reel_media_info {
    /* 0 when unknown or a still image. With a video stream: that stream's own length, from its
     * start to its last frame's pts + duration (rounded down to the microsecond); else the
     * container's duration. */
    int64_t duration_us;
    bool has_video, has_audio;
    int width, height;
    bool is_still; /* single-picture format (png/jpeg/webp) */
};

/* Probe a local media file. Errors: -REEL_EASSET_NOT_FOUND, -REEL_EASSET_UNSUPPORTED (not an
 * allow-listed format), -REEL_EDECODE (corrupt), -REEL_ELIMIT (over the source size limits). */
int reel_media_probe(const char *path, const struct reel_limits *limits,
                     struct reel_media_info *info, struct reel_err *err);

/* Options for avformat_open_input that confine FFmpeg to local files and allow-listed formats.
 * The caller frees the dictionary with av_dict_free. */
struct AVDictionary;
void reel_media_open_options(struct AVDictionary **opts);

/*
 * Resolve and probe every media layer of a timeline: sets src_path and media_* fields, fills
 * default durations (video/audio: media length / speed after trim unless looped; others: to the end
 * of the output), and the output duration (the end of the last layer) when not given. Every problem
 * goes to errs with its path (layers[2].src, output.duration). Returns 0 or the first problem's
 * code. Roots: cfg->roots, or when that is NULL or empty, the timeline's base_dir (if set) then
 * "assets". Text layers whose font is a file (font_is_file, or a name ending in
 * .ttf/.otf/.ttc/.otc) have it resolved under the same roots (error path layers[i].font); font then
 * holds the local path. Not thread-safe for one timeline (it writes tl); separate timelines may
 * resolve concurrently.
 */
int reel_assets_resolve_timeline(const struct reel_assets_cfg *cfg, struct reel_timeline *tl,
                                 struct reel_log *log, struct reel_errlist *errs);

#endif
