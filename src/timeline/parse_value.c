/*
 * Typed readers for the job parser: every value of a job is read through one of these, so that
 * type, range and merge-field rules are the same everywhere and every problem names its path.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "timeline/parse.h"
#include "timeline/parse_priv.h"

/* ---- problems ---- */

static void add_err(struct parse_ctx *c, int code, const char *path, const char *fmt, va_list ap)
{
    char msg[sizeof(((struct reel_err *)0)->msg)];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    reel_errlist_add(c->errs, code, path, "%s", msg);
    if (!c->first_code)
        c->first_code = code;
}

void reel_parse_err(struct parse_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_err(c, code, c->path, fmt, ap);
    va_end(ap);
}

void reel_parse_err_at(struct parse_ctx *c, const char *key, int code, const char *fmt, ...)
{
    size_t m = path_key(c, key);
    va_list ap;
    va_start(ap, fmt);
    add_err(c, code, c->path, fmt, ap);
    va_end(ap);
    path_pop(c, m);
}

void reel_parse_required(struct parse_ctx *c, const char *key)
{
    reel_parse_err_at(c, key, REEL_EINVALID_JOB, "missing required field \"%s\"", key);
}

/* ---- merge marks ---- */

int reel_parse_mark_add(struct parse_ctx *c, const cJSON *node, unsigned flags)
{
    if (c->n_marks == c->cap_marks) {
        size_t ncap = c->cap_marks ? c->cap_marks * 2 : 16;
        struct parse_mark *n = realloc(c->marks, ncap * sizeof(*n));
        if (!n)
            return -REEL_ENOMEM;
        c->marks = n;
        c->cap_marks = ncap;
    }
    c->marks[c->n_marks].node = node;
    c->marks[c->n_marks].flags = flags;
    c->n_marks++;
    return 0;
}

static int cmp_mark(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct parse_mark *)a)->node;
    uintptr_t y = (uintptr_t)((const struct parse_mark *)b)->node;
    return x < y ? -1 : x > y;
}

void reel_parse_marks_seal(struct parse_ctx *c)
{
    if (c->n_marks > 1)
        qsort(c->marks, c->n_marks, sizeof(*c->marks), cmp_mark);
}

unsigned reel_parse_mark_of(const struct parse_ctx *c, const cJSON *node)
{
    if (!c->n_marks)
        return 0;
    struct parse_mark key = {.node = node};
    const struct parse_mark *m = bsearch(&key, c->marks, c->n_marks, sizeof(*c->marks), cmp_mark);
    return m ? m->flags : 0;
}

/* ---- helpers ---- */

const char *reel_parse_type_name(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an unknown value";
}

long reel_parse_utf8_count(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p;
        int extra;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            n++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3f);
        }
        /* overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8 */
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        n++;
    }
    return n;
}

cJSON *reel_parse_member(const cJSON *obj, const char *key)
{
    if (!obj)
        return NULL;
    for (cJSON *m = obj->child; m; m = m->next)
        if (m->string && !strcmp(m->string, key))
            return cJSON_IsNull(m) ? NULL : m;
    return NULL;
}

/* Length of the valid UTF-8 sequence at p, 0 when p does not start one. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t extra;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        extra = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        extra = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        extra = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return extra + 1;
}

void reel_parse_quote(const char *s, size_t max_bytes, char *buf, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t o = 0, used = 0;
    if (!cap)
        return;
    while (*p) {
        size_t n = utf8_seq_len(p);
        bool raw = n > 0 && *p >= 0x20 && *p != 0x7f;
        size_t out_n = raw ? n : 4;
        if (used + (n ? n : 1) > max_bytes || o + out_n + 4 > cap) {
            if (o + 4 <= cap) {
                memcpy(buf + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (raw)
            memcpy(buf + o, p, n);
        else
            snprintf(buf + o, cap - o, "\\x%02X", *p);
        o += out_n;
        used += n ? n : 1;
        p += n ? n : 1;
    }
    buf[o] = '\0';
}

void reel_parse_fmt_us(int64_t us, char *buf, size_t cap)
{
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    int n = snprintf(buf, cap, "%s%llu.%06llu", us < 0 ? "-" : "",
                     (unsigned long long)(a / 1000000), (unsigned long long)(a % 1000000));
    if (n <= 0 || (size_t)n >= cap)
        return;
    char *e = buf + n - 1;
    while (*e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
}

/* Text written as the default of a merge field stands for a number when it is one entirely. */
static bool soft_number(const char *s, double *out)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+' || *s == '.'))
        return false; /* keeps strtod's "inf", "nan" and hex forms out */
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || end == s || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* ---- readers ---- */

