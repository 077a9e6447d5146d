/* Job parser and validator: a table of bad jobs (exact code and path of the first problem),
 * limits built programmatically, and positive checks of defaults, merge fields and value
 * parsers. Jobs are written with ' for " to keep the table readable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "timeline/parse.h"
#include "timeline/timeline.h"

#define BAD REEL_EINVALID_JOB
#define UNK REEL_EUNKNOWN_FIELD
#define LIM REEL_ELIMIT
#define SYN REEL_EINVALID_JSON

/* ' -> " (the returned buffer is static; one job at a time) */
static const char *q(const char *s)
{
    static char buf[65536];
    size_t n = strlen(s);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = s[i] == '\'' ? '"' : s[i];
    buf[n] = '\0';
    return buf;
}

static void dump_errs(const struct reel_errlist *e)
{
    for (size_t i = 0; i < e->count; i++)
        fprintf(stderr, "    %s at \"%s\": %s\n", reel_err_code_str(e->items[i].code),
                e->items[i].path, e->items[i].msg);
}

static int parse_with(const char *json, size_t len, const struct reel_parse_opts *opts,
                      struct reel_timeline **tl, struct reel_errlist *errs)
{
    memset(errs, 0, sizeof(*errs));
    return reel_timeline_parse(json, len, opts, tl, errs);
}

/* Parse (quotes translated) and check the first problem. */
static void expect_first(int line, const char *job, int code, const char *path,
                         const struct reel_parse_opts *opts)
{
    struct reel_errlist errs;
    struct reel_timeline *tl = (struct reel_timeline *)1;
    const char *json = q(job);
    int ret = parse_with(json, strlen(json), opts, &tl, &errs);
    bool ok = ret == -code && errs.count >= 1 && errs.items[0].code == code &&
              !strcmp(errs.items[0].path, path) && tl == NULL;
    CHECK_MSG(ok, "line %d: expected %s at \"%s\" for %s (got ret %d)", line,
              reel_err_code_str(code), path, job, ret);
    if (!ok)
        dump_errs(&errs);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
}

/* Parse raw text (no quote translation) and check that some problem has code and path. */
static void expect_has(int line, const char *json, size_t len, const struct reel_parse_opts *opts,
                       int code, const char *path)
{
    struct reel_errlist errs;
    struct reel_timeline *tl = NULL;
    int ret = parse_with(json, len, opts, &tl, &errs);
    bool found = false;
    for (size_t i = 0; i < errs.count; i++)
        found = found || (errs.items[i].code == code && !strcmp(errs.items[i].path, path));
    CHECK_MSG(ret < 0 && found && !tl, "line %d: expected %s at \"%s\"", line,
              reel_err_code_str(code), path);
    if (!found)
        dump_errs(&errs);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
}

static struct reel_timeline *parse_ok_opts(int line, const char *job,
                                           const struct reel_parse_opts *opts)
{
    struct reel_errlist errs;
    struct reel_timeline *tl = NULL;
    const char *json = q(job);
    int ret = parse_with(json, strlen(json), opts, &tl, &errs);
    CHECK_MSG(ret == 0 && tl && errs.count == 0, "line %d: expected success for %s", line, job);
    if (ret)
        dump_errs(&errs);
    reel_errlist_uninit(&errs);
    return tl;
}

#define EXPECT(job, code, path) expect_first(__LINE__, job, code, path, NULL)
#define PARSE_OK(job) parse_ok_opts(__LINE__, job, NULL)

struct bad_case {
    int line;
    const char *job;
    int code;
    const char *path;
};

#define C(job, code, path)        \
    {                             \
        __LINE__, job, code, path \
    }
#define COLOR_LAYER "{'type':'color','color':'#000'}"

