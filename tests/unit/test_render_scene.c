/* Scene preparation: every static layer rasterised once, others left empty, errors carry the
 * layer's path. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "render/scene.h"

static char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static struct reel_timeline *make_timeline(int n)
{
    struct reel_timeline *tl = calloc(1, sizeof(*tl));
    tl->out.width = 320;
    tl->out.height = 240;
    tl->out.fps_num = 30;
    tl->out.fps_den = 1;
    tl->out.duration_us = REEL_US;
    tl->layers = calloc((size_t)n, sizeof(*tl->layers));
    tl->n_layers = n;
    for (int i = 0; i < n; i++) {
        tl->layers[i].index = i;
        snprintf(tl->layers[i].path, sizeof(tl->layers[i].path), "layers[%d]", i);
        tl->layers[i].duration_us = REEL_US;
        tl->layers[i].opacity = 1;
        tl->layers[i].scale = tl->layers[i].scale_x = tl->layers[i].scale_y = 1;
    }
    return tl;
}

static void set_text(struct reel_layer *l, const char *text)
{
    l->type = REEL_LAYER_TEXT;
    l->text.text = dup_str(text);
    l->text.font = dup_str("DejaVu Sans");
    l->text.font_size = 32;
    l->text.color = (struct reel_color){255, 255, 255, 255};
    l->text.align = REEL_ALIGN_CENTER;
    l->text.line_height = 1.2;
}

int main(void)
{
    char png[] = "/tmp/reel-scene-XXXXXX.png";
    int fd = mkstemps(png, 4);
    CHECK(fd >= 0);
    close(fd);
    struct reel_image src;
    CHECK_INT_EQ(reel_image_alloc(&src, 6, 4), 0);
    memset(src.data, 255, (size_t)src.stride * src.height);
    struct reel_err err = {0};
    CHECK_INT_EQ(reel_image_write_png(&src, png, &err), 0);
    reel_image_uninit(&src);

    struct reel_timeline *tl = make_timeline(5);
    tl->layers[0].type = REEL_LAYER_COLOR;
    tl->layers[0].color = (struct reel_color){0, 0, 0, 255};
    set_text(&tl->layers[1], "Scene 漢字");
    tl->layers[2].type = REEL_LAYER_SHAPE;
    tl->layers[2].shape.kind = REEL_SHAPE_ELLIPSE;
    tl->layers[2].shape.fill = (struct reel_color){255, 0, 0, 255};
    tl->layers[2].width = 40;
    tl->layers[2].height = 30;
    tl->layers[3].type = REEL_LAYER_IMAGE;
    tl->layers[3].src = dup_str("pic.png");
    tl->layers[3].src_path = dup_str(png);
    tl->layers[4].type = REEL_LAYER_AUDIO;

    struct reel_scene sc;
    int ret = reel_scene_init(&sc, tl, NULL, 8192, NULL, &err);
    CHECK_MSG(ret == 0, "%s: %s", err.path, err.msg);
    if (ret == 0) {
        CHECK(sc.tl == tl);
        CHECK(sc.content[0].data == NULL);
        CHECK(sc.content[1].data != NULL && sc.content[1].width > 50);
        CHECK(sc.content[2].width == 40 && sc.content[2].height == 30);
        CHECK(sc.content[3].width == 6 && sc.content[3].height == 4);
        CHECK(sc.content[3].data && sc.content[3].data[3] == 255);
        CHECK(sc.content[4].data == NULL);
        reel_scene_uninit(&sc);
        CHECK(sc.content == NULL);
    }

    /* A missing image: the error names the layer's src. */
    free(tl->layers[3].src_path);
    tl->layers[3].src_path = dup_str("/nonexistent/pic.png");
    ret = reel_scene_init(&sc, tl, NULL, 8192, NULL, &err);
    CHECK_INT_EQ(ret, -REEL_EASSET_NOT_FOUND);
    CHECK_STR_EQ(err.path, "layers[3].src");
    CHECK(strstr(err.msg, "/nonexistent/pic.png") != NULL);
    CHECK(sc.content == NULL);

    /* A shape without a size. */
    free(tl->layers[3].src_path);
    tl->layers[3].src_path = dup_str(png);
    tl->layers[2].width = 0;
    ret = reel_scene_init(&sc, tl, NULL, 8192, NULL, &err);
    CHECK(ret < 0);
    CHECK_STR_EQ(err.path, "layers[2].shape");

    /* An image above the source limit. */
    tl->layers[2].width = 40;
    ret = reel_scene_init(&sc, tl, NULL, 5, NULL, &err);
    CHECK_INT_EQ(ret, -REEL_ELIMIT);
    CHECK_STR_EQ(err.path, "layers[3].src");

    reel_timeline_destroy(&tl);
    unlink(png);
    CHECK_DONE();
}
