import Foundation

/// Where the PostgreSQL server programs are (initdb, pg_ctl, pg_basebackup,
/// pg_rewind, postgres), and which major version they are.
public struct PostgresBinaries: Sendable {
    public let directory: String
    public let major: Int

    public func path(_ program: String) -> String { (directory as NSString).appendingPathComponent(program) }

    static let required = ["initdb", "pg_ctl", "pg_basebackup", "postgres"]

    /// Looks, in order, at `$PGDR_PG_BINDIR`, `pg_config --bindir`, `PATH`, and
    /// `/usr/lib/postgresql/<version>/bin` (newest first). Debian's `pg_config`
    /// can point at a client-only install, so every candidate must really hold
    /// the server programs.
    public static func discover(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresBinaries {
        var candidates: [String] = []
        if let forced = environment["PGDR_PG_BINDIR"], !forced.isEmpty { candidates.append(forced) }
        if let bindir = pgConfigBindir(environment: environment) { candidates.append(bindir) }
        for dir in (environment["PATH"] ?? "").split(separator: ":") { candidates.append(String(dir)) }
        let debianRoot = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "\(debianRoot)/\($0)/bin" }

        for dir in candidates where required.allSatisfy({ FileManager.default.isExecutableFile(atPath: "\(dir)/\($0)") }) {
            if let major = version(of: "\(dir)/postgres") {
                return PostgresBinaries(directory: dir, major: major)
            }
        }
        throw LocalError("""
            PostgreSQL server programs (initdb, pg_ctl, pg_basebackup, postgres) were not found \
            (looked in PGDR_PG_BINDIR, pg_config --bindir, PATH and /usr/lib/postgresql/*/bin). \
            Install them: `apt-get install -y postgresql` (Debian/Ubuntu), or set PGDR_PG_BINDIR to their folder
            """)
    }

    static func pgConfigBindir(environment: [String: String]) -> String? {
        let path = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/pg_config" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { return nil }
        return runForOutput(path, ["--bindir"])?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `postgres (PostgreSQL) 15.18 (Debian ...)` → 15
    static func version(of postgres: String) -> Int? {
        guard let text = runForOutput(postgres, ["--version"]),
              let match = text.firstMatch(of: /\(PostgreSQL\) (\d+)/) else { return nil }
        return Int(match.1)
    }

    /// A short synchronous run, only for `--version`-style queries at start-up.
    static func runForOutput(_ path: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
