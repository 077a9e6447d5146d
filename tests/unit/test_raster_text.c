/* Text rasterisation: scripts and fallback, wrapping, alignment, stroke, shadow, background,
 * determinism, font files, and fallback with nothing but the bundled fonts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "raster/raster.h"

struct ink {
    int x0, y0, x1, y1; /* bounding box of alpha > 0, x1/y1 exclusive */
    long count;
    double sum;
};

static struct ink ink_of(const struct reel_image *img, int ry0, int ry1)
{
    struct ink k = {img->width, img->height, -1, -1, 0, 0};
    for (int y = ry0; y < ry1 && y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            int a = img->data[(size_t)y * img->stride + 4 * x + 3];
            if (!a)
                continue;
            k.count++;
            k.sum += a / 255.0;
            if (x < k.x0)
                k.x0 = x;
            if (y < k.y0)
                k.y0 = y;
            if (x + 1 > k.x1)
                k.x1 = x + 1;
            if (y + 1 > k.y1)
                k.y1 = y + 1;
        }
    return k;
}

static struct ink ink_all(const struct reel_image *img)
{
    return ink_of(img, 0, img->height);
}

static struct reel_text_style base_style(const char *text)
{
    struct reel_text_style s;
    memset(&s, 0, sizeof(s));
    s.text = (char *)text;
    s.font = (char *)"DejaVu Sans";
    s.font_size = 48;
    s.color = (struct reel_color){255, 255, 255, 255};
    s.align = REEL_ALIGN_CENTER;
    s.line_height = 1.2;
    return s;
}

static int render(struct reel_raster *r, const struct reel_text_style *s, struct reel_image *img,
                  struct reel_text_stats *st)
{
    struct reel_err err = {0};
    int ret = reel_raster_text_ex(r, s, img, st, &err);
    if (ret < 0)
        fprintf(stderr, "  text \"%s\": %s (%s)\n", s->text, err.msg, reel_err_code_str(ret));
    return ret;
}

/* Render text and check it came out with ink and without .notdef boxes. */
static void check_script(struct reel_raster *r, const char *font, const char *text,
                         int want_fallback)
{
    struct reel_text_style s = base_style(text);
    if (font)
        s.font = (char *)font;
    struct reel_image img;
    struct reel_text_stats st;
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    if (!img.data)
        return;
    struct ink k = ink_all(&img);
    CHECK_MSG(k.count > 100, "\"%s\": %ld ink pixels", text, k.count);
    CHECK_MSG(st.glyphs > 0 && st.missing_glyphs == 0, "\"%s\": %d glyphs, %d missing", text,
              st.glyphs, st.missing_glyphs);
    if (want_fallback)
        CHECK_MSG(st.fallback_glyphs > 0, "\"%s\": expected fallback glyphs", text);
    CHECK_INT_EQ(st.lines, 1);
    reel_image_uninit(&img);
}

static void test_scripts(struct reel_raster *r)
{
    check_script(r, NULL, "Hello, world! Ünïcödé Ελληνικά Кириллица", 0);
    check_script(r, NULL, "漢字かな", 1);
    check_script(r, NULL, "مرحبا بالعالم", 0);
    check_script(r, NULL, "שלום עולם", 0);
    check_script(r, NULL, "नमस्ते दुनिया", 1);
    check_script(r, NULL, "Mixed: abc 123 مرحبا 456 漢字 नमस्ते!", 1);
    check_script(r, "Droid Sans Fallback", "漢字かな and Latin", 0);
    check_script(r, "Lohit Devanagari", "नमस्ते", 0);

    /* A character no installed font has (an Egyptian hieroglyph) is counted as missing. */
    struct reel_text_style h = base_style("a\xf0\x93\x80\x80"
                                          "b");
    struct reel_image himg;
    struct reel_text_stats hst;
    CHECK_INT_EQ(render(r, &h, &himg, &hst), 0);
    CHECK_INT_EQ(hst.glyphs, 3);
    CHECK_INT_EQ(hst.missing_glyphs, 1);
    reel_image_uninit(&himg);

    /* The bundled DejaVu wins over a system copy of the same family. */
    struct reel_text_style s = base_style("Hi");
    struct reel_image img;
    struct reel_text_stats st;
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK_MSG(strstr(st.font_file, "/assets/fonts/DejaVuSans.ttf") != NULL, "font %s",
              st.font_file);
    reel_image_uninit(&img);
    s.font = (char *)"DejaVu Sans:bold";
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK_MSG(strstr(st.font_file, "/assets/fonts/DejaVuSans-Bold.ttf") != NULL, "font %s",
              st.font_file);
    reel_image_uninit(&img);
}

