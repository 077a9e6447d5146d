#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_GLYPH_H
#include FT_OUTLINE_H
#include FT_STROKER_H
#include <hb-ft.h>
#include <hb.h>

#include "raster/font.h"

#define MAX_SIDE 16384
#define DEFAULT_SIZE_PX 48.0
#define DEFAULT_LINE_HEIGHT 1.2
/* Most glyph pixels one text layer may rasterise (all passes); about as many bytes are held. */
#define TEXT_INK_PX 256e6

/* Simplified Unicode bidi classes: strong left, strong right, European/Arabic number, neutral. */
enum bidi_class { BIDI_L = 0, BIDI_R, BIDI_EN, BIDI_N, BIDI_NSM };

struct cpinfo {
    uint32_t cp;
    hb_script_t script; /* resolved: common and inherited take the surrounding script */
    int face;
    int32_t adv26; /* advance of the cluster starting here, from the measuring pass */
    uint8_t cls;
    uint8_t level; /* bidi embedding level: even = left to right */
    bool break_before;
};

struct run {
    int start, end;
    hb_script_t script;
    int face;
    uint8_t level;
};

struct glyph {
    int face;
    uint32_t gid;
    int32_t x26, y26; /* pen position in the line; y down from the baseline */
};

struct line {
    int64_t width26;
    int first, count;
};

/* State of one reel_raster_text call. */
struct ctx {
    struct reel_raster *r;
    struct font_chain *chain;
    hb_buffer_t *buf;
    hb_unicode_funcs_t *uf;
    long size26;
    int64_t max_w26; /* 0 = no wrapping */

    struct cpinfo *info;
    int cap_info;
    struct run *runs;
    int n_runs, cap_runs;

    struct glyph *glyphs;
    int n_glyphs, cap_glyphs;
    struct line *lines;
    int n_lines, cap_lines;

    struct reel_text_stats st;
};

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > (1 << 28))
            return -REEL_ENOMEM;
        ncap *= 2;
    }
    void *n = realloc(*p, (size_t)ncap * elem);
    if (!n)
        return -REEL_ENOMEM;
    *p = n;
    *cap = ncap;
    return 0;
}

/* Decode UTF-8, replacing malformed sequences with U+FFFD. */
static int decode_utf8(const char *s, uint32_t **out, int *n_out)
{
    size_t len = strlen(s);
    uint32_t *cps = malloc((len + 1) * sizeof(*cps));
    if (!cps)
        return -REEL_ENOMEM;
    int n = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        uint32_t c = *p;
        int extra = c < 0x80             ? 0
                    : (c & 0xe0) == 0xc0 ? 1
                    : (c & 0xf0) == 0xe0 ? 2
                    : (c & 0xf8) == 0xf0 ? 3
                                         : -1;
        if (extra < 0 || end - p <= extra) {
            cps[n++] = 0xfffd;
            p++;
            continue;
        }
        uint32_t v = extra == 0 ? c : extra == 1 ? c & 0x1f : extra == 2 ? c & 0x0f : c & 0x07;
        bool ok = true;
        for (int k = 1; k <= extra; k++) {
            if ((p[k] & 0xc0) != 0x80) {
                ok = false;
                break;
            }
            v = (v << 6) | (p[k] & 0x3f);
        }
        static const uint32_t min_for[4] = {0, 0x80, 0x800, 0x10000};
        if (!ok || v < min_for[extra] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
            cps[n++] = 0xfffd;
            p++;
            continue;
        }
        cps[n++] = v;
        p += extra + 1;
    }
    *out = cps;
    *n_out = n;
    return 0;
}

static bool is_space(uint32_t c)
{
    return c == 0x20 || c == 0x3000 || c == 0x1680 || c == 0x205f ||
           (c >= 0x2000 && c <= 0x200a && c != 0x2007);
}

static bool is_cjk(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x2e80 && c <= 0x2fdf) ||
           (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3100 && c <= 0x318f) ||
           (c >= 0x31f0 && c <= 0x31ff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa960 && c <= 0xa97f) ||
           (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0xff66 && c <= 0xff9f) || (c >= 0x20000 && c <= 0x3ffff);
}

/* Small kana and the prolonged sound mark may not start a line. */
static bool no_break_before(uint32_t c)
{
    static const uint32_t list[] = {0x3041, 0x3043, 0x3045, 0x3047, 0x3049, 0x3063, 0x3083, 0x3085,
                                    0x3087, 0x308e, 0x30a1, 0x30a3, 0x30a5, 0x30a7, 0x30a9, 0x30c3,
                                    0x30e3, 0x30e5, 0x30e7, 0x30ee, 0x30f5, 0x30f6, 0x30fc};
    for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
        if (c == list[i])
            return true;
    return false;
}

