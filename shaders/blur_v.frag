// Vertical half of the blur: 8.8 fixed point in, RGBA8 out. The sum stays below 2^32 because the
// weights sum to 65536 and each input is at most 255 << 8.
#include "common.glsl"

uniform highp usampler2D u_src; // RGBA16UI from blur_h
uniform highp usampler2D u_w;
uniform int u_r;
uniform int u_w_row;

out vec4 o_color;

void main()
{
    ivec2 p = ivec2(gl_FragCoord.xy);
    int h = textureSize(u_src, 0).y;
    uvec4 acc = uvec4(0u);
    for (int k = -u_r; k <= u_r; k++) {
        int i = k + u_r;
        uint wk = texelFetch(u_w, ivec2(i % u_w_row, i / u_w_row), 0).r;
        acc += wk * texelFetch(u_src, ivec2(p.x, clamp(p.y + k, 0, h - 1)), 0);
    }
    o_color = unorm8(ivec4((acc + (1u << 23)) >> 24));
}
