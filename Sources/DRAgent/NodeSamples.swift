import DRPostgres
import DRSpec
import DRStatus
import Foundation
import Logging

/// One node's sample with a bounded wait (its own agent samples it).
enum NodeSamples {
    static func sample(_ node: NodeSpec, baseDirectory: String, timeout: Duration) async -> NodeSample {
        await NodeProbe.sample(node: node, baseDirectory: baseDirectory, timeout: timeout)
    }
}