int reel_parse_num_value(struct parse_ctx *c, cJSON *v, const struct num_rule *r, double *out)
{
    unsigned mark = reel_parse_mark_of(c, v);
    double x;
    if (mark & PARSE_MARK_POISONED)
        return -1;
    if (cJSON_IsNumber(v)) {
        x = v->valuedouble;
    } else if (cJSON_IsString(v) && (mark & PARSE_MARK_SOFT) && soft_number(v->valuestring, &x)) {
        /* accepted: a merge default standing for a number */
    } else {
        reel_parse_err(c, REEL_EINVALID_JOB, "expected a number, got %s", reel_parse_type_name(v));
        return -1;
    }
    if (!isfinite(x)) {
        reel_parse_err(c, REEL_EINVALID_JOB, "the number is not finite (too large?)");
        return -1;
    }
    if ((r->flags & NUM_INT) && x != floor(x)) {
        char got[40];
        reel_parse_fmt_number(x, got, sizeof(got));
        reel_parse_err(c, REEL_EINVALID_JOB, "expected a whole number, got %s", got);
        return -1;
    }
    bool lo_bad = (r->flags & NUM_LO_OPEN) ? !(x > r->lo) : !(x >= r->lo);
    bool hi_bad = x > r->hi;
    if (lo_bad || hi_bad) {
        /* Shortest exact forms: 3600.0000004 must not read as the limit 3600 itself. */
        char lo[40], hi[40], got[40];
        reel_parse_fmt_number(r->lo, lo, sizeof(lo));
        reel_parse_fmt_number(r->hi, hi, sizeof(hi));
        reel_parse_fmt_number(x, got, sizeof(got));
        if (hi_bad && (r->flags & NUM_HI_LIMIT))
            reel_parse_err(c, REEL_ELIMIT, "%s is over the limit of %s", got, hi);
        else if (r->flags & NUM_LO_OPEN)
            reel_parse_err(c, REEL_EINVALID_JOB, "%s is out of range: must be > %s and <= %s", got,
                           lo, hi);
        else
            reel_parse_err(c, REEL_EINVALID_JOB, "%s is out of range: must be %s to %s", got, lo,
                           hi);
        return -1;
    }
    *out = x;
    return 1;
}

int reel_parse_num(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                   double *out)
{
    cJSON *v = reel_parse_member(obj, key);
    if (!v)
        return 0;
    size_t m = path_key(c, key);
    int ret = reel_parse_num_value(c, v, r, out);
    path_pop(c, m);
    return ret;
}

int reel_parse_int(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                   int *out)
{
    struct num_rule ri = *r;
    double x;
    ri.flags |= NUM_INT;
    int ret = reel_parse_num(c, obj, key, &ri, &x);
    if (ret == 1)
        *out = (int)x;
    return ret;
}

int reel_parse_time(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                    int64_t *out_us)
{
    double s;
    int ret = reel_parse_num(c, obj, key, r, &s);
    if (ret == 1)
        *out_us = llround(s * 1e6);
    return ret;
}

