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
        #expect(Template.names(in: "${a} $b ${c_1} $${d}") == ["a", "c_1"])
    }
}
