#define _GNU_SOURCE
#include "flowlua_process.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int flowlua_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                  const char *cwd, int in, int out, int err) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    /* Ignored signals survive exec: give the child back the defaults. */
    int reset[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof reset / sizeof *reset; i++) sigaddset(&defaults, reset[i]);

    int rc = posix_spawn_file_actions_init(&actions);
    if (rc) return rc;
    if ((rc = posix_spawnattr_init(&attr))) { posix_spawn_file_actions_destroy(&actions); return rc; }
    rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc) rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc) rc = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (!rc && cwd) rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
    if (!rc && in >= 0) rc = posix_spawn_file_actions_adddup2(&actions, in, 0);
    if (!rc && out >= 0) rc = posix_spawn_file_actions_adddup2(&actions, out, 1);
    if (!rc && err >= 0) rc = posix_spawn_file_actions_adddup2(&actions, err, 2);
    if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!rc) rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int flowlua_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int flowlua_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int flowlua_epoll_add(int epoll, int fd, unsigned long long token) {
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = token};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int flowlua_epoll_remove(int epoll, int fd) { return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL); }

int flowlua_epoll_wait(int epoll, unsigned long long *tokens, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epoll, events, max, timeout_ms);
    for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
    return n;
}

int flowlua_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void flowlua_eventfd_signal(int fd) {
    eventfd_t one = 1;
    (void)!write(fd, &one, sizeof one);
}

void flowlua_eventfd_drain(int fd) {
    eventfd_t value;
    (void)!read(fd, &value, sizeof value);
}

int flowlua_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    return fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

int flowlua_drain(int pipe, int *file, const char *path, long long *start) {
    char buffer[65536];
    for (int reads = 0; reads < 16; reads++) {
        ssize_t n = read(pipe, buffer, sizeof buffer);
        if (n == 0) return 0;
        if (n < 0) return errno == EAGAIN ? 1 : (errno == EINTR ? 1 : -1);
        if (*file < 0) {
            if ((*file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) return -1;
            struct stat info;
            *start = fstat(*file, &info) == 0 ? (long long)info.st_size : 0;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(*file, buffer + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return -1;
            done += w;
        }
    }
    return 2;
}

int flowlua_thread_nice(int nice) { return setpriority(PRIO_PROCESS, (id_t)gettid(), nice); }
void flowlua_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

void flowlua_thread_accept_sigchld(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int flowlua_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int flowlua_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int flowlua_reap_group(pid_t pgid) {
    int reaped = 0;
    siginfo_t info;
    for (;;) {
        info.si_pid = 0;
        if (waitid(P_PGID, (id_t)pgid, &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) return reaped;
        reaped++;
    }
}
