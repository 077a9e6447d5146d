// A rectangle of the render target, in target pixels (origin at the first row in memory), drawn
// as a 4-vertex triangle strip without vertex buffers.
uniform vec4 u_rect;   // x0, y0, x1, y1
uniform vec2 u_target; // target size in pixels

void main()
{
    vec2 c = vec2((gl_VertexID & 1) != 0 ? u_rect.z : u_rect.x,
                  (gl_VertexID & 2) != 0 ? u_rect.w : u_rect.y);
    gl_Position = vec4(c / u_target * 2.0 - 1.0, 0.0, 1.0);
}
