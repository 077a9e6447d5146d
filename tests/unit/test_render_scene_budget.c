/*
 * The raster budget (REEL_RASTER_BUDGET_BYTES) and the text glyph bound: jobs whose static
 * content cannot fit are refused with -REEL_ELIMIT naming the field, from the document alone
 * where it says enough (reel_scene_check_cost) and before anything is allocated, quickly and in
 * little memory; jobs that fit are prepared as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "raster/raster.h"
#include "render/scene.h"
#include "timeline/timeline.h"

static char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static struct reel_timeline *make_timeline(int n)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->out.width = 64;
    tl->out.height = 64;
    tl->out.fps_num = 25;
    tl->out.fps_den = 1;
    tl->out.duration_us = REEL_US;
    tl->layers = calloc((size_t)n, sizeof(*tl->layers));
    tl->n_layers = n;
    for (int i = 0; i < n; i++) {
        struct reel_layer *l = &tl->layers[i];
        l->index = i;
        snprintf(l->path, sizeof(l->path), "layers[%d]", i);
        l->duration_us = REEL_US;
        l->opacity = 1;
        l->scale = l->scale_x = l->scale_y = 1;
        l->anchor_x = l->anchor_y = 0.5;
    }
    return tl;
}

static void set_shape(struct reel_layer *l, double w, double h, double stroke)
{
    l->type = REEL_LAYER_SHAPE;
    l->width = w;
    l->height = h;
    l->shape.kind = REEL_SHAPE_ELLIPSE;
    l->shape.fill = (struct reel_color){255, 0, 0, 255};
    l->shape.stroke.enabled = stroke > 0;
    l->shape.stroke.width = stroke;
    l->shape.stroke.color = (struct reel_color){0, 255, 0, 255};
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static void test_shapes(void)
{
    /* A 16384 px ellipse: 1 GiB of content plus its box image, over the per-layer limit,
     * refused from the document. */
    struct reel_timeline *tl = make_timeline(1);
    set_shape(&tl->layers[0], 16384, 16384, 1000);
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_scene_check_cost(tl, &err), -REEL_ELIMIT);
    CHECK_STR_EQ(err.path, "layers[0].width");
    CHECK_MSG(strstr(err.msg, "1280 MiB") && strstr(err.msg, "512 MiB per layer"), "message: %s",
              err.msg);
    struct reel_scene sc;
    memset(&err, 0, sizeof(err));
    double t0 = now_s();
    CHECK_INT_EQ(reel_scene_init(&sc, tl, NULL, 8192, NULL, &err), -REEL_ELIMIT);
    CHECK_STR_EQ(err.path, "layers[0].width");
    CHECK_MSG(now_s() - t0 < 1.0, "refusing took %.2f s", now_s() - t0);
    reel_timeline_destroy(&tl);

    /* Shapes that fit one by one but not together: the one that tips the job over is named. */
    tl = make_timeline(9);
    for (int i = 0; i < 9; i++)
        set_shape(&tl->layers[i], 8000, 8000, 0); /* 244 MiB content + 244 MiB box each */
    memset(&err, 0, sizeof(err));
    CHECK_INT_EQ(reel_scene_check_cost(tl, &err), -REEL_ELIMIT);
    CHECK_STR_EQ(err.path, "layers[8].width");
    CHECK_MSG(strstr(err.msg, "budget of 4096 MiB") != NULL, "message: %s", err.msg);
    reel_timeline_destroy(&tl);

    /* Image and text boxes given a size count too (the engines keep a box image for each). */
    tl = make_timeline(17);
    for (int i = 0; i < 17; i++) {
        tl->layers[i].type = i % 2 ? REEL_LAYER_TEXT : REEL_LAYER_IMAGE;
        tl->layers[i].width = 20000;
        tl->layers[i].height = 20000; /* counted at 8192 x 8192: 256 MiB */
    }
    memset(&err, 0, sizeof(err));
    CHECK_INT_EQ(reel_scene_check_cost(tl, &err), -REEL_ELIMIT);
    CHECK_STR_EQ(err.path, "layers[16].width");
    tl->n_layers = 16; /* exactly the budget */
    memset(&err, 0, sizeof(err));
    CHECK_INT_EQ(reel_scene_check_cost(tl, &err), 0);
    tl->n_layers = 17;
    reel_timeline_destroy(&tl);

    /* What fits is prepared as before. */
    tl = make_timeline(2);
    set_shape(&tl->layers[0], 1920, 1080, 10);
    set_shape(&tl->layers[1], 4096, 4096, 0);
    memset(&err, 0, sizeof(err));
    CHECK_INT_EQ(reel_scene_check_cost(tl, &err), 0);
    CHECK_INT_EQ(reel_scene_init(&sc, tl, NULL, 8192, NULL, &err), 0);
    CHECK_INT_EQ(sc.content[1].width, 4096);
    reel_scene_uninit(&sc);
    reel_timeline_destroy(&tl);
}

static void test_text(void)
{
    /* One letter and 9,999 combining accents at 4320 px: refused before any glyph is drawn. */
    size_t n = 9999;
    char *s = malloc(1 + 2 * n + 1);
    s[0] = 'a';
    for (size_t i = 0; i < n; i++) {
        s[1 + 2 * i] = (char)0xCC; /* U+0301 */
        s[2 + 2 * i] = (char)0x81;
    }
    s[1 + 2 * n] = '\0';
    struct reel_timeline *tl = make_timeline(1);
    struct reel_layer *l = &tl->layers[0];
    l->type = REEL_LAYER_TEXT;
    l->text.text = s;
    l->text.font = dup_str("DejaVu Sans");
    l->text.font_size = 4320;
    l->text.color = (struct reel_color){255, 255, 255, 255};
    l->text.align = REEL_ALIGN_CENTER;
    l->text.line_height = 1.2;
    struct reel_scene sc;
    struct reel_err err = {0};
    long rss0 = peak_rss_mib();
    double t0 = now_s();
    CHECK_INT_EQ(reel_scene_init(&sc, tl, NULL, 8192, NULL, &err), -REEL_ELIMIT);
    double took = now_s() - t0;
    CHECK_STR_EQ(err.path, "layers[0].text");
    CHECK_MSG(strstr(err.msg, "million pixels") != NULL, "message: %s", err.msg);
    CHECK_MSG(took < 10.0, "refusing the text took %.2f s", took);
    CHECK_MSG(peak_rss_mib() - rss0 < 200, "peak RSS grew by %ld MiB", peak_rss_mib() - rss0);

    /* The same at an ordinary size renders (the accents stack within the limits). */
    l->text.font_size = 12;
    free(l->text.text);
    l->text.text = dup_str("Caf\xC3\xA9 a\xCC\x81\xCC\x81\xCC\x81 ok");
    memset(&err, 0, sizeof(err));
    CHECK_MSG(reel_scene_init(&sc, tl, NULL, 8192, NULL, &err) == 0, "%s", err.msg);
    CHECK(sc.content[0].width > 0);
    reel_scene_uninit(&sc);
    reel_timeline_destroy(&tl);
}

int main(void)
{
    test_shapes();
    test_text();
    CHECK_DONE();
}
