/*
 * Thread names: each of reel's threads names itself when it starts, so that `top -H`, `ps -L`,
 * gdb and perf tell them apart. Threads that libraries start keep the names the libraries give
 * them (libmicrohttpd's, Mesa's), else the name of the thread that started them (libx264's).
 */
#ifndef REEL_CORE_THREAD_H
#define REEL_CORE_THREAD_H

#include <sys/prctl.h>

/* Name the calling thread; Linux keeps the first 15 bytes. */
static inline void reel_thread_name(const char *name)
{
    prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
}

#endif
