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

/// Creates a state with the standard libraries open and its guard (kept in
/// its extra space; `coroutine.resume` and `coroutine.wrap` replaced by
/// versions that track the running coroutine). Code it runs through
/// `flowlua_pcall` may hold at most `limit` bytes (0: no limit); past it,
/// and once an interrupt is requested, allocations fail as Lua memory errors.
/// NULL when out of memory.
lua_State *flowlua_newstate(size_t limit);
/// Frees the guard; call after `lua_close`.
void flowlua_guard_free(flowlua_Guard *guard);
/// The guard of a state made by `flowlua_newstate`.
flowlua_Guard *flowlua_guard(lua_State *L);
/// Bytes the state holds now, and its limit (0: none).
size_t flowlua_memory_used(flowlua_Guard *guard);
size_t flowlua_memory_limit(flowlua_Guard *guard);
/// Whether an allocation was refused for the limit since the last ask (the
/// owner's thread).
int flowlua_memory_refused(flowlua_Guard *guard);
/// Requests an interrupt (any thread): `reason` > 0 until cleared.
void flowlua_interrupt(flowlua_Guard *guard, int reason);
/// Clears the request (the owner, between calls).
void flowlua_interrupt_clear(flowlua_Guard *guard);
/// The standing request, 0 if none.
int flowlua_interrupt_reason(flowlua_Guard *guard);

#endif
