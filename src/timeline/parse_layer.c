/*
 * Layer validation (SPEC 2.2 to 2.5): common timing, the visual fields, per-type fields,
 * keyframe tracks, transitions and effects. A field that exists only for other layer types is
 * reported as unknown_field naming the type, so a misplaced field is never silently ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "timeline/parse_priv.h"

#define MAX_EFFECTS 32
#define MAX_BOX_PX 16384.0
#define MAX_SRC_BYTES 4096
#define MAX_NAME_BYTES 256

static const struct parse_name layer_types[] = {
    {"video", REEL_LAYER_VIDEO},
    {"image", REEL_LAYER_IMAGE},
    {"text", REEL_LAYER_TEXT},
    {"color", REEL_LAYER_COLOR},
    {"shape", REEL_LAYER_SHAPE},
    {"audio", REEL_LAYER_AUDIO},
    {NULL, 0},
};

static const char *const common_keys[] = {"type", "id", "start", "duration", NULL};
static const char *const visual_keys[] = {"x",       "y",          "anchor",   "width",
                                          "height",  "scale",      "rotation", "opacity",
                                          "animate", "transition", "effects",  NULL};
static const char *const fit_keys[] = {"fit", NULL};
static const char *const video_keys[] = {"src",    "trim",        "speed", "loop",
                                         "volume", "deinterlace", NULL};
static const char *const image_keys[] = {"src", NULL};
static const char *const text_keys[] = {"text",   "font",        "font_size", "color",
                                        "align",  "line_height", "max_width", "stroke",
                                        "shadow", "background",  NULL};
static const char *const color_keys[] = {"color", NULL};
static const char *const shape_keys[] = {"shape", "fill", "stroke", "corner_radius", NULL};
static const char *const audio_keys[] = {"src",     "trim",     "volume",  "loop",
                                         "fade_in", "fade_out", "animate", NULL};
/* every layer field of any type, to tell "wrong type" from "unknown" */
static const char *const any_layer_keys[] = {
    "type",        "id",         "start",       "duration",      "x",        "y",
    "anchor",      "width",      "height",      "scale",         "rotation", "opacity",
    "animate",     "transition", "effects",     "fit",           "src",      "trim",
    "speed",       "loop",       "volume",      "text",          "font",     "font_size",
    "color",       "align",      "line_height", "max_width",     "stroke",   "shadow",
    "background",  "shape",      "fill",        "corner_radius", "fade_in",  "fade_out",
    "deinterlace", NULL};

static const struct num_rule time_any = {0, PARSE_TIME_MAX_S, 0};
static const struct num_rule time_pos = {0, PARSE_TIME_MAX_S, NUM_LO_OPEN};
static const struct num_rule coord_rule = {-1e6, 1e6, 0};
static const struct num_rule anchor_rule = {-10, 10, 0};
static const struct num_rule box_rule = {0, MAX_BOX_PX, NUM_LO_OPEN};
static const struct num_rule fit_box_rule = {1, MAX_BOX_PX, 0};
static const struct num_rule scale_rule = {0, 100, 0};
static const struct num_rule unit_rule = {0, 1, 0};
static const struct num_rule volume_rule = {0, 4, 0};
static const struct num_rule offset_rule = {-1000, 1000, 0};
static const struct num_rule width_rule = {0, 1000, NUM_LO_OPEN};

static size_t append_keys(const char **buf, size_t n, const char *const *keys)
{
    for (; *keys; keys++)
        buf[n++] = *keys;
    return n;
}

static void check_layer_keys(struct parse_ctx *c, const cJSON *v, enum reel_layer_type t)
{
    const char *allowed[64];
    size_t n = append_keys(allowed, 0, common_keys);
    char what[32];
    if (t != REEL_LAYER_AUDIO)
        n = append_keys(allowed, n, visual_keys);
    switch (t) {
    case REEL_LAYER_VIDEO:
        n = append_keys(allowed, n, fit_keys);
        n = append_keys(allowed, n, video_keys);
        break;
    case REEL_LAYER_IMAGE:
        n = append_keys(allowed, n, fit_keys);
        n = append_keys(allowed, n, image_keys);
        break;
    case REEL_LAYER_TEXT:
        n = append_keys(allowed, n, text_keys);
        break;
    case REEL_LAYER_COLOR:
        n = append_keys(allowed, n, color_keys);
        break;
    case REEL_LAYER_SHAPE:
        n = append_keys(allowed, n, shape_keys);
        break;
    case REEL_LAYER_AUDIO:
        n = append_keys(allowed, n, audio_keys);
        break;
    default:
        break;
    }
    allowed[n] = NULL;
    snprintf(what, sizeof(what), "%s layers", reel_layer_type_name(t));
    reel_parse_check_keys(c, v, allowed, any_layer_keys, what);
}

