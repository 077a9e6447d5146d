// Straight-alpha RGBA output (like every other RGBA frame in FFmpeg): un-premultiply the canvas
// with the cpu engine's integer rounding.
#include "common.glsl"

uniform sampler2D u_canvas; // premultiplied RGBA8, NEAREST

out vec4 o_color;

void main()
{
    ivec4 c = fetch8(u_canvas, ivec2(gl_FragCoord.xy));
    if (c.a > 0 && c.a < 255)
        c.rgb = min((c.rgb * 255 + c.a / 2) / c.a, ivec3(255));
    else if (c.a == 0)
        c.rgb = ivec3(0);
    o_color = unorm8(c);
}
