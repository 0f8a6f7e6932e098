// Process primitives Swift cannot reach through Glibc: posix_spawn with the
// GNU file actions, pidfds and epoll. Each exists so that a step's processes
// can be started cheaply in their own session and their exits observed by one
// monitor thread for all of them.
#ifndef FLOWLUA_PROCESS_H
#define FLOWLUA_PROCESS_H

#include <sys/types.h>

/// Spawns `path` with `argv` and `envp` in a new session, so that the whole
/// process tree can be signalled through the process group `*pid`. The child
/// runs in `cwd` (NULL: ours) with `in`, `out`, `err` as fds 0, 1 and 2, every
/// other fd closed, no signal blocked and the signals flowlua catches or
/// ignores back at their defaults. With `cgroup` (an fd of a cgroup's
/// `cgroup.procs`, else -1) the child moves itself into that cgroup before
/// it execs, so nothing it starts can leave it unseen; if that move fails
/// the child runs anyway and `*cgroup_error` says why (0 when it worked).
/// Returns 0 or an errno value (the child did not run).
int flowlua_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                  const char *cwd, int in, int out, int err, int cgroup, int *cgroup_error);

/// A pidfd for a child (readable once it exits), or -1 with errno.
int flowlua_pidfd_open(pid_t pid);

/// An epoll instance, close-on-exec.
int flowlua_epoll_create(void);
/// Watches `fd` for readability; `token` comes back from `flowlua_epoll_wait`.
int flowlua_epoll_add(int epoll, int fd, unsigned long long token);
/// Stops watching `fd`. Needed before closing it: an fd duplicated into a
/// child that has not exec'd yet keeps the registration alive otherwise.
int flowlua_epoll_remove(int epoll, int fd);
/// Waits up to `timeout_ms` (-1: forever) for at most `max` ready fds and
/// stores their tokens; returns how many, or -1 with errno.
int flowlua_epoll_wait(int epoll, unsigned long long *tokens, int max, int timeout_ms);

/// An eventfd (close-on-exec, non-blocking) for waking a thread in epoll.
int flowlua_eventfd(void);
/// Adds one to an eventfd / reads it back to zero.
void flowlua_eventfd_signal(int fd);
void flowlua_eventfd_drain(int fd);

/// A pipe, both ends close-on-exec and the read end non-blocking.
int flowlua_pipe(int fds[2]);

/// Moves what a non-blocking pipe holds to the file `*file`, opening `path`
/// (append, create, 0644) the first time there is something to move, so a
/// stream that stays empty leaves no file. Reads at most 1 MiB a call, so a
/// process that prints without pause cannot hold the caller's thread.
/// Returns 1 when the pipe is empty for now, 2 when it may hold more, 0 at
/// end of file (every write end closed), -1 with errno when the file cannot
/// be opened or written.
/// When it opens the file it sets `*start` to the file's size then: where
/// this pipe's output begins in it. What it read and could not write is
/// kept in `lost` (its last `size` bytes; `*kept` is how many it holds).
/// At most `*room` bytes go to the file (-1: no limit); what is past it is
/// counted in `*dropped`, and its end kept in `lost` too.
int flowlua_drain(int pipe, int *file, const char *path, long long *start,
                  char *lost, size_t size, size_t *kept, long long *room, long long *dropped);

/// Frees the memory of what a memfd holds past its first `head` bytes and
/// before its last `tail` bytes (the file keeps its size, with a hole);
/// returns the file's size, or -1 with errno.
long long flowlua_memfd_bound(int fd, long long head, long long tail);

/// Sets the nice value of the calling thread only (Linux threads have their
/// own); returns 0 or -1 with errno.
int flowlua_thread_nice(int nice);
/// Names the calling thread (at most 15 bytes are kept), as ps and perf show it.
void flowlua_thread_name(const char *name);
/// Lets SIGCHLD through to the calling thread. A child's exit signals the
/// thread that spawned it; while that thread blocks SIGCHLD (as every thread
/// Swift and Dispatch start does) the kernel cannot drop the ignored signal
/// and hands it to the main thread, parked in sigsuspend: one wake-up of it
/// per step.
void flowlua_thread_accept_sigchld(void);

/// An anonymous in-memory file (memfd), close-on-exec, for capturing output.
int flowlua_memfd(const char *name);

/// Makes this process the reaper of its descendants' orphans, so that a
/// step's background processes come back to flowlua when their parent shell
/// ends, whatever PID 1 does with orphans. Returns 0 or -1 with errno.
int flowlua_become_subreaper(void);

/// Reaps every exited child of ours in process group `pgid` (orphans handed
/// to us as subreaper) without blocking; returns how many.
int flowlua_reap_group(pid_t pgid);

/// The live processes whose parent is `parent`, from /proc: stores at most
/// `max` pids and returns how many there are, or -1. A process that is
/// exiting (its children not yet handed on, its environment already gone:
/// a zombie whose other threads still run counts) is stored as its pid
/// negated. The children that have ended and wait to be reaped (their own
/// children already handed on) go to `zombies`, at most `max` of them, and
/// their count to `*zombie_count`.
int flowlua_children(pid_t parent, pid_t *pids, int max, pid_t *zombies, int *zombie_count);

/// Makes `out` share `in`'s contents (a reflink, FICLONE): 0, or -1 with
/// errno where the file system cannot.
int flowlua_clone_file(int in, int out);
/// `copy_file_range` at both files' positions: bytes copied, or -1 with errno.
long long flowlua_copy_range(int in, int out, long long length);

#endif
