// C glue that Swift cannot express: raising Lua errors (a longjmp) only after
// the Swift frame that produced them has returned, and a traceback message
// handler for protected calls.
#ifndef FLOWLUA_SHIMS_H
#define FLOWLUA_SHIMS_H

#include <lua.h>

/// Called by the trampoline with the closure's opaque box. Returns the number
/// of results pushed, or -1 with an error value on top of the stack, which the
/// trampoline then raises from C.
typedef int (*flowlua_SwiftCall)(lua_State *L, void *box);
/// Releases the box when Lua collects the closure.
typedef void (*flowlua_SwiftRelease)(void *box);

/// Pushes a Lua C closure that calls `call(L, box)`; `release(box)` runs when
/// the closure is garbage-collected.
void flowlua_pushswiftclosure(lua_State *L, void *box,
                              flowlua_SwiftCall call, flowlua_SwiftRelease release);

/// `lua_pcall` with a message handler that appends a traceback (as lua.c's
/// `docall`): the stack is left balanced, the error message on top on failure.
int flowlua_pcall(lua_State *L, int nargs, int nresults);

#endif
