// Horizontal half of the separable Gaussian blur on premultiplied RGBA8, in the cpu engine's
// exact integer arithmetic: 16-bit weights summing to 65536, edges clamped, the result kept as
// 8.8 fixed point in an RGBA16UI target.
uniform sampler2D u_src;      // premultiplied RGBA8, NEAREST
uniform highp usampler2D u_w; // R32UI weights, 2r+1 of them, row-major in rows of u_w_row
uniform int u_r;
uniform int u_w_row;

out uvec4 o_value;

void main()
{
    ivec2 p = ivec2(gl_FragCoord.xy);
    int w = textureSize(u_src, 0).x;
    uvec4 acc = uvec4(0u);
    for (int k = -u_r; k <= u_r; k++) {
        int i = k + u_r;
        uint wk = texelFetch(u_w, ivec2(i % u_w_row, i / u_w_row), 0).r;
        uvec4 s = uvec4(floor(texelFetch(u_src, ivec2(clamp(p.x + k, 0, w - 1), p.y), 0) * 255.0 + 0.5));
        acc += wk * s;
    }
    o_value = (acc + 128u) >> 8;
}
