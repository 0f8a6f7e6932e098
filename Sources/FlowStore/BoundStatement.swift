import GRDB
import GRDBSQLite

/// A statement prepared once per batch and run through SQLite's C API.
///
/// For the recorder's per-step statements only: binding through GRDB's
/// `StatementArguments` cost several times what SQLite spent executing
/// them, and a run of 10,000 code steps writes 20,000 of them.
struct BoundStatement: ~Copyable {
    private let statement: Statement
    private var index: Int32 = 0

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
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