/* [a, b]: an array of exactly two numbers. */
static int parse_pair(struct parse_ctx *c, cJSON *obj, const char *key, const struct num_rule *r,
                      double *a, double *b)
{
    cJSON *v = reel_parse_member(obj, key);
    if (!v)
        return 0;
    if (reel_parse_mark_of(c, v) & PARSE_MARK_POISONED)
        return -1;
    size_t m = path_key(c, key);
    int ret = -1;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) {
        reel_parse_err(c, REEL_EINVALID_JOB, "expected an array of two numbers, got %s",
                       cJSON_IsArray(v) ? "an array of another length" : reel_parse_type_name(v));
    } else {
        double x, y;
        size_t mi = path_index(c, 0);
        int ra = reel_parse_num_value(c, v->child, r, &x);
        path_pop(c, mi);
        mi = path_index(c, 1);
        int rb = reel_parse_num_value(c, v->child->next, r, &y);
        path_pop(c, mi);
        if (ra == 1 && rb == 1) {
            *a = x;
            *b = y;
            ret = 1;
        }
    }
    path_pop(c, m);
    return ret;
}

static void parse_stroke(struct parse_ctx *c, cJSON *v, struct reel_stroke *s)
{
    static const char *const keys[] = {"color", "width", NULL};
    cJSON *o;
    if (reel_parse_obj(c, v, "stroke", &o) != 1)
        return;
    size_t m = path_key(c, "stroke");
    reel_parse_check_keys(c, o, keys, NULL, "stroke");
    s->color = (struct reel_color){0, 0, 0, 255};
    reel_parse_color(c, o, "color", &s->color);
    int r = reel_parse_num(c, o, "width", &width_rule, &s->width);
    if (r == 0)
        reel_parse_required(c, "width");
    s->enabled = r == 1;
    path_pop(c, m);
}

static void parse_visual(struct parse_ctx *c, cJSON *v, struct reel_layer *l)
{
    static const struct parse_name fits[] = {
        {"cover", REEL_FIT_COVER},
        {"contain", REEL_FIT_CONTAIN},
        {"fill", REEL_FIT_FILL},
        {"none", REEL_FIT_NATURAL},
        {NULL, 0},
    };
    reel_parse_num(c, v, "x", &coord_rule, &l->x);
    reel_parse_num(c, v, "y", &coord_rule, &l->y);
    parse_pair(c, v, "anchor", &anchor_rule, &l->anchor_x, &l->anchor_y);
    /* A picture is fitted into a video or image box: a box under a pixel would scale it by
     * millions on the other axis, so these boxes are at least 1 px on each side. */
    bool fitted = l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_IMAGE;
    reel_parse_num(c, v, "width", fitted ? &fit_box_rule : &box_rule, &l->width);
    reel_parse_num(c, v, "height", fitted ? &fit_box_rule : &box_rule, &l->height);
    cJSON *s = reel_parse_member(v, "scale");
    if (s && cJSON_IsArray(s))
        parse_pair(c, v, "scale", &scale_rule, &l->scale_x, &l->scale_y);
    else
        reel_parse_num(c, v, "scale", &scale_rule, &l->scale);
    reel_parse_num(c, v, "rotation", &coord_rule, &l->rotation_deg);
    reel_parse_num(c, v, "opacity", &unit_rule, &l->opacity);
    if (l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_IMAGE) {
        int fit = l->fit;
        reel_parse_enum(c, v, "fit", fits, &fit);
        l->fit = (enum reel_fit)fit;
    }
}

static void parse_src(struct parse_ctx *c, cJSON *v, struct reel_layer *l)
{
    if (reel_parse_strdup(c, v, "src", MAX_SRC_BYTES, true, &l->src) == 0)
        reel_parse_required(c, "src");
}