void reel_parse_fmt_number(double v, char *buf, size_t cap)
{
    /* whole numbers as integers (640, not 6.4e+02), others with the fewest digits that read
     * back to the same double */
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, cap, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A merged number or boolean read where text is wanted becomes that text. */
static bool stringify_in_place(cJSON *v)
{
    char buf[40];
    if (cJSON_IsBool(v)) {
        snprintf(buf, sizeof(buf), "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        reel_parse_fmt_number(v->valuedouble, buf, sizeof(buf));
    } else {
        return false;
    }
    size_t n = strlen(buf) + 1;
    char *s = cJSON_malloc(n);
    if (!s)
        return false;
    memcpy(s, buf, n);
    cJSON_free(v->valuestring);
    v->valuestring = s;
    v->type = (v->type & ~0xff) | cJSON_String;
    return true;
}

int reel_parse_str_value(struct parse_ctx *c, cJSON *v, size_t max_bytes, bool non_empty,
                         const char **out)
{
    unsigned mark = reel_parse_mark_of(c, v);
    if (mark & PARSE_MARK_POISONED)
        return -1;
    if (!cJSON_IsString(v) && (mark & PARSE_MARK_TYPED))
        stringify_in_place(v);
    if (!cJSON_IsString(v) || !v->valuestring) {
        reel_parse_err(c, REEL_EINVALID_JOB, "expected a string, got %s", reel_parse_type_name(v));
        return -1;
    }
    const char *s = v->valuestring;
    if (reel_parse_utf8_count(s) < 0) {
        reel_parse_err(c, REEL_EINVALID_JOB, "the string is not valid UTF-8");
        return -1;
    }
    if (non_empty && !*s) {
        reel_parse_err(c, REEL_EINVALID_JOB, "must not be empty");
        return -1;
    }
    if (max_bytes && strlen(s) > max_bytes) {
        reel_parse_err(c, REEL_EINVALID_JOB, "too long (%zu bytes; at most %zu)", strlen(s),
                       max_bytes);
        return -1;
    }
    *out = s;
    return 1;
}

int reel_parse_str(struct parse_ctx *c, cJSON *obj, const char *key, size_t max_bytes,
                   bool non_empty, const char **out)
{
    cJSON *v = reel_parse_member(obj, key);
    if (!v)
        return 0;
    size_t m = path_key(c, key);
    int ret = reel_parse_str_value(c, v, max_bytes, non_empty, out);
    path_pop(c, m);
    return ret;
}

int reel_parse_strdup(struct parse_ctx *c, cJSON *obj, const char *key, size_t max_bytes,
                      bool non_empty, char **out)
{
    const char *s;
    int ret = reel_parse_str(c, obj, key, max_bytes, non_empty, &s);
    if (ret != 1)
        return ret;
    char *d = strdup(s);
    if (!d) {
        reel_parse_err_at(c, key, REEL_ENOMEM, "out of memory");
        return -1;
    }
    free(*out);
    *out = d;
    return 1;
}

int reel_parse_bool(struct parse_ctx *c, cJSON *obj, const char *key, bool *out)
{
    cJSON *v = reel_parse_member(obj, key);
    if (!v)
        return 0;
    unsigned mark = reel_parse_mark_of(c, v);
    if (mark & PARSE_MARK_POISONED)
        return -1;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 1;
    }
    if (cJSON_IsString(v) && (mark & PARSE_MARK_SOFT)) {
        if (!strcmp(v->valuestring, "true") || !strcmp(v->valuestring, "false")) {
            *out = !strcmp(v->valuestring, "true");
            return 1;
        }
    }
    reel_parse_err_at(c, key, REEL_EINVALID_JOB, "expected true or false, got %s",
                      reel_parse_type_name(v));
    return -1;
}

int reel_parse_enum_value(struct parse_ctx *c, cJSON *v, const struct parse_name *names, int *out)
{
    const char *s;
    int ret = reel_parse_str_value(c, v, 0, false, &s);
    if (ret != 1)
        return ret;
    for (const struct parse_name *n = names; n->name; n++) {
        if (!strcmp(n->name, s)) {
            *out = n->value;
            return 1;
        }
    }
    char list[384];
    size_t len = 0;
    list[0] = '\0';
    for (const struct parse_name *n = names; n->name && len < sizeof(list); n++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s", n == names ? "" : ", ", n->name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    char shown[4 * 64 + 8];
    reel_parse_quote(s, 64, shown, sizeof(shown));
    reel_parse_err(c, REEL_EINVALID_JOB, "unknown value \"%s\"; expected one of: %s", shown, list);
    return -1;
}

int reel_parse_enum(struct parse_ctx *c, cJSON *obj, const char *key,
                    const struct parse_name *names, int *out)
{
    cJSON *v = reel_parse_member(obj, key);
    if (!v)
        return 0;
    size_t m = path_key(c, key);
    int ret = reel_parse_enum_value(c, v, names, out);
    path_pop(c, m);
    return ret;
}

int reel_parse_color(struct parse_ctx *c, cJSON *obj, const char *key, struct reel_color *out)
{
    const char *s;
    int ret = reel_parse_str(c, obj, key, 0, false, &s);
    if (ret != 1)
        return ret;
    if (reel_color_parse(s, out) < 0) {
        char shown[4 * 64 + 8];
        reel_parse_quote(s, 64, shown, sizeof(shown));
        reel_parse_err_at(c, key, REEL_EINVALID_JOB,
                          "\"%s\" is not a colour: use #rgb, #rrggbb or #rrggbbaa", shown);
        return -1;
    }
    return 1;
}

int reel_parse_easing(struct parse_ctx *c, cJSON *obj, const char *key, struct reel_easing *out)
{
    const char *s;
    int ret = reel_parse_str(c, obj, key, 0, false, &s);
    if (ret != 1)
        return ret;
    if (reel_easing_parse(s, out) < 0) {
        char shown[4 * 64 + 8];
        reel_parse_quote(s, 64, shown, sizeof(shown));
        if (!strncmp(s, "cubic-bezier", 12))
            reel_parse_err_at(c, key, REEL_EINVALID_JOB,
                              "\"%s\" is not a valid cubic-bezier(x1, y1, x2, y2): four "
                              "numbers, x1 and x2 within 0 to 1",
                              shown);
        else
            reel_parse_err_at(c, key, REEL_EINVALID_JOB,
                              "unknown easing \"%s\"; expected linear, hold, ease-in, ease-out, "
                              "ease-in-out, ease-in-back, ease-out-back, ease-out-bounce or "
                              "cubic-bezier(x1, y1, x2, y2)",
                              shown);
        return -1;
    }
    return 1;
}

static int container(struct parse_ctx *c, cJSON *obj, const char *key, cJSON **out, bool want_obj)
{
    cJSON *v = reel_parse_member(obj, key);
    if (!v)
        return 0;
    if (reel_parse_mark_of(c, v) & PARSE_MARK_POISONED)
        return -1;
    if (want_obj ? !cJSON_IsObject(v) : !cJSON_IsArray(v)) {
        reel_parse_err_at(c, key, REEL_EINVALID_JOB, "expected %s, got %s",
                          want_obj ? "an object" : "an array", reel_parse_type_name(v));
        return -1;
    }
    *out = v;
    return 1;
}

int reel_parse_obj(struct parse_ctx *c, cJSON *obj, const char *key, cJSON **out)
{
    return container(c, obj, key, out, true);
}

int reel_parse_arr(struct parse_ctx *c, cJSON *obj, const char *key, cJSON **out)
{
    return container(c, obj, key, out, false);
}

/* ---- unknown and repeated members ---- */

/* Edit distance, for "did you mean" hints on short names. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[33];
    if (la > 32 || lb > 32)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int find_name(const char *const *list, const char *key)
{
    for (int i = 0; list && list[i]; i++)
        if (!strcmp(list[i], key))
            return i;
    return -1;
}

void reel_parse_check_keys(struct parse_ctx *c, const cJSON *obj, const char *const *allowed,
                           const char *const *elsewhere, const char *what)
{
    uint64_t seen = 0;
    for (const cJSON *m = obj->child; m; m = m->next) {
        const char *key = m->string ? m->string : "";
        int i = find_name(allowed, key);
        if (i >= 0 && i < 64) {
            if (seen & (UINT64_C(1) << i))
                reel_parse_err_at(c, key, REEL_EINVALID_JOB, "field \"%s\" appears twice", key);
            seen |= UINT64_C(1) << i;
            continue;
        }
        if (i >= 0)
            continue;
        if (find_name(elsewhere, key) >= 0) {
            reel_parse_err_at(c, key, REEL_EUNKNOWN_FIELD, "\"%s\" is not a field of %s", key,
                              what);
            continue;
        }
        const char *best = NULL;
        int best_d = 3;
        for (int k = 0; allowed[k]; k++) {
            int d = edit_distance(key, allowed[k]);
            if (d < best_d && d < (int)strlen(allowed[k])) {
                best_d = d;
                best = allowed[k];
            }
        }
        /* The name is the caller's bytes: never echo them raw into the path or the message. */
        char shown[4 * 64 + 8];
        reel_parse_quote(key, 64, shown, sizeof(shown));
        if (best)
            reel_parse_err_at(c, shown, REEL_EUNKNOWN_FIELD,
                              "unknown field \"%s\" in %s (did you mean \"%s\"?)", shown, what,
                              best);
        else
            reel_parse_err_at(c, shown, REEL_EUNKNOWN_FIELD, "unknown field \"%s\" in %s", shown,
                              what);
    }
}

