#include "core/memory.h"

#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#endif

enum reel_hugepages reel_hugepages_parse(const char *value, FILE *note)
{
    if (!value || !*value || !strcmp(value, "off"))
        return REEL_HUGEPAGES_OFF;
    if (!strcmp(value, "system"))
        return REEL_HUGEPAGES_SYSTEM;
    if (note)
        fprintf(note, "reel: note: REEL_HUGEPAGES=%s is not one of off, system; using off\n",
                value);
    return REEL_HUGEPAGES_OFF;
}

int reel_hugepages_apply(enum reel_hugepages mode)
{
#ifdef __linux__
    unsigned long disable = mode == REEL_HUGEPAGES_OFF;
    return prctl(PR_SET_THP_DISABLE, disable, 0UL, 0UL, 0UL) == 0 ? 0 : -1;
#else
    (void)mode;
    return 0;
#endif
}

void reel_hugepages_kernel_mode(char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = 0;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char line[128];
    if (f && fgets(line, sizeof(line), f)) {
        char *a = strchr(line, '['), *z = a ? strchr(a, ']') : NULL;
        if (a && z)
            snprintf(out, cap, "%.*s", (int)(z - a - 1), a + 1);
    }
    if (f)
        fclose(f);
}

void reel_memory_setup(void)
{
#ifdef __GLIBC__
    /* Blocks of 4 MB and more (a 2160p picture is 12 MB) come straight from the system and go back
     * to it when freed. By default glibc raises this threshold to the largest block freed so far
     * and then keeps such blocks in its heaps, one per thread that allocated them: a source opened
     * on a helper thread then cost a 2160p render an extra picture at its peak. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
    /* libx264 asks for huge pages for its frames and lookahead (madvise). On the VM measured
     * (docs/engines.md, "Huge pages"), the kernel zeroing those 2 MB pages at the first touch took
     * twice the system time of faulting the same memory in 4 KB pages, with no gain in libx264's
     * own time. A kernel that refuses (older than 3.15) leaves the system's setting. */
    reel_hugepages_apply(reel_hugepages_parse(getenv("REEL_HUGEPAGES"), stderr));
}
