/* Job validation of inputs that used to pass silently or fail late: escaped NULs inside strings,
 * limits shown rounded, raw invalid UTF-8 echoed back, sub-pixel picture boxes, and the partial
 * timeline handed back so that a caller can list every problem. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "timeline/parse.h"
#include "timeline/timeline.h"

#define W "\"output\": {\"width\": 320, \"height\": 240, \"fps\": 10, \"duration\": 2}"

struct result {
    int ret;
    struct reel_errlist errs;
    struct reel_timeline *tl;
};

static void run(const char *json, bool keep_partial, struct result *r)
{
    struct reel_parse_opts opts = {.keep_partial = keep_partial};
    memset(r, 0, sizeof(*r));
    r->ret = reel_timeline_parse(json, strlen(json), &opts, &r->tl, &r->errs);
}

static void done(struct result *r)
{
    reel_timeline_destroy(&r->tl);
    reel_errlist_uninit(&r->errs);
}

static void dump(const struct result *r)
{
    for (size_t i = 0; i < r->errs.count; i++)
        fprintf(stderr, "    %s at \"%s\": %s\n", reel_err_code_str(r->errs.items[i].code),
                r->errs.items[i].path, r->errs.items[i].msg);
}

/* The problem at path with code, or NULL. */
static const struct reel_err *find(const struct result *r, int code, const char *path)
{
    for (size_t i = 0; i < r->errs.count; i++)
        if (r->errs.items[i].code == code && !strcmp(r->errs.items[i].path, path))
            return &r->errs.items[i];
    return NULL;
}

static void expect_problem(int line, const char *json, int code, const char *path,
                           const char *msg_part)
{
    struct result r;
    run(json, false, &r);
    const struct reel_err *e = find(&r, code, path);
    CHECK_MSG(r.ret < 0 && e && !r.tl, "line %d: expected %s at \"%s\" for %s", line,
              reel_err_code_str(code), path, json);
    if (e && msg_part)
        CHECK_MSG(strstr(e->msg, msg_part) != NULL, "line %d: message \"%s\" lacks \"%s\"", line,
                  e->msg, msg_part);
    if (!e)
        dump(&r);
    done(&r);
}

static void expect_valid(int line, const char *json)
{
    struct result r;
    run(json, false, &r);
    CHECK_MSG(r.ret == 0 && r.tl && r.errs.count == 0, "line %d: expected %s to be valid", line,
              json);
    if (r.ret)
        dump(&r);
    done(&r);
}

static bool is_utf8_clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0x80)
            return false;
    return true;
}

static void test_nul_escapes(void)
{
    /* The string would be read as "logo.png" and the rest dropped without a word. */
    expect_problem(__LINE__,
                   "{" W
                   ", \"layers\": [{\"type\": \"image\", \"src\": \"logo.png\\u0000../../x\"}]}",
                   REEL_EINVALID_JOB, "layers[0].src", "\\u0000");
    expect_problem(__LINE__,
                   "{" W ", \"layers\": [{\"type\": \"color\", \"color\": \"#fff\"}, "
                   "{\"type\": \"text\", \"text\": \"a\\u0000b\"}]}",
                   REEL_EINVALID_JOB, "layers[1].text", "NUL");
    /* In merge data, in a keyframe easing deep inside arrays, and in a field name. */
    expect_problem(__LINE__, "{" W ", \"data\": {\"who\": \"x\\u0000y\"}, \"layers\": []}",
                   REEL_EINVALID_JOB, "data.who", "NUL");
    expect_problem(__LINE__,
                   "{" W ", \"layers\": [{\"type\": \"color\", \"color\": \"#fff\", \"animate\": "
                   "{\"x\": [{\"time\": 0, \"value\": 1}, {\"time\": 1, \"value\": 2, "
                   "\"easing\": \"linear\\u0000\"}]}}]}",
                   REEL_EINVALID_JOB, "layers[0].animate.x[1].easing", "NUL");
    expect_problem(__LINE__,
                   "{" W ", \"layers\": [{\"type\": \"image\", \"src\\u0000evil\": \"a.png\"}]}",
                   REEL_EINVALID_JOB, "layers[0].src", "field name");
    /* Several in one job: each reported. */
    {
        struct result r;
        run("{" W ", \"layers\": [{\"type\": \"image\", \"src\": \"\\u0000\"}, {\"type\": "
            "\"image\", \"src\": \"b\\u0000.png\"}]}",
            false, &r);
        CHECK(find(&r, REEL_EINVALID_JOB, "layers[0].src") != NULL);
        CHECK(find(&r, REEL_EINVALID_JOB, "layers[1].src") != NULL);
        done(&r);
    }
    /* An escaped backslash followed by u0000 is plain text, and other escapes are fine. */
    expect_valid(__LINE__, "{" W ", \"layers\": [{\"type\": \"text\", \"text\": "
                           "\"C:\\\\u0000 \\u0041\\u00e9\\n\\\"q\\\"\"}]}");
}

