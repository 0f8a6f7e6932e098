#define _GNU_SOURCE
#include "flowlua_dsl.h"
#include <glob.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <string.h>

/* kind "name" { fields }: the second call. Upvalues: kind, name, source, line.
   Returns a copy of the fields (the script may reuse its table) with kind,
   name and where the script named the step; errors point at the script. */
static int fields(lua_State *L) {
    const char *kind = lua_tostring(L, lua_upvalueindex(1));
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TFUNCTION && strcmp(kind, "code") == 0) {
        lua_createtable(L, 0, 1);
        lua_insert(L, 1);
        lua_setfield(L, 1, "run");
    }
    int type = lua_type(L, 1);
    if (type != LUA_TTABLE && type != LUA_TNIL)
        return luaL_error(L, "%s '%s': expected a table of fields, got %s", kind, name, luaL_typename(L, 1));
    lua_createtable(L, 0, 8);
    if (type == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, 2);
        }
        static const char *const reserved[] = { "kind", "name", "__source", "__line" };
        for (int i = 0; i < 4; i++) {
            if (lua_getfield(L, 2, reserved[i]) != LUA_TNIL)
                return luaL_error(L, "%s '%s': field '%s' is set by the constructor", kind, name, reserved[i]);
            lua_pop(L, 1);
        }
    }
    for (int i = 1; i <= 4; i++) lua_pushvalue(L, lua_upvalueindex(i));
    lua_setfield(L, 2, "__line");
    lua_setfield(L, 2, "__source");
    lua_setfield(L, 2, "name");
    lua_setfield(L, 2, "kind");
    return 1;
}

/* An error at `level` (as error(msg, level) in Lua): the script's line. */
static int fail(lua_State *L, int level, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    luaL_where(L, level);
    lua_pushvfstring(L, fmt, args);
    va_end(args);
    lua_concat(L, 2);
    return lua_error(L);
}

/* kind "name": the first call, made by the Lua function the script calls
   (dsl.lua), so the script is two levels up: a Lua function replaces the
   frame of a helper that tail-calls it, as a C function cannot, and a step
   made by `local function step(n) return container(n) end` is then placed
   where the helper was called. Upvalue: kind. */
static int named(lua_State *L) {
    const char *kind = lua_tostring(L, lua_upvalueindex(1));
    lua_settop(L, 1);
    if (lua_type(L, 1) != LUA_TSTRING || lua_rawlen(L, 1) == 0)
        return fail(L, 2, "%s: expected a name string, got %s", kind,
                    lua_type(L, 1) == LUA_TSTRING ? "an empty string" : luaL_typename(L, 1));
    lua_Debug ar;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar)) {
        lua_pushstring(L, ar.source);
        lua_pushinteger(L, ar.currentline);
    } else {
        lua_pushnil(L);
        lua_pushnil(L);
    }
    lua_pushcclosure(L, fields, 4);
    return 1;
}

static int step(lua_State *L) {
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_pushcclosure(L, named, 1);
    return 1;
}

/* glob(folder, pattern): the paths below folder matching the shell pattern,
   sorted, relative to folder; a folder's path ends in "/". */
static int globbed(lua_State *L) {
    size_t n;
    const char *folder = luaL_checklstring(L, 1, &n);
    const char *pattern = luaL_checkstring(L, 2);
    lua_pushfstring(L, "%s/%s", folder, pattern);
    glob_t g;
    int rc = glob(lua_tostring(L, -1), GLOB_MARK | GLOB_BRACE, NULL, &g);
    if (rc != 0 && rc != GLOB_NOMATCH) {
        if (rc != GLOB_NOSPACE) globfree(&g);
        return luaL_error(L, rc == GLOB_NOSPACE ? "out of memory" : "cannot list the files matching '%s'", pattern);
    }
    lua_createtable(L, rc == 0 ? (int)g.gl_pathc : 0, 0);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        lua_pushstring(L, g.gl_pathv[i] + n + 1);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    if (rc == 0) globfree(&g);
    return 1;
}

int flowlua_open_dsl(lua_State *L) {
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, step);
    lua_setfield(L, -2, "step");
    lua_pushcfunction(L, globbed);
    lua_setfield(L, -2, "glob");
    return 1;
}