static void parse_text(struct parse_ctx *c, cJSON *v, struct reel_layer *l)
{
    static const struct parse_name aligns[] = {
        {"left", REEL_ALIGN_LEFT},
        {"center", REEL_ALIGN_CENTER},
        {"right", REEL_ALIGN_RIGHT},
        {NULL, 0},
    };
    static const struct num_rule size_rule = {0, 4320, NUM_LO_OPEN};
    static const struct num_rule lh_rule = {0, 10, NUM_LO_OPEN};
    static const struct num_rule maxw_rule = {0, MAX_BOX_PX, 0};
    static const struct num_rule pad_rule = {0, 1000, 0};
    struct reel_text_style *t = &l->text;
    const char *text;
    int r = reel_parse_str(c, v, "text", 0, false, &text);
    if (r == 0) {
        reel_parse_required(c, "text");
    } else if (r == 1) {
        long n = reel_parse_utf8_count(text);
        if (n > c->lim->max_text_chars)
            reel_parse_err_at(c, "text", REEL_ELIMIT,
                              "the text has %ld characters, over the limit of %d", n,
                              c->lim->max_text_chars);
        else if (!(t->text = strdup(text)))
            reel_parse_err_at(c, "text", REEL_ENOMEM, "out of memory");
    }
    reel_parse_strdup(c, v, "font", MAX_NAME_BYTES, true, &t->font);
    reel_parse_num(c, v, "font_size", &size_rule, &t->font_size);
    reel_parse_color(c, v, "color", &t->color);
    int align = t->align;
    reel_parse_enum(c, v, "align", aligns, &align);
    t->align = (enum reel_align)align;
    reel_parse_num(c, v, "line_height", &lh_rule, &t->line_height);
    /* Below a pixel the layout would round the width to 0, which means "no wrapping". */
    if (reel_parse_num(c, v, "max_width", &maxw_rule, &t->max_width) == 1 && t->max_width > 0 &&
        t->max_width < 1) {
        char got[40];
        reel_parse_fmt_number(t->max_width, got, sizeof(got));
        reel_parse_err_at(c, "max_width", REEL_EINVALID_JOB,
                          "%s is out of range: 0 (no wrapping) or 1 to 16384 px", got);
        t->max_width = 0;
    }
    parse_stroke(c, v, &t->stroke);

    cJSON *o;
    if (reel_parse_obj(c, v, "shadow", &o) == 1) {
        static const char *const keys[] = {"color", "x", "y", NULL};
        size_t m = path_key(c, "shadow");
        reel_parse_check_keys(c, o, keys, NULL, "shadow");
        t->shadow_color = (struct reel_color){0, 0, 0, 255};
        t->shadow_x = t->shadow_y = 2;
        reel_parse_color(c, o, "color", &t->shadow_color);
        reel_parse_num(c, o, "x", &offset_rule, &t->shadow_x);
        reel_parse_num(c, o, "y", &offset_rule, &t->shadow_y);
        t->has_shadow = true;
        path_pop(c, m);
    }
    if (reel_parse_obj(c, v, "background", &o) == 1) {
        static const char *const keys[] = {"color", "padding", NULL};
        size_t m = path_key(c, "background");
        reel_parse_check_keys(c, o, keys, NULL, "background");
        t->background_color = (struct reel_color){0, 0, 0, 255};
        reel_parse_color(c, o, "color", &t->background_color);
        reel_parse_num(c, o, "padding", &pad_rule, &t->background_padding);
        t->has_background = true;
        path_pop(c, m);
    }
}

static void parse_shape(struct parse_ctx *c, cJSON *v, struct reel_layer *l)
{
    static const struct parse_name kinds[] = {
        {"rect", REEL_SHAPE_RECT},
        {"ellipse", REEL_SHAPE_ELLIPSE},
        {NULL, 0},
    };
    static const struct num_rule radius_rule = {0, MAX_BOX_PX, 0};
    int kind = l->shape.kind;
    reel_parse_enum(c, v, "shape", kinds, &kind);
    l->shape.kind = (enum reel_shape_kind)kind;
    if (!reel_parse_member(v, "width"))
        reel_parse_required(c, "width");
    if (!reel_parse_member(v, "height"))
        reel_parse_required(c, "height");
    reel_parse_color(c, v, "fill", &l->shape.fill);
    parse_stroke(c, v, &l->shape.stroke);
    if (reel_parse_num(c, v, "corner_radius", &radius_rule, &l->shape.corner_radius) == 1 &&
        l->shape.kind != REEL_SHAPE_RECT)
        reel_parse_err_at(c, "corner_radius", REEL_EINVALID_JOB,
                          "corner_radius applies only to rect shapes");
}

