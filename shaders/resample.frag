// Fit static content into a layer's box texture: the cpu engine's tent-filter resample (widened
// to the scale factor when shrinking), with the same taps, read from per-axis tables, and the
// same order of float sums (vertical first, then horizontal), rounded once. Texels outside the
// content's window are transparent.
#include "common.glsl"

uniform sampler2D u_src;    // premultiplied RGBA8 content, NEAREST
uniform sampler2D u_taps_x; // R32F: row i = first, n, w0 .. w(n-1) for window column i
uniform sampler2D u_taps_y; // the same for window rows
uniform ivec4 u_win;        // window in box texels: x0, y0, x1, y1

out vec4 o_color;

void main()
{
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (p.x < u_win.x || p.y < u_win.y || p.x >= u_win.z || p.y >= u_win.w) {
        o_color = vec4(0.0);
        return;
    }
    ivec2 size = textureSize(u_src, 0);
    int ix = p.x - u_win.x, iy = p.y - u_win.y;
    int fx = int(texelFetch(u_taps_x, ivec2(0, ix), 0).r);
    int nx = int(texelFetch(u_taps_x, ivec2(1, ix), 0).r);
    int fy = int(texelFetch(u_taps_y, ivec2(0, iy), 0).r);
    int ny = int(texelFetch(u_taps_y, ivec2(1, iy), 0).r);
    vec4 acc = vec4(0.0);
    for (int kx = 0; kx < nx; kx++) {
        int sx = clamp(fx + kx, 0, size.x - 1);
        vec4 col = vec4(0.0);
        for (int ky = 0; ky < ny; ky++) {
            int sy = clamp(fy + ky, 0, size.y - 1);
            float wy = texelFetch(u_taps_y, ivec2(2 + ky, iy), 0).r;
            col += wy * vec4(fetch8(u_src, ivec2(sx, sy)));
        }
        acc += texelFetch(u_taps_x, ivec2(2 + kx, ix), 0).r * col;
    }
    int a = clamp(int(acc.a + 0.5), 0, 255);
    ivec3 c = clamp(ivec3(acc.rgb + 0.5), ivec3(0), ivec3(a));
    o_color = unorm8(ivec4(c, a));
}
