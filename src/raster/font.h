/*
 * Internal to src/raster: the font side of a struct reel_raster (fontconfig configuration, the face
 * cache and per-style font chains) shared by font.c and text.c.
 */
#ifndef REEL_RASTER_FONT_H
#define REEL_RASTER_FONT_H

#include <stdbool.h>
#include <stdint.h>

#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb.h>

#include "raster/raster.h"

/* One opened font file (file + face index), shared by every chain that uses it. */
struct font_face {
    char *file;
    int index;
    FT_Face ft;
    hb_font_t *hb;
    long size26;    /* char size currently set, 26.6 px; 0 = none */
    bool is_usable; /* scalable outlines that FreeType sized without error */
};

/* Size of the per-chain code point -> face memo. */
#define FONT_MEMO_SIZE 256

/*
 * The fonts for one requested family (or font file): the primary face and fontconfig's sorted
 * fallback list, bundled fonts first. Fallback faces are opened on first use.
 */
struct font_chain {
    char *key;
    int primary;       /* face id */
    FcFontSet *sorted; /* owned; NULL when there is no fallback list */
    int *order;        /* indices into sorted->fonts: usable fonts, bundled first */
    int *order_face;   /* face id per order entry: -1 not opened yet, -2 unusable */
    int n_order;
    uint32_t memo_cp[FONT_MEMO_SIZE];
    int memo_face[FONT_MEMO_SIZE]; /* 0 = empty slot, else face id + 1; -1 = no font has it */
};

#define FONT_CHAIN_CACHE 4

struct reel_raster {
    FT_Library ft;
    FcConfig *fc;
    struct reel_log *log;
    char **bundled_dirs; /* canonical paths of the project's and the caller's font folders */
    int n_bundled;
    struct font_face *faces;
    int n_faces, cap_faces;
    struct font_chain *chains[FONT_CHAIN_CACHE]; /* most recently used first */
    int64_t budget_bytes; /* what the next raster may allocate; 0 = REEL_RASTER_LAYER_BYTES */
};

/* Resolve the style's font into a chain (cached). Returns 0 or -REEL_EASSET_NOT_FOUND/-REEL_ENOMEM.
 */
int font_chain_get(struct reel_raster *r, const struct reel_text_style *style,
                   struct font_chain **out, struct reel_err *err);

/* Face for code point cp: the primary when it has the glyph, else the first fallback that does.
 * Returns a face id, or -1 when no font has it. */
int font_chain_lookup(struct reel_raster *r, struct font_chain *c, uint32_t cp);

/* True when face id has a glyph for cp. */
bool font_face_has(struct reel_raster *r, int face, uint32_t cp);

/* Set face id to size26 (26.6 px) for shaping and rendering. Returns 0 or -REEL_EINTERNAL. */
int font_face_set_size(struct reel_raster *r, int face, long size26);

#endif
