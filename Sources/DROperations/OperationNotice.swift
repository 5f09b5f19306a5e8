import DRNotify
import DRSpec
import Foundation

/// An operation's notice to every sink in pgdr.yaml: the end of an
/// operation (its notify step), and what automatic mode did instead of a
/// failover (refused, or failed). A sink that does not hear it is named,
/// never fails the caller.
public enum OperationNotice {
    public struct Delivery: Sendable {
        public var delivered: [String] = []
        public var failed: [String] = []
    }

    /// `outcome`: done, degraded, refused or failed.
    public static func payload(spec: Spec, operation: String, type: String, from: String, to: String, outcome: String,
                               degraded: [String] = [], message: String, at: Date) -> Data? {
        let payload: [String: Any] = [
            "kind": "operation", "operation": operation, "type": type, "from": from, "to": to,
            "deployment": spec.resourceName(spec.name), "at": at.formatted(.iso8601),
            "outcome": outcome, "degraded": degraded, "message": message,
        ]
        return try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
    }

    public static func deliver(_ body: Data, spec: Spec, baseDirectory: String) async -> Delivery {
        var result = Delivery()
        for sink in spec.notifications {
            let notifier = NotifierFactory.make(sink, baseDirectory: baseDirectory)
            do {
                try await notifier.deliver(body)
                result.delivered.append(notifier.label)
            } catch {
                result.failed.append("\(notifier.label): \(error)")
            }
        }
        return result
    }
}
