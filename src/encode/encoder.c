#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encoder.h"

#define MAX_DRIVERS 16

/* Probe results, computed once per process; read-only afterwards. */
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int n_drivers;
static bool usable[MAX_DRIVERS];
static char reasons[MAX_DRIVERS][sizeof(((struct reel_err *)0)->msg)];

static const char *family_of_pref(enum reel_encoder_pref pref)
{
    switch (pref) {
    case REEL_ENCPREF_NVENC:
        return "nvenc";
    case REEL_ENCPREF_VAAPI:
        return "vaapi";
    case REEL_ENCPREF_SOFTWARE:
        return "software";
    default:
        return NULL;
    }
}

/* A small configuration in the driver's own codec: enough to open a real encoder on the device
 * without costing noticeable time or memory. */
static void probe_cfg(const struct reel_encoder_ops *ops, struct reel_enc_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->width = 256;
    cfg->height = 256;
    cfg->fps_num = 30;
    cfg->fps_den = 1;
    cfg->codec = ops->codec;
    cfg->quality = 23;
    cfg->preset = REEL_PRESET_VERYFAST;
    cfg->pref = REEL_ENCPREF_AUTO;
    cfg->threads = 1;
    cfg->gpu_index = -1;
}

static void run_probes(void)
{
    int i;
    for (i = 0; reel_encoder_drivers[i] && i < MAX_DRIVERS; i++) {
        const struct reel_encoder_ops *ops = reel_encoder_drivers[i];
        struct reel_enc_cfg cfg;
        struct reel_err err = {0};
        probe_cfg(ops, &cfg);
        usable[i] = ops->probe(&cfg, &err) == 0;
        if (!usable[i])
            snprintf(reasons[i], sizeof(reasons[i]), "%s", err.msg[0] ? err.msg : "probe failed");
    }
    n_drivers = i;
}

static void ensure_probed(void)
{
    pthread_once(&probe_once, run_probes);
}

int reel_encoder_probe_all(struct reel_log *log)
{
    int count = 0;
    ensure_probed();
    for (int i = 0; i < n_drivers; i++) {
        const struct reel_encoder_ops *ops = reel_encoder_drivers[i];
        if (usable[i]) {
            count++;
            REEL_INFO(log, "encoder %s (%s, %s): usable", ops->name, reel_codec_name(ops->codec),
                      ops->family);
        } else {
            REEL_INFO(log, "encoder %s (%s, %s): not usable: %s", ops->name,
                      reel_codec_name(ops->codec), ops->family, reasons[i]);
        }
    }
    return count;
}

bool reel_encoder_usable(const char *name, char *reason, size_t cap)
{
    ensure_probed();
    for (int i = 0; name && i < n_drivers; i++) {
        if (strcmp(reel_encoder_drivers[i]->name, name))
            continue;
        if (!usable[i] && reason && cap)
            snprintf(reason, cap, "%s", reasons[i]);
        return usable[i];
    }
    if (reason && cap)
        snprintf(reason, cap, "no encoder driver named %s", name ? name : "(null)");
    return false;
}

static int open_driver(const struct reel_encoder_ops *ops, const struct reel_enc_cfg *cfg,
                       struct reel_log *log, struct reel_encoder **out, struct reel_err *err)
{
    int ret;
    struct reel_encoder *enc = calloc(1, sizeof(*enc));
    if (!enc)
        return reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
    enc->ops = ops;
    enc->log = log;
    enc->pix_fmt = AV_PIX_FMT_NONE;
    if (ops->priv_size) {
        enc->priv = calloc(1, ops->priv_size);
        if (!enc->priv) {
            ret = reel_err_set(err, REEL_ENOMEM, NULL, "out of memory");
            goto fail;
        }
    }
    ret = ops->open(enc, cfg, err);
    if (ret < 0)
        goto fail;
    *out = enc;
    return 0;
fail:
    reel_encoder_close(&enc);
    return ret;
}

int reel_encoder_open_first(const struct reel_enc_cfg *cfg, struct reel_log *log,
                            struct reel_encoder **out, struct reel_err *err)
{
    const char *family = family_of_pref(cfg->pref);
    const char *codec = reel_codec_name(cfg->codec);
    int cand[MAX_DRIVERS];
    int n_cand = 0;
    char summary[400] = "";
    size_t used = 0;

    *out = NULL;
    ensure_probed();
    for (int i = 0; i < n_drivers; i++) {
        const struct reel_encoder_ops *ops = reel_encoder_drivers[i];
        if (ops->codec == cfg->codec && (!family || !strcmp(ops->family, family)))
            cand[n_cand++] = i;
    }
    if (!n_cand) {
        REEL_WARN(log, "no %s encoder driver for %s; no further encoder fallback for %s",
                  family ? family : "", codec, codec);
        return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                            "no %s%sencoder exists for %s", family ? family : "", family ? " " : "",
                            codec);
    }

    for (int k = 0; k < n_cand; k++) {
        const struct reel_encoder_ops *ops = reel_encoder_drivers[cand[k]];
        struct reel_err e = {0};
        char reason[sizeof(e.msg)];
        if (!usable[cand[k]]) {
            snprintf(reason, sizeof(reason), "%s", reasons[cand[k]]);
        } else if (open_driver(ops, cfg, log, out, &e) == 0) {
            REEL_INFO(log, "encoder %s opened: %s %dx%d @ %d/%d fps, quality %d", ops->name, codec,
                      cfg->width, cfg->height, cfg->fps_num, cfg->fps_den, cfg->quality);
            return 0;
        } else {
            snprintf(reason, sizeof(reason), "%s", e.msg[0] ? e.msg : "open failed");
        }
        /* With encoder "auto", a hardware driver that probed unusable (no NVENC or VAAPI on
         * this host) is the expected path to the next driver: INFO. A driver the caller named
         * by family, one that probed usable but failed to open, and the last one all mean
         * something did not go as asked or expected: WARN. */
        bool expected = !family && !usable[cand[k]] && k + 1 < n_cand;
        if (k + 1 < n_cand && expected)
            REEL_INFO(log, "encoder %s unavailable: %s; trying %s", ops->name, reason,
                      reel_encoder_drivers[cand[k + 1]]->name);
        else if (k + 1 < n_cand)
            REEL_WARN(log, "encoder %s unavailable: %s; trying %s", ops->name, reason,
                      reel_encoder_drivers[cand[k + 1]]->name);
        else
            REEL_WARN(log, "encoder %s unavailable: %s; no further encoder fallback for %s",
                      ops->name, reason, codec);
        if (used < sizeof(summary)) {
            int w = snprintf(summary + used, sizeof(summary) - used, "%s%s: %s", k ? "; " : "",
                             ops->name, reason);
            if (w > 0)
                used += (size_t)w;
        }
    }
    return reel_err_set(err, REEL_EENCODER_UNAVAILABLE, "output.encoder",
                        "no usable %s%sencoder for %s (%s)", family ? family : "",
                        family ? " " : "", codec, summary);
}

void reel_encoder_close(struct reel_encoder **penc)
{
    struct reel_encoder *enc = penc ? *penc : NULL;
    if (!enc)
        return;
    if (enc->ops && enc->ops->close)
        enc->ops->close(enc);
    avcodec_free_context(&enc->avctx);
    free(enc->priv);
    free(enc);
    *penc = NULL;
}
