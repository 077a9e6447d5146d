// Shared helpers. Targets are addressed with row 0 first in memory, so gl_FragCoord.xy is the
// pixel centre (x + 0.5, y + 0.5) in the same coordinates as the cpu engine.

// An RGBA8 texel as integers 0..255 (texelFetch of a unorm texture gives k / 255 exactly enough
// for the rounding to recover k).
ivec4 fetch8(sampler2D s, ivec2 p)
{
    return ivec4(floor(texelFetch(s, p, 0) * 255.0 + 0.5));
}

// An 8-bit value for a unorm8 render target: k / 255 converts back to k exactly.
vec4 unorm8(ivec4 v)
{
    return vec4(clamp(v, 0, 255)) / 255.0;
}

// round(v / 255) for v in 0..65025, as the cpu engine computes it.
int div255(int v)
{
    v += 128;
    return (v + (v >> 8)) >> 8;
}
