#include <stdlib.h>
#include <string.h>

#include "render/engine.h"

const struct reel_engine_ops *reel_engine_find(const char *name)
{
    for (int i = 0; name && reel_engine_registry[i]; i++)
        if (!strcmp(reel_engine_registry[i]->name, name))
            return reel_engine_registry[i];
    return NULL;
}

int reel_engine_create(const char *name, const struct reel_engine_cfg *cfg, struct reel_log *log,
                       struct reel_engine **out, struct reel_err *err)
{
    *out = NULL;
    const struct reel_engine_ops *ops = reel_engine_find(name);
    if (!ops)
        return reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                            "engine '%s' is not built into this binary", name ? name : "(null)");
    int ret = ops->probe(cfg);
    if (ret < 0)
        return reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine",
                            "engine '%s' is not usable on this host (probe failed)", name);
    struct reel_engine *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return reel_err_set(err, REEL_ENOMEM, "engine", "out of memory");
    eng->ops = ops;
    eng->cfg = *cfg;
    eng->log = log;
    if (ops->priv_size && !(eng->priv = calloc(1, ops->priv_size))) {
        free(eng);
        return reel_err_set(err, REEL_ENOMEM, "engine", "out of memory");
    }
    ret = ops->init(eng, cfg);
    if (ret < 0) {
        if (err) {
            if (eng->err.code)
                *err = eng->err;
            else
                reel_err_set(err, REEL_EENGINE_UNAVAILABLE, "engine", "engine '%s' failed to start",
                             name);
            err->code = REEL_EENGINE_UNAVAILABLE;
        }
        reel_engine_destroy(&eng);
        return -REEL_EENGINE_UNAVAILABLE;
    }
    *out = eng;
    return 0;
}

void reel_engine_destroy(struct reel_engine **peng)
{
    struct reel_engine *eng = peng ? *peng : NULL;
    if (!eng)
        return;
    if (eng->ops && eng->ops->uninit)
        eng->ops->uninit(eng);
    free(eng->priv);
    free(eng);
    *peng = NULL;
}