/* ---- animation ---- */

static const struct prop_info {
    const char *name;
    enum reel_prop prop;
    const struct num_rule *rule;
} props[] = {
    {"x", REEL_PROP_X, &coord_rule},
    {"y", REEL_PROP_Y, &coord_rule},
    {"scale", REEL_PROP_SCALE, &scale_rule},
    {"scale_x", REEL_PROP_SCALE_X, &scale_rule},
    {"scale_y", REEL_PROP_SCALE_Y, &scale_rule},
    {"rotation", REEL_PROP_ROTATION, &coord_rule},
    {"opacity", REEL_PROP_OPACITY, &unit_rule},
    {"volume", REEL_PROP_VOLUME, &volume_rule},
};

static void parse_keyframe(struct parse_ctx *c, cJSON *kv, const struct prop_info *pi,
                           struct reel_keyframe *k, bool *ok)
{
    static const char *const keys[] = {"time", "value", "easing", NULL};
    *ok = false;
    if (reel_parse_mark_of(c, kv) & PARSE_MARK_POISONED)
        return;
    if (!cJSON_IsObject(kv)) {
        reel_parse_err(c, REEL_EINVALID_JOB,
                       "a keyframe is an object {\"time\", \"value\", \"easing\"}, got %s",
                       reel_parse_type_name(kv));
        return;
    }
    reel_parse_check_keys(c, kv, keys, NULL, "a keyframe");
    k->easing.kind = REEL_EASE_LINEAR;
    int rt = reel_parse_time(c, kv, "time", &time_any, &k->time_us);
    if (rt == 0)
        reel_parse_required(c, "time");
    int rv = reel_parse_num(c, kv, "value", pi->rule, &k->value);
    if (rv == 0)
        reel_parse_required(c, "value");
    reel_parse_easing(c, kv, "easing", &k->easing);
    *ok = rt == 1;
}

static void parse_track(struct parse_ctx *c, cJSON *arr, const struct prop_info *pi,
                        struct reel_anim *a)
{
    if (reel_parse_mark_of(c, arr) & PARSE_MARK_POISONED)
        return;
    if (!cJSON_IsArray(arr)) {
        reel_parse_err(c, REEL_EINVALID_JOB, "expected an array of keyframes, got %s",
                       reel_parse_type_name(arr));
        return;
    }
    int n = cJSON_GetArraySize(arr);
    if (n == 0) {
        reel_parse_err(c, REEL_EINVALID_JOB, "needs at least one keyframe");
        return;
    }
    a->keys = calloc((size_t)n, sizeof(*a->keys));
    if (!a->keys) {
        reel_parse_err(c, REEL_ENOMEM, "out of memory");
        return;
    }
    a->n_keys = n;
    int i = 0;
    bool have_prev = false;
    int64_t prev_us = 0;
    for (cJSON *kv = arr->child; kv; kv = kv->next, i++) {
        size_t m = path_index(c, i);
        if (++c->n_keyframes > c->lim->max_keyframes && !c->keyframes_over) {
            c->keyframes_over = true;
            reel_parse_err(c, REEL_ELIMIT, "the job has more than %d keyframes",
                           c->lim->max_keyframes);
        }
        bool ok;
        parse_keyframe(c, kv, pi, &a->keys[i], &ok);
        if (ok && have_prev && a->keys[i].time_us <= prev_us) {
            char t1[32], t0[32];
            reel_parse_fmt_us(a->keys[i].time_us, t1, sizeof(t1));
            reel_parse_fmt_us(prev_us, t0, sizeof(t0));
            reel_parse_err_at(c, "time", REEL_EINVALID_JOB,
                              "keyframe times must increase: %s s is not after %s s", t1, t0);
        }
        if (ok) {
            have_prev = true;
            prev_us = a->keys[i].time_us;
        }
        path_pop(c, m);
    }
}

