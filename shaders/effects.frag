// A run of colour effects on a premultiplied RGBA8 texture, one pass: un-premultiply, every
// effect in order, premultiply and round once (as the cpu engine does).
#include "common.glsl"
#include "effects.glsl"

#define MAX_FX 16

uniform sampler2D u_src; // premultiplied RGBA8, NEAREST
uniform int u_n;
uniform int u_type[MAX_FX];
uniform vec2 u_param[MAX_FX];
uniform vec2 u_key[MAX_FX];

out vec4 o_color;

void main()
{
    ivec4 px = fetch8(u_src, ivec2(gl_FragCoord.xy));
    float a = float(px.a) / 255.0;
    vec3 c = vec3(0.0);
    if (px.a > 0)
        c = clamp(vec3(px.rgb) / float(px.a), 0.0, 1.0);
    for (int i = 0; i < u_n; i++)
        color_effect(u_type[i], u_param[i], u_key[i], c, a);
    float s = a * 255.0;
    o_color = unorm8(ivec4(ivec3(c * s + 0.5), int(s + 0.5)));
}