static const struct bad_case bad_cases[] = {
    /* syntax */
    C("{", SYN, ""),
    C("{'layers': [}", SYN, ""),
    C("{'layers': []} x", SYN, ""),
    C("{'layers': [],}", SYN, ""),
    C("{'layers': [], 'output': {'width': 1280,, }}", SYN, ""),
    C("{'layers': [{'type': 'color' 'color': '#fff'}]}", SYN, ""),
    C("{'layers': [], 'engine': tru}", SYN, ""),
    /* the document */
    C("[1, 2]", BAD, ""),
    C("'just a string'", BAD, ""),
    C("{}", BAD, "layers"),
    C("{'layers': {}}", BAD, "layers"),
    C("{'layers': [], 'extra': 1}", UNK, "extra"),
    C("{'Layers': []}", UNK, "Layers"),
    C("{'layers': [], 'engine': 'vulkan'}", BAD, "engine"),
    C("{'layers': [], 'engine': 1}", BAD, "engine"),
    C("{'layers': [], 'data': [1]}", BAD, "data"),
    C("{'layers': [], 'output': 5}", BAD, "output"),
    C("{'layers': [], 'engine': 'cpu', 'engine': 'gl'}", BAD, "engine"),
    /* output */
    C("{'layers': [], 'output': {'width': 8000}}", LIM, "output.width"),
    C("{'layers': [], 'output': {'width': 1281}}", BAD, "output.width"),
    C("{'layers': [], 'output': {'width': 8}}", BAD, "output.width"),
    C("{'layers': [], 'output': {'width': 'wide'}}", BAD, "output.width"),
    C("{'layers': [], 'output': {'width': 1280.5}}", BAD, "output.width"),
    C("{'layers': [], 'output': {'height': 5000}}", LIM, "output.height"),
    C("{'layers': [], 'output': {'fps': 240}}", LIM, "output.fps"),
    C("{'layers': [], 'output': {'fps': 0}}", BAD, "output.fps"),
    C("{'layers': [], 'output': {'fps': 0.5}}", BAD, "output.fps"),
    C("{'layers': [], 'output': {'fps': '30/0'}}", BAD, "output.fps"),
    C("{'layers': [], 'output': {'fps': 'fast'}}", BAD, "output.fps"),
    C("{'layers': [], 'output': {'fps': '240/1'}}", LIM, "output.fps"),
    C("{'layers': [], 'output': {'fps': true}}", BAD, "output.fps"),
    C("{'layers': [], 'output': {'duration': 4000}}", LIM, "output.duration"),
    C("{'layers': [], 'output': {'duration': 0}}", BAD, "output.duration"),
    C("{'layers': [], 'output': {'duration': -5}}", BAD, "output.duration"),
    C("{'layers': [], 'output': {'duration': 1e999}}", BAD, "output.duration"),
    C("{'layers': [], 'output': {'duration': -1e999}}", BAD, "output.duration"),
    C("{'layers': [], 'output': {'format': 'avi'}}", BAD, "output.format"),
    C("{'layers': [], 'output': {'video_codec': 'vp9'}}", BAD, "output.video_codec"),
    C("{'layers': [], 'output': {'format': 'webm', 'video_codec': 'h264'}}", BAD,
      "output.video_codec"),
    C("{'layers': [], 'output': {'format': 'gif', 'video_codec': 'h264'}}", BAD,
      "output.video_codec"),
    C("{'layers': [], 'output': {'video_codec': 'av1'}}", BAD, "output.video_codec"),
    C("{'layers': [], 'output': {'quality': 52}}", BAD, "output.quality"),
    C("{'layers': [], 'output': {'quality': 20.5}}", BAD, "output.quality"),
    C("{'layers': [], 'output': {'preset': 'insane'}}", BAD, "output.preset"),
    C("{'layers': [], 'output': {'encoder': 'cuda'}}", BAD, "output.encoder"),
    C("{'layers': [], 'output': {'background': '#12345'}}", BAD, "output.background"),
    C("{'layers': [], 'output': {'background': 'red'}}", BAD, "output.background"),
    C("{'layers': [], 'output': {'background': '#ggg'}}", BAD, "output.background"),
    C("{'layers': [], 'output': {'audio': {'sample_rate': 4000}}}", BAD,
      "output.audio.sample_rate"),
    C("{'layers': [], 'output': {'audio': {'channels': 6}}}", BAD, "output.audio.channels"),
    C("{'layers': [], 'output': {'audio': {'codec': 'aac'}}}", UNK, "output.audio.codec"),
    C("{'layers': [], 'output': {'audio': 'stereo'}}", BAD, "output.audio"),
    C("{'layers': [], 'output': {'duration': 10, 'poster': 12}}", BAD, "output.poster"),
    C("{'layers': [], 'output': {'poster': -1}}", BAD, "output.poster"),
    C("{'layers': [], 'output': {'widht': 640}}", UNK, "output.widht"),
    /* layers: common */
    C("{'layers': [5]}", BAD, "layers[0]"),
    C("{'layers': [{'start': 1}]}", BAD, "layers[0].type"),
    C("{'layers': [{'type': null}]}", BAD, "layers[0].type"),
    C("{'layers': [{'type': 'gif'}]}", BAD, "layers[0].type"),
    C("{'layers': [{'type': 'video'}]}", BAD, "layers[0].src"),
    C("{'layers': [{'type': 'video', 'src': ''}]}", BAD, "layers[0].src"),
    C("{'layers': [{'type': 'image', 'src': 7}]}", BAD, "layers[0].src"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'start': -1}]}", BAD, "layers[0].start"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'duration': 0}]}", BAD, "layers[0].duration"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'duration': -2}]}", BAD,
      "layers[0].duration"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'duration': '5'}]}", BAD,
      "layers[0].duration"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'duration': 1e999}]}", BAD,
      "layers[0].duration"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'id': 5}]}", BAD, "layers[0].id"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'text': 'hi'}]}", UNK, "layers[0].text"),
    C("{'layers': [{'type': 'audio', 'src': 'a.wav', 'fit': 'cover'}]}", UNK, "layers[0].fit"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'fit': 'cover'}]}", UNK, "layers[0].fit"),
    C("{'layers': [{'type': 'color', 'colour': '#fff'}]}", UNK, "layers[0].colour"),
    C("{'layers': [{'type': 'audio', 'src': 'a.wav', 'transition': {}}]}", UNK,
      "layers[0].transition"),
    C("{'layers': [{'type': 'audio', 'src': 'a.wav', 'x': 5}]}", UNK, "layers[0].x"),
    C("{'layers': [{'type': 'color'}]}", BAD, "layers[0].color"),
    C("{'layers': [{'type': 'text'}]}", BAD, "layers[0].text"),
    C("{'layers': [{'type': 'shape', 'height': 10}]}", BAD, "layers[0].width"),
    C("{'layers': [{'type': 'shape', 'width': 10, 'height': 10, 'shape': 'triangle'}]}", BAD,
      "layers[0].shape"),
    C("{'layers': [{'type': 'shape', 'width': 10, 'height': 0}]}", BAD, "layers[0].height"),
    C("{'layers': [{'type': 'shape', 'shape': 'ellipse', 'width': 10, 'height': 10, "
      "'corner_radius': 3}]}",
      BAD, "layers[0].corner_radius"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'opacity': 1.5}]}", BAD, "layers[0].opacity"),
    C("{'layers': [{'type': 'video', 'src': 'a.mp4', 'speed': 8}]}", BAD, "layers[0].speed"),
    C("{'layers': [{'type': 'video', 'src': 'a.mp4', 'volume': 5}]}", BAD, "layers[0].volume"),
    C("{'layers': [{'type': 'video', 'src': 'a.mp4', 'loop': 'yes'}]}", BAD, "layers[0].loop"),
    C("{'layers': [{'type': 'video', 'src': 'a.mp4', 'deinterlace': 0}]}", BAD,
      "layers[0].deinterlace"),
    C("{'layers': [{'type': 'image', 'src': 'a.png', 'deinterlace': false}]}", UNK,
      "layers[0].deinterlace"),
    C("{'layers': [{'type': 'video', 'src': 'a.mp4', 'fit': 'stretch'}]}", BAD, "layers[0].fit"),
    C("{'layers': [{'type': 'video', 'src': 'a.mp4', 'trim': -3}]}", BAD, "layers[0].trim"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'scale': [1]}]}", BAD, "layers[0].scale"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'scale': [1, 'a']}]}", BAD,
      "layers[0].scale[1]"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'scale': -1}]}", BAD, "layers[0].scale"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'anchor': 0.5}]}", BAD, "layers[0].anchor"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'x': 1e999}]}", BAD, "layers[0].x"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'align': 'justify'}]}", BAD, "layers[0].align"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'color': '#12'}]}", BAD, "layers[0].color"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'font_size': 0}]}", BAD, "layers[0].font_size"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'font': ''}]}", BAD, "layers[0].font"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'stroke': {'color': '#000'}}]}", BAD,
      "layers[0].stroke.width"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'stroke': {'width': 2, 'blur': 1}}]}", UNK,
      "layers[0].stroke.blur"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'shadow': {'color': 'black'}}]}", BAD,
      "layers[0].shadow.color"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'background': {'padding': -1}}]}", BAD,
      "layers[0].background.padding"),
    C("{'layers': [{'type': 'audio', 'src': 'a.wav', 'duration': 2, 'fade_in': 3}]}", BAD,
      "layers[0].fade_in"),
    C("{'layers': [" COLOR_LAYER ", {'type': 'color', 'color': '#fff', 'id': 'a'}, "
      "{'type': 'color', 'color': '#fff', 'id': 'a'}]}",
      BAD, "layers[2].id"),
    C("{'output': {'duration': 5}, 'layers': [" COLOR_LAYER
      ", {'type': 'color', 'color': '#fff', 'start': 5}]}",
      BAD, "layers[1].start"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'start': 3000, 'duration': 700}]}", LIM,
      "layers[0].duration"),
    /* animation */
    C("{'layers': [" COLOR_LAYER ", {'type': 'color', 'color': '#fff', 'animate': {'opacity': "
      "[{'time': 0, 'value': 0}, {'time': 1, 'value': 1}, {'time': 0.5, 'value': 0}]}}]}",
      BAD, "layers[1].animate.opacity[2].time"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 1, 'value': 0}, {'time': 1, 'value': 1}]}}]}",
      BAD, "layers[0].animate.x[1].time"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'blur': []}}]}", UNK,
      "layers[0].animate.blur"),
    C("{'layers': [{'type': 'text', 'text': 'a', 'animate': {'volume': "
      "[{'time': 0, 'value': 1}]}}]}",
      UNK, "layers[0].animate.volume"),
    C("{'layers': [{'type': 'audio', 'src': 'a.wav', 'animate': {'x': "
      "[{'time': 0, 'value': 1}]}}]}",
      UNK, "layers[0].animate.x"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': [{'time': 0}]}}]}", BAD,
      "layers[0].animate.x[0].value"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': [{'value': 0}]}}]}", BAD,
      "layers[0].animate.x[0].time"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 0, 'value': 0, 'ease': 'linear'}]}}]}",
      UNK, "layers[0].animate.x[0].ease"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 0, 'value': 0, 'easing': 'bouncy'}]}}]}",
      BAD, "layers[0].animate.x[0].easing"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 0, 'value': 0, 'easing': 'cubic-bezier(1.2, 0, 0.5, 1)'}]}}]}",
      BAD, "layers[0].animate.x[0].easing"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 0, 'value': 0, 'easing': 'cubic-bezier(0.1, 0.2, 0.3)'}]}}]}",
      BAD, "layers[0].animate.x[0].easing"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 0, 'value': 0, 'easing': 'cubic-bezier(0.1, 0.2, 0.3, 0.4'}]}}]}",
      BAD, "layers[0].animate.x[0].easing"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'x': "
      "[{'time': 0, 'value': 0, 'easing': 'cubic-bezier(a, b, c, d)'}]}}]}",
      BAD, "layers[0].animate.x[0].easing"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'opacity': "
      "[{'time': 0, 'value': 2}]}}]}",
      BAD, "layers[0].animate.opacity[0].value"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'opacity': []}}]}", BAD,
      "layers[0].animate.opacity"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'opacity': {}}}]}", BAD,
      "layers[0].animate.opacity"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'opacity': "
      "[{'time': -1, 'value': 0}]}}]}",
      BAD, "layers[0].animate.opacity[0].time"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {'opacity': [3]}}]}", BAD,
      "layers[0].animate.opacity[0]"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'animate': []}]}", BAD, "layers[0].animate"),
    /* transitions */
    C("{'layers': [{'type': 'color', 'color': '#fff', 'transition': {'in': "
      "{'type': 'dissolve', 'duration': 1}}}]}",
      BAD, "layers[0].transition.in.type"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'transition': {'in': "
      "{'type': 'fade', 'duration': 0}}}]}",
      BAD, "layers[0].transition.in.duration"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'duration': 2, 'transition': {'out': "
      "{'type': 'fade', 'duration': 5}}}]}",
      BAD, "layers[0].transition.out.duration"),
    C("{'output': {'duration': 4}, 'layers': [{'type': 'color', 'color': '#fff', 'start': 3, "
      "'transition': {'in': {'type': 'radial', 'duration': 2}}}]}",
      BAD, "layers[0].transition.in.duration"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'transition': {'both': {}}}]}", UNK,
      "layers[0].transition.both"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'transition': {'in': "
      "{'duration': 1}}}]}",
      BAD, "layers[0].transition.in.type"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'transition': {'in': "
      "{'type': 'fade', 'duration': 1, 'easing': 'ease'}}}]}",
      BAD, "layers[0].transition.in.easing"),
    /* effects */
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': "
      "[{'type': 'brightness', 'value': 2}]}]}",
      BAD, "layers[0].effects[0].value"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': [{'type': 'brightness'}]}]}", BAD,
      "layers[0].effects[0].value"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': "
      "[{'type': 'invert'}, {'type': 'contrast', 'value': -1}]}]}",
      BAD, "layers[0].effects[1].value"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': "
      "[{'type': 'blur', 'sigma': 0}]}]}",
      BAD, "layers[0].effects[0].sigma"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': "
      "[{'type': 'blur', 'sigma': 200}]}]}",
      BAD, "layers[0].effects[0].sigma"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': [{'type': 'chroma-key'}]}]}", BAD,
      "layers[0].effects[0].color"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': "
      "[{'type': 'chroma-key', 'color': '#0f0', 'similarity': 2}]}]}",
      BAD, "layers[0].effects[0].similarity"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': [{'type': 'glow'}]}]}", BAD,
      "layers[0].effects[0].type"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': "
      "[{'type': 'sepia', 'value': 1}]}]}",
      UNK, "layers[0].effects[0].value"),
    C("{'layers': [{'type': 'color', 'color': '#fff', 'effects': {}}]}", BAD, "layers[0].effects"),
    /* merge fields */
    C("{'layers': [{'type': 'text', 'text': 'Hi {{name}}'}]}", BAD, "layers[0].text"),
    C("{'data': {'w': 'abc'}, 'output': {'width': '{{w}}'}, 'layers': []}", BAD, "output.width"),
    C("{'data': {'w': true}, 'output': {'width': '{{w}}'}, 'layers': []}", BAD, "output.width"),
    C("{'output': {'width': '{{w|abc}}'}, 'layers': []}", BAD, "output.width"),
    C("{'output': {'width': '{{w}}'}, 'layers': []}", BAD, "output.width"),
    C("{'layers': [{'type': 'text', 'text': 'Hi {{first name}}'}]}", BAD, "layers[0].text"),
    C("{'data': {'o': {'a': 1}}, 'layers': [{'type': 'text', 'text': 'x {{o}}'}]}", BAD,
      "layers[0].text"),
    C("{'data': {'c': 'purple'}, 'layers': [{'type': 'color', 'color': '{{c}}'}]}", BAD,
      "layers[0].color"),
    C("{'layers': [{'type': '{{kind}}'}]}", BAD, "layers[0].type"),
};

