import DRSpec
import Foundation
import Testing
@testable import DRPostgres

@Suite struct PasswordResolverTests {
    func tempFile(_ text: String, mode: mode_t) throws -> String {
        let path = NSTemporaryDirectory() + "pgdr-pw-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    @Test func readsA0600File() throws {
        let path = try tempFile("s3cret-value\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let secret = try PasswordResolver.resolve(.file(path), baseDirectory: "/")
        #expect(secret?.reveal() == "s3cret-value")
    }

    @Test func refusesASymbolicLinkLeadingOutOfTheDeploymentFolder() throws {
        let folder = NSTemporaryDirectory() + "pgdr-deploy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: "\(folder)/secrets", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let outside = try tempFile("s3cret-elsewhere", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/secrets/away", withDestinationPath: outside)
        let error = #expect(throws: PasswordResolver.Failure.self) {
            try PasswordResolver.resolve(.file("secrets/away"), baseDirectory: folder)
        }
        #expect(error?.description.contains("is a symbolic link to \(outside), outside the deployment folder") == true, "\(error!)")
        #expect(error?.description.contains("s3cret") == false)
        // A link that stays inside the folder (Kubernetes mounts secrets so) is read.
        try "s3cret-inside".write(toFile: "\(folder)/secrets/real", atomically: false, encoding: .utf8)
        chmod("\(folder)/secrets/real", 0o600)
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/secrets/inside", withDestinationPath: "\(folder)/secrets/real")
        #expect(try PasswordResolver.resolve(.file("secrets/inside"), baseDirectory: folder)?.reveal() == "s3cret-inside")
    }

    @Test func refusesAFileOthersCanRead() throws {
        let path = try tempFile("s3cret-value", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: PasswordResolver.Failure.self) {
            try PasswordResolver.resolve(.file(path), baseDirectory: "/")
        }
        #expect(error?.description.contains("chmod 600") == true)
        #expect(error?.description.contains("s3cret") == false)
    }

    @Test func relativePathsAreRelativeToTheSpec() throws {
        let path = try tempFile("abc", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        #expect(try PasswordResolver.resolve(.file(name), baseDirectory: folder)?.reveal() == "abc")
    }

    @Test func missingFileAndUnsetVariable() throws {
        #expect(throws: PasswordResolver.Failure.self) {
            try PasswordResolver.resolve(.file("/nonexistent/pw"), baseDirectory: "/")
        }
        let error = #expect(throws: PasswordResolver.Failure.self) {
            try PasswordResolver.resolve(.environment("PGDR_TEST_UNSET"), baseDirectory: "/", environment: [:])
        }
        #expect(error?.description.contains("PGDR_TEST_UNSET") == true)
        #expect(try PasswordResolver.resolve(.environment("X"), baseDirectory: "/", environment: ["X": "v"])?.reveal() == "v")
    }

    @Test func targetDescriptionHasNoPassword() {
        let target = ConnectionTarget(host: "127.0.0.1", port: 5432, user: "u", password: Secret("topsecret"))
        #expect(!String(describing: target).contains("topsecret"))
        #expect(!String(reflecting: target).contains("topsecret"))
    }
}
