// Transition masks (SPEC 2.4), the same inequalities as reel_transition_coverage, evaluated at a
// pixel centre pc of a frame of the given size. Type numbers are enum reel_transition_type.
#define TR_WIPE_LEFT 2
#define TR_WIPE_RIGHT 3
#define TR_WIPE_UP 4
#define TR_WIPE_DOWN 5
#define TR_CIRCLE_OPEN 10
#define TR_CIRCLE_CLOSE 11
#define TR_RADIAL 12

float tr_coverage(int type, float p, vec2 pc, vec2 frame)
{
    vec2 c = 0.5 * frame;
    float r = 0.5 * length(frame);
    if (type == TR_WIPE_LEFT)
        return pc.x >= (1.0 - p) * frame.x ? 1.0 : 0.0;
    if (type == TR_WIPE_RIGHT)
        return pc.x < p * frame.x ? 1.0 : 0.0;
    if (type == TR_WIPE_UP)
        return pc.y >= (1.0 - p) * frame.y ? 1.0 : 0.0;
    if (type == TR_WIPE_DOWN)
        return pc.y < p * frame.y ? 1.0 : 0.0;
    if (type == TR_CIRCLE_OPEN)
        return length(pc - c) < p * r ? 1.0 : 0.0;
    if (type == TR_CIRCLE_CLOSE)
        return length(pc - c) >= (1.0 - p) * r ? 1.0 : 0.0;
    if (type == TR_RADIAL) {
        // atan(dx, -dy) is 0 at 12 o'clock and grows clockwise on a y-down frame.
        float ang = atan(pc.x - c.x, -(pc.y - c.y));
        if (ang < 0.0)
            ang += 6.28318530717958647692;
        return degrees(ang) < p * 360.0 ? 1.0 : 0.0;
    }
    return 1.0;
}
