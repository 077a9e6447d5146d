/*
 * Job parsing: syntax and size checks, merge fields, then validation of the output settings and
 * the layers into a struct reel_timeline. Every problem is collected; none stops the others
 * except those that make the rest meaningless (bad syntax, over-size body, over-deep nesting,
 * a document that is not an object).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "timeline/parse.h"
#include "timeline/parse_priv.h"

void reel_limits_default(struct reel_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->max_body_bytes = 1024 * 1024;
    l->max_json_depth = 32;
    l->max_layers = 500;
    l->max_keyframes = 10000;
    l->max_text_chars = 10000;
    l->max_width = 7680;
    l->max_height = 4320;
    l->max_fps = 120;
    l->max_duration_us = 3600 * REEL_US;
    l->max_source_px = 8192;
    l->max_source_bytes = 4LL * 1024 * 1024 * 1024;
    l->fetch_timeout_us = 60 * REEL_US;
    l->max_fetch_bytes = 2LL * 1024 * 1024 * 1024;
    l->max_job_runtime_us = 3600 * REEL_US;
    l->max_attempts = 3;
}

/* ---- nesting depth ---- */

/* Deepest container nesting of raw JSON text (the root container is depth 1), stopping early
 * once past max so a hostile document costs one linear scan and no recursion. */
static bool text_too_deep(const char *s, size_t len, int max)
{
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                return true;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return false;
}

static bool tree_too_deep(const cJSON *v, int depth, int max)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return false;
    if (depth > max)
        return true;
    for (const cJSON *ch = v->child; ch; ch = ch->next)
        if (tree_too_deep(ch, depth + 1, max))
            return true;
    return false;
}

/* ---- escaped NUL characters ---- */

/* End of the JSON string token whose opening quote is at s[i]: the index of its closing quote
 * (len when unterminated, which cannot happen in a document cJSON accepted). */
static size_t string_end(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            break;
    }
    return i < len ? i : len;
}

/* Does the body of a string token (between its quotes) hold the escape \u0000? */
static bool has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
            return true;
        i++; /* skip the escaped character, so "\\u0000" stays literal text */
    }
    return false;
}

/*
 * cJSON decodes "\u0000" into a NUL byte and so cuts the string there ("logo.png\u0000../x"
 * reads as "logo.png"). Find every string (value or field name) of the raw text holding one and
 * report it at its JSON path. The text parsed as JSON and is no deeper than the nesting limit.
 */
static void report_nul_escapes(struct parse_ctx *c, const char *s, size_t len)
{
    static const char needle[] = "\\u0000";
    bool any = false;
    for (const char *p = s; !any && (p = memchr(p, '\\', len - (size_t)(p - s))) != NULL; p++)
        any = (size_t)(s + len - p) >= sizeof(needle) - 1 && !memcmp(p, needle, sizeof(needle) - 1);
    if (!any)
        return;

    struct frame {
        bool is_obj;
        int index;
        size_t base; /* path length of the container itself */
    };
    int cap = c->lim->max_json_depth + 2, depth = 0;
    struct frame *st = calloc((size_t)cap, sizeof(*st));
    if (!st) {
        reel_parse_err(c, REEL_ENOMEM, "out of memory");
        return;
    }
    bool want_key = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '"') {
            size_t end = string_end(s, len, i);
            bool nul = has_nul_escape(s + i + 1, end - i - 1);
            if (depth && st[depth - 1].is_obj && want_key) {
                /* The name as the parser sees it (cut at the NUL), for the path. */
                cJSON *k = cJSON_ParseWithLength(s + i, end + 1 - i);
                char shown[4 * 64 + 8];
                reel_parse_quote(cJSON_IsString(k) ? k->valuestring : "", 64, shown, sizeof(shown));
                cJSON_Delete(k);
                path_pop(c, st[depth - 1].base);
                path_key(c, shown);
                if (nul)
                    reel_parse_err(c, REEL_EINVALID_JOB,
                                   "the field name holds an escaped NUL character (\\u0000)");
                want_key = false;
            } else if (nul) {
                reel_parse_err(c, REEL_EINVALID_JOB,
                               "the string holds an escaped NUL character (\\u0000), which would "
                               "cut it short");
            }
            i = end;
        } else if (ch == '{' || ch == '[') {
            if (depth == cap)
                break; /* deeper than the limit allows: already refused */
            st[depth].is_obj = ch == '{';
            st[depth].index = 0;
            st[depth].base = c->path_len;
            depth++;
            want_key = ch == '{';
            if (ch == '[')
                path_index(c, 0);
        } else if ((ch == '}' || ch == ']') && depth) {
            depth--;
            path_pop(c, st[depth].base);
            want_key = false;
        } else if (ch == ',' && depth) {
            struct frame *f = &st[depth - 1];
            path_pop(c, f->base);
            if (f->is_obj)
                want_key = true;
            else
                path_index(c, ++f->index);
        }
    }
    path_pop(c, 0);
    free(st);
}

