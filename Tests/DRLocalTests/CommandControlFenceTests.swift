import DRControl
import DRLocal
import DRSpec
import Foundation
import Testing

/// A commands control without `fence` can only stop the server: its fence
/// report says what it could not guarantee (the runner then journals the
/// step degraded), and one with `fence` runs it with the operation named.
@Suite struct CommandControlFenceTests {
    @Test func withoutAFenceCommandTheStopIsAWeakFence() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgdr-fence-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var commands = NodeControlSpec.Commands()
        commands.stop = ["/bin/sh", "-c", "echo \"$PGDR_STOP_MODE\" > \(dir)/stopped"]
        let weak = try await CommandControl(node: "pg1", commands: commands, timeout: .seconds(10))
            .fence(operation: "op-1", within: .seconds(5), urgent: true)
        #expect(weak.weakness?.contains("no control.commands.fence") == true, "\(weak)")
        #expect(try String(contentsOfFile: "\(dir)/stopped", encoding: .utf8) == "immediate\n", "the stop ran, urgently")

        commands.fence = ["/bin/sh", "-c", "echo \"$PGDR_OPERATION\" > \(dir)/fenced"]
        let strong = try await CommandControl(node: "pg1", commands: commands, timeout: .seconds(10))
            .fence(operation: "op-2", within: .seconds(5), urgent: false)
        #expect(strong.weakness == nil, "\(strong)")
        #expect(try String(contentsOfFile: "\(dir)/fenced", encoding: .utf8) == "op-2\n")
    }
}
