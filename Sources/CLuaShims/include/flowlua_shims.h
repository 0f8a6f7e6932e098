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

/// Interrupting Lua that is running on another thread, as lua.c's `laction`
/// does from a signal handler: `flowlua_interrupt` sends a signal to the
/// thread inside `flowlua_pcall`; its handler sets a count hook on the
/// running coroutine, and the hook raises "interrupted" at the next Lua
/// instruction, for as long as the request stands (a `pcall` in the script
/// cannot swallow it). A blocking C call is not interrupted, only what runs
/// after it.
typedef struct flowlua_Guard flowlua_Guard;

/// Creates the guard of a state (kept in its extra space) and replaces
/// `coroutine.resume` and `coroutine.wrap` with versions that track the
/// running coroutine. Call once, right after opening the libraries.
flowlua_Guard *flowlua_guard_install(lua_State *L);
/// Frees the guard; call after `lua_close`.
void flowlua_guard_free(flowlua_Guard *guard);
/// Requests an interrupt (any thread): `reason` > 0 until cleared.
void flowlua_interrupt(flowlua_Guard *guard, int reason);
/// Clears the request (the owner, between calls).
void flowlua_interrupt_clear(flowlua_Guard *guard);
/// The standing request, 0 if none.
int flowlua_interrupt_reason(flowlua_Guard *guard);

#endif
