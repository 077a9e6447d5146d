/*
 * Merge fields (SPEC 2.6): "{{name}}" and "{{name|default}}" inside string values.
 *
 * A string that is exactly one field is replaced by the data value itself, keeping its JSON
 * type; anywhere else the value is written into the text. The rewritten tree is the parser's own
 * duplicate, so the caller's tree is never touched. Replacements are not scanned again: a data
 * value containing "{{x}}" stays literal.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "timeline/parse_priv.h"

#define NAME_MAX_BYTES 128

struct merge {
    struct parse_ctx *c;
    const cJSON *caller, *job;
    size_t budget; /* bytes merging may still add, so a small job cannot expand without bound */
    bool over_budget;
};

struct field {
    char name[NAME_MAX_BYTES + 1];
    const char *def; /* into the source string; NULL = no default */
    size_t def_len;
    const char *end; /* just past the closing braces */
};

struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static bool name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

/*
 * Parse the field opening at p ("{{"). Returns 1 with f filled, 0 when there is no closing "}}"
 * (the braces are then plain text) and -1 when the braces hold no valid name.
 */
static int scan_field(const char *p, struct field *f)
{
    const char *in = p + 2;
    const char *close = strstr(in, "}}");
    if (!close)
        return 0;
    const char *bar = memchr(in, '|', (size_t)(close - in));
    const char *ne = bar ? bar : close;
    while (in < ne && isspace((unsigned char)*in))
        in++;
    while (ne > in && isspace((unsigned char)ne[-1]))
        ne--;
    size_t n = (size_t)(ne - in);
    if (n == 0 || n > NAME_MAX_BYTES)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!name_char(in[i]))
            return -1;
    memcpy(f->name, in, n);
    f->name[n] = '\0';
    f->def = NULL;
    f->def_len = 0;
    if (bar) {
        const char *d = bar + 1, *de = close;
        while (d < de && isspace((unsigned char)*d))
            d++;
        while (de > d && isspace((unsigned char)de[-1]))
            de--;
        f->def = d;
        f->def_len = (size_t)(de - d);
    }
    f->end = close + 2;
    return 1;
}

/* The member named exactly name, else the path name.a.b through nested objects (and arrays by
 * index). */
static const cJSON *lookup_in(const cJSON *data, const char *name)
{
    if (!data)
        return NULL;
    for (const cJSON *m = data->child; m; m = m->next)
        if (m->string && !strcmp(m->string, name))
            return m;
    if (!strchr(name, '.'))
        return NULL;
    const cJSON *cur = data;
    const char *p = name;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        const cJSON *next = NULL;
        if (cJSON_IsObject(cur)) {
            for (const cJSON *m = cur->child; m; m = m->next)
                if (m->string && strlen(m->string) == n && !strncmp(m->string, p, n)) {
                    next = m;
                    break;
                }
        } else if (cJSON_IsArray(cur) && n > 0 && n < 10) {
            char idx[12];
            memcpy(idx, p, n);
            idx[n] = '\0';
            bool digits = true;
            for (size_t i = 0; i < n; i++)
                digits = digits && isdigit((unsigned char)idx[i]);
            if (digits)
                next = cJSON_GetArrayItem(cur, atoi(idx));
        }
        cur = next;
        p = dot ? dot + 1 : p + n;
        if (dot && !*p)
            return NULL;
    }
    return cur;
}

static const cJSON *lookup(const struct merge *mg, const char *name)
{
    const cJSON *v = lookup_in(mg->caller, name);
    return v ? v : lookup_in(mg->job, name);
}

/* Rough size of a value, charged against the growth budget. */
static size_t value_size(const cJSON *v, size_t cap)
{
    size_t n = 8 + (v->string ? strlen(v->string) : 0);
    if (cJSON_IsString(v) && v->valuestring)
        n += strlen(v->valuestring);
    for (const cJSON *ch = v->child; ch && n <= cap; ch = ch->next)
        n += value_size(ch, cap - n);
    return n;
}

static bool charge(struct merge *mg, size_t n)
{
    if (n > mg->budget) {
        if (!mg->over_budget)
            reel_parse_err(mg->c, REEL_ELIMIT,
                           "merging makes the job larger than %zu bytes (the limit is 4 times the "
                           "request body limit)",
                           mg->c->lim->max_body_bytes * 4);
        mg->over_budget = true;
        return false;
    }
    mg->budget -= n;
    return true;
}

/* Append value v to text b; returns false (and reports) when v cannot be text. */
static bool put_value(struct merge *mg, struct sbuf *b, const cJSON *v, const char *name)
{
    char num[40];
    if (cJSON_IsString(v)) {
        sb_put(b, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble)) {
            reel_parse_err(mg->c, REEL_EINVALID_JOB,
                           "merge field \"%s\": the data value is not a finite number", name);
            return false;
        }
        reel_parse_fmt_number(v->valuedouble, num, sizeof(num));
        sb_put(b, num, strlen(num));
    } else if (cJSON_IsBool(v)) {
        const char *s = cJSON_IsTrue(v) ? "true" : "false";
        sb_put(b, s, strlen(s));
    } else if (cJSON_IsNull(v)) {
        /* null reads as nothing, as in mustache-style templates */
    } else {
        reel_parse_err(mg->c, REEL_EINVALID_JOB,
                       "merge field \"%s\" is %s and cannot be placed inside a string", name,
                       reel_parse_type_name(v));
        return false;
    }
    return true;
}

