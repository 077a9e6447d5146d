// Colour effects of SPEC 2.5 on straight (un-premultiplied) colour, each result clamped to 0..1.
// Type numbers are enum reel_effect_type.
#define FX_BRIGHTNESS 1
#define FX_CONTRAST 2
#define FX_SATURATION 3
#define FX_GRAYSCALE 4
#define FX_SEPIA 5
#define FX_INVERT 6
#define FX_CHROMA_KEY 7

const vec3 LUMA_709 = vec3(0.2126, 0.7152, 0.0722);

vec2 chroma_709(vec3 c)
{
    float y = dot(LUMA_709, c);
    return vec2((c.b - y) / 1.8556 + 0.5, (c.r - y) / 1.5748 + 0.5);
}

// p: value (brightness, contrast, saturation) or similarity, smoothness (chroma-key);
// key: the key colour's Cb, Cr.
void color_effect(int type, vec2 p, vec2 key, inout vec3 c, inout float a)
{
    if (type == FX_BRIGHTNESS) {
        c = clamp(c + p.x, 0.0, 1.0);
    } else if (type == FX_CONTRAST) {
        c = clamp((c - 0.5) * p.x + 0.5, 0.0, 1.0);
    } else if (type == FX_SATURATION || type == FX_GRAYSCALE) {
        float s = type == FX_GRAYSCALE ? 0.0 : p.x;
        float l = dot(LUMA_709, c);
        c = clamp(l + (c - l) * s, 0.0, 1.0);
    } else if (type == FX_SEPIA) {
        c = clamp(vec3(dot(vec3(0.393, 0.769, 0.189), c), dot(vec3(0.349, 0.686, 0.168), c),
                       dot(vec3(0.272, 0.534, 0.131), c)),
                  0.0, 1.0);
    } else if (type == FX_INVERT) {
        c = 1.0 - c;
    } else if (type == FX_CHROMA_KEY) {
        vec2 d2 = chroma_709(c) - key;
        float d = sqrt(dot(d2, d2) / 2.0);
        float k;
        if (d < p.x)
            k = 0.0;
        else if (p.y > 0.0)
            k = clamp((d - p.x) / p.y, 0.0, 1.0);
        else
            k = 1.0;
        a *= k;
    }
}
