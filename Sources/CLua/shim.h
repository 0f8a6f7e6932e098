// The system Lua 5.4 headers, plus the function-like macros of lua.h and
// lauxlib.h restated as functions so that Swift can call them.
#ifndef FLOWLUA_CLUA_SHIM_H
#define FLOWLUA_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static inline void flowlua_pop(lua_State *L, int n) { lua_settop(L, -(n) - 1); }
static inline void flowlua_newtable(lua_State *L) { lua_createtable(L, 0, 0); }
static inline int flowlua_isnoneornil(lua_State *L, int i) { return lua_type(L, i) <= 0; }
static inline const char *flowlua_tolstring(lua_State *L, int i, size_t *len) { return lua_tolstring(L, i, len); }
static inline lua_Integer flowlua_tointegerx(lua_State *L, int i, int *isnum) { return lua_tointegerx(L, i, isnum); }
static inline lua_Number flowlua_tonumberx(lua_State *L, int i, int *isnum) { return lua_tonumberx(L, i, isnum); }
static inline void flowlua_remove(lua_State *L, int i) { lua_rotate(L, i, -1); lua_settop(L, -2); }
static inline void flowlua_insert(lua_State *L, int i) { lua_rotate(L, i, 1); }
static inline int flowlua_upvalueindex(int i) { return LUA_REGISTRYINDEX - i; }
static inline int flowlua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline void flowlua_pushglobaltable(lua_State *L) { lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS); }
static inline int flowlua_loadbuffer(lua_State *L, const char *buf, size_t size, const char *name) {
    return luaL_loadbufferx(L, buf, size, name, "t");
}
static inline int flowlua_gc_collect(lua_State *L) { return lua_gc(L, LUA_GCCOLLECT); }
static inline int flowlua_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT); }
static inline void *flowlua_newuserdata(lua_State *L, size_t size) { return lua_newuserdatauv(L, size, 1); }

#endif