static void parse_animate(struct parse_ctx *c, cJSON *v, struct reel_layer *l)
{
    cJSON *a;
    if (reel_parse_obj(c, v, "animate", &a) != 1)
        return;
    size_t m = path_key(c, "animate");
    bool visual = reel_layer_is_visual(l);
    for (cJSON *tr = a->child; tr; tr = tr->next) {
        const char *name = tr->string ? tr->string : "";
        const struct prop_info *pi = NULL;
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
            if (!strcmp(props[i].name, name))
                pi = &props[i];
        if (!pi) {
            char shown[4 * 64 + 8];
            reel_parse_quote(name, 64, shown, sizeof(shown));
            reel_parse_err_at(c, shown, REEL_EUNKNOWN_FIELD,
                              "\"%s\" cannot be animated; animatable: x, y, scale, scale_x, "
                              "scale_y, rotation, opacity, volume",
                              shown);
            continue;
        }
        bool allowed = pi->prop == REEL_PROP_VOLUME
                           ? (l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_AUDIO)
                           : visual;
        if (!allowed) {
            reel_parse_err_at(c, name, REEL_EUNKNOWN_FIELD,
                              "\"%s\" cannot be animated on %s layers", name,
                              reel_layer_type_name(l->type));
            continue;
        }
        if (l->anim[pi->prop].keys) {
            reel_parse_err_at(c, name, REEL_EINVALID_JOB, "\"%s\" appears twice", name);
            continue;
        }
        size_t mk = path_key(c, name);
        parse_track(c, tr, pi, &l->anim[pi->prop]);
        path_pop(c, mk);
    }
    path_pop(c, m);
}

/* ---- transitions and effects ---- */

static void parse_one_transition(struct parse_ctx *c, cJSON *v, const char *key,
                                 int64_t layer_dur_us, struct reel_transition *t)
{
    static const struct parse_name types[] = {
        {"fade", REEL_TR_FADE},
        {"wipe-left", REEL_TR_WIPE_LEFT},
        {"wipe-right", REEL_TR_WIPE_RIGHT},
        {"wipe-up", REEL_TR_WIPE_UP},
        {"wipe-down", REEL_TR_WIPE_DOWN},
        {"slide-left", REEL_TR_SLIDE_LEFT},
        {"slide-right", REEL_TR_SLIDE_RIGHT},
        {"slide-up", REEL_TR_SLIDE_UP},
        {"slide-down", REEL_TR_SLIDE_DOWN},
        {"circle-open", REEL_TR_CIRCLE_OPEN},
        {"circle-close", REEL_TR_CIRCLE_CLOSE},
        {"radial", REEL_TR_RADIAL},
        {NULL, 0},
    };
    static const char *const keys[] = {"type", "duration", "easing", NULL};
    cJSON *o;
    if (reel_parse_obj(c, v, key, &o) != 1)
        return;
    size_t m = path_key(c, key);
    reel_parse_check_keys(c, o, keys, NULL, "a transition");
    struct reel_transition tr = {.easing.kind = REEL_EASE_LINEAR};
    int type = 0;
    int rt = reel_parse_enum(c, o, "type", types, &type);
    if (rt == 0)
        reel_parse_required(c, "type");
    int rd = reel_parse_time(c, o, "duration", &time_pos, &tr.duration_us);
    if (rd == 0)
        reel_parse_required(c, "duration");
    if (rd == 1 && tr.duration_us <= 0) {
        reel_parse_err_at(c, "duration", REEL_EINVALID_JOB, "shorter than a microsecond");
        rd = -1;
    }
    if (rd == 1 && layer_dur_us > 0 && tr.duration_us > layer_dur_us) {
        char a[32], b[32];
        reel_parse_fmt_us(tr.duration_us, a, sizeof(a));
        reel_parse_fmt_us(layer_dur_us, b, sizeof(b));
        reel_parse_err_at(c, "duration", REEL_EINVALID_JOB,
                          "the transition (%s s) is longer than the layer (%s s)", a, b);
        rd = -1;
    }
    int re = reel_parse_easing(c, o, "easing", &tr.easing);
    if (rt == 1 && rd == 1 && re >= 0) {
        tr.type = (enum reel_transition_type)type;
        *t = tr;
    }
    path_pop(c, m);
}

