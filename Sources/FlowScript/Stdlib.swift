import CFlowDSL
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
    /// - Parameter searchPath: `FLOWLUA_PATH`, folders separated by `:`.
    /// - Returns: a function that sets the workflow's folder, whose own
    ///   modules load after the embedded ones: `setScriptDirectory(path)`.
    static func install(in lua: LuaState, searchPath: String?) throws(LuaError) -> LuaFunction {
        lua.preload("flowlua.native", flowlua_open_dsl)
        try lua.register("__flowlua_embedded") { arguments in
            let name = try arguments.string(1, function: "__flowlua_embedded")
            guard let module = modules[name] else { return [.nil] }
            return [.string(module.source), .string("@" + module.path)]
        }
        let folders = (searchPath ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        try lua.setGlobal("__flowlua_path", .string(folders.map(template).joined(separator: ";")))
        guard let setter = try lua.run(bootstrap, chunkName: "=[flowlua bootstrap]").first?.functionValue else {
            throw LuaError(.runtime, "flowlua bootstrap: no script folder setter")
        }
        return setter
    }

    /// The `package.path` template of the modules in `directory`.
    static func template(_ directory: String) -> String { "\(directory)/?.lua;\(directory)/?/init.lua" }

    private static let bootstrap = """
        local embedded, override, script = __flowlua_embedded, __flowlua_path, ""
        __flowlua_embedded, __flowlua_path = nil, nil
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
        -- os.exit would end flowlua mid-check or mid-run with nothing recorded.
        os.exit = function()
          error("os.exit cannot end a workflow (flowlua records every run): raise an error with error(...) instead", 2)
        end
        require("flowlua.dsl").install(_G)
        -- Commands started with os.execute or io.popen are tracked and stopped like flow.sh's.
        require("flowlua.process").install()
        return function(template) script = template end
        """
}
