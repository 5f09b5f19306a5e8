import DRMonitor
import DRSpec
import Foundation

/// What a sink receives for each notice: one JSON object.
public struct NoticePayload: Sendable, Codable {
    public var id: String
    public var kind: String
    public var deployment: String
    public var alarm: String
    public var summary: String
    public var from: String
    public var to: String
    public var reason: String
    public var at: Date

    public init(_ notice: NotificationPolicy.Notice, deployment: String) {
        id = notice.id
        kind = notice.kind.rawValue
        self.deployment = deployment
        alarm = notice.transition.alarm
        summary = notice.transition.summary
        from = notice.transition.from.rawValue
        to = notice.transition.to.rawValue
        reason = notice.transition.reason
        at = notice.transition.at
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }
}

