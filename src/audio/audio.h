/*
 * The audio mix, shared by both engines: every audio layer and every video layer with sound
 * (volume > 0), each decoded, resampled to the output rate and layout, time-mapped (trim, speed,
 * loop), gained (volume, animated volume, fade_in/fade_out) and summed. Sample-accurate against the
 * timeline: output sample i is at t = i / sample_rate.
 */
#ifndef REEL_AUDIO_AUDIO_H
#define REEL_AUDIO_AUDIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "timeline/timeline.h"

struct reel_audio_mix;

/* True when any layer contributes sound (so the file gets an audio stream). */
bool reel_audio_has_sound(const struct reel_timeline *tl);

/* Open every source. The timeline is borrowed for the mix's lifetime.
 * Errors: -REEL_EDECODE, -REEL_EASSET_NOT_FOUND (err names the layer's src path). */
int reel_audio_mix_create(const struct reel_timeline *tl, struct reel_log *log,
                          struct reel_audio_mix **out, struct reel_err *err);
void reel_audio_mix_destroy(struct reel_audio_mix **m);

/* Produce the next nb_samples of the mix as planar float (planes[ch][i]), channels and rate of the
 * timeline's output. Past the output's duration it produces silence. */
int reel_audio_mix_read(struct reel_audio_mix *m, float *const *planes, int nb_samples,
                        struct reel_err *err);

#endif