/* ---- output ---- */

static const struct parse_name format_names[] = {
    {"mp4", REEL_FORMAT_MP4},
    {"mov", REEL_FORMAT_MOV},
    {"webm", REEL_FORMAT_WEBM},
    {"gif", REEL_FORMAT_GIF},
    {NULL, 0},
};
static const struct parse_name codec_names[] = {
    {"h264", REEL_CODEC_H264},
    {"hevc", REEL_CODEC_HEVC},
    {"vp9", REEL_CODEC_VP9},
    {"gif", REEL_CODEC_GIF},
    {NULL, 0},
};
static const struct parse_name preset_names[] = {
    {"ultrafast", REEL_PRESET_ULTRAFAST}, {"superfast", REEL_PRESET_SUPERFAST},
    {"veryfast", REEL_PRESET_VERYFAST},   {"faster", REEL_PRESET_FASTER},
    {"fast", REEL_PRESET_FAST},           {"medium", REEL_PRESET_MEDIUM},
    {"slow", REEL_PRESET_SLOW},           {"slower", REEL_PRESET_SLOWER},
    {"veryslow", REEL_PRESET_VERYSLOW},   {NULL, 0},
};
static const struct parse_name encoder_names[] = {
    {"auto", REEL_ENCPREF_AUTO},
    {"nvenc", REEL_ENCPREF_NVENC},
    {"vaapi", REEL_ENCPREF_VAAPI},
    {"software", REEL_ENCPREF_SOFTWARE},
    {NULL, 0},
};
static const struct parse_name engine_names[] = {
    {"auto", REEL_ENGPREF_AUTO},
    {"gl", REEL_ENGPREF_GL},
    {"cpu", REEL_ENGPREF_CPU},
    {NULL, 0},
};

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* fps as an exact fraction. Decimal numbers take the smallest power-of-ten denominator that
 * represents them (29.97 -> 2997/100), with 1001 tried first for the NTSC rates. */
static void fps_from_number(double fps, int *num, int *den)
{
    static const int dens[] = {1, 1001, 10, 100, 1000, 10000, 100000, 1000000};
    for (size_t i = 0; i < sizeof(dens) / sizeof(dens[0]); i++) {
        double x = fps * dens[i];
        if (fabs(x - nearbyint(x)) < 1e-6) {
            int64_t n = (int64_t)nearbyint(x), d = dens[i], g = gcd64(n, d);
            *num = (int)(n / g);
            *den = (int)(d / g);
            return;
        }
    }
    int64_t n = llround(fps * 1e6), d = 1000000, g = gcd64(n, d);
    *num = (int)(n / g);
    *den = (int)(d / g);
}

/* "N" or "N/D" with whole numbers up to 1,000,000. */
static bool fps_from_string(const char *s, int64_t *num, int64_t *den)
{
    const char *p = s;
    int64_t v[2] = {0, 1};
    for (int k = 0; k < 2; k++) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        int64_t x = 0;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p++ - '0');
            if (x > 1000000)
                return false;
        }
        v[k] = x;
        while (*p == ' ')
            p++;
        if (k == 0 && *p != '/')
            break;
        if (k == 0)
            p++;
    }
    if (*p || v[0] == 0 || v[1] == 0)
        return false;
    *num = v[0];
    *den = v[1];
    return true;
}