static void test_unrounded_limits(void)
{
    expect_problem(__LINE__, "{\"output\": {\"duration\": 3600.0000004}, \"layers\": []}",
                   REEL_ELIMIT, "output.duration", "3600.0000004 is over the limit of 3600");
    expect_problem(__LINE__, "{\"output\": {\"width\": 7682}, \"layers\": []}", REEL_ELIMIT,
                   "output.width", "7682 is over the limit of 7680");
    expect_problem(__LINE__, "{\"output\": {\"fps\": 120.00000001}, \"layers\": []}", REEL_ELIMIT,
                   "output.fps", "120.00000001 is over the limit of 120");
    expect_problem(__LINE__, "{\"output\": {\"quality\": 23.0000001}, \"layers\": []}",
                   REEL_EINVALID_JOB, "output.quality", "got 23.0000001");
    /* Layer times against the duration limit, in exact microseconds. */
    expect_problem(__LINE__,
                   "{\"layers\": [{\"type\": \"color\", \"color\": \"#fff\", \"start\": 1, "
                   "\"duration\": 3599.000001}]}",
                   REEL_ELIMIT, "layers[0].duration",
                   "ends at 3600.000001 s, past the limit of 3600 s");
    expect_problem(__LINE__,
                   "{\"output\": {\"duration\": 2}, \"layers\": [{\"type\": \"color\", \"color\": "
                   "\"#fff\", \"transition\": {\"in\": {\"type\": \"fade\", \"duration\": "
                   "2.000001}}}]}",
                   REEL_EINVALID_JOB, "layers[0].transition.in.duration",
                   "(2.000001 s) is longer than the layer (2 s)");
}

static void test_raw_bytes_escaped(void)
{
    /* An unknown key with invalid UTF-8 (0xff, a lone continuation byte, a cut sequence) and a
     * control character: message and path show escapes, never the raw bytes. */
    const char *job = "{" W ", \"layers\": [], \"ke\xff\x80y\x01\xc3\": 1}";
    struct result r;
    run(job, false, &r);
    CHECK(r.ret == -REEL_EUNKNOWN_FIELD);
    CHECK_INT_EQ(r.errs.count, 1);
    if (r.errs.count) {
        const struct reel_err *e = &r.errs.items[0];
        CHECK_MSG(is_utf8_clean(e->msg) && is_utf8_clean(e->path), "raw bytes in \"%s\" / \"%s\"",
                  e->path, e->msg);
        CHECK_STR_EQ(e->path, "ke\\xFF\\x80y\\x01\\xC3");
        CHECK_MSG(strstr(e->msg, "\"ke\\xFF\\x80y\\x01\\xC3\"") != NULL, "%s", e->msg);
    }
    done(&r);
    /* Valid UTF-8 stays as it is. */
    run("{" W ", \"layers\": [], \"cl\xc3\xa9\": 1}", false, &r);
    CHECK(r.errs.count == 1 && !strcmp(r.errs.items[0].path, "cl\xc3\xa9"));
    done(&r);
    /* An unknown animated property and a malformed merge field are caller text too. */
    run("{" W ", \"layers\": [{\"type\": \"color\", \"color\": \"#fff\", \"animate\": "
        "{\"x\xfe\": [{\"time\": 0, \"value\": 1}]}}]}",
        false, &r);
    CHECK(find(&r, REEL_EUNKNOWN_FIELD, "layers[0].animate.x\\xFE") != NULL);
    for (size_t i = 0; i < r.errs.count; i++)
        CHECK(is_utf8_clean(r.errs.items[i].msg) && is_utf8_clean(r.errs.items[i].path));
    done(&r);
    run("{" W ", \"layers\": [{\"type\": \"text\", \"text\": \"{{b\xff d}}\"}]}", false, &r);
    CHECK(find(&r, REEL_EINVALID_JOB, "layers[0].text") != NULL);
    for (size_t i = 0; i < r.errs.count; i++)
        CHECK_MSG(is_utf8_clean(r.errs.items[i].msg), "%s", r.errs.items[i].msg);
    done(&r);
}

