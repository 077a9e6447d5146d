#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "raster/raster.h"

/* Sides above this are refused regardless of the caller's limits: keeps stride * height in an int
 * and matches the largest texture any engine accepts. */
#define MAX_SIDE 16384
#define DEFAULT_MAX_SOURCE_PX 8192

int reel_image_alloc(struct reel_image *img, int width, int height)
{
    memset(img, 0, sizeof(*img));
    if (width <= 0 || height <= 0 || width > MAX_SIDE || height > MAX_SIDE)
        return -REEL_ELIMIT;
    img->data = calloc((size_t)width * 4, (size_t)height);
    if (!img->data)
        return -REEL_ENOMEM;
    img->width = width;
    img->height = height;
    img->stride = width * 4;
    return 0;
}

void reel_image_uninit(struct reel_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof(*img));
}

enum sniffed { SNIFF_NONE = 0, SNIFF_PNG, SNIFF_JPEG, SNIFF_WEBP };

static enum sniffed sniff(const uint8_t *b, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && !memcmp(b, png_sig, 8))
        return SNIFF_PNG;
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return SNIFF_JPEG;
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        return SNIFF_WEBP;
    return SNIFF_NONE;
}

/* Identify the file by its leading bytes rather than letting libavformat probe every demuxer it
 * knows: only the three still formats are ever handed to FFmpeg. */
static int open_and_sniff(const char *path, enum sniffed *kind, struct reel_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "image %s: %s", path,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "image %s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "image %s: %s", path,
                            strerror(errno));
    uint8_t head[16];
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    *kind = sniff(head, n);
    if (*kind == SNIFF_NONE)
        return reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                            "image %s: not a PNG, JPEG or WebP file", path);
    return 0;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[1] << 8 | p[0];
}

static unsigned le24(const uint8_t *p)
{
    return (unsigned)p[2] << 16 | (unsigned)p[1] << 8 | p[0];
}

/* Walk JPEG marker segments up to the first start-of-frame. */
static int jpeg_size(FILE *f, int *w, int *h)
{
    uint8_t b[8];
    if (fseek(f, 2, SEEK_SET) != 0)
        return -1;
    for (int guard = 0; guard < 4096; guard++) {
        int c = fgetc(f);
        if (c != 0xff)
            return -1;
        while ((c = fgetc(f)) == 0xff)
            ;
        if (c == EOF || c == 0xd9 || c == 0xda)
            return -1;
        if (c == 0x01 || (c >= 0xd0 && c <= 0xd8))
            continue;
        if (fread(b, 1, 2, f) != 2)
            return -1;
        unsigned len = be16(b);
        if (len < 2)
            return -1;
        bool is_sof = c >= 0xc0 && c <= 0xcf && c != 0xc4 && c != 0xc8 && c != 0xcc;
        if (is_sof) {
            if (fread(b, 1, 5, f) != 5)
                return -1;
            *h = (int)be16(b + 1);
            *w = (int)be16(b + 3);
            return 0;
        }
        if (fseek(f, (long)len - 2, SEEK_CUR) != 0)
            return -1;
    }
    return -1;
}

/* Read the picture size from the file header so an oversized image is refused before any pixel
 * is decoded. Returns -1 when the header is not understood (the decoder then decides). */
