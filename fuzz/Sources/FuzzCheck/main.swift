import FlowEngine
import FlowModel
import FlowScript
import Foundation

// libFuzzer's driver, run from this target's own main: SwiftPM links an
// executable's entry point under its own name, which a library-style target
// (libFuzzer's main) does not define.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Each input is a workflow script, checked as `flowlua check` checks one
/// (evaluated, its fields read, parameters bound with their defaults, the
/// plan built). A clear error is a pass; a crash, a sanitizer report, a
/// hang past libFuzzer's `-timeout` or memory past its `-rss_limit_mb` is
/// a finding.
func fuzzCheck(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let path = inputPath
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    let done = DispatchSemaphore(value: 0)
    Task {
        await check(path)
        done.signal()
    }
    done.wait()
    return 0
}

/// Loads the script in a host of its own, stopping it after two seconds (a
/// script may loop for ever, as `check` would let it until Ctrl-C).
func check(_ path: String) async {
    let stop = StopHandle()
    let timer = DispatchWorkItem { stop.stop() }
    DispatchQueue.global().asyncAfter(deadline: .now() + 2, execute: timer)
    defer { timer.cancel() }
    guard let host = try? ScriptHost(searchPath: nil, callbackTimeout: .seconds(2)),
          let workflow = try? await host.load(script: path, stop: stop) else { return }
    let given = workflow.parameters.map { parameter in
        var parameter = parameter
        parameter.required = false
        return parameter
    }
    guard let arguments = try? Arguments.bind(given, assignments: [], file: nil) else { return }
    if let plan = try? Plan(workflow, arguments: arguments) { _ = plan.dot() }
}

/// Where each input is written: the folder the fuzzer runs in, which
/// scripts may also write into (`io.open`); scripts/fuzz.sh makes it a scratch one.
let inputPath = FileManager.default.currentDirectoryPath + "/workflow.lua"

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runDriver(&argc, &argv, fuzzCheck))