/* CJK closing punctuation, after which a line may break. */
static bool is_cjk_close(uint32_t c)
{
    return c == 0x3001 || c == 0x3002 || c == 0x300d || c == 0x300f || c == 0x3011 || c == 0xff01 ||
           c == 0xff09 || c == 0xff0c || c == 0xff0e || c == 0xff1f;
}

static bool can_break_between(uint32_t a, uint32_t b)
{
    if (is_space(a) && !is_space(b))
        return true;
    return is_cjk(b) && !no_break_before(b) && (is_cjk(a) || is_cjk_close(a));
}

static bool is_real_script(hb_script_t s)
{
    return s != HB_SCRIPT_COMMON && s != HB_SCRIPT_INHERITED && s != HB_SCRIPT_UNKNOWN &&
           s != HB_SCRIPT_INVALID;
}

static bool is_default_ignorable(hb_unicode_funcs_t *uf, uint32_t c)
{
    return hb_unicode_general_category(uf, c) == HB_UNICODE_GENERAL_CATEGORY_FORMAT ||
           (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xe0100 && c <= 0xe01ef) || c == 0x034f ||
           (c >= 0x180b && c <= 0x180f);
}

static bool is_mark(hb_unicode_general_category_t gc)
{
    return gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK ||
           gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK ||
           gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK;
}

/* Strong direction of a resolved class for the neutral rules: numbers count as right-to-left. */
static int strong_dir(uint8_t cls)
{
    return cls == BIDI_L ? BIDI_L : (cls == BIDI_R || cls == BIDI_EN) ? BIDI_R : -1;
}

/* N0: a bracket pair takes the embedding direction when its content has a strong character of
 * that direction, else the opposite one when both its content and what precedes it are opposite.
 * So "(עולם)" inside left-to-right text keeps its closing bracket with the Hebrew. */
static void resolve_brackets(struct ctx *x, int n, uint8_t e)
{
    enum { DEPTH = 63 };
    struct {
        uint32_t closer;
        int pos;
    } stack[DEPTH];
    int sp = 0;
    struct cpinfo *in = x->info;
    for (int i = 0; i < n; i++) {
        if (in[i].cls != BIDI_N)
            continue;
        hb_unicode_general_category_t gc = hb_unicode_general_category(x->uf, in[i].cp);
        if (gc == HB_UNICODE_GENERAL_CATEGORY_OPEN_PUNCTUATION) {
            if (sp == DEPTH)
                return; /* BD16: stop at overflow */
            stack[sp].closer = hb_unicode_mirroring(x->uf, in[i].cp);
            stack[sp++].pos = i;
            continue;
        }
        if (gc != HB_UNICODE_GENERAL_CATEGORY_CLOSE_PUNCTUATION)
            continue;
        int k = sp - 1;
        while (k >= 0 && stack[k].closer != in[i].cp)
            k--;
        if (k < 0)
            continue;
        int o = stack[k].pos;
        sp = k;
        bool has_e = false, has_opp = false;
        for (int j = o + 1; j < i; j++) {
            int d = strong_dir(in[j].cls);
            has_e |= d == e;
            has_opp |= d >= 0 && d != e;
        }
        int dir = -1;
        if (has_e) {
            dir = e;
        } else if (has_opp) {
            int before = e;
            for (int j = o - 1; j >= 0; j--) {
                int d = strong_dir(in[j].cls);
                if (d >= 0) {
                    before = d;
                    break;
                }
            }
            dir = before != e ? before : e;
        }
        if (dir >= 0)
            in[o].cls = in[i].cls = (uint8_t)dir;
    }
}

/* Scripts and bidi levels of one paragraph: a reduced form of UAX #9 without explicit embeddings
 * (rules P2-P3, W1, W4, W7, N0-N2, I1-I2), enough for Arabic and Hebrew with numbers and Latin
 * inside them, and for RTL phrases inside left-to-right text. */
