import Foundation

/// Where the `pgdr` binary SwiftPM built for these tests is: `$PGDR_BIN`, or
/// next to the test bundle, or `.build/debug/pgdr` of this checkout.
public enum PGDRBinary {
    public static let path: String = {
        if let forced = ProcessInfo.processInfo.environment["PGDR_BIN"] { return forced }
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("pgdr").path,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pgdr").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/pgdr").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()
}
