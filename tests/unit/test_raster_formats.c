/* JPEG and WebP still images through reel_raster_image_load. Test files are encoded in-process
 * (mjpeg, libwebp); when this FFmpeg lacks the WebP encoder the ffmpeg CLI is tried, and the
 * test fails when neither can produce one (scripts/install-deps.sh installs both). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>

#include "check.h"
#include "raster/raster.h"

static char tmpdir[256];

/* Encode one frame of fmt filled by fill() with the named encoder into path. */
static int encode_still(const char *encoder, enum AVPixelFormat fmt, int w, int h,
                        void (*fill)(AVFrame *), const char *opt, const char *val, const char *path)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
    if (!codec)
        return 1;
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    FILE *f = NULL;
    int ret = -1;
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = fmt;
    enc->time_base = (AVRational){1, 25};
    enc->color_range = AVCOL_RANGE_JPEG;
    if (opt)
        av_opt_set(enc->priv_data, opt, val, 0);
    if (avcodec_open2(enc, codec, NULL) < 0)
        goto out;
    fr->format = fmt;
    fr->width = w;
    fr->height = h;
    if (av_frame_get_buffer(fr, 0) < 0)
        goto out;
    fill(fr);
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

/* Full-range BT.601 YCbCr of RGB (200, 40, 90), as JPEG stores it. */
static void fill_jpeg(AVFrame *fr)
{
    double r = 200, g = 40, b = 90;
    double y = 0.299 * r + 0.587 * g + 0.114 * b;
    double cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    double cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    for (int j = 0; j < fr->height; j++)
        memset(fr->data[0] + j * fr->linesize[0], (int)(y + 0.5), fr->width);
    for (int j = 0; j < fr->height / 2; j++) {
        memset(fr->data[1] + j * fr->linesize[1], (int)(cb + 0.5), fr->width / 2);
        memset(fr->data[2] + j * fr->linesize[2], (int)(cr + 0.5), fr->width / 2);
    }
}

/* BGRA (AV_PIX_FMT_BGRA) left half opaque orange, right half translucent blue. */
static void fill_webp(AVFrame *fr)
{
    for (int j = 0; j < fr->height; j++)
        for (int i = 0; i < fr->width; i++) {
            uint8_t *p = fr->data[0] + j * fr->linesize[0] + 4 * i;
            if (i < fr->width / 2) {
                p[0] = 0, p[1] = 128, p[2] = 255, p[3] = 255;
            } else {
                p[0] = 200, p[1] = 60, p[2] = 30, p[3] = 100;
            }
        }
}

static bool near(int a, int b, int tol)
{
    return abs(a - b) <= tol;
}

static void test_jpeg(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/photo.jpg", tmpdir);
    int r = encode_still("mjpeg", AV_PIX_FMT_YUVJ420P, 48, 32, fill_jpeg, NULL, NULL, path);
    CHECK_MSG(r == 0, "mjpeg encoding failed");
    if (r)
        return;
    struct reel_image img;
    struct reel_err err = {0};
    CHECK_MSG(reel_raster_image_load(path, 0, &img, &err) == 0, "%s", err.msg);
    if (!img.data)
        return;
    CHECK_INT_EQ(img.width, 48);
    CHECK_INT_EQ(img.height, 32);
    const uint8_t *p = img.data + 16 * img.stride + 24 * 4;
    CHECK_MSG(near(p[0], 200, 4) && near(p[1], 40, 4) && near(p[2], 90, 4) && p[3] == 255,
              "jpeg pixel %d,%d,%d,%d", p[0], p[1], p[2], p[3]);
    reel_image_uninit(&img);
    CHECK_INT_EQ(reel_raster_image_load(path, 40, &img, &err), -REEL_ELIMIT);
}

static int make_webp_cli(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i "
             "\"color=c=0xff8000:s=32x16,format=rgba\" -frames:v 1 -c:v libwebp -lossless 1 "
             "'%s' 2>/dev/null",
             path);
    return system(cmd) == 0 ? 0 : -1;
}

/* Returns false when no WebP file could be produced. */
static bool test_webp(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/pic.webp", tmpdir);
    bool in_process =
        encode_still("libwebp", AV_PIX_FMT_BGRA, 32, 16, fill_webp, "lossless", "1", path) == 0;
    if (!in_process && make_webp_cli(path) != 0)
        return false;
    struct reel_image img;
    struct reel_err err = {0};
    CHECK_MSG(reel_raster_image_load(path, 0, &img, &err) == 0, "%s", err.msg);
    if (!img.data)
        return true;
    CHECK_INT_EQ(img.width, 32);
    CHECK_INT_EQ(img.height, 16);
    const uint8_t *l = img.data + 8 * img.stride + 4 * 4;
    CHECK_MSG(l[0] == 255 && l[1] == 128 && l[2] == 0 && l[3] == 255, "left %d,%d,%d,%d", l[0],
              l[1], l[2], l[3]);
    if (in_process) {
        /* Lossless with alpha 100: premultiplied round(c * 100 / 255). */
        const uint8_t *rp = img.data + 8 * img.stride + 24 * 4;
        CHECK_MSG(rp[0] == 12 && rp[1] == 24 && rp[2] == 78 && rp[3] == 100, "right %d,%d,%d,%d",
                  rp[0], rp[1], rp[2], rp[3]);
    }
    reel_image_uninit(&img);

    /* A WebP header with a damaged body. */
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 40, SEEK_SET);
        uint8_t junk[64];
        memset(junk, 0xa5, sizeof(junk));
        fwrite(junk, 1, sizeof(junk), f);
        fclose(f);
        CHECK_INT_EQ(reel_raster_image_load(path, 0, &img, &err), -REEL_EDECODE);
    }
    return true;
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/reel-raster-formats-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_jpeg();
    bool had_webp = test_webp();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    CHECK_MSG(had_webp, "no WebP encoder (libavcodec libwebp or the ffmpeg CLI): WebP not tested");
    CHECK_DONE();
}
