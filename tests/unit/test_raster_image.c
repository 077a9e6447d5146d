/* Still image loading (PNG through libavcodec, premultiplication, EXIF orientation, errors) and
 * PNG writing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/crc.h>

#include "check.h"
#include "raster/raster.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
    return buf[k];
}

/* Encode straight RGBA (or RGB when has_alpha is false) pixels as a PNG file with libavcodec. */
static int write_test_png(const char *path, const uint8_t *rgba, int w, int h, bool has_alpha)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = -1;
    FILE *f = NULL;
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = has_alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, 1};
    if (avcodec_open2(enc, codec, NULL) < 0)
        goto out;
    fr->format = enc->pix_fmt;
    fr->width = w;
    fr->height = h;
    if (av_frame_get_buffer(fr, 0) < 0)
        goto out;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *s = rgba + 4 * (y * w + x);
            uint8_t *d = fr->data[0] + y * fr->linesize[0] + x * (has_alpha ? 4 : 3);
            memcpy(d, s, has_alpha ? 4 : 3);
        }
    if (avcodec_send_frame(enc, fr) < 0 || avcodec_send_frame(enc, NULL) < 0)
        goto out;
    f = fopen(path, "wb");
    while (f && avcodec_receive_packet(enc, pkt) == 0) {
        fwrite(pkt->data, 1, pkt->size, f);
        av_packet_unref(pkt);
    }
    ret = f ? 0 : -1;
out:
    if (f)
        fclose(f);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&enc);
    return ret;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static uint8_t pm(int c, int a)
{
    return (uint8_t)floor(c * a / 255.0 + 0.5);
}

static void test_png_alpha(void)
{
    /* 4x2 straight RGBA: assorted alphas. */
    const uint8_t px[8][4] = {
        {200, 100, 50, 128}, {255, 255, 255, 255}, {10, 20, 30, 0},  {255, 0, 128, 1},
        {1, 2, 3, 254},      {90, 180, 45, 77},    {255, 255, 0, 3}, {0, 0, 0, 200},
    };
    const char *path = tmp_path("alpha.png");
    CHECK(write_test_png(path, &px[0][0], 4, 2, true) == 0);
    struct reel_image img;
    struct reel_err err = {0};
    int ret = reel_raster_image_load(path, 0, &img, &err);
    CHECK_MSG(ret == 0, "load: %s", err.msg);
    if (ret < 0)
        return;
    CHECK_INT_EQ(img.width, 4);
    CHECK_INT_EQ(img.height, 2);
    CHECK(img.stride >= 16);
    int exact = 0;
    for (int i = 0; i < 8; i++) {
        const uint8_t *p = img.data + (i / 4) * img.stride + (i % 4) * 4;
        int a = px[i][3];
        bool ok = p[0] == pm(px[i][0], a) && p[1] == pm(px[i][1], a) && p[2] == pm(px[i][2], a) &&
                  p[3] == a;
        CHECK_MSG(ok, "pixel %d = %d,%d,%d,%d expected %d,%d,%d,%d", i, p[0], p[1], p[2], p[3],
                  pm(px[i][0], a), pm(px[i][1], a), pm(px[i][2], a), a);
        exact += ok;
    }
    CHECK_INT_EQ(exact, 8);
    /* The worked example: round(200*128/255) = 100, round(100*128/255) = 50, round(50*128/255) = 25
     */
    CHECK_INT_EQ(img.data[0], 100);
    CHECK_INT_EQ(img.data[1], 50);
    CHECK_INT_EQ(img.data[2], 25);
    reel_image_uninit(&img);
    CHECK(img.data == NULL);
}

static void test_png_rgb(void)
{
    uint8_t px[3 * 3 * 4];
    for (int i = 0; i < 9; i++) {
        px[4 * i] = (uint8_t)(i * 20);
        px[4 * i + 1] = (uint8_t)(255 - i * 20);
        px[4 * i + 2] = 7;
        px[4 * i + 3] = 255;
    }
    const char *path = tmp_path("rgb.png");
    CHECK(write_test_png(path, px, 3, 3, false) == 0);
    struct reel_image img;
    struct reel_err err = {0};
    CHECK_MSG(reel_raster_image_load(path, 0, &img, &err) == 0, "%s", err.msg);
    if (!img.data)
        return;
    for (int i = 0; i < 9; i++) {
        const uint8_t *p = img.data + (i / 3) * img.stride + (i % 3) * 4;
        CHECK_MSG(!memcmp(p, px + 4 * i, 4), "rgb pixel %d", i);
    }
    reel_image_uninit(&img);
}