static int peek_size(const char *path, enum sniffed kind, int *w, int *h)
{
    uint8_t b[32];
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int ret = -1;
    size_t n = fread(b, 1, sizeof(b), f);
    if (kind == SNIFF_PNG && n >= 24 && !memcmp(b + 12, "IHDR", 4)) {
        unsigned long pw = (unsigned long)b[16] << 24 | (unsigned long)b[17] << 16 |
                           (unsigned long)b[18] << 8 | b[19];
        unsigned long ph = (unsigned long)b[20] << 24 | (unsigned long)b[21] << 16 |
                           (unsigned long)b[22] << 8 | b[23];
        *w = pw > INT32_MAX ? INT32_MAX : (int)pw;
        *h = ph > INT32_MAX ? INT32_MAX : (int)ph;
        ret = 0;
    } else if (kind == SNIFF_WEBP && n >= 30) {
        if (!memcmp(b + 12, "VP8 ", 4) && b[23] == 0x9d && b[24] == 0x01 && b[25] == 0x2a) {
            *w = (int)(le16(b + 26) & 0x3fff);
            *h = (int)(le16(b + 28) & 0x3fff);
            ret = 0;
        } else if (!memcmp(b + 12, "VP8L", 4) && b[20] == 0x2f) {
            uint32_t bits = (uint32_t)b[21] | (uint32_t)b[22] << 8 | (uint32_t)b[23] << 16 |
                            (uint32_t)b[24] << 24;
            *w = (int)(bits & 0x3fff) + 1;
            *h = (int)((bits >> 14) & 0x3fff) + 1;
            ret = 0;
        } else if (!memcmp(b + 12, "VP8X", 4)) {
            *w = (int)le24(b + 24) + 1;
            *h = (int)le24(b + 27) + 1;
            ret = 0;
        }
    } else if (kind == SNIFF_JPEG) {
        ret = jpeg_size(f, w, h);
    }
    fclose(f);
    return ret;
}

/* Largest eXIf chunk read, and how many PNG chunks are walked looking for it. */
#define MAX_EXIF_BYTES 65536
#define MAX_PNG_CHUNKS 1024

