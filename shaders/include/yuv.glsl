// YUV -> non-linear RGB with the source frame's matrix and range, folded by the engine into one
// affine map (rgb = u_yuv_m * yuv + u_yuv_off, yuv as sampled 0..1).
uniform mat3 u_yuv_m;
uniform vec3 u_yuv_off;

vec3 yuv_to_rgb(vec3 yuv)
{
    return clamp(u_yuv_m * yuv + u_yuv_off, 0.0, 1.0);
}