static void analyse(struct ctx *x, int n)
{
    struct cpinfo *in = x->info;
    hb_script_t last = HB_SCRIPT_INVALID;
    for (int i = 0; i < n; i++) {
        uint32_t c = in[i].cp;
        hb_script_t s = hb_unicode_script(x->uf, c);
        hb_unicode_general_category_t gc = hb_unicode_general_category(x->uf, c);
        if (gc == HB_UNICODE_GENERAL_CATEGORY_DECIMAL_NUMBER)
            in[i].cls = BIDI_EN;
        else if (!is_real_script(s))
            in[i].cls = is_mark(gc) ? BIDI_NSM : BIDI_N;
        else
            in[i].cls = hb_script_get_horizontal_direction(s) == HB_DIRECTION_RTL ? BIDI_R : BIDI_L;
        if (is_real_script(s))
            last = s;
        in[i].script = is_real_script(s) ? s : last;
    }
    hb_script_t next = HB_SCRIPT_INVALID;
    for (int i = n - 1; i >= 0; i--) {
        if (in[i].script != HB_SCRIPT_INVALID)
            next = in[i].script;
        else
            in[i].script = next != HB_SCRIPT_INVALID ? next : HB_SCRIPT_COMMON;
    }

    int para = 0; /* P2-P3: the first strong character decides */
    for (int i = 0; i < n; i++) {
        if (in[i].cls == BIDI_L || in[i].cls == BIDI_R) {
            para = in[i].cls == BIDI_R;
            break;
        }
    }
    uint8_t sos = para ? BIDI_R : BIDI_L;
    for (int i = 0; i < n; i++) /* W1 */
        if (in[i].cls == BIDI_NSM)
            in[i].cls = i ? in[i - 1].cls : sos;
    for (int i = 1; i + 1 < n; i++) /* W4 */
        if ((in[i].cp == '.' || in[i].cp == ',') && in[i - 1].cls == BIDI_EN &&
            in[i + 1].cls == BIDI_EN)
            in[i].cls = BIDI_EN;
    uint8_t strong = sos; /* W7 */
    for (int i = 0; i < n; i++) {
        if (in[i].cls == BIDI_L || in[i].cls == BIDI_R)
            strong = in[i].cls;
        else if (in[i].cls == BIDI_EN && strong == BIDI_L)
            in[i].cls = BIDI_L;
    }
    resolve_brackets(x, n, sos);
    for (int i = 0; i < n;) { /* N1-N2 */
        if (in[i].cls != BIDI_N) {
            i++;
            continue;
        }
        int j = i;
        while (j < n && in[j].cls == BIDI_N)
            j++;
        uint8_t before = i ? (in[i - 1].cls == BIDI_L ? BIDI_L : BIDI_R) : sos;
        uint8_t after = j < n ? (in[j].cls == BIDI_L ? BIDI_L : BIDI_R) : sos;
        uint8_t res = before == after ? before : sos;
        for (int k = i; k < j; k++)
            in[k].cls = res;
        i = j;
    }
    for (int i = 0; i < n; i++) { /* I1-I2 */
        if (!para)
            in[i].level = in[i].cls == BIDI_L ? 0 : in[i].cls == BIDI_R ? 1 : 2;
        else
            in[i].level = in[i].cls == BIDI_R ? 1 : 2;
    }
}

/* Use face id for the current size; false when it cannot be sized. */
static bool face_ready(struct ctx *x, int face)
{
    return face >= 0 && font_face_set_size(x->r, face, x->size26) == 0;
}

static void choose_faces(struct ctx *x, int n)
{
    struct cpinfo *in = x->info;
    int primary = x->chain->primary;
    for (int i = 0; i < n; i++) {
        uint32_t c = in[i].cp;
        int prev = i ? in[i - 1].face : primary;
        hb_script_t raw = hb_unicode_script(x->uf, c);
        bool ignorable = is_default_ignorable(x->uf, c);
        /* Marks, joiners and punctuation stay in the font of what precedes them when it can
         * draw them, so a fallback run is not split by its spaces and marks stay on their base. */
        if (i &&
            (ignorable || !is_real_script(raw) || is_mark(hb_unicode_general_category(x->uf, c))) &&
            (ignorable || font_face_has(x->r, prev, c))) {
            in[i].face = prev;
            continue;
        }
        int f = font_chain_lookup(x->r, x->chain, c);
        if (f < 0 || !face_ready(x, f))
            f = ignorable ? prev : primary;
        in[i].face = f;
    }
}

static int make_runs(struct ctx *x, int n)
{
    x->n_runs = 0;
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && x->info[j].script == x->info[i].script &&
               x->info[j].level == x->info[i].level && x->info[j].face == x->info[i].face)
            j++;
        if (grow((void **)&x->runs, &x->cap_runs, x->n_runs + 1, sizeof(*x->runs)) < 0)
            return -REEL_ENOMEM;
        x->runs[x->n_runs++] =
            (struct run){i, j, x->info[i].script, x->info[i].face, x->info[i].level};
        i = j;
    }
    return 0;
}