static unsigned be32(const uint8_t *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/*
 * The Orientation tag (0x0112, 1 to 8) of a TIFF-structured EXIF block of n bytes, from its first
 * image directory; 0 when absent or malformed. Every offset is checked against n.
 */
static int tiff_orientation(const uint8_t *b, size_t n)
{
    if (n < 8)
        return 0;
    bool le = !memcmp(b, "II*\0", 4);
    if (!le && memcmp(b, "MM\0*", 4))
        return 0;
    size_t ifd = le ? (size_t)le16(b + 4) | (size_t)le16(b + 6) << 16 : be32(b + 4);
    if (ifd > n - 2)
        return 0;
    unsigned count = le ? le16(b + ifd) : be16(b + ifd);
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + (size_t)i * 12;
        if (e + 12 > n)
            return 0;
        unsigned tag = le ? le16(b + e) : be16(b + e);
        unsigned type = le ? le16(b + e + 2) : be16(b + e + 2);
        if (tag != 0x0112)
            continue;
        unsigned v = le ? le16(b + e + 8) : be16(b + e + 8);
        return type == 3 && v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}

/* The EXIF orientation of a PNG (its eXIf chunk, which must come before the image data); 0 when
 * it has none. FFmpeg's PNG decoder does not read the chunk. */
static int png_orientation(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int o = 0;
    uint8_t h[8];
    if (fseek(f, 8, SEEK_SET) != 0)
        goto out;
    for (int i = 0; i < MAX_PNG_CHUNKS && fread(h, 1, 8, f) == 8; i++) {
        unsigned len = be32(h);
        if (!memcmp(h + 4, "IDAT", 4) || !memcmp(h + 4, "IEND", 4) || len > 0x7fffffffu)
            break;
        if (!memcmp(h + 4, "eXIf", 4)) {
            uint8_t *b = len <= MAX_EXIF_BYTES ? malloc(len ? len : 1) : NULL;
            if (b && fread(b, 1, len, f) == len)
                o = tiff_orientation(b, len);
            free(b);
            break;
        }
        if (fseek(f, (long)len + 4, SEEK_CUR) != 0)
            break;
    }
out:
    fclose(f);
    return o;
}

/* The picture's EXIF orientation, 1 to 8 (1 = as stored; 0 = none given): what FFmpeg's JPEG and
 * WebP decoders export as frame metadata, else a PNG's eXIf chunk. */
static int exif_orientation(const AVFrame *fr, enum sniffed kind, const char *path)
{
    const AVDictionaryEntry *e = av_dict_get(fr->metadata, "Orientation", NULL, 0);
    if (e) {
        char *end = NULL;
        long v = strtol(e->value, &end, 10);
        return end != e->value && v >= 1 && v <= 8 ? (int)v : 0;
    }
    return kind == SNIFF_PNG ? png_orientation(path) : 0;
}

/*
 * Show img as EXIF orientation o asks (2 mirror, 3 half turn, 4 flip, 5 transpose, 6 quarter turn
 * clockwise, 7 transverse, 8 quarter turn counter-clockwise): the picture is replaced by the
 * upright one, so everything after (fit, effects, both engines) sees only that.
 */
static int apply_orientation(struct reel_image *img, int o)
{
    if (o <= 1 || o > 8)
        return 0;
    int w = img->width, h = img->height;
    bool swap = o >= 5;
    struct reel_image up;
    int ret = reel_image_alloc(&up, swap ? h : w, swap ? w : h);
    if (ret < 0)
        return ret;
    for (int y = 0; y < up.height; y++) {
        uint8_t *d = up.data + (size_t)y * up.stride;
        for (int x = 0; x < up.width; x++, d += 4) {
            int sx, sy; /* the stored pixel shown at (x, y) */
            switch (o) {
            case 2:
                sx = w - 1 - x;
                sy = y;
                break;
            case 3:
                sx = w - 1 - x;
                sy = h - 1 - y;
                break;
            case 4:
                sx = x;
                sy = h - 1 - y;
                break;
            case 5:
                sx = y;
                sy = x;
                break;
            case 6:
                sx = y;
                sy = h - 1 - x;
                break;
            case 7:
                sx = w - 1 - y;
                sy = h - 1 - x;
                break;
            default:
                sx = w - 1 - y;
                sy = x;
                break;
            }
            memcpy(d, img->data + (size_t)sy * img->stride + (size_t)sx * 4, 4);
        }
    }
    reel_image_uninit(img);
    *img = up;
    return 0;
}

static void premultiply_row(uint8_t *p, int width)
{
    for (int x = 0; x < width; x++, p += 4) {
        unsigned a = p[3];
        if (a == 255)
            continue;
        /* c*a/255 is never exactly k + 0.5 (255 is odd), so +127 rounds to nearest exactly. */
        p[0] = (uint8_t)((p[0] * a + 127) / 255);
        p[1] = (uint8_t)((p[1] * a + 127) / 255);
        p[2] = (uint8_t)((p[2] * a + 127) / 255);
    }
}

/* The JPEG decoder's full-range "yuvj" formats, mapped to the plain layout they share; the range
 * is then given to swscale explicitly (it warns about the deprecated formats otherwise). */
static enum AVPixelFormat unj(enum AVPixelFormat f, bool *is_full)
{
    static const enum AVPixelFormat map[][2] = {
        {AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P}, {AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV422P},
        {AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P}, {AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV440P},
        {AV_PIX_FMT_YUVJ411P, AV_PIX_FMT_YUV411P},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i][0] == f) {
            *is_full = true;
            return map[i][1];
        }
    return f;
}

