#define _GNU_SOURCE
#include "flowlua_process.h"
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child of flowlua_spawn needs, and where it reports a failure:
   it shares our memory until it execs (CLONE_VM | CLONE_VFORK). */
struct spawn {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int in, out, err, cgroup;
    int error, cgroup_error;
};

/* The child, on a stack of its own, before exec: only system calls. */
static int spawned(void *arg) {
    struct spawn *s = arg;
    /* Caught signals would run our handlers here; ignored ones survive
       exec. Give the child the defaults of both, except what a parent
       normally ignores on purpose is left to the list below. */
    static const int reset[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2};
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < _NSIG; sig++) {
        struct sigaction now;
        if (sigaction(sig, NULL, &now) != 0 || now.sa_handler == SIG_DFL) continue;
        int forced = 0;
        for (size_t i = 0; i < sizeof reset / sizeof *reset; i++) forced |= reset[i] == sig;
        if (now.sa_handler != SIG_IGN || forced) sigaction(sig, &dfl, NULL);
    }
    if (setsid() < 0) goto fail;
    /* Into the cgroup that tracks the tree, before the child can fork. */
    if (s->cgroup >= 0 && write(s->cgroup, "0", 1) != 1) s->cgroup_error = errno;
    if (s->cwd && chdir(s->cwd) != 0) goto fail;
    int fds[3] = {s->in, s->out, s->err};
    for (int fd = 0; fd < 3; fd++)
        if (fds[fd] >= 0 && dup2(fds[fd], fd) < 0) goto fail;
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0) goto fail;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(s->path, s->argv, s->envp);
fail:
    s->error = errno ? errno : EINVAL;
    _exit(127);
}

int flowlua_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                  const char *cwd, int in, int out, int err, int cgroup, int *cgroup_error) {
    struct spawn s = {path, argv, envp, cwd, in, out, err, cgroup, 0, 0};
    const size_t size = 64 << 10;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return errno;
    /* No handler of ours may run in the child while it shares our memory. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t child = clone(spawned, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &s);
    int error = child < 0 ? errno : s.error;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, size);
    if (child > 0 && error) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    }
    if (error) return error;
    *pid = child;
    if (cgroup_error) *cgroup_error = s.cgroup_error;
    return 0;
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
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0) return 0;
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return -1;
}

/* Keeps the last `size` bytes of what could not be written. */
static void keep(char *lost, size_t size, size_t *kept, const char *bytes, size_t n) {
    if (n >= size) {
        memcpy(lost, bytes + n - size, size);
        *kept = size;
        return;
    }
    size_t stay = *kept + n > size ? size - n : *kept;
    memmove(lost, lost + *kept - stay, stay);
    memcpy(lost + stay, bytes, n);
    *kept = stay + n;
}

int flowlua_drain(int pipe, int *file, const char *path, long long *start,
                  char *lost, size_t size, size_t *kept, long long *room, long long *dropped) {
    char buffer[65536];
    for (int reads = 0; reads < 16; reads++) {
        ssize_t n = read(pipe, buffer, sizeof buffer);
        if (n == 0) return 0;
        if (n < 0) return errno == EAGAIN ? 1 : (errno == EINTR ? 1 : -1);
        if (*room >= 0 && n > *room) {  /* past the limit: only its end is kept */
            ssize_t over = n - (ssize_t)*room;
            keep(lost, size, kept, buffer + *room, (size_t)over);
            *dropped += over;
            n = (ssize_t)*room;
            if (n == 0) continue;
        }
        if (*room > 0) *room -= n;
        if (*file < 0) {
            if ((*file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
                int code = errno;
                keep(lost, size, kept, buffer, (size_t)n);
                errno = code;
                return -1;
            }
            struct stat info;
            *start = fstat(*file, &info) == 0 ? (long long)info.st_size : 0;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(*file, buffer + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                int code = errno;
                keep(lost, size, kept, buffer + done, (size_t)(n - done));
                errno = code;
                return -1;
            }
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

long long flowlua_memfd_bound(int fd, long long head, long long tail) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -1;
    long long page = 4096, from = (head + page - 1) / page * page;
    long long to = (info.st_size - tail) / page * page;
    if (to > from && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, to - from) != 0) return -1;
    return info.st_size;
}

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

#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int flowlua_children(pid_t parent, pid_t *pids, int max, pid_t *zombies, int *zombie_count) {
    DIR *proc = opendir("/proc");
    if (proc == NULL) return -1;
    int count = 0;
    *zombie_count = 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "%s/stat", entry->d_name);
        int fd = openat(dirfd(proc), path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (n <= 0) continue;
        stat[n] = 0;
        /* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
        char *close_paren = strrchr(stat, ')');
        char state;
        int ppid;
        unsigned flags;
        long threads;
        if (close_paren == NULL
            || sscanf(close_paren + 1, " %c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld",
                      &state, &ppid, &flags, &threads) != 4)
            continue;
        /* A zombie is gone, unless only its first thread is: the others
           still run, and keep its children until the last one ends. */
        if (ppid != parent) continue;
        pid_t pid = (pid_t)atoi(entry->d_name);
        if (state == 'Z' && threads <= 1) {
            if (*zombie_count < max) zombies[*zombie_count] = pid;
            (*zombie_count)++;
            continue;
        }
        int exiting = state == 'Z' || (flags & 0x4 /* PF_EXITING */);
        if (count < max) pids[count] = exiting ? -pid : pid;
        count++;
    }
    closedir(proc);
    return count;
}

#include <linux/fs.h>
#include <sys/ioctl.h>

int flowlua_clone_file(int in, int out) { return ioctl(out, FICLONE, in); }

long long flowlua_copy_range(int in, int out, long long length) {
    return (long long)copy_file_range(in, NULL, out, NULL, (size_t)length, 0);
}
