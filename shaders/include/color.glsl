// The output colour space, in one place: BT.709 matrix, limited ("tv") range, from the canvas's
// 8-bit non-linear RGB (premultiplied, so a transparent canvas reads as over black).
const vec3 KY_709 = vec3(0.2126, 0.7152, 0.0722);

float luma_code(vec3 rgb255)
{
    return 16.0 + dot(KY_709, rgb255) * (219.0 / 255.0);
}

vec2 chroma_codes(vec3 rgb255)
{
    float y = dot(KY_709, rgb255);
    return vec2(128.0 + (rgb255.b - y) * (224.0 / 255.0 / 1.8556),
                128.0 + (rgb255.r - y) * (224.0 / 255.0 / 1.5748));
}