static void parse_transitions(struct parse_ctx *c, cJSON *v, struct reel_layer *l,
                              int64_t layer_dur_us)
{
    static const char *const keys[] = {"in", "out", NULL};
    cJSON *o;
    if (reel_parse_obj(c, v, "transition", &o) != 1)
        return;
    size_t m = path_key(c, "transition");
    reel_parse_check_keys(c, o, keys, NULL, "transition");
    parse_one_transition(c, o, "in", layer_dur_us, &l->tr_in);
    parse_one_transition(c, o, "out", layer_dur_us, &l->tr_out);
    path_pop(c, m);
}

static void parse_effect(struct parse_ctx *c, cJSON *v, struct reel_effect *fx)
{
    static const struct parse_name types[] = {
        {"brightness", REEL_FX_BRIGHTNESS},
        {"contrast", REEL_FX_CONTRAST},
        {"saturation", REEL_FX_SATURATION},
        {"grayscale", REEL_FX_GRAYSCALE},
        {"sepia", REEL_FX_SEPIA},
        {"invert", REEL_FX_INVERT},
        {"chroma-key", REEL_FX_CHROMA_KEY},
        {"blur", REEL_FX_BLUR},
        {NULL, 0},
    };
    static const char *const value_keys[] = {"type", "value", NULL};
    static const char *const plain_keys[] = {"type", NULL};
    static const char *const key_keys[] = {"type", "color", "similarity", "smoothness", NULL};
    static const char *const blur_keys[] = {"type", "sigma", NULL};
    static const char *const any_keys[] = {"value",      "color", "similarity",
                                           "smoothness", "sigma", NULL};
    static const struct num_rule bright_rule = {-1, 1, 0};
    static const struct num_rule gain_rule = {0, 4, 0};
    static const struct num_rule sigma_rule = {0, 100, NUM_LO_OPEN};

    if (reel_parse_mark_of(c, v) & PARSE_MARK_POISONED)
        return;
    if (!cJSON_IsObject(v)) {
        reel_parse_err(c, REEL_EINVALID_JOB, "an effect is an object {\"type\", ...}, got %s",
                       reel_parse_type_name(v));
        return;
    }
    int type = 0;
    int r = reel_parse_enum(c, v, "type", types, &type);
    if (r == 0)
        reel_parse_required(c, "type");
    if (r != 1)
        return;
    char what[48] = "effects";
    const char *const *keys = plain_keys;
    const struct num_rule *vr = NULL;
    for (const struct parse_name *t = types; t->name; t++)
        if (t->value == type)
            snprintf(what, sizeof(what), "%s effects", t->name);
    switch (type) {
    case REEL_FX_BRIGHTNESS:
        vr = &bright_rule;
        keys = value_keys;
        break;
    case REEL_FX_CONTRAST:
    case REEL_FX_SATURATION:
        vr = &gain_rule;
        keys = value_keys;
        break;
    case REEL_FX_CHROMA_KEY:
        keys = key_keys;
        break;
    case REEL_FX_BLUR:
        keys = blur_keys;
        break;
    default:
        break;
    }
    reel_parse_check_keys(c, v, keys, any_keys, what);
    fx->type = (enum reel_effect_type)type;
    if (vr && reel_parse_num(c, v, "value", vr, &fx->value) == 0)
        reel_parse_required(c, "value");
    if (type == REEL_FX_CHROMA_KEY) {
        fx->similarity = 0.1;
        fx->smoothness = 0.1;
        if (reel_parse_color(c, v, "color", &fx->color) == 0)
            reel_parse_required(c, "color");
        reel_parse_num(c, v, "similarity", &unit_rule, &fx->similarity);
        reel_parse_num(c, v, "smoothness", &unit_rule, &fx->smoothness);
    }
    if (type == REEL_FX_BLUR && reel_parse_num(c, v, "sigma", &sigma_rule, &fx->sigma) == 0)
        reel_parse_required(c, "sigma");
}

static void parse_effects(struct parse_ctx *c, cJSON *v, struct reel_layer *l)
{
    cJSON *arr;
    if (reel_parse_arr(c, v, "effects", &arr) != 1)
        return;
    size_t m = path_key(c, "effects");
    int n = cJSON_GetArraySize(arr);
    if (n > MAX_EFFECTS) {
        reel_parse_err(c, REEL_ELIMIT, "%d effects on one layer, over the limit of %d", n,
                       MAX_EFFECTS);
    } else if (n > 0) {
        l->effects = calloc((size_t)n, sizeof(*l->effects));
        if (!l->effects) {
            reel_parse_err(c, REEL_ENOMEM, "out of memory");
        } else {
            l->n_effects = n;
            int i = 0;
            for (cJSON *fx = arr->child; fx; fx = fx->next, i++) {
                size_t mi = path_index(c, i);
                parse_effect(c, fx, &l->effects[i]);
                path_pop(c, mi);
            }
        }
    }
    path_pop(c, m);
}

