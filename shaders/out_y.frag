// Output luma plane (W x H, R8) from the canvas.
#include "common.glsl"
#include "color.glsl"

uniform sampler2D u_canvas; // premultiplied RGBA8, NEAREST

out vec4 o_y;

void main()
{
    vec3 c = vec3(fetch8(u_canvas, ivec2(gl_FragCoord.xy)).rgb);
    o_y = vec4(floor(luma_code(c) + 0.5) / 255.0, 0.0, 0.0, 1.0);
}
