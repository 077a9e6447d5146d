// First half of the video resample: along the upright picture's x, from one plane (or plane pair)
// of the decoded frame into a 32-bit intermediate (float bits in an integer target, so nothing is
// rounded between the halves). Output texel (i, r) is visible content column i of upright source
// row r. The weights come from a table made by the engine: libswscale's bicubic kernel, widened
// by the reduction factor when shrinking, pixel centres aligned (chroma sited at the centre, as
// libswscale does); source texels beyond the edge repeat the edge.
// Defines: CH_Y (one R8 plane), CH_UV2 (U and V as two R8 planes), CH_UV (RG8), CH_RGBA (RGBA8);
// IDENTITY when the pass maps texel centres onto texel centres (unscaled, whole-texel offset):
// then u_first is the offset and no table is read.
uniform sampler2D u_plane0; // NEAREST
uniform sampler2D u_plane1;
uniform sampler2D u_taps;   // R32F: row i = first source texel, count, weights
uniform ivec3 u_orient_x;   // upright texel (j, r) -> decoded x = a j + b r + c
uniform ivec3 u_orient_y;   // ... decoded y
uniform int u_up_w;         // upright plane width in texels
uniform int u_first;        // IDENTITY: source texel of output column 0

out ivec4 o_value;

vec4 fetch(ivec2 d)
{
#if defined(CH_Y)
    return vec4(texelFetch(u_plane0, d, 0).r, 0.0, 0.0, 0.0);
#elif defined(CH_UV2)
    return vec4(texelFetch(u_plane0, d, 0).r, texelFetch(u_plane1, d, 0).r, 0.0, 0.0);
#elif defined(CH_UV)
    return vec4(texelFetch(u_plane0, d, 0).rg, 0.0, 0.0);
#else
    return texelFetch(u_plane0, d, 0);
#endif
}

vec4 source(int j, int r)
{
    j = clamp(j, 0, u_up_w - 1);
    return fetch(ivec2(u_orient_x.x * j + u_orient_x.y * r + u_orient_x.z,
                       u_orient_y.x * j + u_orient_y.y * r + u_orient_y.z));
}

void main()
{
    ivec2 p = ivec2(gl_FragCoord.xy);
#ifdef IDENTITY
    vec4 acc = source(u_first + p.x, p.y);
#else
    int first = int(texelFetch(u_taps, ivec2(0, p.x), 0).r);
    int n = int(texelFetch(u_taps, ivec2(1, p.x), 0).r);
    vec4 acc = vec4(0.0);
    for (int k = 0; k < n; k++)
        acc += texelFetch(u_taps, ivec2(2 + k, p.x), 0).r * source(first + k, p.y);
#endif
    o_value = floatBitsToInt(acc);
}