static void parse_fps(struct parse_ctx *c, cJSON *o, struct reel_output *out)
{
    cJSON *v = reel_parse_member(o, "fps");
    if (!v)
        return;
    size_t m = path_key(c, "fps");
    unsigned mark = reel_parse_mark_of(c, v);
    if (mark & PARSE_MARK_POISONED) {
        /* already reported by merging */
    } else if (cJSON_IsString(v)) {
        int64_t n, d;
        if (!fps_from_string(v->valuestring, &n, &d)) {
            char shown[4 * 32 + 8];
            reel_parse_quote(v->valuestring, 32, shown, sizeof(shown));
            reel_parse_err(c, REEL_EINVALID_JOB,
                           "\"%s\" is not a frame rate: use a number or \"N/D\" such as "
                           "\"30000/1001\"",
                           shown);
        } else if (n > (int64_t)c->lim->max_fps * d) {
            reel_parse_err(c, REEL_ELIMIT, "%s fps is over the limit of %d", v->valuestring,
                           c->lim->max_fps);
        } else if (n < d) {
            reel_parse_err(c, REEL_EINVALID_JOB, "%s fps is out of range: must be 1 to %d",
                           v->valuestring, c->lim->max_fps);
        } else {
            int64_t g = gcd64(n, d);
            out->fps_num = (int)(n / g);
            out->fps_den = (int)(d / g);
        }
    } else {
        struct num_rule r = {1, c->lim->max_fps, NUM_HI_LIMIT};
        double fps;
        if (reel_parse_num_value(c, v, &r, &fps) == 1)
            fps_from_number(fps, &out->fps_num, &out->fps_den);
    }
    path_pop(c, m);
}

static void parse_audio(struct parse_ctx *c, cJSON *o, struct reel_output *out)
{
    static const char *const keys[] = {"sample_rate", "channels", "bitrate", NULL};
    static const struct num_rule rate = {8000, 96000, NUM_INT};
    static const struct num_rule chans = {1, 2, NUM_INT};
    static const struct num_rule bits = {8000, 512000, NUM_INT};
    cJSON *a;
    if (reel_parse_obj(c, o, "audio", &a) != 1)
        return;
    size_t m = path_key(c, "audio");
    reel_parse_check_keys(c, a, keys, NULL, "output.audio");
    reel_parse_int(c, a, "sample_rate", &rate, &out->audio_sample_rate);
    reel_parse_int(c, a, "channels", &chans, &out->audio_channels);
    reel_parse_int(c, a, "bitrate", &bits, &out->audio_bitrate);
    path_pop(c, m);
}

static void parse_size(struct parse_ctx *c, cJSON *o, const char *key, int max, int *out)
{
    struct num_rule r = {16, max, NUM_INT | NUM_HI_LIMIT};
    int v;
    if (reel_parse_int(c, o, key, &r, &v) != 1)
        return;
    if (v % 2) {
        reel_parse_err_at(c, key, REEL_EINVALID_JOB, "%d is odd: 4:2:0 video needs even sizes", v);
        return;
    }
    *out = v;
}

