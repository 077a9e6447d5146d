/*
 * The timeline: a parsed, validated job as plain data. Pure data, no I/O (media probing fills the
 * media_* fields through reel_timeline_resolve in src/timeline/resolve.h).
 *
 * Time is int64 microseconds throughout. Pixel coordinates are doubles in output pixels, origin
 * top-left, y down. Colours are straight (un-premultiplied) 8-bit RGBA as written in the job.
 *
 * Ownership: a timeline owns every string and array it points to; reel_timeline_destroy frees all.
 * A timeline is immutable after parsing/resolving and may be read from several threads.
 */
#ifndef REEL_TIMELINE_TIMELINE_H
#define REEL_TIMELINE_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#define REEL_US 1000000LL

struct reel_color {
    uint8_t r, g, b, a;
};

enum reel_layer_type {
    REEL_LAYER_NONE = 0,
    REEL_LAYER_VIDEO,
    REEL_LAYER_IMAGE,
    REEL_LAYER_TEXT,
    REEL_LAYER_COLOR,
    REEL_LAYER_SHAPE,
    REEL_LAYER_AUDIO,
};

enum reel_easing_kind {
    REEL_EASE_NONE = 0, /* treated as linear */
    REEL_EASE_LINEAR,
    REEL_EASE_HOLD,
    REEL_EASE_IN,     /* cubic */
    REEL_EASE_OUT,    /* cubic */
    REEL_EASE_IN_OUT, /* cubic */
    REEL_EASE_IN_BACK,
    REEL_EASE_OUT_BACK,
    REEL_EASE_OUT_BOUNCE,
    REEL_EASE_CUBIC_BEZIER, /* CSS cubic-bezier(x1,y1,x2,y2), x1,x2 in 0..1 */
};

struct reel_easing {
    enum reel_easing_kind kind;
    double x1, y1, x2, y2; /* cubic-bezier only */
};

struct reel_keyframe {
    int64_t time_us; /* relative to the layer's start; strictly increasing within a track */
    double value;
    struct reel_easing easing; /* shapes the segment arriving at this keyframe */
};

enum reel_prop {
    REEL_PROP_X = 0,
    REEL_PROP_Y,
    REEL_PROP_SCALE,
    REEL_PROP_SCALE_X,
    REEL_PROP_SCALE_Y,
    REEL_PROP_ROTATION,
    REEL_PROP_OPACITY,
    REEL_PROP_VOLUME,
    REEL_PROP_COUNT
};

struct reel_anim {
    struct reel_keyframe *keys; /* NULL/0 = not animated */
    int n_keys;
};

enum reel_transition_type {
    REEL_TR_NONE = 0,
    REEL_TR_FADE,
    REEL_TR_WIPE_LEFT,
    REEL_TR_WIPE_RIGHT,
    REEL_TR_WIPE_UP,
    REEL_TR_WIPE_DOWN,
    REEL_TR_SLIDE_LEFT,
    REEL_TR_SLIDE_RIGHT,
    REEL_TR_SLIDE_UP,
    REEL_TR_SLIDE_DOWN,
    REEL_TR_CIRCLE_OPEN,
    REEL_TR_CIRCLE_CLOSE,
    REEL_TR_RADIAL,
};

struct reel_transition {
    enum reel_transition_type type; /* NONE = no transition */
    int64_t duration_us;
    struct reel_easing easing;
};

enum reel_fit {
    REEL_FIT_NONE_ = 0, /* unset; parse sets COVER */
    REEL_FIT_COVER,
    REEL_FIT_CONTAIN,
    REEL_FIT_FILL,
    REEL_FIT_NATURAL, /* "none": natural size, centred, cropped to the box */
};

enum reel_effect_type {
    REEL_FX_NONE = 0,
    REEL_FX_BRIGHTNESS, /* value -1..1 */
    REEL_FX_CONTRAST,   /* value 0..4 */
    REEL_FX_SATURATION, /* value 0..4 */
    REEL_FX_GRAYSCALE,
    REEL_FX_SEPIA,
    REEL_FX_INVERT,
    REEL_FX_CHROMA_KEY, /* color, similarity, smoothness */
    REEL_FX_BLUR,       /* sigma px */
};

struct reel_effect {
    enum reel_effect_type type;
    double value;            /* brightness/contrast/saturation */
    struct reel_color color; /* chroma-key */
    double similarity;       /* chroma-key, default 0.1 */
    double smoothness;       /* chroma-key, default 0.1 */
    double sigma;            /* blur */
};

enum reel_align { REEL_ALIGN_NONE = 0, REEL_ALIGN_LEFT, REEL_ALIGN_CENTER, REEL_ALIGN_RIGHT };
enum reel_shape_kind { REEL_SHAPE_NONE = 0, REEL_SHAPE_RECT, REEL_SHAPE_ELLIPSE };

struct reel_stroke {
    bool enabled;
    struct reel_color color;
    double width; /* px */
};

struct reel_text_style {
    char *text; /* merged UTF-8 */
    char *font; /* family name, or a resolved font file path when font_is_file */
    bool font_is_file;
    double font_size;        /* px, default 48 */
    struct reel_color color; /* default #ffffff */
    enum reel_align align;   /* default center */
    double line_height;      /* multiple of font_size, default 1.2 */
    double max_width;        /* px, 0 = no wrapping */
    struct reel_stroke stroke;
    bool has_shadow;
    struct reel_color shadow_color;
    double shadow_x, shadow_y;
    bool has_background;
    struct reel_color background_color;
    double background_padding;
};

