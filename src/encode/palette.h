/*
 * Colour reduction for GIF output: one 256-colour palette per frame by median cut over a 5-bit
 * per channel histogram, mapped through a lookup table with ordered (Bayer) dithering. Ordered
 * dithering keeps unchanged areas identical from frame to frame, which both avoids shimmer and
 * lets the GIF compress. Cost is linear in the pixel count with fixed-size tables, unlike
 * palettegen/paletteuse, whose per-colour caches grow with every distinct colour in the frame.
 * Alpha is ignored: the frames are composited and opaque.
 */
#ifndef REEL_ENCODE_PALETTE_H
#define REEL_ENCODE_PALETTE_H

#include <libavutil/frame.h>

struct reel_palette;

/* Allocate the tables (about 1.5 MiB). Returns NULL when out of memory. */
struct reel_palette *reel_palette_create(void);
/* Free; accepts NULL and sets *p to NULL. */
void reel_palette_destroy(struct reel_palette **p);

/*
 * Quantise src (AV_PIX_FMT_RGBA) into dst, a PAL8 frame of the same size whose buffers the caller
 * allocated; writes dst's palette (data[1], opaque entries). One thread per context.
 * Returns 0, or -REEL_EINTERNAL when the formats or sizes do not match.
 */
int reel_palette_quantize(struct reel_palette *p, const AVFrame *src, AVFrame *dst);

#endif
