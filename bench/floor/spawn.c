/*
 * The floor the scheduler benchmarks compare flowlua against:
 *
 *   spawn N P [CMD]
 *
 * runs `/bin/sh -c CMD` (CMD defaults to `true`) N times with at most P
 * running at once: posix_spawn one child per free slot, reap with wait(),
 * spawn the next. Nothing else: no logs, no run folder, no bookkeeping.
 *
 * Exits 0 when every child exited 0, 1 when any did not, 2 on a usage error.
 * Build: cc -O2 -o spawn bench/floor/spawn.c
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static long parse_count(const char *s, const char *what, long min) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min) {
        fprintf(stderr, "spawn: %s must be an integer >= %ld, got '%s'\n", what, min, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: spawn N P [CMD]\n");
        return 2;
    }
    long n = parse_count(argv[1], "N", 0);
    long p = parse_count(argv[2], "P", 1);
    char *cmd = argc == 4 ? argv[3] : "true";
    char *child_argv[] = {"sh", "-c", cmd, NULL};

    long started = 0, running = 0, failed = 0;
    while (started < n || running > 0) {
        while (started < n && running < p) {
            pid_t pid;
            int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, child_argv, environ);
            if (rc != 0) {
                fprintf(stderr, "spawn: posix_spawn /bin/sh: %s\n", strerror(rc));
                return 1;
            }
            started++;
            running++;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR) continue;
            perror("spawn: wait");
            return 1;
        }
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    if (failed) {
        fprintf(stderr, "spawn: %ld of %ld commands failed\n", failed, n);
        return 1;
    }
    return 0;
}
