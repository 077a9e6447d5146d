/* Sine-tone WAV files for tests: 16-bit PCM, the same sample on every channel. */
#ifndef REEL_TESTS_WAV_H
#define REEL_TESTS_WAV_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static void wav_put_le(FILE *f, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        fputc((int)((v >> (8 * i)) & 0xff), f);
}

/* amp * sin(2 pi freq t) from phase 0, for seconds at rate. Returns 0 or -1. */
static int wav_write_sine(const char *path, int rate, int channels, double seconds, double amp,
                          double freq)
{
    FILE *f = fopen(path, "wb");
    int n = (int)(rate * seconds);
    uint32_t data = (uint32_t)(n * channels * 2);
    if (!f)
        return -1;
    fwrite("RIFF", 1, 4, f);
    wav_put_le(f, 36 + data, 4);
    fwrite("WAVEfmt ", 1, 8, f);
    wav_put_le(f, 16, 4);
    wav_put_le(f, 1, 2);
    wav_put_le(f, (uint32_t)channels, 2);
    wav_put_le(f, (uint32_t)rate, 4);
    wav_put_le(f, (uint32_t)(rate * channels * 2), 4);
    wav_put_le(f, (uint32_t)(channels * 2), 2);
    wav_put_le(f, 16, 2);
    fwrite("data", 1, 4, f);
    wav_put_le(f, data, 4);
    for (int i = 0; i < n; i++) {
        int16_t s = (int16_t)lrint(amp * sin(2 * M_PI * freq * i / rate) * 32767);
        for (int c = 0; c < channels; c++)
            wav_put_le(f, (uint16_t)s, 2);
    }
    return fclose(f);
}

#endif
