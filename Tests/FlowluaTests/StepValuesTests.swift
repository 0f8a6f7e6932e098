import Foundation
import Testing

/// Values out of any step: a container, notebook, Docker or Slurm step
/// writes a JSON object to `$FLOWLUA_VALUES`, and what it declared in
/// `values` becomes run variables for the steps after it.
@Suite("Values out of any step, end to end")
struct StepValuesTests {
    /// `count` publishes an integer, a list and a record; the rest use them.
    static let typed = """
        workflow { name = "typed", steps = {
          container "count" { values = { "n", "samples", "cfg" }, commands = {
            [[echo count >> ../../ran.log]],
            [[printf '{"n": 3, "samples": ["ada", "bob", "cy"], "cfg": {"threads": 4, "label": "it'"'"'s x", "reads": [10, 20]}}' > "$FLOWLUA_VALUES"]],
          } },
          container "use" { after = { "count" }, outputs = { "use.txt" }, commands = {
            "echo ${n} ${samples} ${samples.2} ${cfg.threads} ${cfg.reads.2} ${cfg.label:q} > use.txt",
          } },
          code "types" { after = { "count" }, run = function(ctx)
            local v = ctx.vars
            local f = io.open(ctx:path("types.txt"), "w")
            f:write(math.type(v.n), " ", #v.samples, " ", v.samples[3], " ", math.type(v.cfg.threads), " ", v.cfg.reads[1] + 1, "\\n")
            f:close()
          end },
          foreach "each" { after = { "count" }, over = { var = "samples" },
            step = function(s) return container("greet-" .. s) { commands = { "echo " .. s .. " > " .. s .. ".txt" } } end },
        } }
        """

    @Test func aContainerStepsValuesReachLaterStepsWithTheirTypes() async throws {
        let folder = try workflowFolder(Self.typed)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let run = try onlyRun(in: folder)
        #expect(try contents(run.appending(path: "use.txt")) == "3 ada bob cy bob 4 20 it's x\n")
        #expect(try contents(run.appending(path: "types.txt")) == "integer 3 cy integer 11\n")
        for name in ["ada", "bob", "cy"] {
            #expect(try contents(run.appending(path: "\(name).txt")) == "\(name)\n", "foreach over a published list")
        }
        let status = try await flowlua(["status", run.lastPathComponent, "--runs-dir", "runs", "--json"], in: folder)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let vars = (json?["run"] as? [String: Any])?["vars"] as? [String: Any]
        #expect(vars?["n"] as? Int == 3, "\(status.stdout)")
        #expect(vars?["samples"] as? [String] == ["ada", "bob", "cy"])
        #expect((vars?["cfg"] as? [String: Any])?["reads"] as? [Int] == [10, 20], "a record is recorded nested")
    }

    @Test func aValuesFileThatIsWrongFailsTheStepSayingWhatIsWrong() async throws {
        for (body, message) in [
            ("true", "the step declares values but wrote no file at $FLOWLUA_VALUES"),
            ("printf '[1]' > \"$FLOWLUA_VALUES\"", "must hold a JSON object ({\"name\": value, ...}), but it starts with '['"),
            ("printf '{\"n\": 1,' > \"$FLOWLUA_VALUES\"", "does not hold a JSON object of values"),
            ("printf '{\"n\": 1, \"m\": 2}' > \"$FLOWLUA_VALUES\"", "$FLOWLUA_VALUES sets 'm', which the step's values do not declare (declared: n)"),
            ("printf '{}' > \"$FLOWLUA_VALUES\"", "the step declares the value 'n' but did not write it to $FLOWLUA_VALUES"),
            ("mkfifo \"$FLOWLUA_VALUES\"", "is a FIFO, not a file"),
            ("mkdir \"$FLOWLUA_VALUES\"", "is a folder, not a file"),
            ("ln -s /etc/passwd \"$FLOWLUA_VALUES\"", "is a link, not a file"),
            ("head -c 17000000 /dev/zero > \"$FLOWLUA_VALUES\"", "more than the 16 MiB values may take"),
        ] {
            let folder = try workflowFolder("""
                workflow { name = "bad", steps = {
                  container "p" { values = { "n" }, commands = { [[\(body)]] } },
                  container "after" { after = { "p" }, commands = { "touch after.txt" } },
                } }
                """)
            let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
            #expect(outcome.status == 1, "\(body): \(outcome.stderr)")
            #expect(outcome.stderr.contains("FAILED p"), "\(body): \(outcome.stderr)")
            #expect(outcome.stderr.contains(message), "\(body): \(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: try onlyRun(in: folder).appending(path: "after.txt").path))
        }
    }

