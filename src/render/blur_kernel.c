#include <math.h>
#include <stdlib.h>

#include "render/blur_kernel.h"

uint32_t *reel_blur_kernel_create(double sigma, int r)
{
    size_t n = (size_t)(2 * r + 1);
    uint32_t *w = malloc(sizeof(*w) * n);
    double *f = malloc(sizeof(*f) * n);
    if (!w || !f) {
        free(w);
        free(f);
        return NULL;
    }
    double sum = 0.0;
    for (int k = -r; k <= r; k++) {
        f[k + r] = exp(-(double)k * k / (2.0 * sigma * sigma));
        sum += f[k + r];
    }
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = (uint32_t)(f[i] / sum * 65536.0 + 0.5);
        total += w[i];
    }
    w[r] = (uint32_t)((int64_t)w[r] + 65536 - total);
    free(f);
    return w;
}
