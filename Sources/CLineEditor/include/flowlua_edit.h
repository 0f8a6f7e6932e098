// C glue for the console's line editor that Swift cannot express: libedit's
// completion protocol (a generator called back for each match) and a SIGINT
// handler that interrupts a blocking read instead of restarting it.
#ifndef FLOWLUA_EDIT_H
#define FLOWLUA_EDIT_H

/// Returns the completions of the word `line[start..<end]`, each a whole
/// replacement of it, as a malloc'd NULL-terminated array of malloc'd
/// strings; an empty array for none, NULL to complete a file name instead.
typedef char **(*flowlua_Completer)(const char *line, int start, int end);

/// Sets up libedit's readline interface: `name` for ~/.editrc, `completer`
/// on Tab, and word breaks that suit Lua (`.` and `:` stay inside a word).
void flowlua_edit_setup(const char *name, flowlua_Completer completer);

/// Catches SIGINT: each one is counted, a byte is written to `notify` (a
/// pipe's write end, or -1), and a `readline` waiting for a key returns
/// NULL (call before `flowlua_edit_setup`).
void flowlua_edit_catch_interrupts(int notify);

/// The interrupts since the last call, clearing the count: a `readline`
/// that returned NULL with one pending was interrupted, not at the end.
int flowlua_edit_take_interrupts(void);

#endif