/* True when the left-aligned rendering of `text` begins (at its left edge) with exactly the pixels
 * of `prefix` rendered alone: a check of visual order independent of glyph details. */
static bool starts_with(struct reel_raster *r, const char *text, const char *prefix)
{
    struct reel_text_style s = base_style(text);
    s.align = REEL_ALIGN_LEFT;
    struct reel_image whole, part;
    struct reel_text_stats sw, sp;
    bool ok = false;
    if (render(r, &s, &whole, &sw) < 0)
        return false;
    s.text = (char *)prefix;
    if (render(r, &s, &part, &sp) < 0) {
        reel_image_uninit(&whole);
        return false;
    }
    struct ink k = ink_all(&part);
    int diff = 0, cmp = 0;
    for (int y = k.y0; y < k.y1; y++)
        for (int x = k.x0; x < k.x1; x++) {
            int bx = x - sp.block_x + sw.block_x, by = y - sp.block_y + sw.block_y;
            if (bx < 0 || by < 0 || bx >= whole.width || by >= whole.height) {
                diff++;
                continue;
            }
            cmp++;
            diff += memcmp(whole.data + (size_t)by * whole.stride + 4 * bx,
                           part.data + (size_t)y * part.stride + 4 * x, 4) != 0;
        }
    ok = cmp > 50 && diff == 0 && sw.block_width > sp.block_width;
    reel_image_uninit(&whole);
    reel_image_uninit(&part);
    return ok;
}

/* Devanagari conjuncts and Arabic joining show that the text was shaped, not just mapped. */
static void test_shaping(struct reel_raster *r)
{
    struct reel_text_style s = base_style("नमस्ते"); /* 6 code points; स्त is a conjunct */
    struct reel_image img;
    struct reel_text_stats st;
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK_MSG(st.glyphs < 6, "नमस्ते: %d glyphs for 6 code points", st.glyphs);
    reel_image_uninit(&img);

    /* Joined beh forms are narrower than three isolated ones. */
    s = base_style("ببب");
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    int joined = st.block_width;
    reel_image_uninit(&img);
    s = base_style("ب");
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    int single = st.block_width;
    reel_image_uninit(&img);
    CHECK_MSG(joined < 3 * single - 10, "joined %d vs isolated %d", joined, single);

    /* Visual order: in an RTL line the first word is on the right. With left alignment, the
     * leftmost word of "مرحبا بالعالم" must be drawn exactly as "بالعالم" alone. */
    CHECK(starts_with(r, "مرحبا بالعالم", "بالعالم"));
    CHECK(!starts_with(r, "مرحبا بالعالم", "مرحبا"));
    /* Numbers in RTL text stay left-to-right, and "عدد 12" shows the number on the left. */
    CHECK(starts_with(r, "عدد 12", "12"));
    CHECK(!starts_with(r, "عدد 12", "21"));
    /* An RTL phrase inside LTR text: its words are reversed as a unit and a bracket pair keeps
     * both brackets with the Hebrew (visually "abc (עולם) שלום"). */
    CHECK(starts_with(r, "abc שלום (עולם)", "abc ("));
    CHECK(starts_with(r, "abc מרחב 123", "abc 123"));
}

