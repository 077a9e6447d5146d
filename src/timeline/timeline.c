#include <stdlib.h>

#include "timeline/timeline.h"

int64_t reel_timeline_frame_count(const struct reel_timeline *tl)
{
    /* ceil(duration_us * fps_num / (fps_den * 1e6)) in integer arithmetic (no overflow for the
     * limits: 3600e6 * 120000 < 2^63). */
    int64_t num = tl->out.duration_us * tl->out.fps_num;
    int64_t den = (int64_t)tl->out.fps_den * REEL_US;
    int64_t n = (num + den - 1) / den;
    return n < 1 ? 1 : n;
}

int64_t reel_timeline_frame_time_us(const struct reel_timeline *tl, int64_t n)
{
    return n * tl->out.fps_den * REEL_US / tl->out.fps_num;
}

bool reel_layer_is_visual(const struct reel_layer *l)
{
    return l->type != REEL_LAYER_AUDIO && l->type != REEL_LAYER_NONE;
}

const char *reel_layer_type_name(enum reel_layer_type t)
{
    static const char *const names[] = {"none",  "video", "image", "text",
                                        "color", "shape", "audio"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "none";
}

const char *reel_format_name(enum reel_format f)
{
    static const char *const names[] = {"none", "mp4", "mov", "webm", "gif"};
    return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "none";
}

const char *reel_codec_name(enum reel_codec c)
{
    static const char *const names[] = {"none", "h264", "hevc", "vp9", "gif"};
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "none";
}

static void free_layer(struct reel_layer *l)
{
    free(l->id);
    for (int p = 0; p < REEL_PROP_COUNT; p++)
        free(l->anim[p].keys);
    free(l->effects);
    free(l->src);
    free(l->src_path);
    free(l->text.text);
    free(l->text.font);
}

void reel_timeline_destroy(struct reel_timeline **ptl)
{
    struct reel_timeline *tl = ptl ? *ptl : NULL;
    if (!tl)
        return;
    for (int i = 0; i < tl->n_layers; i++)
        free_layer(&tl->layers[i]);
    free(tl->layers);
    free(tl->base_dir);
    free(tl);
    *ptl = NULL;
}
