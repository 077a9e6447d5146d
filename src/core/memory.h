/*
 * How the reel process uses memory, set once at the start of main() before any thread runs:
 * glibc's threshold for taking large blocks straight from the system, and whether the process
 * uses transparent huge pages (REEL_HUGEPAGES). docs/engines.md, "Huge pages", has the figures.
 */
#ifndef REEL_CORE_MEMORY_H
#define REEL_CORE_MEMORY_H

#include <stdio.h>

/* What REEL_HUGEPAGES may say. */
enum reel_hugepages {
    REEL_HUGEPAGES_OFF,    /* "off" (default): this process takes no transparent huge pages */
    REEL_HUGEPAGES_SYSTEM, /* "system": the kernel's setting decides, as for any program */
};

/*
 * Parse a REEL_HUGEPAGES value: NULL or empty is the default (off). An unknown value gives the
 * default too, after a note on `note` (when not NULL) naming the variable and what it accepts.
 */
enum reel_hugepages reel_hugepages_parse(const char *value, FILE *note);

/*
 * Apply `mode` to the calling process (and every thread and child it starts): on Linux,
 * prctl(PR_SET_THP_DISABLE). 0, or -1 with errno when the kernel refused.
 */
int reel_hugepages_apply(enum reel_hugepages mode);

/* The kernel's mode ("always", "madvise" or "never": the bracketed word of
 * /sys/kernel/mm/transparent_hugepage/enabled) into out; "" where the kernel has none. */
void reel_hugepages_kernel_mode(char *out, size_t cap);

/* Everything above, from the environment, plus glibc's large-block threshold. For main(). */
void reel_memory_setup(void);

#endif
