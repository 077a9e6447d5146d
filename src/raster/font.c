#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hb-ft.h>

#include "raster/font.h"

#define DEFAULT_FAMILY "DejaVu Sans"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Register one font folder as bundled: canonicalised, de-duplicated, skipped when missing. */
static void add_font_dir(struct reel_raster *r, const char *dir)
{
    char canon[PATH_MAX];
    struct stat st;
    if (!dir || !*dir)
        return;
    if (!realpath(dir, canon) || stat(canon, &st) < 0 || !S_ISDIR(st.st_mode)) {
        REEL_DEBUG(r->log, "font folder %s not found; skipped", dir);
        return;
    }
    for (int i = 0; i < r->n_bundled; i++)
        if (!strcmp(r->bundled_dirs[i], canon))
            return;
    char **n = realloc(r->bundled_dirs, (size_t)(r->n_bundled + 1) * sizeof(*n));
    if (!n)
        return;
    r->bundled_dirs = n;
    char *copy = dup_str(canon);
    if (!copy)
        return;
    if (!FcConfigAppFontAddDir(r->fc, (const FcChar8 *)copy)) {
        REEL_WARN(r->log, "fontconfig could not add font folder %s", copy);
        free(copy);
        return;
    }
    r->bundled_dirs[r->n_bundled++] = copy;
}

struct reel_raster *reel_raster_create(const char *const *font_dirs, struct reel_log *log,
                                       struct reel_err *err)
{
    struct reel_raster *r = calloc(1, sizeof(*r));
    if (!r) {
        reel_err_set(err, REEL_EINTERNAL, NULL, "raster: out of memory");
        return NULL;
    }
    r->log = log;
    if (FT_Init_FreeType(&r->ft)) {
        r->ft = NULL;
        reel_err_set(err, REEL_EINTERNAL, NULL, "raster: FreeType failed to initialise");
        goto fail;
    }
    /* A private configuration: the system's fonts and rules, plus our folders as application
     * fonts, without touching fontconfig's process-wide current configuration. */
    r->fc = FcInitLoadConfigAndFonts();
    if (!r->fc) {
        REEL_WARN(log, "fontconfig: no system configuration; using bundled fonts only");
        r->fc = FcConfigCreate();
    }
    if (!r->fc) {
        reel_err_set(err, REEL_EINTERNAL, NULL, "raster: fontconfig failed to initialise");
        goto fail;
    }
#ifdef REEL_SOURCE_DIR
    add_font_dir(r, REEL_SOURCE_DIR "/assets/fonts");
#endif
    const char *env = getenv("REEL_FONT_DIR");
    if (env && *env) {
        char *list = dup_str(env);
        if (list) {
            char *save = NULL;
            for (char *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save))
                add_font_dir(r, d);
            free(list);
        }
    }
    for (int i = 0; font_dirs && font_dirs[i]; i++)
        add_font_dir(r, font_dirs[i]);
    return r;

fail:
    reel_raster_destroy(&r);
    return NULL;
}

static void chain_free(struct font_chain *c)
{
    if (!c)
        return;
    free(c->key);
    if (c->sorted)
        FcFontSetDestroy(c->sorted);
    free(c->order);
    free(c->order_face);
    free(c);
}

void reel_raster_set_budget(struct reel_raster *r, int64_t bytes)
{
    if (r)
        r->budget_bytes = bytes > 0 ? bytes : 0;
}

void reel_raster_destroy(struct reel_raster **pr)
{
    struct reel_raster *r = pr ? *pr : NULL;
    if (!r)
        return;
    for (int i = 0; i < FONT_CHAIN_CACHE; i++)
        chain_free(r->chains[i]);
    for (int i = 0; i < r->n_faces; i++) {
        struct font_face *f = &r->faces[i];
        if (f->hb)
            hb_font_destroy(f->hb);
        if (f->ft)
            FT_Done_Face(f->ft);
        free(f->file);
    }
    free(r->faces);
    if (r->ft)
        FT_Done_FreeType(r->ft);
    if (r->fc)
        FcConfigDestroy(r->fc);
    for (int i = 0; i < r->n_bundled; i++)
        free(r->bundled_dirs[i]);
    free(r->bundled_dirs);
    free(r);
    *pr = NULL;
}

