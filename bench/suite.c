/* The built-in bench jobs (bench/jobs/<name>.json) and what is measured beside each. */
#include <stddef.h>
#include <string.h>

#include "bench/internal.h"

const struct reel_bench_job reel_bench_suite[] = {
    {"w1-720", 720, true, true, false,
     "1280x720 10 s: clip A, clip B crossfading in, a moving logo with alpha, a title"},
    {"w1-1080", 1080, true, true, false, "w1 at 1920x1080"},
    {"layers-1080", 0, true, true, false,
     "1920x1080 10 s: 20 animated images, texts and shapes over a video"},
    {"uhd-2160", 0, true, true, true, "w1 at 3840x2160, 5 s (timeline compressed to fit)"},
    {"long-1080", 0, false, false, true, "w1-1080 repeated to 120 s: memory must stay flat"},
    {"text-cjk", 0, true, true, false,
     "1920x1080 20 s: 40 subtitle lines of shaped CJK and Arabic text over a video"},
    {NULL, 0, false, false, false, NULL},
};

const struct reel_bench_job *reel_bench_suite_find(const char *name)
{
    for (const struct reel_bench_job *j = reel_bench_suite; j->name; j++)
        if (!strcmp(j->name, name))
            return j;
    return NULL;
}
