/*
 * `reel worker` (SPEC 1): a render worker pulling jobs from Redis. argv[1] is "worker"; options
 * start at argv[2]. Returns the process exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when
 * the pool cannot start, 2 on a usage error.
 */
#ifndef REEL_JOB_WORKER_CMD_H
#define REEL_JOB_WORKER_CMD_H

int reel_cmd_worker(int argc, char **argv);

#endif
