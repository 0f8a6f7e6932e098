#include "flowlua_shims.h"
#include <lauxlib.h>

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

int flowlua_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}
