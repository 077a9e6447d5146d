#include <stdio.h>

int main(void)
{
    fputs("reel: under construction\n", stderr);
    return 2;
}