static void test_bad_table(void)
{
    size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
    CHECK(n >= 70);
    for (size_t i = 0; i < n; i++)
        expect_first(bad_cases[i].line, bad_cases[i].job, bad_cases[i].code, bad_cases[i].path,
                     NULL);
}

static void test_bad_programmatic(void)
{
    struct reel_limits lim;
    struct reel_parse_opts opts = {.limits = &lim};
    size_t cap = 64 * 1024;
    char *buf = malloc(cap);
    size_t n;

    /* empty body */
    expect_has(__LINE__, "", 0, NULL, SYN, "");

    /* a NUL inside the body */
    expect_has(__LINE__, "{\"layers\":[]}\0", 14, NULL, SYN, "");

    /* 501 layers */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[");
    for (int i = 0; i < 501; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s{\"type\":\"color\",\"color\":\"#fff\"}",
                              i ? "," : "");
    n += (size_t)snprintf(buf + n, cap - n, "]}");
    expect_has(__LINE__, buf, n, NULL, LIM, "layers");

    /* 500 layers are fine */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s{\"type\":\"color\",\"color\":\"#fff\"}",
                              i ? "," : "");
    n += (size_t)snprintf(buf + n, cap - n, "]}");
    {
        struct reel_errlist errs;
        struct reel_timeline *tl = NULL;
        CHECK_INT_EQ(parse_with(buf, n, NULL, &tl, &errs), 0);
        CHECK(tl && tl->n_layers == 500);
        reel_timeline_destroy(&tl);
        reel_errlist_uninit(&errs);
    }

    /* text of 10001 characters (two-byte characters count once each) */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[{\"type\":\"text\",\"text\":\"");
    for (int i = 0; i < 10001; i++)
        n += (size_t)snprintf(buf + n, cap - n, i % 2 ? "\xc3\xa9" : "a");
    n += (size_t)snprintf(buf + n, cap - n, "\"}]}");
    expect_has(__LINE__, buf, n, NULL, LIM, "layers[0].text");
    /* 10000 pass */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[{\"type\":\"text\",\"text\":\"");
    for (int i = 0; i < 10000; i++)
        n += (size_t)snprintf(buf + n, cap - n, i % 2 ? "\xc3\xa9" : "a");
    n += (size_t)snprintf(buf + n, cap - n, "\"}]}");
    {
        struct reel_errlist errs;
        struct reel_timeline *tl = NULL;
        CHECK_INT_EQ(parse_with(buf, n, NULL, &tl, &errs), 0);
        CHECK(tl && tl->layers[0].text.text && strlen(tl->layers[0].text.text) == 15000);
        reel_timeline_destroy(&tl);
        reel_errlist_uninit(&errs);
    }

    /* invalid UTF-8 in a string */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[{\"type\":\"text\",\"text\":\"a\xff\"}]}");
    expect_has(__LINE__, buf, n, NULL, BAD, "layers[0].text");

    /* nesting depth 40 in data (the root object is level 1) */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[],\"data\":{\"x\":");
    for (int i = 0; i < 38; i++)
        buf[n++] = '[';
    for (int i = 0; i < 38; i++)
        buf[n++] = ']';
    n += (size_t)snprintf(buf + n, cap - n, "}}");
    expect_has(__LINE__, buf, n, NULL, LIM, "");
    /* depth exactly 32 passes */
    n = (size_t)snprintf(buf, cap, "{\"layers\":[],\"data\":{\"x\":");
    for (int i = 0; i < 30; i++)
        buf[n++] = '[';
    for (int i = 0; i < 30; i++)
        buf[n++] = ']';
    n += (size_t)snprintf(buf + n, cap - n, "}}");
    {
        struct reel_errlist errs;
        struct reel_timeline *tl = NULL;
        CHECK_INT_EQ(parse_with(buf, n, NULL, &tl, &errs), 0);
        reel_timeline_destroy(&tl);
        reel_errlist_uninit(&errs);
    }
    /* the same depth check on an already parsed tree */
    {
        cJSON *root = cJSON_Parse("{\"layers\":[],\"data\":{\"x\":[[[[[[1]]]]]]}}");
        struct reel_errlist errs = {0};
        struct reel_timeline *tl = NULL;
        reel_limits_default(&lim);
        lim.max_json_depth = 5;
        CHECK_INT_EQ(reel_timeline_from_json(root, &opts, &tl, &errs), -LIM);
        CHECK(errs.count == 1 && errs.items[0].code == LIM && !strcmp(errs.items[0].path, ""));
        CHECK(tl == NULL);
        reel_errlist_uninit(&errs);
        cJSON_Delete(root);
    }

    /* too many keyframes, with a limit of 5: the sixth keyframe crosses it */
    reel_limits_default(&lim);
    lim.max_keyframes = 5;
    const char *kf = q("{'layers': [{'type': 'color', 'color': '#fff', 'animate': {"
                       "'x': [{'time': 0, 'value': 0}, {'time': 1, 'value': 1}, "
                       "{'time': 2, 'value': 0}, {'time': 3, 'value': 1}], "
                       "'y': [{'time': 0, 'value': 0}, {'time': 1, 'value': 1}, "
                       "{'time': 2, 'value': 0}]}}]}");
    expect_has(__LINE__, kf, strlen(kf), &opts, LIM, "layers[0].animate.y[1]");
    expect_first(__LINE__,
                 "{'layers': [{'type': 'color', 'color': '#fff', 'animate': {"
                 "'x': [{'time': 0, 'value': 0}, {'time': 1, 'value': 1}, "
                 "{'time': 2, 'value': 0}, {'time': 3, 'value': 1}], "
                 "'y': [{'time': 0, 'value': 0}, {'time': 1, 'value': 1}, "
                 "{'time': 2, 'value': 0}]}}]}",
                 LIM, "layers[0].animate.y[1]", &opts);

    /* body over a (reduced) size limit */
    reel_limits_default(&lim);
    lim.max_body_bytes = 16;
    const char *big = "{\"layers\":[], \"engine\":\"auto\"}";
    expect_has(__LINE__, big, strlen(big), &opts, REEL_ETOO_LARGE, "");

    /* merging may not blow a small job up past 4 times the body limit */
    {
        size_t vlen = 100 * 1000;
        char *val = malloc(vlen + 1);
        memset(val, 'v', vlen);
        val[vlen] = '\0';
        cJSON *data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "v", val);
        free(val);
        struct reel_parse_opts mo = {.data = data};
        n = (size_t)snprintf(buf, cap, "{\"layers\":[{\"type\":\"text\",\"text\":\"");
        for (int i = 0; i < 50; i++)
            n += (size_t)snprintf(buf + n, cap - n, "{{v}}");
        n += (size_t)snprintf(buf + n, cap - n, "\"}]}");
        expect_has(__LINE__, buf, n, &mo, LIM, "layers[0].text");
        cJSON_Delete(data);
    }

    /* reduced output limits apply */
    reel_limits_default(&lim);
    lim.max_width = 1920;
    lim.max_fps = 60;
    expect_first(__LINE__, "{'layers': [], 'output': {'width': 2560}}", LIM, "output.width", &opts);
    expect_first(__LINE__, "{'layers': [], 'output': {'fps': '120000/1001'}}", LIM, "output.fps",
                 &opts);

    free(buf);
}

static void test_all_problems(void)
{
    const char *json = q("{'output': {'width': 1281, 'fps': 500}, 'layers': ["
                         "{'type': 'color', 'color': '#fff', 'colour': '#000'}]}");
    struct reel_errlist errs;
    struct reel_timeline *tl = NULL;
    int ret = parse_with(json, strlen(json), NULL, &tl, &errs);
    CHECK_INT_EQ(ret, -BAD);
    CHECK_INT_EQ(errs.count, 3);
    if (errs.count == 3) {
        CHECK_INT_EQ(errs.items[0].code, BAD);
        CHECK_STR_EQ(errs.items[0].path, "output.width");
        CHECK_INT_EQ(errs.items[1].code, LIM);
        CHECK_STR_EQ(errs.items[1].path, "output.fps");
        CHECK_INT_EQ(errs.items[2].code, UNK);
        CHECK_STR_EQ(errs.items[2].path, "layers[0].colour");
    }
    CHECK(tl == NULL);
    reel_errlist_uninit(&errs);

    /* an unknown merge field is reported once, not again as a type error */
    json = q("{'output': {'width': '{{w}}'}, 'layers': []}");
    ret = parse_with(json, strlen(json), NULL, &tl, &errs);
    CHECK_INT_EQ(errs.count, 1);
    CHECK(errs.count && strstr(errs.items[0].msg, "\"w\"") != NULL);
    reel_errlist_uninit(&errs);

    /* a syntax error names its byte offset */
    json = "{\"layers\": [}";
    ret = parse_with(json, strlen(json), NULL, &tl, &errs);
    CHECK_INT_EQ(ret, -SYN);
    CHECK(errs.count == 1 && strstr(errs.items[0].msg, "byte 12") != NULL);
    if (errs.count)
        fprintf(stderr, "  (syntax message: %s)\n", errs.items[0].msg);
    reel_errlist_uninit(&errs);
}

static void test_defaults(void)
{
    struct reel_timeline *tl =
        PARSE_OK("{'layers': [{'type': 'color', 'color': '#ff0000'},"
                 " {'type': 'video', 'src': 'clips/a.mp4'},"
                 " {'type': 'text', 'text': 'hello'},"
                 " {'type': 'shape', 'width': 100, 'height': 50},"
                 " {'type': 'audio', 'src': 'a.wav'},"
                 " {'type': 'image', 'src': 'i.png', 'scale': [2, 0.5]},"
                 " {'type': 'color', 'color': '#000', 'effects': [{'type': 'chroma-key', "
                 "'color': '#00ff00'}]}]}");
    if (!tl)
        return;
    const struct reel_output *o = &tl->out;
    CHECK_INT_EQ(o->width, 1280);
    CHECK_INT_EQ(o->height, 720);
    CHECK_INT_EQ(o->fps_num, 30);
    CHECK_INT_EQ(o->fps_den, 1);
    CHECK(!o->has_duration);
    CHECK_INT_EQ(o->duration_us, 0);
    CHECK_INT_EQ(o->format, REEL_FORMAT_MP4);
    CHECK_INT_EQ(o->codec, REEL_CODEC_H264);
    CHECK_INT_EQ(o->quality, 23);
    CHECK_INT_EQ(o->preset, REEL_PRESET_VERYFAST);
    CHECK_INT_EQ(o->encoder, REEL_ENCPREF_AUTO);
    CHECK(o->background.r == 0 && o->background.g == 0 && o->background.b == 0 &&
          o->background.a == 255);
    CHECK_INT_EQ(o->audio_sample_rate, 48000);
    CHECK_INT_EQ(o->audio_channels, 2);
    CHECK_INT_EQ(o->audio_bitrate, 128000);
    CHECK(!o->has_poster);
    CHECK_INT_EQ(tl->engine, REEL_ENGPREF_AUTO);
    CHECK(tl->base_dir == NULL);
    CHECK_INT_EQ(tl->n_layers, 7);

    const struct reel_layer *c = &tl->layers[0];
    CHECK_INT_EQ(c->type, REEL_LAYER_COLOR);
    CHECK_INT_EQ(c->index, 0);
    CHECK_STR_EQ(c->path, "layers[0]");
    CHECK(c->id == NULL);
    CHECK_INT_EQ(c->start_us, 0);
    CHECK_INT_EQ(c->duration_us, 0);
    CHECK(!c->has_duration);
    CHECK_NEAR(c->x, 640, 0);
    CHECK_NEAR(c->y, 360, 0);
    CHECK_NEAR(c->anchor_x, 0.5, 0);
    CHECK_NEAR(c->anchor_y, 0.5, 0);
    CHECK_NEAR(c->width, 0, 0);
    CHECK_INT_EQ(c->fit, REEL_FIT_COVER);
    CHECK_NEAR(c->scale, 1, 0);
    CHECK_NEAR(c->scale_x, 1, 0);
    CHECK_NEAR(c->scale_y, 1, 0);
    CHECK_NEAR(c->rotation_deg, 0, 0);
    CHECK_NEAR(c->opacity, 1, 0);
    CHECK(c->color.r == 255 && c->color.g == 0 && c->color.b == 0 && c->color.a == 255);
    CHECK(c->tr_in.type == REEL_TR_NONE && c->tr_out.type == REEL_TR_NONE);
    CHECK(c->n_effects == 0 && c->effects == NULL);
    for (int p = 0; p < REEL_PROP_COUNT; p++)
        CHECK(c->anim[p].n_keys == 0 && c->anim[p].keys == NULL);

    const struct reel_layer *v = &tl->layers[1];
    CHECK_STR_EQ(v->src, "clips/a.mp4");
    CHECK_NEAR(v->speed, 1, 0);
    CHECK_NEAR(v->volume, 1, 0);
    CHECK(!v->loop);
    CHECK(!v->no_deinterlace);
    CHECK_INT_EQ(v->trim_us, 0);

    const struct reel_layer *t = &tl->layers[2];
    CHECK_STR_EQ(t->text.text, "hello");
    CHECK_STR_EQ(t->text.font, "DejaVu Sans");
    CHECK(!t->text.font_is_file);
    CHECK_NEAR(t->text.font_size, 48, 0);
    CHECK(t->text.color.r == 255 && t->text.color.g == 255 && t->text.color.b == 255 &&
          t->text.color.a == 255);
    CHECK_INT_EQ(t->text.align, REEL_ALIGN_CENTER);
    CHECK_NEAR(t->text.line_height, 1.2, 1e-12);
    CHECK_NEAR(t->text.max_width, 0, 0);
    CHECK(!t->text.stroke.enabled && !t->text.has_shadow && !t->text.has_background);

    const struct reel_layer *s = &tl->layers[3];
    CHECK_INT_EQ(s->shape.kind, REEL_SHAPE_RECT);
    CHECK(s->shape.fill.r == 255 && s->shape.fill.g == 255 && s->shape.fill.b == 255 &&
          s->shape.fill.a == 255);
    CHECK_NEAR(s->width, 100, 0);
    CHECK_NEAR(s->height, 50, 0);

    const struct reel_layer *a = &tl->layers[4];
    CHECK_INT_EQ(a->type, REEL_LAYER_AUDIO);
    CHECK_NEAR(a->volume, 1, 0);
    CHECK_INT_EQ(a->fade_in_us, 0);

    const struct reel_layer *im = &tl->layers[5];
    CHECK_NEAR(im->scale, 1, 0);
    CHECK_NEAR(im->scale_x, 2, 0);
    CHECK_NEAR(im->scale_y, 0.5, 0);

    const struct reel_layer *k = &tl->layers[6];
    CHECK_INT_EQ(k->n_effects, 1);
    if (k->n_effects == 1) {
        CHECK_INT_EQ(k->effects[0].type, REEL_FX_CHROMA_KEY);
        CHECK(k->effects[0].color.g == 255 && k->effects[0].color.r == 0);
        CHECK_NEAR(k->effects[0].similarity, 0.1, 0);
        CHECK_NEAR(k->effects[0].smoothness, 0.1, 0);
    }
    reel_timeline_destroy(&tl);
    CHECK(tl == NULL);
    reel_timeline_destroy(&tl); /* NULL is fine */
}

static void test_output_fields(void)
{
    struct reel_timeline *tl =
        PARSE_OK("{'output': {'width': 640, 'height': 360, 'fps': '30000/1001', 'duration': 10,"
                 " 'format': 'mov', 'video_codec': 'hevc', 'quality': 0, 'preset': 'slow',"
                 " 'encoder': 'software', 'background': '#11223344',"
                 " 'audio': {'sample_rate': 44100, 'channels': 1, 'bitrate': 96000},"
                 " 'poster': 2.5}, 'engine': 'cpu',"
                 " 'layers': [{'type': 'color', 'color': '#fff', 'start': 2},"
                 " {'type': 'video', 'src': 'a.mp4', 'start': 1},"
                 " {'type': 'image', 'src': 'b.png', 'start': 1.1, 'duration': 3}]}");
    if (tl) {
        CHECK_INT_EQ(tl->out.width, 640);
        CHECK_INT_EQ(tl->out.height, 360);
        CHECK_INT_EQ(tl->out.fps_num, 30000);
        CHECK_INT_EQ(tl->out.fps_den, 1001);
        CHECK(tl->out.has_duration);
        CHECK_INT_EQ(tl->out.duration_us, 10000000);
        CHECK_INT_EQ(tl->out.format, REEL_FORMAT_MOV);
        CHECK_INT_EQ(tl->out.codec, REEL_CODEC_HEVC);
        CHECK_INT_EQ(tl->out.quality, 0);
        CHECK_INT_EQ(tl->out.preset, REEL_PRESET_SLOW);
        CHECK_INT_EQ(tl->out.encoder, REEL_ENCPREF_SOFTWARE);
        CHECK(tl->out.background.r == 0x11 && tl->out.background.a == 0x44);
        CHECK_INT_EQ(tl->out.audio_sample_rate, 44100);
        CHECK_INT_EQ(tl->out.audio_channels, 1);
        CHECK_INT_EQ(tl->out.audio_bitrate, 96000);
        CHECK(tl->out.has_poster);
        CHECK_INT_EQ(tl->out.poster_us, 2500000);
        CHECK_INT_EQ(tl->engine, REEL_ENGPREF_CPU);
        /* x/y defaults follow the output size */
        CHECK_NEAR(tl->layers[0].x, 320, 0);
        CHECK_NEAR(tl->layers[0].y, 180, 0);
        /* non-media layers without a duration run to the end of the output */
        CHECK_INT_EQ(tl->layers[0].duration_us, 8000000);
        CHECK(!tl->layers[0].has_duration);
        /* media length is left for resolve */
        CHECK_INT_EQ(tl->layers[1].duration_us, 0);
        CHECK(!tl->layers[1].has_duration);
        CHECK_INT_EQ(tl->layers[2].start_us, 1100000);
        CHECK_INT_EQ(tl->layers[2].duration_us, 3000000);
        CHECK(tl->layers[2].has_duration);
        reel_timeline_destroy(&tl);
    }

    static const struct {
        const char *job;
        int num, den;
    } fps[] = {
        {"{'output': {'fps': 25}, 'layers': []}", 25, 1},
        {"{'output': {'fps': 29.97}, 'layers': []}", 2997, 100},
        {"{'output': {'fps': 23.976}, 'layers': []}", 2997, 125},
        {"{'output': {'fps': '60/2'}, 'layers': []}", 30, 1},
        {"{'output': {'fps': '24'}, 'layers': []}", 24, 1},
        {"{'output': {'fps': ' 24000 / 1001 '}, 'layers': []}", 24000, 1001},
        {"{'output': {'fps': 120}, 'layers': []}", 120, 1},
        {"{'output': {'fps': 1}, 'layers': []}", 1, 1},
        {"{'output': {'fps': 59.94005994}, 'layers': []}", 60000, 1001},
    };
    for (size_t i = 0; i < sizeof(fps) / sizeof(fps[0]); i++) {
        tl = PARSE_OK(fps[i].job);
        if (!tl)
            continue;
        CHECK_MSG(tl->out.fps_num == fps[i].num && tl->out.fps_den == fps[i].den, "%s -> %d/%d",
                  fps[i].job, tl->out.fps_num, tl->out.fps_den);
        reel_timeline_destroy(&tl);
    }

    static const struct {
        const char *job;
        enum reel_codec codec;
    } codecs[] = {
        {"{'output': {'format': 'webm'}, 'layers': []}", REEL_CODEC_VP9},
        {"{'output': {'format': 'gif'}, 'layers': []}", REEL_CODEC_GIF},
        {"{'output': {'format': 'gif', 'video_codec': 'gif'}, 'layers': []}", REEL_CODEC_GIF},
        {"{'output': {'format': 'mov'}, 'layers': []}", REEL_CODEC_H264},
        {"{'output': {'format': 'webm', 'video_codec': 'vp9'}, 'layers': []}", REEL_CODEC_VP9},
    };
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        tl = PARSE_OK(codecs[i].job);
        if (!tl)
            continue;
        CHECK_MSG(tl->out.codec == codecs[i].codec, "%s", codecs[i].job);
        reel_timeline_destroy(&tl);
    }

    /* times round to the nearest microsecond; null means absent */
    tl = PARSE_OK("{'output': {'duration': null}, 'layers': [{'type': 'color', 'color': '#fff',"
                  " 'start': 0.0000015, 'duration': 2.0000004, 'opacity': null}]}");
    if (tl) {
        CHECK_INT_EQ(tl->layers[0].start_us, 2);
        CHECK_INT_EQ(tl->layers[0].duration_us, 2000000);
        CHECK_NEAR(tl->layers[0].opacity, 1, 0);
        CHECK(!tl->out.has_duration);
        reel_timeline_destroy(&tl);
    }

    /* base_dir is copied */
    struct reel_parse_opts opts = {.base_dir = "/jobs/x"};
    tl = parse_ok_opts(__LINE__, "{'layers': []}", &opts);
    if (tl) {
        CHECK_STR_EQ(tl->base_dir, "/jobs/x");
        CHECK(tl->base_dir != opts.base_dir);
        CHECK_INT_EQ(tl->n_layers, 0);
        reel_timeline_destroy(&tl);
    }
}

static void test_layer_fields(void)
{
    struct reel_timeline *tl = PARSE_OK(
        "{'output': {'duration': 10}, 'layers': ["
        "{'type': 'text', 'id': 'title', 'text': 'A\\nB', 'font': 'Noto Sans', 'font_size': 64,"
        " 'color': '#abc', 'align': 'left', 'line_height': 1.5, 'max_width': 800,"
        " 'stroke': {'color': '#ff0000', 'width': 3}, 'shadow': {'x': 4},"
        " 'background': {'color': '#00000080', 'padding': 12},"
        " 'x': 10, 'y': -20, 'anchor': [0, 1], 'rotation': -45, 'opacity': 0.25, 'scale': 2,"
        " 'animate': {'opacity': [{'time': 0, 'value': 0},"
        "   {'time': 0.5, 'value': 1, 'easing': 'ease-out'},"
        "   {'time': 1, 'value': 0.5, 'easing': 'cubic-bezier(0.25, 0.1, 0.25, 1)'}],"
        "  'x': [{'time': 2, 'value': 100, 'easing': 'hold'}]},"
        " 'transition': {'in': {'type': 'wipe-left', 'duration': 0.5},"
        "   'out': {'type': 'circle-close', 'duration': 1, 'easing': 'ease-in-out'}},"
        " 'effects': [{'type': 'brightness', 'value': -0.5}, {'type': 'blur', 'sigma': 2.5},"
        "   {'type': 'grayscale'}, {'type': 'saturation', 'value': 4}]},"
        "{'type': 'video', 'src': 'v.mp4', 'trim': 1.5, 'speed': 0.25, 'loop': true,"
        " 'deinterlace': false, 'volume': 0, 'fit': 'none', 'width': 320, 'height': 240,"
        " 'animate': {'volume': [{'time': 0, 'value': 0}, {'time': 1, 'value': 4}]}},"
        "{'type': 'shape', 'shape': 'ellipse', 'width': 30, 'height': 20, 'fill': '#0000ff',"
        " 'stroke': {'width': 1}},"
        "{'type': 'audio', 'src': 'music.mp3', 'fade_in': 1, 'fade_out': 2, 'duration': 5,"
        " 'loop': false, 'volume': 0.5}]}");
    if (!tl)
        return;
    const struct reel_layer *t = &tl->layers[0];
    CHECK_STR_EQ(t->id, "title");
    CHECK_STR_EQ(t->text.text, "A\nB");
    CHECK_STR_EQ(t->text.font, "Noto Sans");
    CHECK_NEAR(t->text.font_size, 64, 0);
    CHECK(t->text.color.r == 0xaa && t->text.color.g == 0xbb && t->text.color.b == 0xcc);
    CHECK_INT_EQ(t->text.align, REEL_ALIGN_LEFT);
    CHECK_NEAR(t->text.line_height, 1.5, 0);
    CHECK_NEAR(t->text.max_width, 800, 0);
    CHECK(t->text.stroke.enabled && t->text.stroke.color.r == 255 && t->text.stroke.width == 3);
    CHECK(t->text.has_shadow && t->text.shadow_x == 4 && t->text.shadow_y == 2 &&
          t->text.shadow_color.a == 255 && t->text.shadow_color.r == 0);
    CHECK(t->text.has_background && t->text.background_color.a == 0x80 &&
          t->text.background_padding == 12);
    CHECK_NEAR(t->x, 10, 0);
    CHECK_NEAR(t->y, -20, 0);
    CHECK_NEAR(t->anchor_x, 0, 0);
    CHECK_NEAR(t->anchor_y, 1, 0);
    CHECK_NEAR(t->rotation_deg, -45, 0);
    CHECK_NEAR(t->opacity, 0.25, 0);
    CHECK_NEAR(t->scale, 2, 0);
    CHECK_NEAR(t->scale_x, 1, 0);
    CHECK_INT_EQ(t->duration_us, 10000000);

    const struct reel_anim *op = &t->anim[REEL_PROP_OPACITY];
    CHECK_INT_EQ(op->n_keys, 3);
    if (op->n_keys == 3) {
        CHECK_INT_EQ(op->keys[0].time_us, 0);
        CHECK_INT_EQ(op->keys[0].easing.kind, REEL_EASE_LINEAR);
        CHECK_INT_EQ(op->keys[1].time_us, 500000);
        CHECK_NEAR(op->keys[1].value, 1, 0);
        CHECK_INT_EQ(op->keys[1].easing.kind, REEL_EASE_OUT);
        CHECK_INT_EQ(op->keys[2].easing.kind, REEL_EASE_CUBIC_BEZIER);
        CHECK_NEAR(op->keys[2].easing.x1, 0.25, 0);
        CHECK_NEAR(op->keys[2].easing.y1, 0.1, 0);
        CHECK_NEAR(op->keys[2].easing.x2, 0.25, 0);
        CHECK_NEAR(op->keys[2].easing.y2, 1, 0);
    }
    CHECK_INT_EQ(t->anim[REEL_PROP_X].n_keys, 1);
    if (t->anim[REEL_PROP_X].n_keys == 1) {
        CHECK_INT_EQ(t->anim[REEL_PROP_X].keys[0].time_us, 2000000);
        CHECK_INT_EQ(t->anim[REEL_PROP_X].keys[0].easing.kind, REEL_EASE_HOLD);
    }
    CHECK_INT_EQ(t->anim[REEL_PROP_Y].n_keys, 0);
    CHECK_INT_EQ(t->tr_in.type, REEL_TR_WIPE_LEFT);
    CHECK_INT_EQ(t->tr_in.duration_us, 500000);
    CHECK_INT_EQ(t->tr_in.easing.kind, REEL_EASE_LINEAR);
    CHECK_INT_EQ(t->tr_out.type, REEL_TR_CIRCLE_CLOSE);
    CHECK_INT_EQ(t->tr_out.easing.kind, REEL_EASE_IN_OUT);
    CHECK_INT_EQ(t->n_effects, 4);
    if (t->n_effects == 4) {
        CHECK_INT_EQ(t->effects[0].type, REEL_FX_BRIGHTNESS);
        CHECK_NEAR(t->effects[0].value, -0.5, 0);
        CHECK_INT_EQ(t->effects[1].type, REEL_FX_BLUR);
        CHECK_NEAR(t->effects[1].sigma, 2.5, 0);
        CHECK_INT_EQ(t->effects[2].type, REEL_FX_GRAYSCALE);
        CHECK_INT_EQ(t->effects[3].type, REEL_FX_SATURATION);
        CHECK_NEAR(t->effects[3].value, 4, 0);
    }

    const struct reel_layer *v = &tl->layers[1];
    CHECK_INT_EQ(v->trim_us, 1500000);
    CHECK_NEAR(v->speed, 0.25, 0);
    CHECK(v->loop);
    CHECK(v->no_deinterlace);
    CHECK_NEAR(v->volume, 0, 0);
    CHECK_INT_EQ(v->fit, REEL_FIT_NATURAL);
    CHECK_NEAR(v->width, 320, 0);
    CHECK_INT_EQ(v->anim[REEL_PROP_VOLUME].n_keys, 2);
    CHECK_INT_EQ(v->duration_us, 0);

    const struct reel_layer *s = &tl->layers[2];
    CHECK_INT_EQ(s->shape.kind, REEL_SHAPE_ELLIPSE);
    CHECK(s->shape.fill.b == 255 && s->shape.fill.r == 0);
    CHECK(s->shape.stroke.enabled && s->shape.stroke.width == 1 && s->shape.stroke.color.r == 0 &&
          s->shape.stroke.color.a == 255);

    const struct reel_layer *a = &tl->layers[3];
    CHECK_INT_EQ(a->fade_in_us, 1000000);
    CHECK_INT_EQ(a->fade_out_us, 2000000);
    CHECK_NEAR(a->volume, 0.5, 0);
    CHECK(a->has_duration && a->duration_us == 5000000);
    reel_timeline_destroy(&tl);
}

static void test_merge(void)
{
    /* typed replacement, defaults, text, nested names */
    struct reel_timeline *tl = PARSE_OK(
        "{'data': {'w': 640, 'title': 'Hello', 'n': 0.1, 'yes': true, 'none': null,"
        "          'user': {'name': 'Ada', 'tags': ['x', 'y']}, 'user.name': 'Flat', 'd': 3,"
        "          'count': 42, 'stroke': {'width': 2}},"
        " 'output': {'width': '{{w}}', 'height': '{{h|360}}', 'fps': '{{fps|25}}',"
        "            'duration': '{{ d }}', 'format': '{{fmt|mp4}}'},"
        " 'layers': ["
        "  {'type': 'text', 'text': '{{title}}, {{user.name}}! n={{n}} {{yes}} [{{none}}]'},"
        "  {'type': 'text', 'text': '{{count}}', 'stroke': '{{stroke}}'},"
        "  {'type': 'text', 'text': '{{user.tags.1}} {{missing|fallback text}} {{x|}}.'},"
        "  {'type': 'video', 'src': 'clips/{{title}}.mp4', 'loop': '{{loop|true}}'},"
        "  {'type': 'text', 'text': 'unclosed {{ brace', 'font': 'Sans {{w}}px'}]}");
    if (tl) {
        CHECK_INT_EQ(tl->out.width, 640);
        CHECK_INT_EQ(tl->out.height, 360);
        CHECK_INT_EQ(tl->out.fps_num, 25);
        CHECK_INT_EQ(tl->out.duration_us, 3000000);
        CHECK_STR_EQ(tl->layers[0].text.text, "Hello, Flat! n=0.1 true []");
        CHECK_STR_EQ(tl->layers[1].text.text, "42");
        CHECK(tl->layers[1].text.stroke.enabled && tl->layers[1].text.stroke.width == 2);
        CHECK_STR_EQ(tl->layers[2].text.text, "y fallback text .");
        CHECK_STR_EQ(tl->layers[3].src, "clips/Hello.mp4");
        CHECK(tl->layers[3].loop);
        CHECK_STR_EQ(tl->layers[4].text.text, "unclosed {{ brace");
        CHECK_STR_EQ(tl->layers[4].text.font, "Sans 640px");
        CHECK_NEAR(tl->layers[0].x, 320, 0);
        reel_timeline_destroy(&tl);
    }

    /* the caller's data overrides the job's, and the caller's tree is left as it was */
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "title", "Override");
    cJSON_AddNumberToObject(data, "w", 1920);
    struct reel_parse_opts opts = {.data = data};
    const char *job = "{\"data\": {\"title\": \"Job\", \"w\": 640},"
                      " \"output\": {\"width\": \"{{w}}\"},"
                      " \"layers\": [{\"type\": \"text\", \"text\": \"{{title}} {{w}}\"}]}";
    cJSON *root = cJSON_Parse(job);
    char *before = cJSON_PrintUnformatted(root);
    struct reel_errlist errs = {0};
    CHECK_INT_EQ(reel_timeline_from_json(root, &opts, &tl, &errs), 0);
    if (tl) {
        CHECK_INT_EQ(tl->out.width, 1920);
        CHECK_STR_EQ(tl->layers[0].text.text, "Override 1920");
        reel_timeline_destroy(&tl);
    }
    char *after = cJSON_PrintUnformatted(root);
    CHECK_STR_EQ(after, before);
    free(before);
    free(after);
    cJSON_Delete(root);
    reel_errlist_uninit(&errs);

    /* a string from the caller's data (as --data k=v gives) stands for a number where the
     * field wants one, when it is exactly a number */
    cJSON_Delete(data);
    data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "w", "640");
    cJSON_AddStringToObject(data, "h", "360px");
    cJSON_AddStringToObject(data, "loop", "true");
    opts.data = data;
    tl = parse_ok_opts(__LINE__,
                       "{'output': {'width': '{{w}}'}, 'layers': [{'type': 'video', 'src': 'a',"
                       " 'loop': '{{loop}}'}, {'type': 'text', 'text': '{{w}}'}]}",
                       &opts);
    if (tl) {
        CHECK_INT_EQ(tl->out.width, 640);
        CHECK(tl->layers[0].loop);
        CHECK_STR_EQ(tl->layers[1].text.text, "640");
        reel_timeline_destroy(&tl);
    }
    expect_first(__LINE__, "{'output': {'height': '{{h}}'}, 'layers': []}", BAD, "output.height",
                 &opts);
    /* a literal string is never a number */
    expect_first(__LINE__, "{'output': {'height': '360'}, 'layers': []}", BAD, "output.height",
                 NULL);
    /* caller's data must be an object */
    cJSON_Delete(data);
    data = cJSON_CreateArray();
    opts.data = data;
    expect_first(__LINE__, "{'layers': []}", BAD, "data", &opts);
    cJSON_Delete(data);

    /* data values are not merged themselves, and replacements are not scanned again */
    tl = PARSE_OK("{'data': {'a': '{{b}}', 'b': 'x'},"
                  " 'layers': [{'type': 'text', 'text': '{{a}}'}]}");
    if (tl) {
        CHECK_STR_EQ(tl->layers[0].text.text, "{{b}}");
        reel_timeline_destroy(&tl);
    }
}

