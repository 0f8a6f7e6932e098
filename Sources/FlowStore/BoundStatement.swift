import GRDB
import GRDBSQLite

/// A statement prepared once per connection (GRDB's statement cache) and
/// run through SQLite's C API.
///
/// For per-step statements only (a new run's step rows, the recorder's
/// updates): binding through GRDB's `StatementArguments` cost several times
/// what SQLite spent executing them, and a run of 10,000 code steps writes
/// 30,000 of them.
struct BoundStatement: ~Copyable {
    private let statement: Statement
    private var index: Int32 = 0

    init(_ db: Database, _ sql: String) throws {
        // Reset and cleared after each run, so a cached statement is as good as new.
        statement = try db.cachedStatement(sql: sql)
    }

    /// Binds the next parameter.
    mutating func bind(_ value: String?) {
        index += 1
        let pointer = statement.sqliteStatement
        guard let value else {
            sqlite3_bind_null(pointer, index)
            return
        }
        _ = value.withCString { sqlite3_bind_text(pointer, index, $0, -1, Self.transient) }
    }

    mutating func bind(_ bytes: [UInt8]) {
        index += 1
        _ = bytes.withUnsafeBytes {
            sqlite3_bind_blob(statement.sqliteStatement, index, $0.baseAddress, Int32($0.count), Self.transient)
        }
    }

    mutating func bind(_ value: Int64?) {
        index += 1
        if let value { sqlite3_bind_int64(statement.sqliteStatement, index, value) } else {
            sqlite3_bind_null(statement.sqliteStatement, index)
        }
    }

    mutating func bind(_ value: Double?) {
        index += 1
        if let value { sqlite3_bind_double(statement.sqliteStatement, index, value) } else {
            sqlite3_bind_null(statement.sqliteStatement, index)
        }
    }

    mutating func bind(_ value: Bool?) { bind(value.map { $0 ? Int64(1) : Int64(0) }) }
    mutating func bind(_ value: Int?) { bind(value.map(Int64.init)) }
    mutating func bind(_ value: Int32?) { bind(value.map(Int64.init)) }

    /// Runs it with the parameters bound since the last run, and resets it.
    mutating func run(in db: Database) throws {
        let pointer = statement.sqliteStatement
        let code = sqlite3_step(pointer)
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
        index = 0
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// SQLite copies the text: the Swift string's buffer is only lent.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

extension BoundStatement {
    /// Writes `count` rows with statements of `perStatement` rows each, and
    /// the rest with statements of a quarter of that, a sixteenth, ... down
    /// to one row: SQLite's cost is mostly per statement, and preparing one
    /// of many rows costs more than running it, so a batch of any size uses
    /// a few shapes, each prepared once per connection (a writer that wrote
    /// its 43 rows in a statement of 43 spent most of its time preparing).
    /// `sql(n)` is the text for n rows; `row` binds row i; `rest` binds what
    /// follows the rows.
    static func inChunks(_ count: Int, of perStatement: Int, in db: Database, sql: (Int) -> String,
                         row: (inout BoundStatement, Int) -> Void,
                         rest: (inout BoundStatement) -> Void = { _ in }) throws {
        var start = 0
        var size = max(perStatement, 1)
        while start < count {
            while count - start < size { size = max(size / 4, 1) }
            var statement = try BoundStatement(db, sql(size))
            while count - start >= size {
                for i in start ..< start + size { row(&statement, i) }
                rest(&statement)
                try statement.run(in: db)
                start += size
            }
        }
    }

    /// `n` copies of a row's placeholders, for a VALUES list.
    static func values(_ row: String, _ n: Int) -> String {
        Array(repeating: row, count: n).joined(separator: ", ")
    }
}