    @Test func aRetriedStepIsNotCreditedWithTheValuesOfAFailedAttempt() async throws {
        let folder = try workflowFolder("""
            workflow { name = "retry", steps = {
              container "p" { values = { "n" }, retries = 1, retry_delay = 0, commands = {
                [[if [ -e tried ]; then exit 0; fi; touch tried; printf '{"n": 1}' > "$FLOWLUA_VALUES"; exit 3]],
              } },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("wrote no file at $FLOWLUA_VALUES"), "\(outcome.stderr)")
    }

    @Test func checkListsTheStepsThatSetValues() async throws {
        let check = try await flowlua(["check", "workflow.lua"], in: try workflowFolder(Self.typed))
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.hasSuffix("""
              1 step sets run variables through $FLOWLUA_VALUES:
                count: n, samples, cfg

            """), "\(check.stdout)")
    }

    @Test func declaringValuesIsChecked() async throws {
        for (field, message) in [
            ("values = { \"n-1\" }", "steps[1].values[1]: 'n-1' is not a variable name"),
            ("values = { \"n\", \"n\" }", "steps[1].values[2]: 'n' is listed twice"),
            ("values = \"n\"", "steps[1].values: expected list, got string"),
        ] {
            let folder = try workflowFolder("""
                workflow { name = "bad", steps = { container "p" { \(field), commands = { "true" } } } }
                """)
            let check = try await flowlua(["check", "workflow.lua"], in: folder)
            #expect(check.status == 2, "\(field): \(check.stderr)")
            #expect(check.stderr.contains("workflow.lua:1: \(message)"), "\(field): \(check.stderr)")
        }
        let code = try await flowlua(["check", "workflow.lua"], in: try workflowFolder("""
            workflow { name = "bad", steps = { code "c" { values = { "n" }, run = function() end } } }
            """))
        #expect(code.stderr.contains("steps[1].values: not a field of a code step"), "\(code.stderr)")
    }

    @Test func aCodeStepsRunVariablesMayBeNestedTables() async throws {
        let folder = try workflowFolder("""
            workflow { name = "nested", steps = {
              code "set" { run = function(ctx) ctx.vars.cfg = { sample = { id = "s1", lanes = { 7, 8 } } } end },
              container "use" { after = { "set" }, commands = { "echo ${cfg.sample.id} ${cfg.sample.lanes.2} > use.txt" } },
              container "bad" { after = { "set" }, commands = { "echo ${cfg.sample.nope}" } },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q", "--keep-going"], in: folder)
        #expect(outcome.status == 1)
        #expect(try contents(try onlyRun(in: folder).appending(path: "use.txt")) == "s1 8\n")
        #expect(outcome.stderr.contains("FAILED bad"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("${cfg.sample.nope}"), "\(outcome.stderr)")
        let mixed = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: try workflowFolder("""
            workflow { name = "mixed", steps = { code "set" { run = function(ctx) ctx.vars.t = { 1, x = 2 } end } } }
            """))
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("ctx.vars.t: expected a list or a record, got a table with both items and named fields"),
                "\(mixed.stderr)")
    }

    @Test func resumeRestoresTheValuesOfAStepItTakesFromTheCache() async throws {
        let folder = try workflowFolder(Self.typed)
        _ = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        let script = try contents(folder.appending(path: "workflow.lua")).replacingOccurrences(of: "> use.txt", with: ">use.txt")
        try script.write(to: folder.appending(path: "workflow.lua"), atomically: true, encoding: .utf8)
        let again = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "--resume"], in: folder)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("cached count"), "\(again.stderr)")
        #expect(again.stderr.contains("done   use"), "the changed step runs again: \(again.stderr)")
        let id = try #require(runID(in: again.stderr))
        #expect(try contents(folder.appending(path: "runs/\(id)/use.txt")) == "3 ada bob cy bob 4 20 it's x\n")
        #expect(AddedStepsTests.ran(folder) == ["count"], "count ran once")
    }

    @Test func restartAfterAKillKeepsTheValuesOfTheStepsThatRan() async throws {
        let folder = try workflowFolder("""
            workflow { name = "killed", steps = {
              container "count" { values = { "n" }, commands = {
                [[echo count >> ../../ran.log; printf '{"n": 42}' > "$FLOWLUA_VALUES"]] } },
              container "slow" { after = { "count" }, commands = { "echo slow >> ../../ran.log; sleep 120; echo ${n} > n.txt" } },
            } }
            """)
        let outcome = try await interrupt(["run", "workflow.lua", "--runs-dir", "runs"], in: folder, signal: SIGKILL) {
            guard AddedStepsTests.ran(folder) == ["count", "slow"], let id = try? onlyRun(in: folder).lastPathComponent else {
                return false
            }
            return (try? await AddedStepsTests.states(folder, id))?["count"] == "success"
        }
        #expect(outcome.status != 0)
        let id = try onlyRun(in: folder).lastPathComponent
        let script = try contents(folder.appending(path: "workflow.lua")).replacingOccurrences(of: "sleep 120", with: "sleep 0")
        try script.write(to: folder.appending(path: "workflow.lua"), atomically: true, encoding: .utf8)
        let restart = try await flowlua(["restart", id, "--runs-dir", "runs"], in: folder)
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(try contents(folder.appending(path: "runs/\(id)/n.txt")) == "42\n")
        #expect(AddedStepsTests.ran(folder) == ["count", "slow", "slow"], "count did not run again")
    }

    @Test(.enabled(if: Backends.dockerEnabled, Backends.dockerSkipped))
    func aDockerStepPublishesValues() async throws {
        _ = try await Backends.docker()
        let folder = try workflowFolder("""
            workflow { name = "box", workers = { \(DockerTests.box) }, steps = {
              container "count" { worker = "box", values = { "n", "who" }, commands = {
                [[printf '{"n": 5, "who": "%s"}' "$(id -u)" > "$FLOWLUA_VALUES"]] } },
              container "use" { after = { "count" }, commands = { "echo ${n} ${who} > use.txt" } },
            } }
            """)
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try contents(try onlyRun(in: folder).appending(path: "use.txt")) == "5 \(getuid())\n")
    }

    @Test(.enabled(if: Backends.notebookEnabled, Backends.notebookSkipped))
    func aNotebookStepPublishesValues() async throws {
        _ = try Backends.papermill()
        let folder = try workflowFolder("""
            workflow { name = "nb", steps = {
              notebook "count" { notebook = "count.ipynb", values = { "total", "parts" }, params = { base = 40 } },
              container "use" { after = { "count" }, commands = { "echo ${total} ${parts} > use.txt" } },
            } }
            """, files: ["count.ipynb": notebook([
                "base = 0",
                "import json, os\njson.dump({'total': base + 2, 'parts': ['x', 'y']}, open(os.environ['FLOWLUA_VALUES'], 'w'))",
            ])])
        let outcome = try await flowlua(["run", "workflow.lua", "--runs-dir", "runs", "-q"], in: folder)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try contents(try onlyRun(in: folder).appending(path: "use.txt")) == "42 x y\n")
    }
}
