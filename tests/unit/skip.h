/*
 * The suite's skip policy, for C tests (tests/golden/skip-policy.sh is the same for scripts).
 *
 * What scripts/install-deps.sh installs (Mesa's llvmpipe, the ffmpeg tool, libx264, ...) must be
 * there: a test that finds it missing fails and says what is missing. A test may skip (exit 77)
 * only
 *   - for missing hardware (a GPU, NVENC, VAAPI): it prints a line starting "SKIP-HARDWARE: "
 *     with the reason, or
 *   - when the gl engine's tests were turned off on purpose with REEL_TEST_NO_GL=1: it prints a
 *     line starting "SKIP-OPTOUT: REEL_TEST_NO_GL=1".
 * scripts/test.sh fails the run when a test skipped without one of those lines.
 */
#ifndef REEL_TESTS_SKIP_H
#define REEL_TESTS_SKIP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True (after a loud line naming the variable) when REEL_TEST_NO_GL=1 turns gl tests off; what
 * names what is skipped. */
static inline bool skip_gl_opted_out(const char *what)
{
    const char *v = getenv("REEL_TEST_NO_GL");
    if (!v || strcmp(v, "1") != 0)
        return false;
    printf("SKIP-OPTOUT: REEL_TEST_NO_GL=1 is set, so the gl engine is NOT tested: %s skipped\n",
           what);
    fflush(stdout);
    return true;
}

/* The gl engine cannot start although install-deps provides Mesa: say so; returns 1 (fail). */
static inline int skip_gl_unavailable(const char *why)
{
    printf("FAIL: the gl engine cannot start: %s\n"
           "      scripts/install-deps.sh installs Mesa (llvmpipe), so it must work here; set "
           "REEL_TEST_NO_GL=1 to skip the gl tests on purpose\n",
           why);
    fflush(stdout);
    return 1;
}

/* Missing hardware: the one reason a test may skip by itself. Returns 77. */
static inline int skip_hardware(const char *why)
{
    printf("SKIP-HARDWARE: %s\n", why);
    fflush(stdout);
    return 77;
}

#endif
