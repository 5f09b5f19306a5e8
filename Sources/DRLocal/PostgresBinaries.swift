import DRProcess
import Foundation

/// Where the PostgreSQL server programs are (initdb, pg_ctl, pg_basebackup,
/// pg_rewind, pg_controldata, postgres), and which major version they are.
public struct PostgresBinaries: Sendable {
    public let directory: String
    public let major: Int

    public init(directory: String, major: Int) {
        self.directory = directory
        self.major = major
    }

    public func path(_ program: String) -> String { (directory as NSString).appendingPathComponent(program) }

    static let required = ["initdb", "pg_ctl", "pg_basebackup", "postgres"]
    static let debianRoot = "/usr/lib/postgresql"

    /// Looks, in order, at `$PGDR_PG_BINDIR`, `PATH`, and
    /// `/usr/lib/postgresql/<version>/bin` (newest first). Every candidate
    /// must really hold the server programs (Debian's PATH often has only
    /// the client wrappers).
    public static func discover(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> PostgresBinaries {
        var candidates: [String] = []
        if let forced = environment["PGDR_PG_BINDIR"], !forced.isEmpty { candidates.append(forced) }
        for dir in (environment["PATH"] ?? "").split(separator: ":") { candidates.append(String(dir)) }
        candidates += installedMajors().map { "\(debianRoot)/\($0)/bin" }
        for dir in candidates where required.allSatisfy({ FileManager.default.isExecutableFile(atPath: "\(dir)/\($0)") }) {
            if let major = await version(of: "\(dir)/postgres") {
                return PostgresBinaries(directory: dir, major: major)
            }
        }
        throw LocalError("""
            PostgreSQL server programs (initdb, pg_ctl, pg_basebackup, postgres) were not found \
            (looked in PGDR_PG_BINDIR, PATH and /usr/lib/postgresql/*/bin). \
            Install them: `apt-get install -y postgresql` (Debian/Ubuntu), or set PGDR_PG_BINDIR to their folder
            """)
    }

    /// The programs of the major version that made a data directory: pg_rewind
    /// and pg_controldata must match the server.
    public static func forDataDirectory(_ data: DataDirectory,
                                        environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresBinaries {
        guard let major = data.major else {
            throw LocalError("\(data.path) is not a PostgreSQL data directory (no PG_VERSION); set control.binDirectory for this node")
        }
        var candidates: [String] = []
        if let forced = environment["PGDR_PG_BINDIR"], !forced.isEmpty { candidates.append(forced) }
        candidates.append("\(debianRoot)/\(major)/bin")
        for dir in candidates where FileManager.default.isExecutableFile(atPath: "\(dir)/pg_ctl") {
            return PostgresBinaries(directory: dir, major: major)
        }
        throw LocalError("""
            the server programs of PostgreSQL \(major), which made \(data.path), were not found in \
            \(candidates.joined(separator: " or ")); install them (`apt-get install -y postgresql-\(major)`) \
            or set control.binDirectory for this node
            """)
    }

    static func installedMajors() -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? []).compactMap(Int.init).sorted(by: >)
    }

    /// `postgres (PostgreSQL) 15.18 (Debian ...)` → 15
    static func version(of postgres: String) async -> Int? {
        guard let result = try? await ChildProcess.checked(.init(postgres, ["--version"], timeout: .seconds(10))),
              let match = result.output.firstMatch(of: /\(PostgreSQL\) (\d+)/) else { return nil }
        return Int(match.1)
    }
}