/* ---- one layer ---- */

static void set_defaults(struct parse_ctx *c, struct reel_layer *l)
{
    l->x = c->out_w / 2.0;
    l->y = c->out_h / 2.0;
    l->anchor_x = l->anchor_y = 0.5;
    l->fit = REEL_FIT_COVER;
    l->scale = l->scale_x = l->scale_y = 1;
    l->opacity = 1;
    l->speed = 1;
    l->volume = 1;
    l->text.font_size = 48;
    l->text.color = (struct reel_color){255, 255, 255, 255};
    l->text.align = REEL_ALIGN_CENTER;
    l->text.line_height = 1.2;
    l->shape.kind = REEL_SHAPE_RECT;
    l->shape.fill = (struct reel_color){255, 255, 255, 255};
}

/* Start and duration against the output: returns the layer's duration when known, else 0. */
static int64_t check_timing(struct parse_ctx *c, struct reel_layer *l)
{
    bool media_length = l->type == REEL_LAYER_VIDEO || l->type == REEL_LAYER_AUDIO;
    char a[32], b[32];
    if (c->has_out_dur) {
        if (l->start_us >= c->out_dur_us) {
            reel_parse_fmt_us(l->start_us, a, sizeof(a));
            reel_parse_fmt_us(c->out_dur_us, b, sizeof(b));
            reel_parse_err_at(c, "start", REEL_EINVALID_JOB,
                              "the layer starts at %s s, at or after the end of the output (%s s)",
                              a, b);
            return l->has_duration ? l->duration_us : 0;
        }
        if (!l->has_duration && !media_length)
            l->duration_us = c->out_dur_us - l->start_us;
        return l->duration_us;
    }
    int64_t max = c->lim->max_duration_us;
    reel_parse_fmt_us(max, b, sizeof(b));
    if (l->start_us >= max) {
        reel_parse_fmt_us(l->start_us, a, sizeof(a));
        reel_parse_err_at(c, "start", REEL_ELIMIT,
                          "the layer starts at %s s, past the limit of %s s on the output "
                          "duration",
                          a, b);
    } else if (l->has_duration && l->start_us + l->duration_us > max) {
        reel_parse_fmt_us(l->start_us + l->duration_us, a, sizeof(a));
        reel_parse_err_at(c, "duration", REEL_ELIMIT,
                          "the layer ends at %s s, past the limit of %s s on the output "
                          "duration",
                          a, b);
    }
    return l->has_duration ? l->duration_us : 0;
}