static void test_value_parsers(void)
{
    struct reel_color c;
    CHECK_INT_EQ(reel_color_parse("#fff", &c), 0);
    CHECK(c.r == 255 && c.g == 255 && c.b == 255 && c.a == 255);
    CHECK_INT_EQ(reel_color_parse("#1a9", &c), 0);
    CHECK(c.r == 0x11 && c.g == 0xaa && c.b == 0x99 && c.a == 255);
    CHECK_INT_EQ(reel_color_parse("#12AbEf", &c), 0);
    CHECK(c.r == 0x12 && c.g == 0xab && c.b == 0xef && c.a == 255);
    CHECK_INT_EQ(reel_color_parse("#01020304", &c), 0);
    CHECK(c.r == 1 && c.g == 2 && c.b == 3 && c.a == 4);
    CHECK_INT_EQ(reel_color_parse("#FFFFFF00", &c), 0);
    CHECK(c.r == 255 && c.a == 0);
    static const char *const bad_colors[] = {"fff",      "#ffff", "#12345g", "",    "#",
                                             "#1234567", "#fff ", " #fff",   "red", "#-12"};
    for (size_t i = 0; i < sizeof(bad_colors) / sizeof(bad_colors[0]); i++)
        CHECK_MSG(reel_color_parse(bad_colors[i], &c) == -REEL_EINVALID_JOB, "\"%s\"",
                  bad_colors[i]);
    CHECK_INT_EQ(reel_color_parse(NULL, &c), -REEL_EINVALID_JOB);

    struct reel_easing e;
    static const struct {
        const char *s;
        enum reel_easing_kind k;
    } names[] = {
        {"linear", REEL_EASE_LINEAR},
        {"hold", REEL_EASE_HOLD},
        {"ease-in", REEL_EASE_IN},
        {"ease-out", REEL_EASE_OUT},
        {"ease-in-out", REEL_EASE_IN_OUT},
        {"ease-in-back", REEL_EASE_IN_BACK},
        {"ease-out-back", REEL_EASE_OUT_BACK},
        {"ease-out-bounce", REEL_EASE_OUT_BOUNCE},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        CHECK_INT_EQ(reel_easing_parse(names[i].s, &e), 0);
        CHECK_INT_EQ(e.kind, names[i].k);
    }
    CHECK_INT_EQ(reel_easing_parse("cubic-bezier(0.42, 0, 0.58, 1)", &e), 0);
    CHECK_INT_EQ(e.kind, REEL_EASE_CUBIC_BEZIER);
    CHECK_NEAR(e.x1, 0.42, 0);
    CHECK_NEAR(e.y1, 0, 0);
    CHECK_NEAR(e.x2, 0.58, 0);
    CHECK_NEAR(e.y2, 1, 0);
    CHECK_INT_EQ(reel_easing_parse("  cubic-bezier ( 0 ,-1.5e0,\t1, 2.25 )  ", &e), 0);
    CHECK_NEAR(e.x1, 0, 0);
    CHECK_NEAR(e.y1, -1.5, 0);
    CHECK_NEAR(e.x2, 1, 0);
    CHECK_NEAR(e.y2, 2.25, 0);
    CHECK_INT_EQ(reel_easing_parse("cubic-bezier(.25,.1,.25,1.)", &e), 0);
    CHECK_NEAR(e.x1, 0.25, 0);
    CHECK_NEAR(e.y2, 1, 0);
    static const char *const bad_easings[] = {
        "ease",
        "Linear",
        "",
        "linear ",
        "cubic-bezier",
        "cubic-bezier()",
        "cubic-bezier(1.2, 0, 0.5, 1)",
        "cubic-bezier(0.5, 0, -0.1, 1)",
        "cubic-bezier(0.1, 0.2, 0.3)",
        "cubic-bezier(0.1, 0.2, 0.3, 0.4, 0.5)",
        "cubic-bezier(0.1, 0.2, 0.3, 0.4",
        "cubic-bezier(0.1 0.2 0.3 0.4)",
        "cubic-bezier(a, b, c, d)",
        "cubic-bezier(0.1, nan, 0.3, 0.4)",
        "cubic-bezier(0.1, inf, 0.3, 0.4)",
        "cubic-bezier(0.1, 1e999, 0.3, 0.4)",
        "cubic-bezier(0.1, 0x10, 0.3, 0.4)",
        "cubic-bezier(0.1, 0.2, 0.3, 0.4) x",
        "steps(4)",
    };
    for (size_t i = 0; i < sizeof(bad_easings) / sizeof(bad_easings[0]); i++)
        CHECK_MSG(reel_easing_parse(bad_easings[i], &e) == -REEL_EINVALID_JOB, "\"%s\"",
                  bad_easings[i]);
    CHECK_INT_EQ(reel_easing_parse(NULL, &e), -REEL_EINVALID_JOB);

    struct reel_limits l;
    reel_limits_default(&l);
    CHECK_INT_EQ(l.max_body_bytes, 1048576);
    CHECK_INT_EQ(l.max_json_depth, 32);
    CHECK_INT_EQ(l.max_layers, 500);
    CHECK_INT_EQ(l.max_keyframes, 10000);
    CHECK_INT_EQ(l.max_text_chars, 10000);
    CHECK_INT_EQ(l.max_width, 7680);
    CHECK_INT_EQ(l.max_height, 4320);
    CHECK_INT_EQ(l.max_fps, 120);
    CHECK_INT_EQ(l.max_duration_us, 3600LL * 1000000);
    CHECK_INT_EQ(l.max_source_px, 8192);
    CHECK_INT_EQ(l.max_source_bytes, 4LL << 30);
    CHECK_INT_EQ(l.fetch_timeout_us, 60LL * 1000000);
    CHECK_INT_EQ(l.max_fetch_bytes, 2LL << 30);
    CHECK_INT_EQ(l.max_job_runtime_us, 3600LL * 1000000);
    CHECK_INT_EQ(l.max_attempts, 3);
}

static void test_length_not_terminated(void)
{
    /* the parser reads exactly len bytes */
    const char *s = "{\"layers\": []}GARBAGE";
    struct reel_errlist errs;
    struct reel_timeline *tl = NULL;
    CHECK_INT_EQ(parse_with(s, 14, NULL, &tl, &errs), 0);
    CHECK(tl != NULL);
    reel_timeline_destroy(&tl);
    reel_errlist_uninit(&errs);
    CHECK_INT_EQ(parse_with(s, strlen(s), NULL, &tl, &errs), -SYN);
    reel_errlist_uninit(&errs);

    /* without an error list the codes still come back */
    CHECK_INT_EQ(reel_timeline_parse(s, strlen(s), NULL, &tl, NULL), -SYN);
    const char *bad = "{\"layers\": [{\"type\": \"color\"}]}";
    CHECK_INT_EQ(reel_timeline_parse(bad, strlen(bad), NULL, &tl, NULL), -BAD);
    CHECK(tl == NULL);
}

int main(void)
{
    test_bad_table();
    test_bad_programmatic();
    test_all_problems();
    test_defaults();
    test_output_fields();
    test_layer_fields();
    test_merge();
    test_value_parsers();
    test_length_not_terminated();
    CHECK_DONE();
}