static void parse_output(struct parse_ctx *c, cJSON *root, struct reel_output *out)
{
    static const char *const keys[] = {"width",       "height",  "fps",    "duration", "format",
                                       "video_codec", "quality", "preset", "encoder",  "background",
                                       "audio",       "poster",  NULL};
    static const struct num_rule quality = {0, 51, NUM_INT};
    static const struct num_rule poster = {0, PARSE_TIME_MAX_S, 0};

    out->width = 1280;
    out->height = 720;
    out->fps_num = 30;
    out->fps_den = 1;
    out->format = REEL_FORMAT_MP4;
    out->quality = 23;
    out->preset = REEL_PRESET_VERYFAST;
    out->encoder = REEL_ENCPREF_AUTO;
    out->background = (struct reel_color){0, 0, 0, 255};
    out->audio_sample_rate = 48000;
    out->audio_channels = 2;
    out->audio_bitrate = 128000;

    cJSON *o = NULL;
    if (reel_parse_obj(c, root, "output", &o) == 1) {
        size_t m = path_key(c, "output");
        reel_parse_check_keys(c, o, keys, NULL, "output");
        parse_size(c, o, "width", c->lim->max_width, &out->width);
        parse_size(c, o, "height", c->lim->max_height, &out->height);
        parse_fps(c, o, out);

        struct num_rule dur = {0, (double)c->lim->max_duration_us / 1e6,
                               NUM_LO_OPEN | NUM_HI_LIMIT};
        if (reel_parse_time(c, o, "duration", &dur, &out->duration_us) == 1) {
            if (out->duration_us > 0)
                out->has_duration = true;
            else
                reel_parse_err_at(c, "duration", REEL_EINVALID_JOB, "shorter than a microsecond");
        }

        int fmt = out->format, codec = REEL_CODEC_NONE;
        reel_parse_enum(c, o, "format", format_names, &fmt);
        out->format = (enum reel_format)fmt;
        int have_codec = reel_parse_enum(c, o, "video_codec", codec_names, &codec);
        if (have_codec == 1) {
            bool ok = out->format == REEL_FORMAT_WEBM ? codec == REEL_CODEC_VP9
                      : out->format == REEL_FORMAT_GIF
                          ? codec == REEL_CODEC_GIF
                          : (codec == REEL_CODEC_H264 || codec == REEL_CODEC_HEVC);
            if (!ok)
                reel_parse_err_at(c, "video_codec", REEL_EINVALID_JOB,
                                  "%s cannot be written to %s (mp4/mov take h264 or hevc, webm "
                                  "takes vp9, gif takes gif)",
                                  reel_codec_name((enum reel_codec)codec),
                                  reel_format_name(out->format));
            else
                out->codec = (enum reel_codec)codec;
        }
        reel_parse_int(c, o, "quality", &quality, &out->quality);
        int v = out->preset;
        reel_parse_enum(c, o, "preset", preset_names, &v);
        out->preset = (enum reel_preset)v;
        v = out->encoder;
        reel_parse_enum(c, o, "encoder", encoder_names, &v);
        out->encoder = (enum reel_encoder_pref)v;
        reel_parse_color(c, o, "background", &out->background);
        parse_audio(c, o, out);

        if (reel_parse_time(c, o, "poster", &poster, &out->poster_us) == 1) {
            if (out->has_duration && out->poster_us >= out->duration_us) {
                char end[32];
                reel_parse_fmt_us(out->duration_us, end, sizeof(end));
                reel_parse_err_at(c, "poster", REEL_EINVALID_JOB,
                                  "the poster time must be before the end of the output (%s s)",
                                  end);
            } else
                out->has_poster = true;
        }
        path_pop(c, m);
    }
    if (!out->codec)
        out->codec = out->format == REEL_FORMAT_WEBM  ? REEL_CODEC_VP9
                     : out->format == REEL_FORMAT_GIF ? REEL_CODEC_GIF
                                                      : REEL_CODEC_H264;
    c->out_w = out->width;
    c->out_h = out->height;
    c->has_out_dur = out->has_duration;
    c->out_dur_us = out->duration_us;
}

/* ---- the document ---- */

static int data_object(struct parse_ctx *c, const cJSON *v, const char *who, const cJSON **out)
{
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v)) {
        size_t m = path_key(c, "data");
        reel_parse_err(c, REEL_EINVALID_JOB, "%s merge data must be an object, got %s", who,
                       reel_parse_type_name(v));
        path_pop(c, m);
        return -1;
    }
    *out = v;
    return 0;
}

/* keep: hand a timeline with problems back anyway (opts->keep_partial, once fields were read). */
static int finish(struct parse_ctx *c, struct reel_timeline *tl, struct reel_timeline **out,
                  bool keep)
{
    free(c->marks);
    c->marks = NULL;
    if (c->first_code) {
        if (keep)
            *out = tl;
        else
            reel_timeline_destroy(&tl);
        return -c->first_code;
    }
    *out = tl;
    return 0;
}

/* raw/raw_len: the text root was parsed from, when known (for escaped NULs), else NULL. */
static int parse_tree(const struct cJSON *root, const char *raw, size_t raw_len,
                      const struct reel_parse_opts *opts, struct reel_timeline **out,
                      struct reel_errlist *errs)
{
    static const char *const keys[] = {"output", "engine", "data", "layers", NULL};
    struct reel_limits deflim;
    struct reel_errlist local = {0};
    struct parse_ctx c = {.errs = errs ? errs : &local};
    struct reel_timeline *tl = NULL;
    cJSON *doc = NULL;
    bool keep = false;

    *out = NULL;
    if (opts && opts->limits) {
        c.lim = opts->limits;
    } else {
        reel_limits_default(&deflim);
        c.lim = &deflim;
    }