void reel_raster_global_uninit(void)
{
    FcFini();
}

/* Open (or find in the cache) a face. Returns its id, or -1 on allocation failure. A file
 * FreeType cannot open is cached as unusable so it is not retried for every character. */
static int face_open(struct reel_raster *r, const char *file, int index)
{
    for (int i = 0; i < r->n_faces; i++)
        if (r->faces[i].index == index && !strcmp(r->faces[i].file, file))
            return i;
    if (r->n_faces == r->cap_faces) {
        int ncap = r->cap_faces ? r->cap_faces * 2 : 8;
        struct font_face *n = realloc(r->faces, (size_t)ncap * sizeof(*n));
        if (!n)
            return -1;
        r->faces = n;
        r->cap_faces = ncap;
    }
    struct font_face *f = &r->faces[r->n_faces];
    memset(f, 0, sizeof(*f));
    f->file = dup_str(file);
    if (!f->file)
        return -1;
    f->index = index;
    if (FT_New_Face(r->ft, file, index, &f->ft)) {
        f->ft = NULL;
        REEL_DEBUG(r->log, "font %s: FreeType cannot open it", file);
    } else if (!FT_IS_SCALABLE(f->ft)) {
        REEL_DEBUG(r->log, "font %s: not scalable; skipped", file);
    } else {
        f->hb = hb_ft_font_create_referenced(f->ft);
        if (f->hb) {
            /* Advances must come from the same glyph loading as the rendered outlines. */
            hb_ft_font_set_load_flags(f->hb, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP);
            f->is_usable = true;
        }
    }
    return r->n_faces++;
}

bool font_face_has(struct reel_raster *r, int face, uint32_t cp)
{
    if (face < 0 || face >= r->n_faces || !r->faces[face].is_usable)
        return false;
    return FT_Get_Char_Index(r->faces[face].ft, cp) != 0;
}

int font_face_set_size(struct reel_raster *r, int face, long size26)
{
    struct font_face *f = &r->faces[face];
    if (!f->is_usable)
        return -REEL_EINTERNAL;
    if (f->size26 == size26)
        return 0;
    if (FT_Set_Char_Size(f->ft, 0, size26, 72, 72)) {
        f->is_usable = false;
        return -REEL_EINTERNAL;
    }
    hb_ft_font_changed(f->hb);
    f->size26 = size26;
    return 0;
}

static bool is_bundled_file(const struct reel_raster *r, const char *file)
{
    for (int i = 0; i < r->n_bundled; i++) {
        size_t n = strlen(r->bundled_dirs[i]);
        if (!strncmp(file, r->bundled_dirs[i], n) && file[n] == '/')
            return true;
    }
    return false;
}

static bool pattern_is_usable(FcPattern *p)
{
    FcBool b;
    FcChar8 *file;
    if (FcPatternGetString(p, FC_FILE, 0, &file) != FcResultMatch)
        return false;
    /* Colour bitmap fonts (emoji) cannot be drawn in the text colour with a stroke; skip them. */
    if (FcPatternGetBool(p, FC_COLOR, 0, &b) == FcResultMatch && b)
        return false;
    if (FcPatternGetBool(p, FC_OUTLINE, 0, &b) == FcResultMatch && !b)
        return false;
    return true;
}

static int pattern_face(struct reel_raster *r, FcPattern *p)
{
    FcChar8 *file;
    int index = 0;
    if (FcPatternGetString(p, FC_FILE, 0, &file) != FcResultMatch)
        return -2;
    FcPatternGetInteger(p, FC_INDEX, 0, &index);
    int id = face_open(r, (const char *)file, index);
    if (id < 0)
        return -1;
    return r->faces[id].is_usable ? id : -2;
}

/* Family names compare as fontconfig does: ignoring case and blanks ("DejaVuSans" == "dejavu
 * sans"). */
static bool same_family(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return false;
        if (!ca)
            return true;
        a++;
        b++;
    }
}

static bool family_in(FcPattern *p, const char *family)
{
    FcChar8 *f;
    for (int k = 0; FcPatternGetString(p, FC_FAMILY, k, &f) == FcResultMatch; k++)
        if (same_family((const char *)f, family))
            return true;
    return false;
}

