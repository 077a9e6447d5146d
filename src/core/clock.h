/*
 * The monotonic clock, in seconds, for timing stages and runs (never for timestamps in media).
 */
#ifndef REEL_CORE_CLOCK_H
#define REEL_CORE_CLOCK_H

/* Seconds on CLOCK_MONOTONIC from an arbitrary start; only differences mean anything. */
double reel_clock_s(void);

#endif
