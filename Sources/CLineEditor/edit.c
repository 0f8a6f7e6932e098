#include "flowlua_edit.h"

#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- completion ---------------------------------------------------------- */

static flowlua_Completer completer;

/* Lua's operators break words; '.' and ':' do not, so `flow.ru` and
   `ctx:pa` complete as one word. */
static char breaks[] = " \t\n\"\\'`@$><=;|&{}()[]+-*/%^#~,";

static char **attempt(const char *text, int start, int end) {
    (void)text;
    char **found = completer(rl_line_buffer, start, end);
    if (found == NULL) { rl_attempted_completion_over = 0; return NULL; }  /* file names */
    rl_attempted_completion_over = 1;
    size_t n = 0;
    while (found[n]) n++;
    if (n == 0) { free(found); return NULL; }
    /* readline's shape: the common prefix first, then every match */
    char **matches = calloc(n + 2, sizeof *matches);
    if (matches == NULL) { for (size_t i = 0; i < n; i++) free(found[i]); free(found); return NULL; }
    size_t common = strlen(found[0]);
    for (size_t i = 1; i < n; i++) {
        size_t j = 0;
        while (j < common && found[i][j] == found[0][j]) j++;
        common = j;
    }
    if (n == 1) {
        matches[0] = found[0];
    } else {
        matches[0] = strndup(found[0], common);
        memcpy(matches + 1, found, n * sizeof *found);
    }
    free(found);
    return matches;
}

/* --- interrupts ---------------------------------------------------------- */

static _Atomic int interrupts;
static int notifyfd = -1;
static int wake[2] = {-1, -1};  /* written by the handler, polled by getkey */

static void oninterrupt(int sig) {
    (void)sig;
    int saved = errno;
    atomic_fetch_add(&interrupts, 1);
    char c = 1;
    if (notifyfd >= 0) { ssize_t r = write(notifyfd, &c, 1); (void)r; }
    if (wake[1] >= 0) { ssize_t r = write(wake[1], &c, 1); (void)r; }
    errno = saved;
}

void flowlua_edit_catch_interrupts(int notify) {
    notifyfd = notify;
    if (wake[0] < 0 && pipe(wake) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(wake[i], F_SETFD, FD_CLOEXEC);
            fcntl(wake[i], F_SETFL, fcntl(wake[i], F_GETFL) | O_NONBLOCK);
        }
    }
    struct sigaction action = {0};
    action.sa_handler = oninterrupt;
    action.sa_flags = 0;  /* no SA_RESTART: a blocking read returns EINTR */
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigset_t set;  /* a parent may have left it blocked */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int flowlua_edit_take_interrupts(void) {
    char drain[64];
    if (wake[0] >= 0) while (read(wake[0], drain, sizeof drain) > 0) {}
    return atomic_exchange(&interrupts, 0);
}

/* libedit's reader retries a read that a signal interrupted; this one
   waits for a key or an interrupt, and ends the line (-1) on the latter.
   It decodes UTF-8 itself: libedit takes what it returns as a character.
   A byte that breaks a sequence is kept for the next call. */
static int pending = -1;

static int getbyte(int fd) {
    if (pending >= 0) { int b = pending; pending = -1; return b; }
    for (;;) {
        struct pollfd p[2] = {{fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
        if (poll(p, wake[0] >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (wake[0] >= 0 && (p[1].revents & POLLIN)) return -1;
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        unsigned char b;
        ssize_t r = read(fd, &b, 1);
        if (r < 0 && errno == EINTR) continue;
        return r == 1 ? b : -1;
    }
}

static int getkey(FILE *in) {
    int fd = fileno(in), b = getbyte(fd);
    if (b < 0x80) return b;  /* ASCII, or -1 */
    int need = (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    if (need < 0) return 0xFFFD;  /* not a lead byte */
    int c = b & (0x3F >> need);
    while (need-- > 0) {
        int next = getbyte(fd);
        if (next < 0) return -1;
        if ((next & 0xC0) != 0x80) { pending = next; return 0xFFFD; }
        c = (c << 6) | (next & 0x3F);
    }
    return c;
}

void flowlua_edit_setup(const char *name, flowlua_Completer complete) {
    completer = complete;
    rl_readline_name = name;
    rl_catch_signals = 0;  /* ours; libedit's would re-raise SIGINT to the group */
    rl_getc_function = getkey;
    rl_attempted_completion_function = attempt;
    rl_completer_word_break_characters = breaks;
    rl_basic_word_break_characters = breaks;
    rl_completion_append_character = '\0';
    rl_initialize();
}
