#include <errno.h>
#include <stdbool.h>

#include "core/media.h"

static bool is_described(const AVCodecParameters *par, enum AVMediaType type)
{
    if (par->codec_type != type || par->codec_id == AV_CODEC_ID_NONE)
        return false;
    if (type == AVMEDIA_TYPE_AUDIO)
        return par->sample_rate > 0 && par->ch_layout.nb_channels > 0;
    return par->width > 0 && par->height > 0;
}

int reel_probe_stream_info(AVFormatContext *fc)
{
    AVDictionary **opts = av_calloc(fc->nb_streams ? fc->nb_streams : 1, sizeof(*opts));
    if (!opts)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        av_dict_set(&opts[i], "threads", "1", 0);
        av_dict_set(&opts[i], "skip_loop_filter", "all", 0);
    }
    int ret = avformat_find_stream_info(fc, opts);
    for (unsigned i = 0; i < fc->nb_streams; i++)
        av_dict_free(&opts[i]);
    av_free(opts);
    return ret;
}

int reel_find_stream_info(AVFormatContext *fc, enum AVMediaType type)
{
    bool any = false;
    for (unsigned i = 0; i < fc->nb_streams && !any; i++)
        any = is_described(fc->streams[i]->codecpar, type);
    for (unsigned i = 0; any && i < fc->nb_streams; i++)
        if (fc->streams[i]->codecpar->codec_type != type)
            fc->streams[i]->discard = AVDISCARD_ALL;
    return reel_probe_stream_info(fc);
}
