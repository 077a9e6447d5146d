/* The engines linked into this binary, in preference order. Engines register nothing at run time.
 */
#include <stddef.h>

#include "render/engine.h"

#ifdef REEL_WITH_GL
extern const struct reel_engine_ops reel_engine_gl_ops;
#endif
extern const struct reel_engine_ops reel_engine_cpu_ops;

const struct reel_engine_ops *const reel_engine_registry[] = {
#ifdef REEL_WITH_GL
    &reel_engine_gl_ops,
#endif
    &reel_engine_cpu_ops,
    NULL,
};
