// The system libedit (Debian's libedit-dev) through its readline interface.
#ifndef FLOWLUA_CEDITLINE_SHIM_H
#define FLOWLUA_CEDITLINE_SHIM_H

#include <stdio.h>
#include <editline/readline.h>

#endif