/* Shape cps[start, end) of the paragraph (the rest given as context) into x->buf. */
static void shape(struct ctx *x, const uint32_t *cps, int n, const struct run *rn)
{
    hb_buffer_clear_contents(x->buf);
    hb_buffer_add_utf32(x->buf, cps, n, (unsigned)rn->start, rn->end - rn->start);
    hb_buffer_set_direction(x->buf, (rn->level & 1) ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
    hb_buffer_set_script(x->buf, rn->script);
    /* The language stays unset on purpose: the process locale must not change the result. */
    int flags = HB_BUFFER_FLAG_REMOVE_DEFAULT_IGNORABLES;
    if (rn->start == 0)
        flags |= HB_BUFFER_FLAG_BOT;
    if (rn->end == n)
        flags |= HB_BUFFER_FLAG_EOT;
    hb_buffer_set_flags(x->buf, (hb_buffer_flags_t)flags);
    hb_shape(x->r->faces[rn->face].hb, x->buf, NULL, 0);
}

static void measure(struct ctx *x, const uint32_t *cps, int n)
{
    for (int i = 0; i < n; i++)
        x->info[i].adv26 = 0;
    for (int k = 0; k < x->n_runs; k++) {
        shape(x, cps, n, &x->runs[k]);
        unsigned len;
        hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(x->buf, &len);
        hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(x->buf, &len);
        for (unsigned g = 0; g < len; g++)
            if (gi[g].cluster < (unsigned)n)
                x->info[gi[g].cluster].adv26 += gp[g].x_advance;
    }
}

/* Lay out one line [ls, le) of the paragraph: visual run order, shaping, glyph positions. */
static int layout_line(struct ctx *x, const uint32_t *cps, int n, int ls, int le)
{
    if (grow((void **)&x->lines, &x->cap_lines, x->n_lines + 1, sizeof(*x->lines)) < 0)
        return -REEL_ENOMEM;
    struct line *ln = &x->lines[x->n_lines++];
    ln->first = x->n_glyphs;
    ln->count = 0;
    ln->width26 = 0;
    if (ls >= le)
        return 0;

    int n_seg = 0;
    for (int k = 0; k < x->n_runs; k++)
        if (x->runs[k].end > ls && x->runs[k].start < le)
            n_seg++;
    struct run *seg = malloc((size_t)n_seg * sizeof(*seg));
    if (!seg)
        return -REEL_ENOMEM;
    n_seg = 0;
    uint8_t max_level = 0;
    for (int k = 0; k < x->n_runs; k++) {
        struct run rn = x->runs[k];
        if (rn.end <= ls || rn.start >= le)
            continue;
        rn.start = rn.start > ls ? rn.start : ls;
        rn.end = rn.end < le ? rn.end : le;
        seg[n_seg++] = rn;
        if (rn.level > max_level)
            max_level = rn.level;
    }
    /* L2: from the highest level down to 1, reverse every maximal sequence at or above it. */
    for (int lev = max_level; lev >= 1; lev--) {
        for (int i = 0; i < n_seg;) {
            if (seg[i].level < lev) {
                i++;
                continue;
            }
            int j = i;
            while (j < n_seg && seg[j].level >= lev)
                j++;
            for (int a = i, b = j - 1; a < b; a++, b--) {
                struct run t = seg[a];
                seg[a] = seg[b];
                seg[b] = t;
            }
            i = j;
        }
    }

    int64_t pen = 0;
    int ret = 0;
    for (int k = 0; k < n_seg; k++) {
        shape(x, cps, n, &seg[k]);
        unsigned len;
        hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(x->buf, &len);
        hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(x->buf, &len);
        if (grow((void **)&x->glyphs, &x->cap_glyphs, x->n_glyphs + (int)len, sizeof(*x->glyphs)) <
            0) {
            ret = -REEL_ENOMEM;
            break;
        }
        x->st.runs++;
        for (unsigned g = 0; g < len; g++) {
            struct glyph *o = &x->glyphs[x->n_glyphs++];
            o->face = seg[k].face;
            o->gid = gi[g].codepoint;
            o->x26 = (int32_t)(pen + gp[g].x_offset);
            o->y26 = -gp[g].y_offset;
            pen += gp[g].x_advance;
            x->st.glyphs++;
            if (o->gid == 0)
                x->st.missing_glyphs++;
            else if (o->face != x->chain->primary)
                x->st.fallback_glyphs++;
        }
        ln->count += (int)len;
    }
    ln->width26 = pen;
    free(seg);
    return ret;
}

static int layout_paragraph(struct ctx *x, const uint32_t *cps, int n)
{
    int ret;
    if (n == 0)
        return layout_line(x, cps, 0, 0, 0);
    if ((ret = grow((void **)&x->info, &x->cap_info, n, sizeof(*x->info))) < 0)
        return ret;
    for (int i = 0; i < n; i++) {
        memset(&x->info[i], 0, sizeof(x->info[i]));
        x->info[i].cp = cps[i];
        x->info[i].break_before = i > 0 && can_break_between(cps[i - 1], cps[i]);
    }
    analyse(x, n);
    choose_faces(x, n);
    if ((ret = make_runs(x, n)) < 0)
        return ret;

    if (x->max_w26 <= 0)
        return layout_line(x, cps, n, 0, n);
    measure(x, cps, n);
    int ls = 0;
    while (ls < n) {
        int64_t w = 0;
        int bp = -1, i;
        for (i = ls; i < n; i++) {
            if (i > ls && x->info[i].break_before)
                bp = i;
            w += x->info[i].adv26;
            if (w > x->max_w26 && !is_space(cps[i]) && bp > ls)
                break;
        }
        if (i == n) {
            ret = layout_line(x, cps, n, ls, n);
            break;
        }
        int le = bp;
        while (le > ls && is_space(cps[le - 1]))
            le--; /* spaces at a soft break take no room */
        if ((ret = layout_line(x, cps, n, ls, le)) < 0)
            return ret;
        ls = bp;
    }
    return ret;
}

static int64_t floor_div64(int64_t v)
{
    return v >= 0 ? v / 64 : -((-v + 63) / 64);
}

/*
 * Upper bound of the pixels render_pass would rasterise and keep for the laid-out glyphs, from
 * their outlines' control boxes (no rasterising): each glyph's box grown by the stroke width and a
 * pixel of rounding on each side, times the passes (fill, stroke, and both again for a shadow).
 * Stops counting once over limit. Combining marks have no advance, so the block's size says
 * nothing of them: this is what bounds a letter followed by thousands of accents.
 */
static double ink_pixels(struct ctx *x, double sw, int passes, double limit)
{
    double total = 0.0;
    for (int i = 0; i < x->n_glyphs && total <= limit; i++) {
        const struct glyph *gl = &x->glyphs[i];
        FT_Face face = x->r->faces[gl->face].ft;
        if (FT_Load_Glyph(face, gl->gid, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP) ||
            face->glyph->format != FT_GLYPH_FORMAT_OUTLINE)
            continue;
        FT_BBox cb;
        FT_Outline_Get_CBox(&face->glyph->outline, &cb);
        double w = (double)(cb.xMax - cb.xMin) / 64.0 + 2.0 + 2.0 * sw;
        double h = (double)(cb.yMax - cb.yMin) / 64.0 + 2.0 + 2.0 * sw;
        total += w * h * passes;
    }
    return total;
}

/* One rendered glyph bitmap, placed in layout pixels (block top-left = 0,0; y down). */
struct bitmap {
    FT_Glyph g;
    int left, top;
};

struct pass {
    struct bitmap *b;
    int n, cap;
};

static void pass_free(struct pass *p)
{
    for (int i = 0; i < p->n; i++)
        FT_Done_Glyph(p->b[i].g);
    free(p->b);
    memset(p, 0, sizeof(*p));
}

/* Render every glyph at its place plus (dx26, dy26); with a stroker, the glyph grown by its
 * outside border (the stroke drawn under the fill). */
static int render_pass(struct ctx *x, const int64_t *line_x26, const int64_t *line_y26,
                       FT_Stroker stroker, int64_t dx26, int64_t dy26, struct pass *out)
{
    for (int l = 0; l < x->n_lines; l++) {
        const struct line *ln = &x->lines[l];
        for (int k = 0; k < ln->count; k++) {
            const struct glyph *gl = &x->glyphs[ln->first + k];
            FT_Face face = x->r->faces[gl->face].ft;
            if (FT_Load_Glyph(face, gl->gid, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP) ||
                face->glyph->format != FT_GLYPH_FORMAT_OUTLINE)
                continue;
            FT_Glyph g;
            if (FT_Get_Glyph(face->glyph, &g))
                return -REEL_ENOMEM;
            if (stroker && FT_Glyph_StrokeBorder(&g, stroker, 0, 1)) {
                FT_Done_Glyph(g);
                continue;
            }
            int64_t ox = line_x26[l] + gl->x26 + dx26;
            int64_t oy = line_y26[l] + gl->y26 + dy26;
            int64_t ix = floor_div64(ox), iy = floor_div64(oy);
            /* Only the sub-pixel part moves the outline; FreeType's y axis points up. */
            FT_Vector d = {(FT_Pos)(ox - ix * 64), (FT_Pos)(-(oy - iy * 64))};
            FT_Glyph_Transform(g, NULL, &d);
            if (FT_Glyph_To_Bitmap(&g, FT_RENDER_MODE_NORMAL, NULL, 1)) {
                FT_Done_Glyph(g);
                continue;
            }
            FT_BitmapGlyph bg = (FT_BitmapGlyph)g;
            if (bg->bitmap.width == 0 || bg->bitmap.rows == 0 ||
                bg->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY) {
                FT_Done_Glyph(g);
                continue;
            }
            if (grow((void **)&out->b, &out->cap, out->n + 1, sizeof(*out->b)) < 0) {
                FT_Done_Glyph(g);
                return -REEL_ENOMEM;
            }
            out->b[out->n++] = (struct bitmap){g, (int)(ix + bg->left), (int)(iy - bg->top)};
        }
    }
    return 0;
}

struct box {
    int64_t x0, y0, x1, y1;
};

static void box_add(struct box *u, int64_t x0, int64_t y0, int64_t x1, int64_t y1)
{
    if (x0 < u->x0)
        u->x0 = x0;
    if (y0 < u->y0)
        u->y0 = y0;
    if (x1 > u->x1)
        u->x1 = x1;
    if (y1 > u->y1)
        u->y1 = y1;
}

static void pass_bounds(const struct pass *p, struct box *u)
{
    for (int i = 0; i < p->n; i++) {
        FT_BitmapGlyph bg = (FT_BitmapGlyph)p->b[i].g;
        box_add(u, p->b[i].left, p->b[i].top, (int64_t)p->b[i].left + bg->bitmap.width,
                (int64_t)p->b[i].top + bg->bitmap.rows);
    }
}

/* Accumulate a pass into an 8-bit coverage mask (max, so overlapping glyphs do not darken). */
static void pass_blit(const struct pass *p, uint8_t *mask, int w, int h, int ox, int oy)
{
    for (int i = 0; i < p->n; i++) {
        FT_Bitmap *bm = &((FT_BitmapGlyph)p->b[i].g)->bitmap;
        int x0 = p->b[i].left - ox, y0 = p->b[i].top - oy;
        for (unsigned r = 0; r < bm->rows; r++) {
            int y = y0 + (int)r;
            if (y < 0 || y >= h)
                continue;
            const uint8_t *src =
                bm->buffer +
                (bm->pitch >= 0 ? (long)r * bm->pitch : (long)(bm->rows - 1 - r) * -bm->pitch);
            uint8_t *dst = mask + (size_t)y * w;
            for (unsigned c = 0; c < bm->width; c++) {
                int xx = x0 + (int)c;
                if (xx >= 0 && xx < w && src[c] > dst[xx])
                    dst[xx] = src[c];
            }
        }
    }
}

/* Composite colour c with coverage m (0..255) over the premultiplied pixel p. */
static void over(uint8_t *p, struct reel_color c, unsigned m)
{
    unsigned cam = c.a * m; /* 0..65025 */
    unsigned sa = (cam + 127) / 255;
    if (!sa)
        return;
    unsigned k = 255 - sa;
    const unsigned col[3] = {c.r, c.g, c.b};
    for (int ch = 0; ch < 3; ch++)
        p[ch] = (uint8_t)((col[ch] * cam + 32512) / 65025 + (p[ch] * k + 127) / 255);
    p[3] = (uint8_t)(sa + (p[3] * k + 127) / 255);
}

static void paint_mask(struct reel_image *img, const uint8_t *mask, struct reel_color c)
{
    if (!mask || !c.a)
        return;
    for (int y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        const uint8_t *m = mask + (size_t)y * img->width;
        for (int xx = 0; xx < img->width; xx++)
            if (m[xx])
                over(p + 4 * xx, c, m[xx]);
    }
}

static void ctx_free(struct ctx *x)
{
    if (x->buf)
        hb_buffer_destroy(x->buf);
    free(x->info);
    free(x->runs);
    free(x->glyphs);
    free(x->lines);
}

/* Lay out every paragraph of the text into x->lines / x->glyphs. */
static int layout_text(struct ctx *x, const char *text)
{
    uint32_t *cps = NULL;
    int n = 0, ret;
    if ((ret = decode_utf8(text, &cps, &n)) < 0)
        return ret;
    /* Tabs become spaces; other control characters (and CR of CRLF) draw nothing. */
    int m = 0;
    for (int i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c == '\t')
            c = ' ';
        if ((c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0))
            continue;
        cps[m++] = c;
    }
    n = m;
    int start = 0;
    for (int i = 0; i <= n && ret >= 0; i++) {
        if (i == n || cps[i] == '\n' || cps[i] == 0x2028 || cps[i] == 0x2029) {
            ret = layout_paragraph(x, cps + start, i - start);
            start = i + 1;
        }
    }
    free(cps);
    return ret;
}