/* Replace item (a member of parent) by repl, keeping the member's name. */
static void replace_node(cJSON *parent, cJSON *item, cJSON *repl)
{
    repl->string = item->string;
    repl->type |= item->type & cJSON_StringIsConst;
    item->string = NULL;
    item->type &= ~cJSON_StringIsConst;
    cJSON_ReplaceItemViaPointer(parent, item, repl);
}

static int poison(struct merge *mg, const cJSON *node)
{
    return reel_parse_mark_add(mg->c, node, PARSE_MARK_POISONED);
}

/* Merge one string node. Returns 0 or -REEL_ENOMEM. */
static int merge_string(struct merge *mg, cJSON *parent, cJSON *item)
{
    const char *s = item->valuestring;
    struct field f;
    if (!s || !strstr(s, "{{"))
        return 0;

    /* the whole string is one field: the value keeps its type */
    if (!strncmp(s, "{{", 2) && scan_field(s, &f) == 1 && !*f.end) {
        const cJSON *v = lookup(mg, f.name);
        cJSON *repl;
        unsigned mark;
        if (v) {
            if (!charge(mg, value_size(v, mg->budget + 1)))
                return poison(mg, item);
            repl = cJSON_Duplicate(v, true);
            /* text from data (always the case for --data k=v) may stand for a number or a
             * boolean, like a default does */
            mark = cJSON_IsString(v) ? PARSE_MARK_TYPED | PARSE_MARK_SOFT : PARSE_MARK_TYPED;
        } else if (f.def) {
            char *d = malloc(f.def_len + 1);
            if (!d)
                return -REEL_ENOMEM;
            memcpy(d, f.def, f.def_len);
            d[f.def_len] = '\0';
            repl = cJSON_CreateString(d);
            free(d);
            mark = PARSE_MARK_SOFT;
        } else {
            reel_parse_err(mg->c, REEL_EINVALID_JOB,
                           "unknown merge field \"%s\" (not in data and no default)", f.name);
            return poison(mg, item);
        }
        if (!repl)
            return -REEL_ENOMEM;
        if (repl->string) { /* a duplicated member arrives with its own name */
            if (!(repl->type & cJSON_StringIsConst))
                cJSON_free(repl->string);
            repl->string = NULL;
        }
        repl->type &= ~cJSON_StringIsConst;
        replace_node(parent, item, repl);
        return reel_parse_mark_add(mg->c, repl, mark);
    }

    struct sbuf b = {0};
    bool ok = true;
    const char *p = s;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            sb_put(&b, p, strlen(p));
            break;
        }
        sb_put(&b, p, (size_t)(open - p));
        int r = scan_field(open, &f);
        if (r == 0) { /* no closing braces: the rest is plain text */
            sb_put(&b, open, strlen(open));
            break;
        }
        if (r < 0) {
            const char *close = strstr(open + 2, "}}");
            char field[96], shown[4 * 80 + 8];
            snprintf(field, sizeof(field), "%.*s",
                     (int)(close + 2 - open > 80 ? 80 : close + 2 - open), open);
            reel_parse_quote(field, 80, shown, sizeof(shown));
            reel_parse_err(mg->c, REEL_EINVALID_JOB,
                           "malformed merge field \"%s\": names use letters, digits, '_', '.' "
                           "and '-'",
                           shown);
            ok = false;
            p = close + 2;
            continue;
        }
        const cJSON *v = lookup(mg, f.name);
        size_t before = b.len;
        if (v) {
            ok = put_value(mg, &b, v, f.name) && ok;
        } else if (f.def) {
            sb_put(&b, f.def, f.def_len);
        } else {
            reel_parse_err(mg->c, REEL_EINVALID_JOB,
                           "unknown merge field \"%s\" (not in data and no default)", f.name);
            ok = false;
        }
        if (ok && !charge(mg, b.len - before))
            ok = false;
        p = f.end;
        if (!ok && mg->over_budget)
            break;
    }
    int ret = 0;
    if (b.failed) {
        ret = -REEL_ENOMEM;
    } else if (!ok) {
        ret = poison(mg, item);
    } else if (!cJSON_SetValuestring(item, b.p ? b.p : "")) {
        ret = -REEL_ENOMEM;
    }
    free(b.p);
    return ret;
}

static int walk(struct merge *mg, cJSON *node, bool is_root, size_t *depth_left)
{
    cJSON *next;
    int i = 0;
    for (cJSON *ch = node->child; ch; ch = next, i++) {
        next = ch->next;
        if (is_root && ch->string && !strcmp(ch->string, "data"))
            continue;
        size_t m = cJSON_IsArray(node) ? path_index(mg->c, i)
                                       : path_key(mg->c, ch->string ? ch->string : "");
        int ret = 0;
        if (cJSON_IsString(ch)) {
            ret = merge_string(mg, node, ch);
        } else if ((cJSON_IsObject(ch) || cJSON_IsArray(ch)) && *depth_left > 0) {
            (*depth_left)--;
            ret = walk(mg, ch, false, depth_left);
            (*depth_left)++;
        }
        path_pop(mg->c, m);
        if (ret < 0)
            return ret;
        if (mg->over_budget)
            return 0;
    }
    return 0;
}

int reel_parse_merge(struct parse_ctx *c, cJSON *root, const cJSON *job_data,
                     const cJSON *caller_data)
{
    struct merge mg = {
        .c = c,
        .caller = caller_data,
        .job = job_data,
        .budget = c->lim->max_body_bytes * 4,
    };
    size_t depth_left = (size_t)(c->lim->max_json_depth > 0 ? c->lim->max_json_depth : 32) + 1;
    return walk(&mg, root, true, &depth_left);
}
