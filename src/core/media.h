/*
 * Opening media files for one kind of stream.
 */
#ifndef REEL_CORE_MEDIA_H
#define REEL_CORE_MEDIA_H

#include <libavformat/avformat.h>

/*
 * avformat_find_stream_info with the probing decoders on one thread and without the loop filter:
 * finding a stream's parameters (pixel format, reorder depth) decodes a few of its frames and
 * throws the pictures away, and neither setting changes what it finds (checked on every file of
 * the test and bench media). A fifth to a third less time on 1080p and 2160p H.264.
 */
int reel_probe_stream_info(AVFormatContext *fc);

/*
 * reel_probe_stream_info for a reader of one kind of stream (audio or video): when the
 * container's header already describes a stream of that kind (codec, and rate and channels or
 * width and height), every other stream is discarded first, so that finding the stream
 * information decodes nothing the reader will not use (a clip's video frames for its sound).
 * Otherwise, as reel_probe_stream_info alone. Returns its result. (FFmpeg then notes, at its
 * warning level, which is reel's debug level, that it found no parameters for the streams left
 * out.)
 */
int reel_find_stream_info(AVFormatContext *fc, enum AVMediaType type);

#endif
