#include "flowlua_edit.h"

#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
}

int flowlua_edit_take_interrupts(void) {
    char drain[64];
    if (wake[0] >= 0) while (read(wake[0], drain, sizeof drain) > 0) {}
    return atomic_exchange(&interrupts, 0);
}

/* libedit's reader retries a read that a signal interrupted; this one
   waits for a key or an interrupt, and ends the line (-1) on the latter.
   It decodes UTF-8 itself: libedit takes what it returns as a character. */
static int getkey(FILE *in) {
    int fd = fileno(in);
    unsigned char bytes[4];
    int have = 0, need = 1;
    while (have < need) {
        struct pollfd p[2] = {{fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
        if (poll(p, wake[0] >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (wake[0] >= 0 && (p[1].revents & POLLIN)) return -1;
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t r = read(fd, bytes + have, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r != 1) return -1;
        if (have++ == 0) {
            unsigned char b = bytes[0];
            need = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
        } else if ((bytes[have - 1] & 0xC0) != 0x80) {
            return 0xFFFD;  /* not UTF-8 */
        }
    }
    if (need == 1) return bytes[0];
    int c = bytes[0] & (0x7F >> need);
    for (int i = 1; i < need; i++) c = (c << 6) | (bytes[i] & 0x3F);
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