static void test_wrap(struct reel_raster *r)
{
    const char *text = "The quick brown fox jumps over the lazy dog";
    struct reel_text_style s = base_style(text);
    struct reel_image one, wrapped;
    struct reel_text_stats st1, st2;
    CHECK_INT_EQ(render(r, &s, &one, &st1), 0);
    s.max_width = 300;
    CHECK_INT_EQ(render(r, &s, &wrapped, &st2), 0);
    CHECK_INT_EQ(st1.lines, 1);
    CHECK_MSG(st2.lines >= 3, "%d lines", st2.lines);
    CHECK(wrapped.height > one.height);
    CHECK_MSG(st2.block_width <= 300, "block %d wide", st2.block_width);
    CHECK(st1.block_width > 300);
    /* Line advance = font_size * line_height. */
    CHECK_INT_EQ(st2.block_height, (int)ceil(st2.lines * 48 * 1.2));
    reel_image_uninit(&one);
    reel_image_uninit(&wrapped);

    /* Explicit newlines. */
    s = base_style("one\ntwo\n\nfour");
    CHECK_INT_EQ(render(r, &s, &one, &st1), 0);
    CHECK_INT_EQ(st1.lines, 4);
    reel_image_uninit(&one);

    /* CJK wraps between characters without spaces. */
    s = base_style("漢字漢字漢字漢字漢字漢字漢字漢字");
    CHECK_INT_EQ(render(r, &s, &one, &st1), 0);
    s.max_width = 200;
    CHECK_INT_EQ(render(r, &s, &wrapped, &st2), 0);
    CHECK_INT_EQ(st1.lines, 1);
    CHECK_MSG(st2.lines >= 3, "%d CJK lines", st2.lines);
    CHECK(st2.block_width <= 200);
    reel_image_uninit(&one);
    reel_image_uninit(&wrapped);

    /* A word longer than max_width stays whole on its own line. */
    s = base_style("a supercalifragilistic b");
    s.max_width = 100;
    CHECK_INT_EQ(render(r, &s, &one, &st1), 0);
    CHECK_INT_EQ(st1.lines, 3);
    CHECK(st1.block_width > 100);
    reel_image_uninit(&one);
}

static void test_align(struct reel_raster *r)
{
    struct reel_text_style s = base_style("ab\nlonger line here");
    struct reel_image img[3];
    struct reel_text_stats st[3];
    enum reel_align al[3] = {REEL_ALIGN_LEFT, REEL_ALIGN_CENTER, REEL_ALIGN_RIGHT};
    int first_x0[3] = {0}, first_x1[3] = {0};
    for (int i = 0; i < 3; i++) {
        s.align = al[i];
        CHECK_INT_EQ(render(r, &s, &img[i], &st[i]), 0);
        if (!img[i].data)
            return;
        /* Ink of the first line only. */
        struct ink k = ink_of(&img[i], st[i].block_y, st[i].block_y + 57);
        first_x0[i] = k.x0 - st[i].block_x;
        first_x1[i] = k.x1 - st[i].block_x;
    }
    CHECK(first_x0[0] < 10);
    CHECK_MSG(first_x0[1] > first_x0[0] + 100, "center %d left %d", first_x0[1], first_x0[0]);
    CHECK_MSG(first_x0[2] > first_x0[1] + 100, "right %d center %d", first_x0[2], first_x0[1]);
    CHECK(first_x1[2] <= st[2].block_width && first_x1[2] > st[2].block_width - 10);
    /* Same block, same size, whatever the alignment. */
    CHECK(img[0].width == img[2].width && img[0].height == img[2].height);
    for (int i = 0; i < 3; i++)
        reel_image_uninit(&img[i]);
}