static void parse_layer(struct parse_ctx *c, cJSON *v, struct reel_layer *l, int index)
{
    static const struct num_rule speed_rule = {0.25, 4, 0};
    l->index = index;
    snprintf(l->path, sizeof(l->path), "layers[%d]", index);
    set_defaults(c, l);
    if (reel_parse_mark_of(c, v) & PARSE_MARK_POISONED)
        return;
    if (!cJSON_IsObject(v)) {
        reel_parse_err(c, REEL_EINVALID_JOB, "a layer must be an object, got %s",
                       reel_parse_type_name(v));
        return;
    }
    int type = 0;
    int r = reel_parse_enum(c, v, "type", layer_types, &type);
    if (r == 0)
        reel_parse_required(c, "type");
    if (r != 1)
        return; /* which fields belong here depends on the type */
    l->type = (enum reel_layer_type)type;
    check_layer_keys(c, v, l->type);

    reel_parse_strdup(c, v, "id", MAX_NAME_BYTES, true, &l->id);
    reel_parse_time(c, v, "start", &time_any, &l->start_us);
    if (reel_parse_time(c, v, "duration", &time_pos, &l->duration_us) == 1) {
        if (l->duration_us > 0)
            l->has_duration = true;
        else
            reel_parse_err_at(c, "duration", REEL_EINVALID_JOB, "shorter than a microsecond");
    }
    if (reel_layer_is_visual(l))
        parse_visual(c, v, l);

    switch (l->type) {
    case REEL_LAYER_VIDEO:
        parse_src(c, v, l);
        reel_parse_time(c, v, "trim", &time_any, &l->trim_us);
        reel_parse_num(c, v, "speed", &speed_rule, &l->speed);
        reel_parse_bool(c, v, "loop", &l->loop);
        reel_parse_num(c, v, "volume", &volume_rule, &l->volume);
        bool deinterlace = true;
        if (reel_parse_bool(c, v, "deinterlace", &deinterlace) > 0)
            l->no_deinterlace = !deinterlace;
        break;
    case REEL_LAYER_IMAGE:
        parse_src(c, v, l);
        break;
    case REEL_LAYER_TEXT:
        if (!(l->text.font = strdup("DejaVu Sans")))
            reel_parse_err(c, REEL_ENOMEM, "out of memory");
        parse_text(c, v, l);
        break;
    case REEL_LAYER_COLOR:
        if (reel_parse_color(c, v, "color", &l->color) == 0)
            reel_parse_required(c, "color");
        break;
    case REEL_LAYER_SHAPE:
        parse_shape(c, v, l);
        break;
    case REEL_LAYER_AUDIO:
        parse_src(c, v, l);
        reel_parse_time(c, v, "trim", &time_any, &l->trim_us);
        reel_parse_num(c, v, "volume", &volume_rule, &l->volume);
        reel_parse_bool(c, v, "loop", &l->loop);
        reel_parse_time(c, v, "fade_in", &time_any, &l->fade_in_us);
        reel_parse_time(c, v, "fade_out", &time_any, &l->fade_out_us);
        break;
    default:
        break;
    }
    parse_animate(c, v, l);

    int64_t dur = check_timing(c, l);
    if (reel_layer_is_visual(l)) {
        parse_transitions(c, v, l, dur);
        parse_effects(c, v, l);
    }
    if (l->type == REEL_LAYER_AUDIO && dur > 0) {
        char f[32], d[32];
        reel_parse_fmt_us(dur, d, sizeof(d));
        if (l->fade_in_us > dur) {
            reel_parse_fmt_us(l->fade_in_us, f, sizeof(f));
            reel_parse_err_at(c, "fade_in", REEL_EINVALID_JOB,
                              "the fade (%s s) is longer than the layer (%s s)", f, d);
        }
        if (l->fade_out_us > dur) {
            reel_parse_fmt_us(l->fade_out_us, f, sizeof(f));
            reel_parse_err_at(c, "fade_out", REEL_EINVALID_JOB,
                              "the fade (%s s) is longer than the layer (%s s)", f, d);
        }
    }
}

void reel_parse_layers(struct parse_ctx *c, cJSON *root, struct reel_timeline *tl)
{
    cJSON *arr;
    int r = reel_parse_arr(c, root, "layers", &arr);
    if (r == 0)
        reel_parse_required(c, "layers");
    if (r != 1)
        return;
    size_t m = path_key(c, "layers");
    int n = cJSON_GetArraySize(arr);
    if (n > c->lim->max_layers) {
        reel_parse_err(c, REEL_ELIMIT, "%d layers, over the limit of %d", n, c->lim->max_layers);
        path_pop(c, m);
        return;
    }
    if (n > 0) {
        tl->layers = calloc((size_t)n, sizeof(*tl->layers));
        if (!tl->layers) {
            reel_parse_err(c, REEL_ENOMEM, "out of memory");
            path_pop(c, m);
            return;
        }
        tl->n_layers = n;
    }
    int i = 0;
    for (cJSON *v = arr->child; v; v = v->next, i++) {
        size_t mi = path_index(c, i);
        parse_layer(c, v, &tl->layers[i], i);
        path_pop(c, mi);
    }
    for (i = 1; i < tl->n_layers; i++) {
        if (!tl->layers[i].id)
            continue;
        for (int j = 0; j < i; j++) {
            if (tl->layers[j].id && !strcmp(tl->layers[i].id, tl->layers[j].id)) {
                size_t mi = path_index(c, i);
                char shown[4 * 64 + 8];
                reel_parse_quote(tl->layers[i].id, 64, shown, sizeof(shown));
                reel_parse_err_at(c, "id", REEL_EINVALID_JOB,
                                  "duplicate id \"%s\" (also used by layers[%d])", shown, j);
                path_pop(c, mi);
                break;
            }
        }
    }
    path_pop(c, m);
}
