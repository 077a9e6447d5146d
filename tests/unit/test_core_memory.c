/*
 * The process memory settings: REEL_HUGEPAGES parsing, and that "off" really keeps libx264-style
 * madvise(MADV_HUGEPAGE) memory in small pages while "system" gives the choice back to the kernel.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "check.h"
#include "core/memory.h"

/* Whether this process may take transparent huge pages, as the kernel tells it. */
static bool thp_allowed(void)
{
    return prctl(PR_GET_THP_DISABLE, 0UL, 0UL, 0UL, 0UL) == 0;
}

/* The "THP_enabled:" line of /proc/self/status (1: the process may take huge pages), or -1. */
static int status_thp_enabled(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "THP_enabled: %d", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* kB of AnonHugePages in the mapping that starts at addr (/proc/self/smaps), or -1. */
static long huge_kb_at(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    bool in = false;
    long kb = -1;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = lo == (uintptr_t)addr;
            continue;
        }
        if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kb;
}

/* Map 8 MB, align to 2 MB, ask for huge pages as libx264 does, touch 4 MB; AnonHugePages kB. */
static long touch_madvised(void)
{
    size_t len = 8u << 20, want = 4u << 20, align = 2u << 20;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -2;
    uint8_t *a = (uint8_t *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
    /* Unmap around [a, a + want) so the mapping starts at a and smaps names it by that address. */
    if (a > m)
        munmap(m, (size_t)(a - m));
    munmap(a + want, (size_t)(m + len - (a + want)));
    madvise(a, want, MADV_HUGEPAGE);
    for (size_t i = 0; i < want; i += 4096)
        a[i] = 1;
    long kb = huge_kb_at(a);
    munmap(a, want);
    return kb;
}

int main(void)
{
    /* Parsing: off by default, "system" gives it back, anything else is off with a note. */
    CHECK_INT_EQ(reel_hugepages_parse(NULL, NULL), REEL_HUGEPAGES_OFF);
    CHECK_INT_EQ(reel_hugepages_parse("", NULL), REEL_HUGEPAGES_OFF);
    CHECK_INT_EQ(reel_hugepages_parse("off", NULL), REEL_HUGEPAGES_OFF);
    CHECK_INT_EQ(reel_hugepages_parse("system", NULL), REEL_HUGEPAGES_SYSTEM);
    FILE *note = tmpfile();
    CHECK(note != NULL);
    if (note) {
        CHECK_INT_EQ(reel_hugepages_parse("always", note), REEL_HUGEPAGES_OFF);
        char buf[256] = {0};
        rewind(note);
        size_t n = fread(buf, 1, sizeof(buf) - 1, note);
        CHECK_MSG(n > 0 && strstr(buf, "REEL_HUGEPAGES=always") && strstr(buf, "off, system"),
                  "note: \"%s\"", buf);
        fclose(note);
    }

    /* The process setting, as main() applies it: off unless REEL_HUGEPAGES=system. */
    unsetenv("REEL_HUGEPAGES");
    reel_memory_setup();
    CHECK(!thp_allowed());
    CHECK_INT_EQ(status_thp_enabled(), 0);
    long off_kb = touch_madvised();
    CHECK_MSG(off_kb == 0, "4 MB asked for huge pages got %ld kB of them with REEL_HUGEPAGES off",
              off_kb);

    setenv("REEL_HUGEPAGES", "system", 1);
    reel_memory_setup();
    CHECK(thp_allowed());
    CHECK_INT_EQ(status_thp_enabled(), 1);
    /* Whether the kernel then hands out a huge page depends on its mode and on finding 2 MB free,
     * so this is reported, not checked. */
    char mode[32];
    reel_hugepages_kernel_mode(mode, sizeof(mode));
    fprintf(stderr, "kernel mode \"%s\": madvised memory with REEL_HUGEPAGES=system got %ld kB\n",
            mode, touch_madvised());

    setenv("REEL_HUGEPAGES", "off", 1);
    reel_memory_setup();
    CHECK(!thp_allowed());
    CHECK_DONE();
}
