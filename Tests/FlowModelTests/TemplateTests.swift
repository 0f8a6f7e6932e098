import FlowModel
import Testing

@Suite("${name} substitution")
struct TemplateTests {
    let values = ["name": "World", "n": "3", "file": "data/a b.txt"]

    func substitute(_ text: String) throws -> String {
        try Template.substitute(text) { values[$0] }
    }

    @Test func replacesPlaceholders() throws {
        #expect(try substitute("Hello ${name}!") == "Hello World!")
        #expect(try substitute("${n}${n}") == "33")
        #expect(try substitute("cat '${file}'") == "cat 'data/a b.txt'")
        #expect(try substitute("no placeholders") == "no placeholders")
    }

    @Test func shellSyntaxReachesTheShellUntouched() throws {
        for text in ["echo $HOME", "echo $1 $2", "echo $$", "echo ${HOME:-/tmp}", "echo ${#name}",
                     "awk '{print $1}'", "echo $", "price: 5$", "${ name }", "${}", "${1}"] {
            #expect(try substitute(text) == text, "\(text) must not change")
        }
        #expect(try substitute("echo $HOME/${name}") == "echo $HOME/World")
    }

    @Test func doubledDollarEscapesAPlaceholder() throws {
        #expect(try substitute("echo $${HOME} ${name}") == "echo ${HOME} World")
    }

    @Test func anUnknownNameIsAnErrorNamingIt() throws {
        let error = try #require(throws: SubstitutionError.self) { _ = try substitute("echo ${nmae} ${name}") }
        #expect(error.name == "nmae")
        #expect(error.description.contains("${nmae}"))
        #expect(error.description.contains("$nmae"))
    }

    @Test func namesListsPlaceholdersInOrder() {
        #expect(Template.names(in: "${a} $b ${c_1} $${d} ${e:q}") == ["a", "c_1", "e"])
    }

    @Test func theQuotedFormIsOneShellWordWhateverTheValue() throws {
        let hostile = ["x": "x'; touch PWNED; echo '", "empty": "", "semi": "a;b $(id) `id` \"q\""]
        func quoted(_ text: String) throws -> String { try Template.substitute(text) { hostile[$0] ?? values[$0] } }
        #expect(try quoted("echo ${x:q}") == #"echo 'x'\''; touch PWNED; echo '\'''"#)
        #expect(try quoted("cat ${file:q}") == "cat 'data/a b.txt'")
        #expect(try quoted("f ${empty:q}") == "f ''")
        #expect(try quoted("${semi:q}") == #"'a;b $(id) `id` "q"'"#)
        #expect(try quoted("$${x:q}") == "${x:q}", "$${ escapes the quoted form too")
        #expect(try quoted("echo ${x:-d} ${x:Q} ${x:qq}") == "echo ${x:-d} ${x:Q} ${x:qq}", "other suffixes are the shell's")
        let error = try #require(throws: SubstitutionError.self) { _ = try quoted("${nope:q}") }
        #expect(error.name == "nope")
    }

    @Test func aDottedNameIsAPathIntoARecordOrList() throws {
        #expect(Template.names(in: "${sample.id} ${reads.1} ${a.b_2.c:q}") == ["sample.id", "reads.1", "a.b_2.c"])
        #expect(Template.root(of: "sample.reads.1") == "sample")
        #expect(Template.root(of: "plain") == "plain")
        for text in ["${a.}", "${a..b}", "${.a}", "${a.b-c}", "${1.a}"] {
            #expect(try substitute(text) == text, "\(text) is not flowlua's and must not change")
        }
    }

    @Test func aVariableNameIsAnIdentifier() {
        for name in ["n", "_x", "sample_2"] { #expect(Template.isIdentifier(name), "\(name)") }
        for name in ["", "2n", "a-b", "a.b", "é"] { #expect(!Template.isIdentifier(name), "\(name)") }
    }
}