/* ---- colours and easings ---- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int reel_color_parse(const char *s, struct reel_color *out)
{
    int d[8];
    size_t n;
    if (!s || s[0] != '#')
        return -REEL_EINVALID_JOB;
    n = strlen(s + 1);
    if (n != 3 && n != 6 && n != 8)
        return -REEL_EINVALID_JOB;
    for (size_t i = 0; i < n; i++)
        if ((d[i] = hexval(s[1 + i])) < 0)
            return -REEL_EINVALID_JOB;
    if (n == 3) {
        out->r = (uint8_t)(d[0] * 17);
        out->g = (uint8_t)(d[1] * 17);
        out->b = (uint8_t)(d[2] * 17);
        out->a = 255;
    } else {
        out->r = (uint8_t)(d[0] * 16 + d[1]);
        out->g = (uint8_t)(d[2] * 16 + d[3]);
        out->b = (uint8_t)(d[4] * 16 + d[5]);
        out->a = n == 8 ? (uint8_t)(d[6] * 16 + d[7]) : 255;
    }
    return 0;
}

static const struct parse_name easing_names[] = {
    {"linear", REEL_EASE_LINEAR},
    {"hold", REEL_EASE_HOLD},
    {"ease-in", REEL_EASE_IN},
    {"ease-out", REEL_EASE_OUT},
    {"ease-in-out", REEL_EASE_IN_OUT},
    {"ease-in-back", REEL_EASE_IN_BACK},
    {"ease-out-back", REEL_EASE_OUT_BACK},
    {"ease-out-bounce", REEL_EASE_OUT_BOUNCE},
    {NULL, 0},
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* A plain decimal number (sign, digits, fraction, exponent); strtod alone would also take
 * "inf", "nan" and hexadecimal forms. */