/* Convert a decoded frame to straight RGBA in img (already allocated to the frame's size). */
static int frame_to_rgba(const AVFrame *fr, struct reel_image *img, const char *path,
                         struct reel_err *err)
{
    bool is_full = fr->color_range == AVCOL_RANGE_JPEG;
    enum AVPixelFormat fmt = unj((enum AVPixelFormat)fr->format, &is_full);
    if (fmt == AV_PIX_FMT_RGBA) {
        for (int y = 0; y < fr->height; y++)
            memcpy(img->data + (size_t)y * img->stride, fr->data[0] + (size_t)y * fr->linesize[0],
                   (size_t)fr->width * 4);
        return 0;
    }
    /* BITEXACT keeps the conversion independent of the host's SIMD paths. */
    int flags =
        SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    struct SwsContext *sws = sws_getContext(fr->width, fr->height, fmt, fr->width, fr->height,
                                            AV_PIX_FMT_RGBA, flags, NULL, NULL, NULL);
    if (!sws)
        return reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                            "image %s: cannot convert pixel format %s", path,
                            av_get_pix_fmt_name(fmt) ? av_get_pix_fmt_name(fmt) : "?");
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        int *inv, *tab, src_range, dst_range, bri, con, sat;
        if (sws_getColorspaceDetails(sws, &inv, &src_range, &tab, &dst_range, &bri, &con, &sat) >=
            0) {
            int cs = SWS_CS_DEFAULT;
            if (fr->colorspace == AVCOL_SPC_BT709)
                cs = SWS_CS_ITU709;
            else if (fr->colorspace == AVCOL_SPC_BT2020_NCL ||
                     fr->colorspace == AVCOL_SPC_BT2020_CL)
                cs = SWS_CS_BT2020;
            src_range = is_full;
            sws_setColorspaceDetails(sws, sws_getCoefficients(cs), src_range, tab, 1, bri, con,
                                     sat);
        }
    }
    uint8_t *dst[4] = {img->data, NULL, NULL, NULL};
    int dst_stride[4] = {img->stride, 0, 0, 0};
    int h = sws_scale(sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst,
                      dst_stride);
    sws_freeContext(sws);
    if (h != fr->height)
        return reel_err_set(err, REEL_EDECODE, NULL, "image %s: pixel conversion failed", path);
    /* Formats without alpha come out with alpha 255 from swscale; nothing more to do. */
    return 0;
}

static int check_size(int w, int h, int max_px, const char *path, struct reel_err *err)
{
    if (w <= 0 || h <= 0)
        return reel_err_set(err, REEL_EDECODE, NULL, "image %s: invalid size %dx%d", path, w, h);
    if (w > max_px || h > max_px)
        return reel_err_set(err, REEL_ELIMIT, NULL,
                            "image %s: %dx%d exceeds the source limit of %d px per side", path, w,
                            h, max_px);
    return 0;
}

/* Record an FFmpeg failure with the file name and the original AVERROR value. */
static int av_fail(struct reel_err *err, int code, int averr, const char *path, const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(averr, buf, sizeof(buf));
    return reel_err_set(err, code, NULL, "image %s: %s: %s (AVERROR %d)", path, what, buf, averr);
}