static void test_stroke_shadow_background(struct reel_raster *r)
{
    struct reel_text_style s = base_style("Hello");
    struct reel_image plain, img;
    struct reel_text_stats sp, st;
    CHECK_INT_EQ(render(r, &s, &plain, &sp), 0);
    struct ink kp = ink_all(&plain);

    /* Stroke: more ink, the image grows by about the stroke width on each side, and the stroke
     * colour shows at the outer edge. */
    s.stroke = (struct reel_stroke){true, {255, 0, 0, 255}, 4};
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    struct ink ks = ink_all(&img);
    CHECK_MSG(ks.sum > kp.sum * 1.3, "stroke ink %.0f vs %.0f", ks.sum, kp.sum);
    CHECK_MSG((ks.x1 - ks.x0) - (kp.x1 - kp.x0) >= 6 && (ks.x1 - ks.x0) - (kp.x1 - kp.x0) <= 10,
              "ink width %d vs %d", ks.x1 - ks.x0, kp.x1 - kp.x0);
    int red = 0, white = 0;
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            const uint8_t *p = img.data + (size_t)y * img.stride + 4 * x;
            red += p[0] == 255 && p[1] == 0 && p[3] == 255;
            white += p[0] == 255 && p[1] == 255 && p[2] == 255 && p[3] == 255;
        }
    CHECK(red > 200 && white > 200);
    reel_image_uninit(&img);

    /* Shadow alone (transparent fill): exactly the text's alpha moved by the offset. */
    s = base_style("Hello");
    s.color = (struct reel_color){255, 255, 255, 0};
    s.has_shadow = true;
    s.shadow_color = (struct reel_color){255, 255, 255, 255};
    s.shadow_x = 10;
    s.shadow_y = 6;
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    if (img.data && plain.data) {
        struct ink kh = ink_all(&img);
        CHECK_INT_EQ((kh.x0 - st.block_x) - (kp.x0 - sp.block_x), 10);
        CHECK_INT_EQ((kh.y0 - st.block_y) - (kp.y0 - sp.block_y), 6);
        int diff = 0;
        for (int y = kp.y0; y < kp.y1; y++)
            for (int x = kp.x0; x < kp.x1; x++) {
                int sx = x - sp.block_x + st.block_x + 10, sy = y - sp.block_y + st.block_y + 6;
                diff += plain.data[(size_t)y * plain.stride + 4 * x + 3] !=
                        img.data[(size_t)sy * img.stride + 4 * sx + 3];
            }
        CHECK_INT_EQ(diff, 0);
    }
    reel_image_uninit(&img);

    /* Shadow under a visible fill: both colours present, shadow drawn beneath. */
    s.color = (struct reel_color){255, 255, 255, 255};
    s.shadow_color = (struct reel_color){0, 0, 0, 255};
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    int black = 0;
    white = 0;
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            const uint8_t *p = img.data + (size_t)y * img.stride + 4 * x;
            black += p[0] == 0 && p[3] == 255;
            white += p[0] == 255 && p[3] == 255;
        }
    CHECK(black > 200 && white > 200);
    reel_image_uninit(&img);

    /* Background: exactly the block plus the padding on every side. */
    s = base_style("Hello");
    s.has_background = true;
    s.background_color = (struct reel_color){0, 0, 255, 128};
    s.background_padding = 12;
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK_INT_EQ(img.width, sp.block_width + 24);
    CHECK_INT_EQ(img.height, sp.block_height + 24);
    CHECK_INT_EQ(st.block_x, 12);
    CHECK_INT_EQ(st.block_y, 12);
    const uint8_t *c0 = img.data;
    CHECK(c0[0] == 0 && c0[1] == 0 && c0[2] == 128 && c0[3] == 128);
    const uint8_t *c1 = img.data + (size_t)(img.height - 1) * img.stride + 4 * (img.width - 1);
    CHECK(c1[2] == 128 && c1[3] == 128);
    reel_image_uninit(&img);
    reel_image_uninit(&plain);
}

static void test_determinism(struct reel_raster *r)
{
    struct reel_text_style s = base_style("Déjà vu — 漢字 مرحبا नमस्ते\nsecond line");
    s.stroke = (struct reel_stroke){true, {0, 0, 0, 255}, 2.5};
    s.has_shadow = true;
    s.shadow_color = (struct reel_color){0, 0, 0, 128};
    s.shadow_x = 3.5;
    s.shadow_y = 2.25;
    s.max_width = 400;
    struct reel_image a, b, c;
    CHECK_INT_EQ(render(r, &s, &a, NULL), 0);
    CHECK_INT_EQ(render(r, &s, &b, NULL), 0);
    struct reel_err err = {0};
    struct reel_raster *r2 = reel_raster_create(NULL, NULL, &err);
    CHECK(r2 != NULL);
    if (r2)
        CHECK_INT_EQ(render(r2, &s, &c, NULL), 0);
    reel_raster_destroy(&r2);
    CHECK(r2 == NULL);
    CHECK(a.width == b.width && a.height == b.height && a.width == c.width);
    if (a.data && b.data && c.data && a.width == b.width && a.height == b.height &&
        a.width == c.width && a.height == c.height) {
        CHECK(!memcmp(a.data, b.data, (size_t)a.stride * a.height));
        CHECK(!memcmp(a.data, c.data, (size_t)a.stride * a.height));
    }
    reel_image_uninit(&a);
    reel_image_uninit(&b);
    reel_image_uninit(&c);
}