static const char *scan_number(const char *p, double *out)
{
    const char *s = p;
    if (*p == '+' || *p == '-')
        p++;
    const char *digits = p;
    while (isdigit((unsigned char)*p))
        p++;
    bool any = p > digits;
    if (*p == '.') {
        p++;
        const char *frac = p;
        while (isdigit((unsigned char)*p))
            p++;
        any = any || p > frac;
    }
    if (!any)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        const char *e = p + 1;
        if (*e == '+' || *e == '-')
            e++;
        if (!isdigit((unsigned char)*e))
            return NULL;
        while (isdigit((unsigned char)*e))
            e++;
        p = e;
    }
    char buf[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? p : NULL;
}

int reel_easing_parse(const char *s, struct reel_easing *out)
{
    if (!s)
        return -REEL_EINVALID_JOB;
    for (const struct parse_name *n = easing_names; n->name; n++) {
        if (!strcmp(n->name, s)) {
            memset(out, 0, sizeof(*out));
            out->kind = (enum reel_easing_kind)n->value;
            return 0;
        }
    }
    const char *p = skip_ws(s);
    if (strncmp(p, "cubic-bezier", 12))
        return -REEL_EINVALID_JOB;
    p = skip_ws(p + 12);
    if (*p++ != '(')
        return -REEL_EINVALID_JOB;
    double v[4];
    for (int i = 0; i < 4; i++) {
        p = scan_number(skip_ws(p), &v[i]);
        if (!p)
            return -REEL_EINVALID_JOB;
        p = skip_ws(p);
        if (*p++ != (i < 3 ? ',' : ')'))
            return -REEL_EINVALID_JOB;
    }
    if (*skip_ws(p))
        return -REEL_EINVALID_JOB;
    /* CSS requires the x coordinates in [0, 1] so that the curve is a function of time */
    if (v[0] < 0 || v[0] > 1 || v[2] < 0 || v[2] > 1)
        return -REEL_EINVALID_JOB;
    out->kind = REEL_EASE_CUBIC_BEZIER;
    out->x1 = v[0];
    out->y1 = v[1];
    out->x2 = v[2];
    out->y2 = v[3];
    return 0;
}
