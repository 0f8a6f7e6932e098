import Foundation
import LuaBridge

/// flowlua's Lua standard library: the modules under `stdlib/`, embedded in
/// the binary, found by `require` after the folders of `FLOWLUA_PATH` (which
/// may override them) and before the folder of the workflow script.
enum Stdlib {
    /// Module names -> chunk name and source.
    static var modules: [String: (path: String, source: String)] { EmbeddedStdlib.modules }

    /// Installs the searchers and the DSL globals into `lua`.
    ///
    /// - Parameters:
    ///   - scriptDirectory: the workflow's folder, so its own modules load.
    ///   - searchPath: `FLOWLUA_PATH`, folders separated by `:`.
    static func install(in lua: LuaState, scriptDirectory: String?, searchPath: String?) throws(LuaError) {
        try lua.register("__flowlua_embedded") { arguments in
            let name = try arguments.string(1, function: "__flowlua_embedded")
            guard let module = modules[name] else { return [.nil] }
            return [.string(module.source), .string("@" + module.path)]
        }
        let folders = (searchPath ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        func template(_ folder: String) -> String { "\(folder)/?.lua;\(folder)/?/init.lua" }
        try lua.setGlobal("__flowlua_path", .string(folders.map(template).joined(separator: ";")))
        try lua.setGlobal("__flowlua_script_path", .string(scriptDirectory.map(template) ?? ""))
        try lua.run(bootstrap, chunkName: "=[flowlua bootstrap]")
    }

    private static let bootstrap = """
        local embedded, override, script = __flowlua_embedded, __flowlua_path, __flowlua_script_path
        __flowlua_embedded, __flowlua_path, __flowlua_script_path = nil, nil, nil
        local function fromfile(name, template)
          if template == "" then return nil end
          local path, err = package.searchpath(name, template)
          if not path then return "\\n\\t" .. err:gsub("^\\n\\t", "") end
          local chunk, msg = loadfile(path)
          if not chunk then error("error loading module '" .. name .. "' from file '" .. path .. "':\\n\\t" .. msg, 2) end
          return chunk, path
        end
        local function searcher(name)
          local chunk, where = fromfile(name, override)
          if type(chunk) == "function" then return chunk, where end
          local notes = { chunk }
          local source, chunkname = embedded(name)
          if source then
            local loaded, msg = load(source, chunkname, "t")
            if not loaded then error(msg, 2) end
            return loaded, chunkname:sub(2)
          end
          notes[#notes + 1] = "\\n\\tno embedded module '" .. name .. "'"
          chunk, where = fromfile(name, script)
          if type(chunk) == "function" then return chunk, where end
          notes[#notes + 1] = chunk
          return table.concat(notes)
        end
        table.insert(package.searchers, 2, searcher)
        require("flowlua.dsl").install(_G)
        """
}