static void test_font_files_and_errors(struct reel_raster *r)
{
    char path[1024];
    const char *src = getenv("REEL_SOURCE_DIR") ? getenv("REEL_SOURCE_DIR") : REEL_SOURCE_DIR;
    snprintf(path, sizeof(path), "%s/assets/fonts/DejaVuSans-Bold.ttf", src);
    struct reel_text_style s = base_style("Bold 漢字");
    s.font = path;
    s.font_is_file = true;
    struct reel_image img;
    struct reel_text_stats st;
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK_STR_EQ(st.font_file, path);
    CHECK_INT_EQ(st.missing_glyphs, 0);
    CHECK(st.fallback_glyphs > 0);
    reel_image_uninit(&img);

    struct reel_err err = {0};
    s.font = (char *)"/nonexistent/font.ttf";
    CHECK_INT_EQ(reel_raster_text(r, &s, &img, &err), -REEL_EASSET_NOT_FOUND);
    CHECK(strstr(err.msg, "/nonexistent/font.ttf") != NULL);
    CHECK(img.data == NULL);

    /* An unknown family falls back to some font rather than failing. */
    s = base_style("Hello");
    s.font = (char *)"No Such Family 12345";
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK_INT_EQ(st.missing_glyphs, 0);
    reel_image_uninit(&img);

    /* Empty text still yields an image (one empty line). */
    s = base_style("");
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    CHECK(img.width >= 1 && img.height >= 1);
    CHECK_INT_EQ(st.lines, 1);
    CHECK_INT_EQ(st.glyphs, 0);
    reel_image_uninit(&img);

    /* Malformed UTF-8 does not crash. */
    s = base_style("ok \xff\xfe bad \xe2\x82");
    CHECK_INT_EQ(render(r, &s, &img, &st), 0);
    reel_image_uninit(&img);

    /* Too large. */
    s = base_style("x");
    s.font_size = 9000;
    s.line_height = 2;
    CHECK_INT_EQ(reel_raster_text(r, &s, &img, &err), -REEL_ELIMIT);
    s = base_style("wide wide wide wide wide wide wide wide wide wide wide wide wide wide");
    s.font_size = 1000;
    CHECK_INT_EQ(reel_raster_text(r, &s, &img, &err), -REEL_ELIMIT);
    CHECK(img.data == NULL);
}

/* With an empty system configuration, only the bundled folder is available: fallback for CJK,
 * Arabic and Devanagari must still work. */
static void test_bundled_only(void)
{
    char conf[] = "/tmp/reel-fonts-conf-XXXXXX";
    int fd = mkstemp(conf);
    if (fd < 0)
        return;
    const char *xml = "<?xml version=\"1.0\"?>\n<fontconfig></fontconfig>\n";
    CHECK(write(fd, xml, strlen(xml)) == (ssize_t)strlen(xml));
    close(fd);
    const char *prev = getenv("FONTCONFIG_FILE");
    char *saved = prev ? strdup(prev) : NULL;
    setenv("FONTCONFIG_FILE", conf, 1);
    struct reel_err err = {0};
    struct reel_raster *r = reel_raster_create(NULL, NULL, &err);
    if (saved)
        setenv("FONTCONFIG_FILE", saved, 1);
    else
        unsetenv("FONTCONFIG_FILE");
    free(saved);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        check_script(r, NULL, "漢字かな", 1);
        check_script(r, NULL, "مرحبا بالعالم", 0);
        check_script(r, NULL, "नमस्ते", 1);
        check_script(r, "Lohit Devanagari", "नमस्ते and 漢字", 1);
        check_script(r, "sans-serif", "Hello नमस्ते", 0);
    }
    reel_raster_destroy(&r);
    unlink(conf);
}

int main(void)
{
    struct reel_err err = {0};
    struct reel_raster *r = reel_raster_create(NULL, NULL, &err);
    CHECK_MSG(r != NULL, "create: %s", err.msg);
    if (!r)
        CHECK_DONE();
    test_scripts(r);
    test_shaping(r);
    test_wrap(r);
    test_align(r);
    test_stroke_shadow_background(r);
    test_determinism(r);
    test_font_files_and_errors(r);
    reel_raster_destroy(&r);
    test_bundled_only();
    reel_raster_global_uninit();
    CHECK_DONE();
}
