@testable import FlowStore
import GRDB
import Testing

@Suite("Statements of many rows")
struct BoundStatementTests {
    @Test(arguments: [0, 1, 3, 4, 5, 63, 64, 65, 150, 1000])
    func everyRowIsWrittenOnceInOrder(count: Int) throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, tag TEXT NOT NULL)")
            try BoundStatement.inChunks(count, of: 64, in: db, sql: { n in
                "INSERT INTO t (n, tag) VALUES " + BoundStatement.values("(?, ?)", n)
            }, row: { statement, i in
                statement.bind(i)
                statement.bind("row \(i)")
            })
        }
        let rows = try queue.read { db in try Row.fetchAll(db, sql: "SELECT n, tag FROM t ORDER BY seq") }
        #expect(rows.map { $0["n"] as Int } == Array(0..<count))
        #expect(rows.map { $0["tag"] as String } == (0..<count).map { "row \($0)" })
    }

    @Test func aBatchOfAnySizeUsesAtMostFourShapesOfStatement() throws {
        let queue = try DatabaseQueue()
        var shapes = Set<Int>()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)")
            for count in 1...200 {
                try BoundStatement.inChunks(count, of: 64, in: db, sql: { n in
                    shapes.insert(n)
                    return "INSERT INTO t (n) VALUES " + BoundStatement.values("(?)", n)
                }, row: { statement, i in statement.bind(i) })
            }
        }
        #expect(shapes == [64, 16, 4, 1])
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") } == (1...200).reduce(0, +))
    }
}