static void test_picture_boxes(void)
{
    /* A picture fitted into a box under a pixel: refused here, not by the engine mid-render. */
    expect_problem(__LINE__,
                   "{" W
                   ", \"layers\": [{\"type\": \"video\", \"src\": \"a.mp4\", \"width\": 1e-6, "
                   "\"height\": 1}]}",
                   REEL_EINVALID_JOB, "layers[0].width", "must be 1 to 16384");
    expect_problem(__LINE__,
                   "{" W
                   ", \"layers\": [{\"type\": \"image\", \"src\": \"a.png\", \"height\": 0.5}]}",
                   REEL_EINVALID_JOB, "layers[0].height", NULL);
    expect_valid(__LINE__, "{" W ", \"layers\": [{\"type\": \"video\", \"src\": \"a.mp4\", "
                           "\"width\": 1, \"height\": 16384}]}");
    /* A wrapping width under a pixel would lay out as "no wrapping" (0). */
    expect_problem(__LINE__,
                   "{" W ", \"layers\": [{\"type\": \"text\", \"text\": \"a b\", \"max_width\": "
                   "1e-6}]}",
                   REEL_EINVALID_JOB, "layers[0].max_width", "1e-06 is out of range");
    expect_valid(__LINE__, "{" W ", \"layers\": [{\"type\": \"text\", \"text\": \"a b\", "
                           "\"max_width\": 1}]}");
    /* Boxes of drawn content have no picture to fit and may stay below a pixel. */
    expect_valid(__LINE__, "{" W ", \"layers\": [{\"type\": \"color\", \"color\": \"#fff\", "
                           "\"width\": 1e-6, \"height\": 1}]}");
}

static void test_partial_timeline(void)
{
    /* With keep_partial the timeline comes back despite the problem, its layers in place. */
    const char *job = "{" W ", \"layers\": [{\"type\": \"video\", \"src\": \"clip.mp4\", "
                      "\"colour\": 1}, {\"type\": \"image\", \"src\": \"logo.png\"}]}";
    struct result r;
    run(job, true, &r);
    CHECK(r.ret == -REEL_EUNKNOWN_FIELD);
    CHECK(r.tl != NULL);
    if (r.tl) {
        CHECK_INT_EQ(r.tl->n_layers, 2);
        CHECK(r.tl->layers[0].src && !strcmp(r.tl->layers[0].src, "clip.mp4"));
        CHECK(r.tl->layers[1].src && !strcmp(r.tl->layers[1].src, "logo.png"));
    }
    done(&r);
    run(job, false, &r);
    CHECK(r.ret == -REEL_EUNKNOWN_FIELD && r.tl == NULL);
    done(&r);
    /* Nothing to hand back when the document is not a job at all. */
    run("[1, 2]", true, &r);
    CHECK(r.ret == -REEL_EINVALID_JOB && r.tl == NULL);
    done(&r);
    run("{\"layers\": [}", true, &r);
    CHECK(r.ret == -REEL_EINVALID_JSON && r.tl == NULL);
    done(&r);
}

int main(void)
{
    test_nul_escapes();
    test_unrounded_limits();
    test_raw_bytes_escaped();
    test_picture_boxes();
    test_partial_timeline();
    CHECK_DONE();
}