int reel_raster_text_ex(struct reel_raster *r, const struct reel_text_style *style,
                        struct reel_image *out, struct reel_text_stats *stats, struct reel_err *err)
{
    struct ctx x = {0};
    struct pass fill = {0}, stroke = {0}, shadow_fill = {0}, shadow_stroke = {0};
    uint8_t *m_fill = NULL, *m_stroke = NULL, *m_shadow = NULL;
    int64_t *line_x = NULL, *line_y = NULL;
    FT_Stroker stroker = NULL;
    int ret;

    memset(out, 0, sizeof(*out));
    if (stats)
        memset(stats, 0, sizeof(*stats));
    double size = style->font_size > 0 ? style->font_size : DEFAULT_SIZE_PX;
    double lh = style->line_height > 0 ? style->line_height : DEFAULT_LINE_HEIGHT;
    if (!isfinite(size) || size > MAX_SIDE || !isfinite(lh) || size * lh > MAX_SIDE)
        return reel_err_set(err, REEL_ELIMIT, NULL,
                            "text: font_size %g x line_height %g is too large", size, lh);
    x.r = r;
    x.size26 = lround(size * 64);
    x.max_w26 =
        style->max_width > 0 && isfinite(style->max_width) ? llround(style->max_width * 64) : 0;
    x.uf = hb_unicode_funcs_get_default();
    if ((ret = font_chain_get(r, style, &x.chain, err)) < 0)
        goto out;
    if (!face_ready(&x, x.chain->primary)) {
        ret = reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "text: font %s cannot be sized",
                           r->faces[x.chain->primary].file);
        goto out;
    }
    x.buf = hb_buffer_create();
    if (!hb_buffer_allocation_successful(x.buf)) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto out;
    }
    if ((ret = layout_text(&x, style->text ? style->text : "")) < 0) {
        ret = reel_err_set(err, -ret, NULL, "text: layout failed");
        goto out;
    }

    /* Vertical metrics come from the requested font so fallback glyphs share its baseline. */
    FT_Face pf = r->faces[x.chain->primary].ft;
    int64_t asc = pf->size->metrics.ascender, desc = pf->size->metrics.descender;
    int64_t adv = llround(size * lh * 64);
    int64_t half_leading = (adv - (asc - desc)) / 2;
    int64_t max_w = 0;
    for (int l = 0; l < x.n_lines; l++)
        if (x.lines[l].width26 > max_w)
            max_w = x.lines[l].width26;
    int64_t bw = (max_w + 63) / 64, bh = ((int64_t)x.n_lines * adv + 63) / 64;
    int64_t pad = style->has_background
                      ? llround(style->background_padding > 0 ? style->background_padding : 0)
                      : 0;
    double sw = style->stroke.enabled && style->stroke.width > 0 ? style->stroke.width : 0;
    /* Refuse early what cannot fit, before any glyph is rendered; the exact check follows. */
    double extra = 2 * (double)pad + 2 * sw + fabs(style->has_shadow ? style->shadow_x : 0) +
                   fabs(style->has_shadow ? style->shadow_y : 0);
    if ((double)bw + extra > MAX_SIDE || (double)bh + extra > MAX_SIDE) {
        ret = reel_err_set(err, REEL_ELIMIT, NULL,
                           "text: the block (%lldx%lld px) exceeds the %d px limit per side",
                           (long long)bw, (long long)bh, MAX_SIDE);
        goto out;
    }

    /* Glyph bitmaps are all kept until the image's bounds are known: bound them before any is
     * rendered. */
    int passes = (1 + (sw > 0)) * (style->has_shadow ? 2 : 1);
    double ink = ink_pixels(&x, sw, passes, TEXT_INK_PX);
    if (ink > TEXT_INK_PX) {
        ret = reel_err_set(err, REEL_ELIMIT, NULL,
                           "text: its %d glyphs at font_size %g would rasterise more than %d "
                           "million pixels (the limit per text layer)",
                           x.n_glyphs, size, (int)(TEXT_INK_PX / 1e6));
        goto out;
    }

    line_x = malloc((size_t)x.n_lines * sizeof(*line_x));
    line_y = malloc((size_t)x.n_lines * sizeof(*line_y));
    if (!line_x || !line_y) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto out;
    }
    for (int l = 0; l < x.n_lines; l++) {
        int64_t slack = max_w - x.lines[l].width26;
        line_x[l] = style->align == REEL_ALIGN_LEFT    ? 0
                    : style->align == REEL_ALIGN_RIGHT ? slack
                                                       : slack / 2;
        line_y[l] = l * adv + half_leading + asc;
    }

    if ((ret = render_pass(&x, line_x, line_y, NULL, 0, 0, &fill)) < 0)
        goto nomem;
    if (sw > 0) {
        if (FT_Stroker_New(r->ft, &stroker)) {
            ret = -REEL_ENOMEM;
            goto nomem;
        }
        FT_Stroker_Set(stroker, (FT_Fixed)lround(sw * 64), FT_STROKER_LINECAP_ROUND,
                       FT_STROKER_LINEJOIN_ROUND, 0);
        if ((ret = render_pass(&x, line_x, line_y, stroker, 0, 0, &stroke)) < 0)
            goto nomem;
    }
    if (style->has_shadow) {
        int64_t dx = llround(style->shadow_x * 64), dy = llround(style->shadow_y * 64);
        if ((ret = render_pass(&x, line_x, line_y, NULL, dx, dy, &shadow_fill)) < 0)
            goto nomem;
        if (stroker && (ret = render_pass(&x, line_x, line_y, stroker, dx, dy, &shadow_stroke)) < 0)
            goto nomem;
    }

    struct box u = {0, 0, bw, bh};
    if (style->has_background)
        box_add(&u, -pad, -pad, bw + pad, bh + pad);
    pass_bounds(&fill, &u);
    pass_bounds(&stroke, &u);
    pass_bounds(&shadow_fill, &u);
    pass_bounds(&shadow_stroke, &u);
    if (u.x1 <= u.x0)
        u.x1 = u.x0 + 1;
    if (u.y1 <= u.y0)
        u.y1 = u.y0 + 1;
    if (u.x1 - u.x0 > MAX_SIDE || u.y1 - u.y0 > MAX_SIDE) {
        ret = reel_err_set(err, REEL_ELIMIT, NULL,
                           "text: the image (%lldx%lld px) exceeds the %d px limit per side",
                           (long long)(u.x1 - u.x0), (long long)(u.y1 - u.y0), MAX_SIDE);
        goto out;
    }
    int w = (int)(u.x1 - u.x0), h = (int)(u.y1 - u.y0);
    int ox = (int)u.x0, oy = (int)u.y0;
    /* The image and its coverage masks, against the job's raster budget, before allocating. */
    int64_t need = (int64_t)w * h * (4 + 1 + (stroker ? 1 : 0) + (style->has_shadow ? 1 : 0));
    int64_t budget = r->budget_bytes > 0 ? r->budget_bytes : REEL_RASTER_LAYER_BYTES;
    if (need > budget) {
        ret = reel_err_set(err, REEL_ELIMIT, NULL,
                           "text: its %dx%d px image needs %lld MiB, over the %lld MiB it may "
                           "take (the raster budget, docs/job-format.md)",
                           w, h, (long long)(need >> 20), (long long)(budget >> 20));
        goto out;
    }
    if ((ret = reel_image_alloc(out, w, h)) < 0)
        goto nomem;
    size_t plane = (size_t)w * h;
    m_fill = calloc(plane, 1);
    if (!m_fill || (stroker && !(m_stroke = calloc(plane, 1))) ||
        (style->has_shadow && !(m_shadow = calloc(plane, 1)))) {
        ret = -REEL_ENOMEM;
        goto nomem;
    }
    pass_blit(&fill, m_fill, w, h, ox, oy);
    if (m_stroke)
        pass_blit(&stroke, m_stroke, w, h, ox, oy);
    if (m_shadow) {
        pass_blit(&shadow_fill, m_shadow, w, h, ox, oy);
        pass_blit(&shadow_stroke, m_shadow, w, h, ox, oy);
    }

    if (style->has_background && style->background_color.a) {
        for (int64_t yy = -pad - oy; yy < bh + pad - oy; yy++) {
            uint8_t *p = out->data + (size_t)yy * out->stride;
            for (int64_t xx = -pad - ox; xx < bw + pad - ox; xx++)
                over(p + 4 * xx, style->background_color, 255);
        }
    }
    paint_mask(out, m_shadow, style->shadow_color);
    paint_mask(out, m_stroke, style->stroke.color);
    paint_mask(out, m_fill, style->color);

    x.st.lines = x.n_lines;
    x.st.block_x = -ox;
    x.st.block_y = -oy;
    x.st.block_width = (int)bw;
    x.st.block_height = (int)bh;
    snprintf(x.st.font_file, sizeof(x.st.font_file), "%s", r->faces[x.chain->primary].file);
    if (stats)
        *stats = x.st;
    if (x.st.missing_glyphs)
        REEL_DEBUG(r->log, "text: %d characters have no glyph in any font", x.st.missing_glyphs);
    ret = 0;
    goto out;

nomem:
    ret = reel_err_set(err, REEL_ENOMEM, NULL, "text: out of memory");
out:
    if (ret < 0)
        reel_image_uninit(out);
    if (stroker)
        FT_Stroker_Done(stroker);
    pass_free(&fill);
    pass_free(&stroke);
    pass_free(&shadow_fill);
    pass_free(&shadow_stroke);
    free(m_fill);
    free(m_stroke);
    free(m_shadow);
    free(line_x);
    free(line_y);
    ctx_free(&x);
    return ret;
}

int reel_raster_text(struct reel_raster *r, const struct reel_text_style *style,
                     struct reel_image *out, struct reel_err *err)
{
    return reel_raster_text_ex(r, style, out, NULL, err);
}
