import DROperations
import DRSpec
import Foundation

/// Waits until some agent holds a deployment's leader key in etcd (quorum
/// mode), and names the holder; nil if nobody does within the limit.
enum LeaderWait {
    static func leader(specFile: String, within limit: Duration) async -> String? {
        guard let parsed = try? SpecParser.load(path: specFile), let dcs = parsed.spec.dcs,
              let quorum = try? Quorum.etcd(dcs, baseDirectory: parsed.baseDirectory) else { return nil }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let (record, _) = try? await quorum.leader() { return record.node }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}
