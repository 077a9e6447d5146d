/* `reel serve` (SPEC 1): the HTTP API with optional in-process workers. */
#ifndef REEL_API_SERVE_CMD_H
#define REEL_API_SERVE_CMD_H

/*
 * Run `reel serve` with the process's argv (argv[1] is "serve"). Blocks until SIGTERM or SIGINT,
 * then stops accepting, drains requests in flight and stops the workers gracefully.
 * Returns the exit status: 0 after a clean stop, 1 on a start-up failure, 2 on a usage error.
 */
int reel_cmd_serve(int argc, char **argv);

#endif