static void test_write_png_roundtrip(void)
{
    struct reel_image img;
    CHECK(reel_image_alloc(&img, 17, 5) == 0);
    /* Premultiplied values (c <= a) of every kind, including full and zero alpha. */
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 17; x++) {
            uint8_t *p = img.data + y * img.stride + 4 * x;
            int a = (x * 16 + y * 3) % 256;
            p[3] = (uint8_t)a;
            p[0] = (uint8_t)(a * x / 16);
            p[1] = (uint8_t)(a * y / 4);
            p[2] = (uint8_t)(a / 2);
        }
    const char *path = tmp_path("out.png");
    struct reel_err err = {0};
    CHECK_MSG(reel_image_write_png(&img, path, &err) == 0, "%s", err.msg);
    struct reel_image back;
    CHECK_MSG(reel_raster_image_load(path, 0, &back, &err) == 0, "%s", err.msg);
    if (back.data) {
        CHECK_INT_EQ(back.width, 17);
        CHECK_INT_EQ(back.height, 5);
        int diff = 0;
        for (int y = 0; y < 5; y++)
            diff += memcmp(img.data + y * img.stride, back.data + y * back.stride, 17 * 4) != 0;
        /* un-premultiply then premultiply is the identity on 8-bit premultiplied values */
        CHECK_INT_EQ(diff, 0);
    }
    reel_image_uninit(&back);
    CHECK(reel_image_write_png(&img, "/nonexistent-dir/x.png", &err) == -REEL_EOUTPUT);
    reel_image_uninit(&img);
}

static void test_errors(void)
{
    struct reel_image img;
    struct reel_err err = {0};
    const char *missing = tmp_path("missing.png");
    CHECK_INT_EQ(reel_raster_image_load(missing, 0, &img, &err), -REEL_EASSET_NOT_FOUND);
    CHECK_INT_EQ(err.code, REEL_EASSET_NOT_FOUND);
    CHECK(strstr(err.msg, "missing.png") != NULL);
    CHECK(img.data == NULL);

    CHECK_INT_EQ(reel_raster_image_load(tmpdir, 0, &img, &err), -REEL_EASSET_NOT_FOUND);

    const char *txt = tmp_path("notes.png");
    write_bytes(txt, "hello, this is text\n", 20);
    CHECK_INT_EQ(reel_raster_image_load(txt, 0, &img, &err), -REEL_EASSET_UNSUPPORTED);
    CHECK(strstr(err.msg, "notes.png") != NULL);

    const char *empty = tmp_path("empty.jpg");
    write_bytes(empty, "", 0);
    CHECK_INT_EQ(reel_raster_image_load(empty, 0, &img, &err), -REEL_EASSET_UNSUPPORTED);

    /* A PNG signature followed by garbage. */
    uint8_t junk[300];
    const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(junk, sig, 8);
    for (int i = 8; i < 300; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    const char *bad = tmp_path("bad.png");
    write_bytes(bad, junk, sizeof(junk));
    CHECK_INT_EQ(reel_raster_image_load(bad, 0, &img, &err), -REEL_EDECODE);
    CHECK(strstr(err.msg, "bad.png") != NULL);

    /* A real PNG cut in half. */
    uint8_t px[64 * 64 * 4];
    for (size_t i = 0; i < sizeof(px); i++)
        px[i] = (uint8_t)((i * 7919) >> 3);
    const char *full = tmp_path("full.png");
    CHECK(write_test_png(full, px, 64, 64, true) == 0);
    FILE *f = fopen(full, "rb");
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    const char *cut = tmp_path("cut.png");
    write_bytes(cut, buf, n / 2);
    CHECK_INT_EQ(reel_raster_image_load(cut, 0, &img, &err), -REEL_EDECODE);

    /* Size limit per side. */
    CHECK_INT_EQ(reel_raster_image_load(full, 50, &img, &err), -REEL_ELIMIT);
    CHECK(strstr(err.msg, "full.png") != NULL);
    CHECK_INT_EQ(reel_raster_image_load(full, 64, &img, &err), 0);
    reel_image_uninit(&img);
}

/* A copy of the PNG at src with an eXIf chunk holding tiff (n bytes) after IHDR, at dst. */
static void png_with_exif(const char *src, const char *dst, const uint8_t *tiff, uint32_t n)
{
    static uint8_t in[4096], out[8192];
    FILE *f = fopen(src, "rb");
    size_t len = fread(in, 1, sizeof(in), f);
    fclose(f);
    size_t o = 33; /* signature and IHDR */
    memcpy(out, in, o);
    uint8_t *c = out + o;
    c[0] = (uint8_t)(n >> 24), c[1] = (uint8_t)(n >> 16), c[2] = (uint8_t)(n >> 8),
    c[3] = (uint8_t)n;
    memcpy(c + 4, "eXIf", 4);
    memcpy(c + 8, tiff, n);
    uint32_t crc =
        av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, c + 4, n + 4) ^ UINT32_MAX;
    c[8 + n] = (uint8_t)(crc >> 24), c[9 + n] = (uint8_t)(crc >> 16);
    c[10 + n] = (uint8_t)(crc >> 8), c[11 + n] = (uint8_t)crc;
    memcpy(c + 12 + n, in + o, len - o);
    write_bytes(dst, out, o + 12 + n + len - o);
}