struct reel_shape_style {
    enum reel_shape_kind kind;
    struct reel_color fill; /* default #ffffff */
    struct reel_stroke stroke;
    double corner_radius;
};

struct reel_layer {
    enum reel_layer_type type;
    int index;     /* position in the job's layers array */
    char *id;      /* optional, NULL when absent */
    char path[32]; /* "layers[3]" for messages */

    int64_t start_us;
    int64_t duration_us; /* resolved (> 0) after reel_timeline_resolve */
    bool has_duration;   /* given in the job */

    /* visual */
    double x, y;               /* default width/2, height/2 of the output */
    double anchor_x, anchor_y; /* default 0.5, 0.5 */
    double width, height; /* box; 0 = default (frame for video/image/color, own size otherwise) */
    enum reel_fit fit;
    double scale;            /* uniform, default 1 */
    double scale_x, scale_y; /* from "scale": [sx, sy]; default 1. Effective = scale*scale_x */
    double rotation_deg;     /* clockwise */
    double opacity;          /* 0..1 */
    struct reel_anim anim[REEL_PROP_COUNT];
    struct reel_transition tr_in, tr_out;
    struct reel_effect *effects;
    int n_effects;

    /* media (video, image, audio) */
    char *src;       /* as written (after merge) */
    char *src_path;  /* resolved local file; set by reel_timeline_resolve */
    int64_t trim_us; /* source in-point */
    double speed;    /* 0.25..4, default 1 */
    bool loop;
    bool no_deinterlace; /* video: "deinterlace": false draws interlaced frames as stored */
    double volume;                   /* 0..4, default 1 */
    int64_t fade_in_us, fade_out_us; /* audio */

    /* probed media facts, filled by reel_timeline_resolve */
    int64_t media_duration_us; /* 0 unknown / still image */
    int media_width, media_height;
    bool media_has_video, media_has_audio;

    struct reel_text_style text;   /* REEL_LAYER_TEXT */
    struct reel_color color;       /* REEL_LAYER_COLOR */
    struct reel_shape_style shape; /* REEL_LAYER_SHAPE */
};

enum reel_format {
    REEL_FORMAT_NONE = 0,
    REEL_FORMAT_MP4,
    REEL_FORMAT_MOV,
    REEL_FORMAT_WEBM,
    REEL_FORMAT_GIF
};
enum reel_codec {
    REEL_CODEC_NONE = 0,
    REEL_CODEC_H264,
    REEL_CODEC_HEVC,
    REEL_CODEC_VP9,
    REEL_CODEC_GIF
};
enum reel_preset {
    REEL_PRESET_NONE = 0,
    REEL_PRESET_ULTRAFAST,
    REEL_PRESET_SUPERFAST,
    REEL_PRESET_VERYFAST,
    REEL_PRESET_FASTER,
    REEL_PRESET_FAST,
    REEL_PRESET_MEDIUM,
    REEL_PRESET_SLOW,
    REEL_PRESET_SLOWER,
    REEL_PRESET_VERYSLOW,
};
enum reel_encoder_pref {
    REEL_ENCPREF_NONE = 0,
    REEL_ENCPREF_AUTO,
    REEL_ENCPREF_NVENC,
    REEL_ENCPREF_VAAPI,
    REEL_ENCPREF_SOFTWARE
};
enum reel_engine_pref {
    REEL_ENGPREF_NONE = 0,
    REEL_ENGPREF_AUTO,
    REEL_ENGPREF_GL,
    REEL_ENGPREF_CPU
};

struct reel_output {
    int width, height;    /* even; default 1280x720 */
    int fps_num, fps_den; /* reduced; default 30/1 */
    int64_t duration_us;  /* resolved (> 0) after reel_timeline_resolve */
    bool has_duration;
    enum reel_format format;        /* default mp4 */
    enum reel_codec codec;          /* default h264 (gif for gif) */
    int quality;                    /* 0..51, default 23 */
    enum reel_preset preset;        /* default veryfast */
    enum reel_encoder_pref encoder; /* default auto */
    struct reel_color background;   /* default #000000ff */
    int audio_sample_rate;          /* 48000 */
    int audio_channels;             /* 2 */
    int audio_bitrate;              /* bits/s, 128000 */
    bool has_poster;
    int64_t poster_us;
};

struct reel_timeline {
    struct reel_output out;
    enum reel_engine_pref engine; /* default auto */
    struct reel_layer *layers;    /* bottom to top */
    int n_layers;
    char *base_dir; /* folder of the job file (CLI), NULL otherwise */
};

/* Number of output frames: ceil(duration * fps), at least 1. */
int64_t reel_timeline_frame_count(const struct reel_timeline *tl);
/* Time of output frame n: n * fps_den / fps_num seconds, in us, rounded down. Exact integer math.
 */
int64_t reel_timeline_frame_time_us(const struct reel_timeline *tl, int64_t n);
/* True for video, image, text, color, shape. */
bool reel_layer_is_visual(const struct reel_layer *l);
/* Names used in the job format, for messages and docs. */
const char *reel_layer_type_name(enum reel_layer_type t);
const char *reel_format_name(enum reel_format f);
const char *reel_codec_name(enum reel_codec c);

/* Free a timeline and everything it owns; accepts NULL; sets *tl to NULL. */
void reel_timeline_destroy(struct reel_timeline **tl);

#endif