/* When a bundled font carries the requested family, use the best bundled style for it even if
 * the system has a font of the same name: the same job renders the same everywhere. */
static int bundled_primary(struct reel_raster *r, FcPattern *pat, const char *family)
{
    FcFontSet *app = FcConfigGetFonts(r->fc, FcSetApplication);
    if (!app)
        return -2;
    bool found = false;
    for (int i = 0; i < app->nfont && !found; i++)
        found = family_in(app->fonts[i], family) && pattern_is_usable(app->fonts[i]);
    if (!found)
        return -2;
    FcResult res;
    FcFontSet *sets[1] = {app};
    FcPattern *m = FcFontSetMatch(r->fc, sets, 1, pat, &res);
    if (!m)
        return -2;
    int id = family_in(m, family) ? pattern_face(r, m) : -2;
    FcPatternDestroy(m);
    return id;
}

static bool is_generic_family(const char *f)
{
    static const char *const generic[] = {"sans-serif", "sans",    "serif",     "monospace", "mono",
                                          "cursive",    "fantasy", "system-ui", "emoji"};
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
        if (same_family(f, generic[i]))
            return true;
    return false;
}

static FcPattern *make_pattern(struct reel_raster *r, const char *family, char *req_family,
                               size_t req_cap)
{
    FcPattern *pat = FcNameParse((const FcChar8 *)family);
    if (!pat) {
        pat = FcPatternCreate();
        if (!pat)
            return NULL;
        FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family);
    }
    FcChar8 *f0;
    if (FcPatternGetString(pat, FC_FAMILY, 0, &f0) == FcResultMatch)
        snprintf(req_family, req_cap, "%s", (const char *)f0);
    else
        snprintf(req_family, req_cap, "%s", family);
    /* A fixed language instead of the process locale keeps fallback order host-independent. */
    FcChar8 *lang;
    if (FcPatternGetString(pat, FC_LANG, 0, &lang) != FcResultMatch)
        FcPatternAddString(pat, FC_LANG, (const FcChar8 *)"en");
    FcConfigSubstitute(r->fc, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    return pat;
}

/* Order the sorted fallback fonts: usable ones only, bundled fonts before the system's. */
static int build_order(struct reel_raster *r, struct font_chain *c)
{
    int n = c->sorted ? c->sorted->nfont : 0;
    c->order = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    c->order_face = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (!c->order || !c->order_face)
        return -REEL_ENOMEM;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            FcPattern *p = c->sorted->fonts[i];
            FcChar8 *file;
            if (!pattern_is_usable(p) || FcPatternGetString(p, FC_FILE, 0, &file) != FcResultMatch)
                continue;
            if (is_bundled_file(r, (const char *)file) != (pass == 0))
                continue;
            c->order_face[c->n_order] = -1;
            c->order[c->n_order++] = i;
        }
    }
    return 0;
}

