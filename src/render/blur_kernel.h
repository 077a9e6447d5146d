/*
 * The Gaussian blur kernel of SPEC 2.5, shared by the engines so that both blur with the same
 * integer weights: radius ceil(3 sigma), weights exp(-k^2 / (2 sigma^2)) for k = -r..r normalised
 * to sum exactly 65536 (the rounding remainder goes to the centre tap).
 */
#ifndef REEL_RENDER_BLUR_KERNEL_H
#define REEL_RENDER_BLUR_KERNEL_H

#include <stdint.h>

/* r is ceil(3 sigma), computed by the caller (which checks it against its own limits).
 * A new array of 2r+1 weights (caller frees with free()), or NULL on allocation failure. */
uint32_t *reel_blur_kernel_create(double sigma, int r);

#endif
