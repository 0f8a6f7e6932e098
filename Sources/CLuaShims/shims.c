#include "flowlua_shims.h"
#include <lauxlib.h>
#include <lualib.h>

typedef struct {
    void *box;
    flowlua_SwiftCall call;
    flowlua_SwiftRelease release;
} SwiftClosure;

static int trampoline(lua_State *L) {
    SwiftClosure *c = (SwiftClosure *)lua_touserdata(L, lua_upvalueindex(1));
    int n = c->call(L, c->box);
    if (n < 0) return lua_error(L);  /* the Swift frame has returned: safe to longjmp */
    return n;
}

static int release(lua_State *L) {
    SwiftClosure *c = (SwiftClosure *)lua_touserdata(L, 1);
    if (c->box) { c->release(c->box); c->box = NULL; }
    return 0;
}

void flowlua_pushswiftclosure(lua_State *L, void *box,
                              flowlua_SwiftCall call, flowlua_SwiftRelease rel) {
    SwiftClosure *c = (SwiftClosure *)lua_newuserdatauv(L, sizeof *c, 0);
    c->box = box; c->call = call; c->release = rel;
    if (luaL_newmetatable(L, "flowlua.SwiftClosure")) {
        lua_pushcfunction(L, release);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, trampoline, 1);
}

static int msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}



/* --- interrupts --------------------------------------------------------- */

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

struct flowlua_Guard {
    _Atomic int reason;
    _Atomic(lua_State *) running;  /* the coroutine running now */
    _Atomic int depth;             /* nesting of flowlua_pcall */
    _Atomic pthread_t thread;      /* where it runs, while depth > 0 */
    size_t used, limit;            /* bytes the state holds; its budget (0: none) */
    int refused;                   /* an allocation was refused for the budget */
};

static _Thread_local flowlua_Guard *current;  /* the guard this thread runs */
static _Thread_local int unblocked;           /* the signal is not masked here */

/* Every state flowlua makes has a guard (flowlua_newstate installs it);
   coroutines share it through the extra space lua_newthread copies. */
static flowlua_Guard *guardof(lua_State *L) { return *(flowlua_Guard **)lua_getextraspace(L); }

static void arm(lua_State *L);
static void install(lua_State *L, flowlua_Guard *g);

static void stop(lua_State *L, lua_Debug *ar) {
    (void)ar;
    flowlua_Guard *g = guardof(L);
    if (g == NULL) { lua_sethook(L, NULL, 0, 0); return; }
    if (atomic_load(&g->reason) == 0) {
        lua_sethook(L, NULL, 0, 0);
        /* a request whose signal landed inside that lua_sethook was undone by it */
        if (atomic_load(&g->reason) == 0) return;
        arm(L);
    }
    luaL_error(L, "interrupted");
}

static void arm(lua_State *L) { lua_sethook(L, stop, LUA_MASKCOUNT, 1); }

static void onsignal(int sig) {
    (void)sig;
    flowlua_Guard *g = current;
    if (g && atomic_load(&g->reason)) arm(atomic_load(&g->running));
}

static int signo(void) { return SIGRTMIN + 4; }

static void installhandler(void) {
    struct sigaction action = {0};
    action.sa_handler = onsignal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(signo(), &action, NULL);
}

/* coroutine.resume, tracking the running coroutine around the original. */
static int resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    flowlua_Guard *g = guardof(L);
    lua_State *previous = atomic_exchange(&g->running, co);
    if (atomic_load(&g->reason)) arm(co);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);  /* returns false, msg on error */
    atomic_store(&g->running, previous);
    if (atomic_load(&g->reason)) arm(L);
    return lua_gettop(L);
}

/* coroutine.wrap over the guarded resume, raising its errors as Lua's does. */
static const char *wrap =
    "local create, resume, close, error = ...\n"
    "local function pass(co, ok, ...)\n"
    "  if ok then return ... end\n"
    "  local err = ...\n"
    "  if coroutine.status(co) == 'dead' then close(co) end\n"
    "  error(err, type(err) == 'string' and 2 or 0)\n"
    "end\n"
    "return function(f)\n"
    "  local co = create(f)\n"
    "  return function(...) return pass(co, resume(co, ...)) end\n"
    "end\n";

