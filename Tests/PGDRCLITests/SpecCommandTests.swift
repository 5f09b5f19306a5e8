import Foundation
import PGDRTestSupport
import Testing

@Suite struct SpecCommandTests {
    @Test func initWritesAValidExampleAndNeverOverwrites() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await CLI.run(["init"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let written = try String(contentsOfFile: "\(dir)/pgdr.yaml", encoding: .utf8)
        #expect(written.contains("# pgdr.yaml"))

        try "name: mine\n".write(toFile: "\(dir)/pgdr.yaml", atomically: true, encoding: .utf8)
        let second = try await CLI.run(["init"], in: dir)
        #expect(second.status == 2)
        #expect(second.stderr.contains("already exists"))
        #expect(try String(contentsOfFile: "\(dir)/pgdr.yaml", encoding: .utf8) == "name: mine\n")

        let valid = try await CLI.run(["validate", "\(dir)/pgdr.yaml"])
        #expect(valid.status == 2, "the overwritten file is incomplete")
        #expect(try await CLI.run(["init", "--force", "\(dir)/pgdr.yaml"]).status == 0)
        let ok = try await CLI.run(["validate", "\(dir)/pgdr.yaml"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("valid"))
    }

    @Test func badSpecExitsTwoAndNamesEveryKey() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = """
            name: orders
            environment: prod
            objectives: {rpo: 5m, rto: 1h}
            engine: {version: "16"}
            primary:
              instanceClas: db.r6g.large
              region: us-east1
            """
        try spec.write(toFile: "\(dir)/bad.yaml", atomically: true, encoding: .utf8)
        let result = try await CLI.run(["validate", "\(dir)/bad.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml:6:3: error: primary.instanceClas: unknown key"))
        #expect(result.stderr.contains("did you mean `instanceClass`?"))
        #expect(result.stderr.contains("primary.region"))
        #expect(result.stderr.contains("2 problems"))

        let json = try await CLI.run(["validate", "--json", "\(dir)/bad.yaml"])
        #expect(json.status == 2)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(decoded?["valid"] as? Bool == false)
        #expect((decoded?["problems"] as? [[String: Any]])?.count == 2)

        let status = try await CLI.run(["status", "--config", "\(dir)/bad.yaml"])
        #expect(status.status == 2)
        #expect(status.stderr.contains("primary.instanceClas"))
    }

    @Test func malformedYAMLAndMissingFile() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "name: [unclosed\n".write(toFile: "\(dir)/broken.yaml", atomically: true, encoding: .utf8)
        let broken = try await CLI.run(["validate", "\(dir)/broken.yaml"])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("YAML syntax"))
        #expect(broken.stderr.contains("broken.yaml:2:1") || broken.stderr.contains("broken.yaml:1:"))
        let missing = try await CLI.run(["validate", "\(dir)/nope.yaml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such file"))
    }

    @Test func destroyWithoutConfirmationChangesNothing() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try await CLI.run(["lab", "destroy", "--dir", dir])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--yes"))
        #expect(FileManager.default.fileExists(atPath: dir))
    }

    @Test func synthWritesBothRegionsAndNeverFromABadSpec() async throws {
        let dir = try CLI.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await CLI.run(["init", "\(dir)/pgdr.yaml"]).status == 0)
        let ok = try await CLI.run(["synth", "--config", "\(dir)/pgdr.yaml", "--out", "\(dir)/out"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").sorted()
        #expect(files == ["deploy-plan.json", "deploy-plan.md", "dr.template.json", "primary.template.json"])
        #expect(try String(contentsOfFile: "\(dir)/out/deploy-plan.md", encoding: .utf8).contains("aws cloudformation deploy"))

        try "name: orders\nenvironment: prod\nobjectives: {rpo: 5m, rto: 1h}\nengine: {version: \"16\"}\ntags: {rpo: \"<1hour\"}\n"
            .write(toFile: "\(dir)/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try await CLI.run(["synth", "--config", "\(dir)/bad.yaml", "--out", "\(dir)/bad-out"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("under-1-hour"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/bad-out"), "nothing is written from an invalid spec")

        try "notes".write(toFile: "\(dir)/out/notes.txt", atomically: true, encoding: .utf8)
        let stranger = try await CLI.run(["synth", "--config", "\(dir)/pgdr.yaml", "--out", "\(dir)/out"])
        #expect(stranger.status == 2)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/out/notes.txt"))

        let cost = try await CLI.run(["cost", "--config", "\(dir)/pgdr.yaml"])
        #expect(cost.status == 0)
        #expect(cost.stdout.contains("total"))
    }

    @Test func helpExplainsEveryVerb() async throws {
        let help = try await CLI.run(["--help"])
        #expect(help.status == 0)
        for verb in ["init", "validate", "lab", "status", "agent", "events", "failover", "approve", "switchover",
                     "rejoin", "operations", "drill", "synth", "cost"] { #expect(help.stdout.contains(verb), "\(verb)") }
        #expect(help.stdout.contains("Exit codes"))
    }
}
