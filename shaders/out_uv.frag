// Output chroma (W/2 x H/2): each sample from the average of its 2x2 canvas pixels (centred
// siting). Defines: PLANAR (U and V into two R8 targets) or NV12 (interleaved into one RG8).
#include "common.glsl"
#include "color.glsl"

uniform sampler2D u_canvas; // premultiplied RGBA8, NEAREST

#ifdef PLANAR
layout(location = 0) out vec4 o_u;
layout(location = 1) out vec4 o_v;
#else
out vec4 o_uv;
#endif

void main()
{
    ivec2 p = ivec2(gl_FragCoord.xy) * 2;
    vec3 sum = vec3(fetch8(u_canvas, p).rgb + fetch8(u_canvas, p + ivec2(1, 0)).rgb +
                    fetch8(u_canvas, p + ivec2(0, 1)).rgb + fetch8(u_canvas, p + ivec2(1, 1)).rgb);
    vec2 cbcr = floor(chroma_codes(sum * 0.25) + 0.5) / 255.0;
#ifdef PLANAR
    o_u = vec4(cbcr.x, 0.0, 0.0, 1.0);
    o_v = vec4(cbcr.y, 0.0, 0.0, 1.0);
#else
    o_uv = vec4(cbcr, 0.0, 1.0);
#endif
}