int reel_raster_image_load(const char *path, int max_px, struct reel_image *out,
                           struct reel_err *err)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = NULL;
    AVFrame *fr = NULL;
    char *url = NULL;
    enum sniffed kind = SNIFF_NONE;
    int ret;

    memset(out, 0, sizeof(*out));
    if (max_px <= 0)
        max_px = DEFAULT_MAX_SOURCE_PX;
    if (max_px > MAX_SIDE)
        max_px = MAX_SIDE;
    if (!path || !*path)
        return reel_err_set(err, REEL_EASSET_NOT_FOUND, NULL, "image: no file given");
    if ((ret = open_and_sniff(path, &kind, err)) < 0)
        return ret;

    const char *demuxer = kind == SNIFF_PNG    ? "png_pipe"
                          : kind == SNIFF_JPEG ? "jpeg_pipe"
                                               : "webp_pipe";
    const AVInputFormat *ifmt = av_find_input_format(demuxer);
    if (!ifmt) {
        ret = reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL,
                           "image %s: this FFmpeg build lacks the %s demuxer", path, demuxer);
        goto out;
    }
    /* The "file:" prefix keeps a ':' in the name from being read as a protocol. */
    size_t ulen = strlen(path) + 6;
    url = malloc(ulen);
    if (!url) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto out;
    }
    snprintf(url, ulen, "file:%s", path);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    ret = avformat_open_input(&fmt, url, ifmt, &opts);
    if (ret < 0) {
        ret = av_fail(err, REEL_EDECODE, ret, path, "cannot open");
        goto out;
    }
    if (fmt->nb_streams < 1 || fmt->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) {
        ret = reel_err_set(err, REEL_EDECODE, NULL, "image %s: no picture found", path);
        goto out;
    }
    AVStream *st = fmt->streams[0];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        ret = reel_err_set(err, REEL_EASSET_UNSUPPORTED, NULL, "image %s: no decoder for %s", path,
                           avcodec_get_name(st->codecpar->codec_id));
        goto out;
    }
    int pw = 0, ph = 0;
    if (peek_size(path, kind, &pw, &ph) == 0 && (ret = check_size(pw, ph, max_px, path, err)) < 0)
        goto out;
    dec = avcodec_alloc_context3(codec);
    pkt = av_packet_alloc();
    fr = av_frame_alloc();
    if (!dec || !pkt || !fr) {
        ret = reel_err_set(err, REEL_ENOMEM, NULL, NULL);
        goto out;
    }
    if ((ret = avcodec_parameters_to_context(dec, st->codecpar)) < 0) {
        ret = reel_err_set(err, REEL_EDECODE, NULL, "image %s: bad stream parameters", path);
        goto out;
    }
    dec->thread_count = 1;
    /* A second guard for headers peek_size does not understand. */
    dec->max_pixels = (int64_t)max_px * max_px;
    dec->err_recognition |= AV_EF_EXPLODE;
    if ((ret = avcodec_open2(dec, codec, NULL)) < 0) {
        ret = av_fail(err, REEL_EDECODE, ret, path, "cannot open the decoder");
        goto out;
    }

    bool flushed = false;
    for (;;) {
        ret = avcodec_receive_frame(dec, fr);
        if (ret >= 0)
            break;
        if (ret != AVERROR(EAGAIN) || flushed) {
            ret = av_fail(err, REEL_EDECODE, ret == AVERROR_EOF ? AVERROR_INVALIDDATA : ret, path,
                          "corrupt or truncated");
            goto out;
        }
        ret = av_read_frame(fmt, pkt);
        if (ret == AVERROR_EOF) {
            avcodec_send_packet(dec, NULL);
            flushed = true;
            continue;
        }
        if (ret < 0) {
            ret = av_fail(err, REEL_EDECODE, ret, path, "read failed");
            goto out;
        }
        if (pkt->stream_index == 0) {
            ret = avcodec_send_packet(dec, pkt);
            if (ret < 0 && ret != AVERROR(EAGAIN)) {
                av_packet_unref(pkt);
                ret = av_fail(err, REEL_EDECODE, ret, path, "corrupt");
                goto out;
            }
        }
        av_packet_unref(pkt);
    }
    if (fr->decode_error_flags || (fr->flags & AV_FRAME_FLAG_CORRUPT)) {
        ret = reel_err_set(err, REEL_EDECODE, NULL, "image %s: corrupt picture data", path);
        goto out;
    }
    if ((ret = check_size(fr->width, fr->height, max_px, path, err)) < 0)
        goto out;
    if ((ret = reel_image_alloc(out, fr->width, fr->height)) < 0) {
        ret = reel_err_set(err, -ret, NULL, "image %s: cannot allocate %dx%d", path, fr->width,
                           fr->height);
        goto out;
    }
    if ((ret = frame_to_rgba(fr, out, path, err)) < 0)
        goto out;
    for (int y = 0; y < out->height; y++)
        premultiply_row(out->data + (size_t)y * out->stride, out->width);
    if ((ret = apply_orientation(out, exif_orientation(fr, kind, path))) < 0) {
        ret = reel_err_set(err, -ret, NULL, "image %s: cannot allocate the upright %dx%d picture",
                           path, out->height, out->width);
        goto out;
    }
    ret = 0;

out:
    if (ret < 0)
        reel_image_uninit(out);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_dict_free(&opts);
    free(url);
    return ret;
}
