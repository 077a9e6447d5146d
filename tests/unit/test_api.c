/* Unit tests of the API's pure parts: routing, Range headers, JSON depth, secrets, media types,
 * and the address rules applied to job srcs and callback URLs. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "check.h"
#include "timeline/parse.h"
#include "timeline/timeline.h"

static void test_match(void)
{
    char p[72];
    CHECK(reel_api_match("/v1/jobs", "/v1/jobs", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/jobs", "/v1/jobs/", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/jobs", "/v1/job", p, sizeof(p)));
    CHECK(reel_api_match("/v1/jobs/{id}", "/v1/jobs/abc123", p, sizeof(p)));
    CHECK(!strcmp(p, "abc123"));
    CHECK(reel_api_match("/v1/jobs/{id}/output", "/v1/jobs/x-1_2/output", p, sizeof(p)));
    CHECK(!strcmp(p, "x-1_2"));
    CHECK(!reel_api_match("/v1/jobs/{id}", "/v1/jobs/", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/jobs/{id}", "/v1/jobs/a/b", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/jobs/{id}", "/v1/jobs/..", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/jobs/{id}", "/v1/jobs/.", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/jobs/{id}", "/v1/jobs/a%2fb", p, sizeof(p)));
    CHECK(!reel_api_match("/v1/templates/{name}", "/v1/templates/a b", p, sizeof(p)));
    char longseg[80];
    memset(longseg, 'a', 70);
    longseg[70] = 0;
    char path[128];
    snprintf(path, sizeof(path), "/v1/jobs/%s", longseg);
    CHECK(!reel_api_match("/v1/jobs/{id}", path, p, sizeof(p)));
}

static void test_range(void)
{
    int64_t a = -1, b = -1;
    CHECK_INT_EQ(reel_api_parse_range(NULL, 100, &a, &b), 0);
    CHECK_INT_EQ(reel_api_parse_range("bytes=0-9", 100, &a, &b), 1);
    CHECK_INT_EQ(a, 0);
    CHECK_INT_EQ(b, 9);
    CHECK_INT_EQ(reel_api_parse_range("bytes=90-", 100, &a, &b), 1);
    CHECK_INT_EQ(a, 90);
    CHECK_INT_EQ(b, 99);
    CHECK_INT_EQ(reel_api_parse_range("bytes=-10", 100, &a, &b), 1);
    CHECK_INT_EQ(a, 90);
    CHECK_INT_EQ(b, 99);
    CHECK_INT_EQ(reel_api_parse_range("bytes=-1000", 100, &a, &b), 1);
    CHECK_INT_EQ(a, 0);
    CHECK_INT_EQ(b, 99);
    CHECK_INT_EQ(reel_api_parse_range("bytes=50-5000", 100, &a, &b), 1);
    CHECK_INT_EQ(b, 99);
    CHECK_INT_EQ(reel_api_parse_range("bytes=100-", 100, &a, &b), -1);
    CHECK_INT_EQ(reel_api_parse_range("bytes=-0", 100, &a, &b), -1);
    CHECK_INT_EQ(reel_api_parse_range("bytes=5-1", 100, &a, &b), 0);
    CHECK_INT_EQ(reel_api_parse_range("bytes=0-1,5-6", 100, &a, &b), 0);
    CHECK_INT_EQ(reel_api_parse_range("items=0-1", 100, &a, &b), 0);
    CHECK_INT_EQ(reel_api_parse_range("bytes=x-1", 100, &a, &b), 0);
    CHECK_INT_EQ(reel_api_parse_range("bytes=-", 100, &a, &b), 0);
    CHECK_INT_EQ(reel_api_parse_range("bytes=99999999999999999999-", 100, &a, &b), 0);
}

static void test_depth(void)
{
    CHECK_INT_EQ(reel_api_json_depth("{}", 2, 32), 1);
    CHECK_INT_EQ(reel_api_json_depth("{\"a\":[1,{\"b\":[]}]}", 18, 32), 4);
    CHECK_INT_EQ(reel_api_json_depth("{\"a\":\"[[[[\\\"[[\"}", 16, 32), 1);
    static char deep[20001];
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    CHECK_INT_EQ(reel_api_json_depth(deep, 20000, 32), 33);
    CHECK_INT_EQ(reel_api_json_depth(deep, 64, 32), 33);
    CHECK_INT_EQ(reel_api_json_depth(deep, 32, 32), 32);
}

static void test_secrets(void)
{
    CHECK(reel_api_secret_eq("s3cret-token", "s3cret-token"));
    CHECK(!reel_api_secret_eq("s3cret-token", "s3cret-tokeN"));
    CHECK(!reel_api_secret_eq("s3cret-token", "s3cret-token2"));
    CHECK(!reel_api_secret_eq("", "x"));
    char a[33], b[33], c[33];
    reel_api_owner_of("token-one", a);
    reel_api_owner_of("token-one", b);
    reel_api_owner_of("token-two", c);
    CHECK_INT_EQ(strlen(a), 32);
    CHECK(!strcmp(a, b));
    CHECK(strcmp(a, c));
    CHECK(!strstr(a, "token"));
}

static void test_media_type(void)
{
    CHECK(reel_api_is_json_type("application/json"));
    CHECK(reel_api_is_json_type("Application/JSON; charset=utf-8"));
    CHECK(!reel_api_is_json_type("application/jsonx"));
    CHECK(!reel_api_is_json_type("text/plain"));
    CHECK(!reel_api_is_json_type("application/x-www-form-urlencoded"));
    CHECK(!reel_api_is_json_type(NULL));
}

static void test_nul_escape(void)
{
    const char a[] = "{\"src\": \"logo.png\\u0000../../x\"}";
    CHECK_INT_EQ(reel_api_find_nul_escape(a, strlen(a)), 17);
    const char b[] = "{\"k\\u0000\": 1}";
    CHECK_INT_EQ(reel_api_find_nul_escape(b, strlen(b)), 3);
    const char c[] = "{\"src\": \"a\\\\u0000\"}"; /* a literal backslash, then u0000 */
    CHECK_INT_EQ(reel_api_find_nul_escape(c, strlen(c)), -1);
    const char d[] = "{\"a\": \"\\\"\\u0001\"}";
    CHECK_INT_EQ(reel_api_find_nul_escape(d, strlen(d)), -1);
    const char e[] = "{\"a\": \"x\\u000\"}"; /* cut short */
    CHECK_INT_EQ(reel_api_find_nul_escape(e, strlen(e)), -1);
}

