/* A tiny assertion header for unit tests: each failed check prints file:line and the expression,
 * counts, and the test's main returns non-zero through CHECK_DONE(). */
#ifndef REEL_TESTS_CHECK_H
#define REEL_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures_;
static int check_count_;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_count_++;                                                              \
        if (!(cond)) {                                                               \
            check_failures_++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        check_count_++;                                                              \
        if (!(cond)) {                                                               \
            check_failures_++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

#define CHECK_INT_EQ(a, b)                                           \
    do {                                                             \
        long long a_ = (long long)(a), b_ = (long long)(b);          \
        CHECK_MSG(a_ == b_, "%s = %lld, expected %lld", #a, a_, b_); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        CHECK_MSG(fabs(a_ - b_) <= (tol), "%s = %.9g, expected %.9g (tol %g)", #a, a_, b_, \
                  (double)(tol));                                                          \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                        \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        CHECK_MSG(a_ &&b_ && !strcmp(a_, b_), "%s = \"%s\", expected \"%s\"", #a, \
                  a_ ? a_ : "(null)", b_ ? b_ : "(null)");                        \
    } while (0)

#define CHECK_DONE()                                                              \
    do {                                                                          \
        fprintf(stderr, "%d checks, %d failed\n", check_count_, check_failures_); \
        return check_failures_ ? 1 : 0;                                           \
    } while (0)

#endif