/* EXIF orientation in a PNG's eXIf chunk (either byte order) turns and mirrors the picture;
 * malformed blocks are ignored, never read past. */
static void test_png_exif(void)
{
    uint8_t px[2][3][4];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            px[y][x][0] = (uint8_t)(40 * x + 10);
            px[y][x][1] = (uint8_t)(100 * y + 20);
            px[y][x][2] = 7;
            px[y][x][3] = 255;
        }
    const char *plain = tmp_path("plain.png"), *turned = tmp_path("exif.png");
    CHECK(write_test_png(plain, &px[0][0][0], 3, 2, false) == 0);
    /* Big-endian TIFF, one entry: Orientation (0x112), SHORT, 1, value. */
    uint8_t mm[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0,
                    3,   0,   0, 0,  1, 0, 6, 0, 0, 0, 0, 0,    0};
    uint8_t ii[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 1, 3,
                    0,   1,   0,  0, 0, 2, 0, 0, 0, 0, 0,    0, 0};
    struct reel_image img;
    struct reel_err err = {0};

    png_with_exif(plain, turned, mm, sizeof(mm));
    CHECK(reel_raster_image_load(turned, 0, &img, &err) == 0);
    CHECK_INT_EQ(img.width, 2);
    CHECK_INT_EQ(img.height, 3);
    /* A quarter turn clockwise: shown (x, y) is stored (y, 1 - x). */
    for (int y = 0; y < 3 && img.data; y++)
        for (int x = 0; x < 2; x++) {
            const uint8_t *d = img.data + y * img.stride + 4 * x;
            CHECK_INT_EQ(d[0], px[1 - x][y][0]);
            CHECK_INT_EQ(d[1], px[1 - x][y][1]);
        }
    reel_image_uninit(&img);

    png_with_exif(plain, turned, ii, sizeof(ii)); /* little-endian, 2: mirrored */
    CHECK(reel_raster_image_load(turned, 0, &img, &err) == 0);
    CHECK_INT_EQ(img.width, 3);
    CHECK_INT_EQ(img.height, 2);
    for (int y = 0; y < 2 && img.data; y++)
        for (int x = 0; x < 3; x++)
            CHECK_INT_EQ(img.data[y * img.stride + 4 * x], px[y][2 - x][0]);
    reel_image_uninit(&img);

    /* Damaged blocks: 65535 entries in 26 bytes, a directory past the end, a value out of range,
     * a block shorter than a header. Each loads as stored. */
    uint8_t many[sizeof(mm)], far[sizeof(mm)], big[sizeof(mm)];
    memcpy(many, mm, sizeof(mm));
    many[8] = many[9] = 0xff;
    many[10] = 1, many[11] = 0; /* the first entry is another tag: the count runs off the end */
    memcpy(far, mm, sizeof(mm));
    far[4] = far[5] = far[6] = far[7] = 0xff;
    memcpy(big, mm, sizeof(mm));
    big[19] = 9;
    const uint8_t *bad[] = {many, far, big, mm};
    const uint32_t bad_len[] = {sizeof(many), sizeof(far), sizeof(big), 6};
    for (int i = 0; i < 4; i++) {
        png_with_exif(plain, turned, bad[i], bad_len[i]);
        CHECK(reel_raster_image_load(turned, 0, &img, &err) == 0);
        CHECK_INT_EQ(img.width, 3);
        CHECK_INT_EQ(img.height, 2);
        if (img.data)
            CHECK_INT_EQ(img.data[4], px[0][1][0]);
        reel_image_uninit(&img);
    }
}

static void test_alloc(void)
{
    struct reel_image img;
    CHECK_INT_EQ(reel_image_alloc(&img, 0, 10), -REEL_ELIMIT);
    CHECK_INT_EQ(reel_image_alloc(&img, 20000, 10), -REEL_ELIMIT);
    CHECK_INT_EQ(reel_image_alloc(&img, 3, 2), 0);
    CHECK_INT_EQ(img.stride, 12);
    int nonzero = 0;
    for (int i = 0; i < 24; i++)
        nonzero += img.data[i] != 0;
    CHECK_INT_EQ(nonzero, 0);
    reel_image_uninit(&img);
    reel_image_uninit(&img);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/reel-raster-image-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_alloc();
    test_png_alpha();
    test_png_rgb();
    test_write_png_roundtrip();
    test_errors();
    test_png_exif();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    CHECK_DONE();
}