    if (!root) {
        reel_parse_err(&c, REEL_EINVALID_JSON, "no document");
        goto out;
    }
    if (tree_too_deep(root, 1, c.lim->max_json_depth)) {
        reel_parse_err(&c, REEL_ELIMIT, "JSON nesting is deeper than the limit of %d",
                       c.lim->max_json_depth);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        reel_parse_err(&c, REEL_EINVALID_JOB, "a job must be a JSON object, got %s",
                       reel_parse_type_name(root));
        goto out;
    }

    tl = calloc(1, sizeof(*tl));
    doc = cJSON_Duplicate(root, 1);
    if (!tl || !doc || (opts && opts->base_dir && !(tl->base_dir = strdup(opts->base_dir)))) {
        reel_parse_err(&c, REEL_ENOMEM, "out of memory");
        goto out;
    }

    if (raw)
        report_nul_escapes(&c, raw, raw_len);
    const cJSON *job_data, *caller_data;
    data_object(&c, reel_parse_member(doc, "data"), "the job's", &job_data);
    data_object(&c, opts ? opts->data : NULL, "the caller's", &caller_data);
    if (reel_parse_merge(&c, doc, job_data, caller_data) < 0) {
        reel_parse_err(&c, REEL_ENOMEM, "out of memory while merging");
        goto out;
    }
    reel_parse_marks_seal(&c);

    reel_parse_check_keys(&c, doc, keys, NULL, "the job");
    parse_output(&c, doc, &tl->out);
    int engine = REEL_ENGPREF_AUTO;
    reel_parse_enum(&c, doc, "engine", engine_names, &engine);
    tl->engine = (enum reel_engine_pref)engine;
    reel_parse_layers(&c, doc, tl);
    keep = opts && opts->keep_partial;

out:
    cJSON_Delete(doc);
    int ret = finish(&c, tl, out, keep);
    reel_errlist_uninit(&local);
    return ret;
}

int reel_timeline_from_json(const struct cJSON *root, const struct reel_parse_opts *opts,
                            struct reel_timeline **out, struct reel_errlist *errs)
{
    return parse_tree(root, NULL, 0, opts, out, errs);
}

int reel_timeline_parse(const char *json, size_t len, const struct reel_parse_opts *opts,
                        struct reel_timeline **out, struct reel_errlist *errs)
{
    struct reel_limits deflim;
    struct reel_errlist local = {0};
    struct reel_errlist *el = errs ? errs : &local;
    const struct reel_limits *lim = opts && opts->limits ? opts->limits : NULL;
    cJSON *root = NULL;
    int ret;
    if (!lim) {
        reel_limits_default(&deflim);
        lim = &deflim;
    }
    *out = NULL;

    if (len > lim->max_body_bytes) {
        ret = reel_errlist_add(el, REEL_ETOO_LARGE, "",
                               "the document is %zu bytes, over the limit of %zu", len,
                               lim->max_body_bytes);
        goto out;
    }
    if (!json || len == 0) {
        ret = reel_errlist_add(el, REEL_EINVALID_JSON, "", "the document is empty");
        goto out;
    }
    const char *nul = memchr(json, '\0', len);
    if (nul) {
        ret = reel_errlist_add(el, REEL_EINVALID_JSON, "",
                               "invalid JSON at byte %zu: NUL character", (size_t)(nul - json));
        goto out;
    }
    if (text_too_deep(json, len, lim->max_json_depth)) {
        ret = reel_errlist_add(el, REEL_ELIMIT, "", "JSON nesting is deeper than the limit of %d",
                               lim->max_json_depth);
        goto out;
    }

    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    size_t at = end && end >= json ? (size_t)(end - json) : 0;
    if (root) {
        while (at < len &&
               (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r'))
            at++;
    }
    if (!root || at < len) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < at && i < len; i++) {
            if (json[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        ret = reel_errlist_add(el, REEL_EINVALID_JSON, "",
                               "invalid JSON at byte %zu (line %zu, column %zu): %s", at, line, col,
                               root ? "unexpected text after the document" : "syntax error");
        goto out;
    }
    ret = parse_tree(root, json, len, opts, out, el);

out:
    cJSON_Delete(root);
    reel_errlist_uninit(&local);
    return ret;
}