static int chain_build(struct reel_raster *r, const struct reel_text_style *style, const char *key,
                       struct font_chain **out, struct reel_err *err)
{
    struct font_chain *c = calloc(1, sizeof(*c));
    FcPattern *pat = NULL;
    char req_family[256];
    int ret;
    if (!c || !(c->key = dup_str(key))) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto fail;
    }
    c->primary = -2;
    const char *family = style->font && *style->font ? style->font : DEFAULT_FAMILY;
    if (style->font_is_file) {
        c->primary = face_open(r, style->font, 0);
        if (c->primary < 0 || !r->faces[c->primary].is_usable) {
            ret = reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL,
                               "font file %s cannot be used (missing or not a scalable font)",
                               style->font);
            goto fail;
        }
        family = "sans-serif";
    }
    pat = make_pattern(r, family, req_family, sizeof(req_family));
    if (!pat) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto fail;
    }
    if (!style->font_is_file)
        c->primary = bundled_primary(r, pat, req_family);
    FcResult res;
    c->sorted = FcFontSort(r->fc, pat, FcFalse, NULL, &res);
    if ((ret = build_order(r, c)) < 0) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto fail;
    }
    if (c->primary < 0) {
        /* Not bundled: fontconfig's best match, which is the first entry of the sorted list. */
        for (int i = 0; c->sorted && i < c->sorted->nfont && c->primary < 0; i++)
            if (pattern_is_usable(c->sorted->fonts[i]))
                c->primary = pattern_face(r, c->sorted->fonts[i]);
        for (int i = 0; i < c->n_order && c->primary < 0; i++)
            c->primary = pattern_face(r, c->sorted->fonts[c->order[i]]);
    }
    if (c->primary < 0) {
        ret = reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "no usable font found for \"%s\"",
                           family);
        goto fail;
    }
    /* A generic or unknown name resolved to a system font whose family is also bundled: take
     * the bundled copy, as for a direct request. */
    const char *got = r->faces[c->primary].ft->family_name;
    if (!style->font_is_file && got && !is_bundled_file(r, r->faces[c->primary].file)) {
        int b = bundled_primary(r, pat, got);
        if (b >= 0)
            c->primary = b;
    }
    if (!style->font_is_file && !is_generic_family(req_family)) {
        FT_Face ft = r->faces[c->primary].ft;
        if (!ft->family_name || !same_family(ft->family_name, req_family))
            REEL_WARN(r->log, "font \"%s\" not found; using \"%s\" (%s)", req_family,
                      ft->family_name ? ft->family_name : "?", r->faces[c->primary].file);
    }
    REEL_DEBUG(r->log, "font \"%s\": %s, %d fallback fonts", key, r->faces[c->primary].file,
               c->n_order);
    FcPatternDestroy(pat);
    *out = c;
    return 0;

fail:
    if (pat)
        FcPatternDestroy(pat);
    chain_free(c);
    return ret;
}

int font_chain_get(struct reel_raster *r, const struct reel_text_style *style,
                   struct font_chain **out, struct reel_err *err)
{
    const char *name = style->font && *style->font ? style->font : DEFAULT_FAMILY;
    size_t klen = strlen(name) + 8;
    char *key = malloc(klen);
    if (!key)
        return reel_err_set(err, REEL_ENOMEM, NULL, NULL);
    snprintf(key, klen, "%s:%s", style->font_is_file ? "file" : "family", name);
    int ret = 0;
    int hit = -1;
    for (int i = 0; i < FONT_CHAIN_CACHE && hit < 0; i++)
        if (r->chains[i] && !strcmp(r->chains[i]->key, key))
            hit = i;
    struct font_chain *c = NULL;
    if (hit >= 0) {
        c = r->chains[hit];
        memmove(&r->chains[1], &r->chains[0], (size_t)hit * sizeof(r->chains[0]));
    } else {
        if ((ret = chain_build(r, style, key, &c, err)) < 0)
            goto out;
        chain_free(r->chains[FONT_CHAIN_CACHE - 1]);
        memmove(&r->chains[1], &r->chains[0], (FONT_CHAIN_CACHE - 1) * sizeof(r->chains[0]));
    }
    r->chains[0] = c;
    *out = c;
out:
    free(key);
    return ret;
}

int font_chain_lookup(struct reel_raster *r, struct font_chain *c, uint32_t cp)
{
    unsigned slot = (cp * 2654435761u) >> 24;
    if (c->memo_face[slot] != 0 && c->memo_cp[slot] == cp)
        return c->memo_face[slot] > 0 ? c->memo_face[slot] - 1 : -1;
    int found = -1;
    if (font_face_has(r, c->primary, cp))
        found = c->primary;
    for (int i = 0; i < c->n_order && found < 0; i++) {
        if (c->order_face[i] == -2)
            continue;
        FcCharSet *cs;
        if (FcPatternGetCharSet(c->sorted->fonts[c->order[i]], FC_CHARSET, 0, &cs) ==
                FcResultMatch &&
            !FcCharSetHasChar(cs, cp))
            continue;
        if (c->order_face[i] == -1) {
            int id = pattern_face(r, c->sorted->fonts[c->order[i]]);
            c->order_face[i] = id >= 0 ? id : -2;
        }
        if (c->order_face[i] >= 0 && font_face_has(r, c->order_face[i], cp))
            found = c->order_face[i];
    }
    c->memo_cp[slot] = cp;
    c->memo_face[slot] = found >= 0 ? found + 1 : -1;
    return found;
}
