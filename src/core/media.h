/*
 * Opening media files for one kind of stream.
 */
#ifndef REEL_CORE_MEDIA_H
#define REEL_CORE_MEDIA_H

#include <libavformat/avformat.h>

/*
 * avformat_find_stream_info for a reader of one kind of stream (audio or video): when the
 * container's header already describes a stream of that kind (codec, and rate and channels or
 * width and height), every other stream is discarded first, so that finding the stream
 * information decodes nothing the reader will not use (a clip's video frames for its sound).
 * Otherwise, as avformat_find_stream_info alone. Returns its result. (FFmpeg then notes, at its
 * warning level, which is reel's debug level, that it found no parameters for the streams left
 * out.)
 */
int reel_find_stream_info(AVFormatContext *fc, enum AVMediaType type);

#endif