/* The state's allocator. Inside flowlua_pcall, where a failed allocation
   is a Lua error that is caught, it refuses to grow past the budget, and
   once an interrupt is requested refuses large growth: a single instruction
   (a table's rehash, a gsub's buffer) cannot carry code far past its stop,
   while the "interrupted" message and its traceback still get made.
   Outside, the host's own pushes are never refused (that would panic). */
static void *allocate(void *ud, void *p, size_t osize, size_t nsize) {
    flowlua_Guard *g = ud;
    size_t old = p ? osize : 0;
    if (nsize == 0) {
        free(p);
        g->used -= old;
        return NULL;
    }
    if (nsize > old && atomic_load(&g->depth) > 0) {
        if (nsize - old >= 1 << 16 && atomic_load(&g->reason)) return NULL;
        if (g->limit && (nsize - old > g->limit || g->used + (nsize - old) > g->limit)) {
            g->refused = 1;
            return NULL;
        }
    }
    void *q = realloc(p, nsize);
    if (q) g->used = g->used - old + nsize;
    return q;
}

lua_State *flowlua_newstate(size_t limit) {
    flowlua_Guard *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    g->limit = limit;
    lua_State *L = lua_newstate(allocate, g);
    if (L == NULL) { free(g); return NULL; }
    luaL_openlibs(L);
    install(L, g);
    return L;
}

/* Freed by the interrupter's owner, after lua_close: other threads may
   still hold it to ask for an interrupt, which then finds nothing running. */
void flowlua_guard_free(flowlua_Guard *guard) { free(guard); }

flowlua_Guard *flowlua_guard(lua_State *L) { return guardof(L); }

size_t flowlua_memory_used(flowlua_Guard *g) { return g->used; }

size_t flowlua_memory_limit(flowlua_Guard *g) { return g->limit; }

int flowlua_memory_refused(flowlua_Guard *g) {
    int refused = g->refused;
    g->refused = 0;
    return refused;
}

static void install(lua_State *L, flowlua_Guard *g) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, installhandler);
    atomic_store(&g->running, L);
    *(flowlua_Guard **)lua_getextraspace(L) = g;
    if (lua_getglobal(L, "coroutine") == LUA_TTABLE) {
        lua_getfield(L, -1, "resume");
        lua_pushcclosure(L, resume, 1);
        lua_setfield(L, -2, "resume");
        if (luaL_loadstring(L, wrap) == LUA_OK) {
            lua_getfield(L, -2, "create");
            lua_getfield(L, -3, "resume");
            lua_getfield(L, -4, "close");
            lua_getglobal(L, "error");
            if (lua_pcall(L, 4, 1, 0) == LUA_OK) lua_setfield(L, -2, "wrap");
            else lua_pop(L, 1);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

void flowlua_interrupt(flowlua_Guard *g, int reason) {
    atomic_store(&g->reason, reason);
    if (atomic_load(&g->depth) > 0) pthread_kill(atomic_load(&g->thread), signo());
}

void flowlua_interrupt_clear(flowlua_Guard *g) { atomic_store(&g->reason, 0); }

int flowlua_interrupt_reason(flowlua_Guard *g) { return atomic_load(&g->reason); }

int flowlua_pcall(lua_State *L, int nargs, int nresults) {
    flowlua_Guard *g = guardof(L), *outer = current;
    if (!unblocked) {  /* threads inherit masks: a pool thread may block it */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signo());
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        unblocked = 1;
    }
    /* In this order, a signal always finds the guard (current), and a
       request finds the thread to signal once depth says there is one. */
    current = g;
    atomic_store(&g->thread, pthread_self());  /* one owner: nested calls store the same */
    atomic_fetch_add(&g->depth, 1);
    /* A request made before depth was raised sent no signal. */
    if (atomic_load(&g->reason)) arm(atomic_load(&g->running));
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    current = outer;
    atomic_fetch_sub(&g->depth, 1);
    return status;
}
