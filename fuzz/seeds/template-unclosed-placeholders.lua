-- (ulimit -v 4000000; flowlua check template-bomb.lua) -> "Fatal error: failed to allocate 3279945664 bytes", SIGABRT after ~8 s
-- (200,000 x ${n} with a 10,000-character parameter = a 2 GB command string, built at check time)
local s = string.rep('${èÇ', 200000)
workflow { name = 'h', parameters = { param.string 'n' { default = string.rep('x', 10000) } }, steps = { container 's' { commands = { s } } } }
