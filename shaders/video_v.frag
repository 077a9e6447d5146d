// Second half of the video resample: along the upright picture's y from the intermediates (with
// weight tables like the first half's), then YUV -> RGB with the frame's matrix and range,
// premultiplied into the layer's box texture. Texels outside the content rectangle are
// transparent.
// Defines: SRC_YUV (luma and chroma intermediates) or SRC_RGBA (one straight RGBA intermediate);
// IDENTITY when the luma (or RGBA) rows map centre to centre: u_first.x is then the offset.
#include "common.glsl"
#include "yuv.glsl"

uniform highp isampler2D u_h0; // luma (or RGBA) intermediate
uniform highp isampler2D u_h1; // chroma intermediate
uniform sampler2D u_taps0;     // R32F weight tables by visible content row: luma (or RGBA)
uniform sampler2D u_taps1;     // ... chroma
uniform ivec4 u_content;       // content rectangle in box texels: x0, y0, w, h
uniform ivec2 u_vis0;          // first visible content column and row
uniform ivec2 u_rows;          // upright plane heights: luma, chroma
uniform int u_first;           // IDENTITY: luma source row of visible row 0
uniform int u_swap_uv;         // NV21 and friends: V before U

out vec4 o_color;

vec4 column(highp isampler2D s, sampler2D taps, int col, int row, int rows)
{
    int first = int(texelFetch(taps, ivec2(0, row), 0).r);
    int n = int(texelFetch(taps, ivec2(1, row), 0).r);
    vec4 acc = vec4(0.0);
    for (int k = 0; k < n; k++) {
        float w = texelFetch(taps, ivec2(2 + k, row), 0).r;
        acc += w * intBitsToFloat(texelFetch(s, ivec2(col, clamp(first + k, 0, rows - 1)), 0));
    }
    return acc;
}

vec4 luma(int col, int row)
{
#ifdef IDENTITY
    return intBitsToFloat(texelFetch(u_h0, ivec2(col, clamp(u_first + row, 0, u_rows.x - 1)), 0));
#else
    return column(u_h0, u_taps0, col, row, u_rows.x);
#endif
}

void main()
{
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 q = p - u_content.xy;
    if (q.x < 0 || q.y < 0 || q.x >= u_content.z || q.y >= u_content.w) {
        o_color = vec4(0.0);
        return;
    }
    ivec2 v = q - u_vis0; // visible column (intermediate column) and row (table row)
#ifdef SRC_YUV
    float y = luma(v.x, v.y).r;
    vec2 uv = column(u_h1, u_taps1, v.x, v.y, u_rows.y).rg;
    if (u_swap_uv != 0)
        uv = uv.yx;
    o_color = unorm8(ivec4(ivec3(floor(yuv_to_rgb(vec3(y, uv)) * 255.0 + 0.5)), 255));
#else
    vec4 s = clamp(luma(v.x, v.y), 0.0, 1.0);
    ivec4 c = ivec4(floor(s * 255.0 + 0.5));
    o_color = unorm8(ivec4(div255(c.r * c.a), div255(c.g * c.a), div255(c.b * c.a), c.a));
#endif
}