static void test_utf8(void)
{
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("plain", 5), 5);
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x8e\xac", 15), 15);
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("a\xc0\xaf"
                                            "b",
                                            4),
                 1); /* overlong '/' */
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("a\xe0\x80\xaf"
                                            "b",
                                            5),
                 1);                                                     /* overlong */
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("a\xed\xa0\x80", 4), 1);     /* surrogate */
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("a\xf4\x90\x80\x80", 5), 1); /* > U+10FFFF */
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("ab\xc3", 3), 2);            /* cut short */
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("ab\xff", 3), 2);
    CHECK_INT_EQ(reel_api_utf8_valid_prefix("a\x80", 2), 1); /* lone continuation byte */
}

static void test_urls(void)
{
    struct reel_err e = {0};
    static const char *const none[] = {NULL};
    static const char *const allow[] = {"127.0.0.1", "media.internal", NULL};
    CHECK_INT_EQ(reel_api_check_url("https://example.com/a.mp4", none, "x", &e), 0);
    CHECK_INT_EQ(reel_api_check_url("http://127.0.0.1/a.mp4", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK(!strcmp(e.path, "x"));
    CHECK_INT_EQ(reel_api_check_url("http://169.254.169.254/latest/meta-data/", none, "x", &e),
                 -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("http://10.1.2.3:8080/a", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("http://[::1]:80/a", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("http://user@127.0.0.1/a", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("http://localhost/a", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("http://2130706433/a", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("http://0x7f.1/a", none, "x", &e), -REEL_EASSET_FETCH);
    CHECK_INT_EQ(reel_api_check_url("file:///etc/passwd", none, "x", &e), -REEL_EASSET_UNSUPPORTED);
    CHECK_INT_EQ(reel_api_check_url("gopher://example.com/", none, "x", &e),
                 -REEL_EASSET_UNSUPPORTED);
    CHECK_INT_EQ(reel_api_check_url("http://127.0.0.1:9/a", allow, "x", &e), 0);
    CHECK_INT_EQ(reel_api_check_url("http://media.internal/a", allow, "x", &e), 0);
}

static void test_srcs(void)
{
    const char *job = "{\"output\":{\"width\":64,\"height\":64,\"fps\":10,\"duration\":1},"
                      "\"layers\":[{\"type\":\"image\",\"src\":\"../../etc/passwd\"},"
                      "{\"type\":\"image\",\"src\":\"/etc/passwd\"},"
                      "{\"type\":\"image\",\"src\":\"file:///etc/passwd\"},"
                      "{\"type\":\"video\",\"src\":\"http://169.254.169.254/x.mp4\"},"
                      "{\"type\":\"image\",\"src\":\"ok/dir/a..b.png\"},"
                      "{\"type\":\"image\",\"src\":\"https://example.com/a.png\"}]}";
    struct reel_timeline *tl = NULL;
    struct reel_errlist errs = {0};
    int ret = reel_timeline_parse(job, strlen(job), NULL, &tl, &errs);
    CHECK_MSG(ret == 0, "parse: %s", errs.count ? errs.items[0].msg : "?");
    if (ret)
        return;
    bool urls = false;
    static const char *const none[] = {NULL};
    ret = reel_api_check_srcs(tl, none, &urls, &errs);
    CHECK(ret < 0);
    CHECK(urls);
    CHECK_INT_EQ(errs.count, 4);
    if (errs.count == 4) {
        CHECK(!strcmp(errs.items[0].path, "layers[0].src"));
        CHECK_INT_EQ(errs.items[0].code, REEL_EASSET_NOT_FOUND);
        CHECK(!strcmp(errs.items[1].path, "layers[1].src"));
        CHECK_INT_EQ(errs.items[2].code, REEL_EASSET_UNSUPPORTED);
        CHECK(!strcmp(errs.items[3].path, "layers[3].src"));
        CHECK_INT_EQ(errs.items[3].code, REEL_EASSET_FETCH);
    }
    reel_errlist_uninit(&errs);
    reel_timeline_destroy(&tl);
}

int main(void)
{
    test_match();
    test_range();
    test_depth();
    test_secrets();
    test_media_type();
    test_utf8();
    test_nul_escape();
    test_urls();
    test_srcs();
    CHECK_DONE();
}
