// The step constructors of flowlua's DSL in C: a workflow may declare
// 100,000 steps, and in Lua each cost a closure, a debug.getinfo table and a
// copy, three times the plain table it returns.
#ifndef FLOWLUA_DSL_H
#define FLOWLUA_DSL_H

#include <lua.h>

/// `require "flowlua.native"`: a table with `step(kind)`, which returns the
/// function behind `kind "name" { fields }`: called with the name by a Lua
/// function the script called (stdlib/flowlua/dsl.lua), it returns the
/// function that takes the fields and returns the step's table.
int flowlua_open_dsl(lua_State *L);

#endif
