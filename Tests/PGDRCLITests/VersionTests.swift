import Foundation
import PGDRTestSupport
import Testing

/// `pgdr --version` names the release and the build: the GNU build ID the
/// linker stamped into this very binary, as binutils' readelf reads it.
@Suite struct VersionTests {
    @Test func theVersionNamesThisBuild() async throws {
        let result = try await CLI.run(["--version"])
        #expect(result.status == 0)
        let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let match = try #require(line.wholeMatch(of: /pgdr (\d+\.\d+\.\d+) \(build ([0-9a-f]{12}), (debug|release)\)/), "\(line)")
        let notes = try await CLI.program("/usr/bin/readelf", ["-n", CLI.binary])
        let stamped = try #require(notes.stdout.firstMatch(of: /Build ID: ([0-9a-f]+)/)?.1, "readelf: \(notes.stderr)")
        #expect(stamped.hasPrefix(match.2), "the build named is the binary's own (\(stamped))")
        #expect(try await CLI.run(["--help"]).stdout.contains("--version"))
    }
}
