// Draw one layer's box over the canvas (blending ONE, ONE_MINUS_SRC_ALPHA) with the cpu engine's
// arithmetic: edge coverage from the distance to the box edge, bilinear sampling with 8-bit
// weights and clamped edges, alpha quantised to 16 bits, each product rounded to 8 bits. The
// integer arithmetic is done in floats, where every intermediate stays below 2^24 and so is exact.
// Defines: SOLID (the box is one colour, u_solid) or a box texture u_tex; FAST (texture only: a
// whole-pixel translation of an unscaled box, texel = pixel + u_fast_off, drawn over the box's own
// pixels only); MASKS (wipe, circle or radial transitions may be active).
#include "common.glsl"
#ifdef MASKS
#include "transition.glsl"
#endif

uniform vec3 u_inv_u;     // output px -> box u: a, b, c
uniform vec3 u_inv_v;     // output px -> box v: d, e, f
uniform vec2 u_box;       // bw, bh
uniform vec2 u_grad;      // box units per output pixel along u and v
uniform float u_alpha;    // opacity x fade, 0..1
uniform ivec2 u_mask_type;
uniform vec2 u_mask_p;
uniform vec2 u_frame;     // output size
#ifdef SOLID
uniform vec4 u_solid;     // premultiplied, 0..255
#else
uniform sampler2D u_tex;  // premultiplied RGBA8, NEAREST
uniform vec2 u_tex_scale; // texels per box unit
uniform ivec2 u_fast_off; // FAST: texel - pixel
#endif

out vec4 o_color;

#ifndef SOLID
vec4 texel8(ivec2 p)
{
    return floor(texelFetch(u_tex, p, 0) * 255.0 + 0.5);
}

vec4 sample_box(vec2 uv)
{
    ivec2 size = textureSize(u_tex, 0);
    vec2 s = uv * u_tex_scale - 0.5;
    vec2 f = floor(s);
    vec2 w = floor((s - f) * 256.0 + 0.5);
    ivec2 i0 = ivec2(f);
    ivec2 lo = clamp(i0, ivec2(0), size - 1);
    ivec2 hi = clamp(i0 + 1, ivec2(0), size - 1);
    vec4 top = texel8(lo) * (256.0 - w.x) + texel8(ivec2(hi.x, lo.y)) * w.x;
    vec4 bot = texel8(ivec2(lo.x, hi.y)) * (256.0 - w.x) + texel8(hi) * w.x;
    return floor((top * (256.0 - w.y) + bot * w.y + 32768.0) / 65536.0);
}
#endif

void main()
{
    vec2 pc = gl_FragCoord.xy;
#ifdef FAST
    float f = u_alpha;
#else
    float u = dot(u_inv_u, vec3(pc, 1.0));
    float v = dot(u_inv_v, vec3(pc, 1.0));
    float cu = min(u, u_box.x - u) / u_grad.x + 0.5;
    float cv = min(v, u_box.y - v) / u_grad.y + 0.5;
    if (!(cu > 0.0) || !(cv > 0.0))
        discard;
    float f = u_alpha * min(cu, 1.0) * min(cv, 1.0);
#endif
#ifdef MASKS
    f *= tr_coverage(u_mask_type.x, u_mask_p.x, pc, u_frame);
    f *= tr_coverage(u_mask_type.y, u_mask_p.y, pc, u_frame);
#endif
    float q = f >= 1.0 ? 65536.0 : floor(f * 65536.0 + 0.5);
    if (!(q > 0.0))
        discard;
#if defined(SOLID)
    vec4 s = u_solid;
#elif defined(FAST)
    vec4 s = texel8(ivec2(pc) + u_fast_off);
#else
    vec4 s = sample_box(vec2(u, v));
#endif
    if (q < 65536.0)
        s = floor((s * q + 32768.0) / 65536.0);
    o_color = s / 255.0;
}
