/*
 * The output file: video encoder (with fallback), optional audio encoder (AAC; Opus for webm) and
 * the muxer. Writes to a temporary file beside the destination and renames it into place only when
 * the file is complete, so a failed job never leaves a partial file at the output path.
 * MP4/MOV get faststart. One thread writes the video and one the audio (the same thread or two);
 * their packets meet in the muxer under a lock. Opening and finishing belong to one thread alone.
 */
#ifndef REEL_ENCODE_OUTPUT_H
#define REEL_ENCODE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "core/err.h"
#include "core/log.h"
#include "encode/encoder.h"
#include "timeline/timeline.h"

struct reel_output_cfg {
    const char *path;              /* destination */
    const struct reel_output *out; /* the job's output section (size, fps, format, codec, audio) */
    enum reel_encoder_pref pref;   /* overrides out->encoder when not NONE */
    bool has_audio;                /* add an audio stream */
    int threads;
    int gpu_index;
};

struct reel_output_file;

/* Open encoders and the muxer on a temporary file. Errors: -REEL_EENCODER_UNAVAILABLE,
 * -REEL_EOUTPUT (destination folder not writable, with the OS reason). */
int reel_output_open(const struct reel_output_cfg *cfg, struct reel_log *log,
                     struct reel_output_file **out, struct reel_err *err);

/* The pixel format video frames must be in (the chosen encoder's). */
enum AVPixelFormat reel_output_pix_fmt(const struct reel_output_file *of);
/* Name of the video driver in use ("libx264"). */
const char *reel_output_encoder_name(const struct reel_output_file *of);
/* Audio frame size in samples the caller should deliver (the encoder's frame_size; 1024 for AAC).
 */
int reel_output_audio_frame_size(const struct reel_output_file *of);

/* Encode and mux one video frame (pts is taken as the frame index n; the caller sets frame->pts =
 * n). Borrowed. */
int reel_output_write_video(struct reel_output_file *of, const AVFrame *frame,
                            struct reel_err *err);
/* Encode and mux nb_samples of planar float audio at the output's rate/channels (planes[ch]).
 * Samples are contiguous in time from 0. Any nb_samples is accepted (re-framed internally; Opus
 * input is resampled to 48 kHz). Without an audio stream (has_audio false, or gif) a no-op. */
int reel_output_write_audio(struct reel_output_file *of, const float *const *planes, int nb_samples,
                            struct reel_err *err);

/* The last video frame has been written: flush the video encoder and mux its delayed packets.
 * Optional; finish does it when it has not been done. */
int reel_output_end_video(struct reel_output_file *of, struct reel_err *err);
/* Flush encoders, write the trailer (faststart), rename into place. Returns bytes written via
 * *bytes (may be NULL). The object is destroyed either way. */
int reel_output_finish(struct reel_output_file **of, int64_t *bytes, struct reel_err *err);
/* Abandon: close everything and delete the temporary file. Accepts NULL. */
void reel_output_abort(struct reel_output_file **of);

/* Write a JPEG (poster) from a frame in any pixel format. */
int reel_write_jpeg(const AVFrame *frame, const char *path, struct reel_err *err);

#endif
