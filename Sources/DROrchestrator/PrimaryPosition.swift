import Foundation

/// The last time the agent saw the primary: its name and flush LSN. When the
/// primary is gone, this is the best evidence of how much the DR replica is
/// missing: the primary's last known flush position minus what the replica
/// received. Written by the agent every round, read by failover planning.
public struct PrimaryPosition: Sendable, Hashable, Codable {
    public var node: String
    public var flushLSN: String
    public var at: Date

    public init(node: String, flushLSN: String, at: Date) {
        self.node = node
        self.flushLSN = flushLSN
        self.at = at
    }

    public static let fileName = "pgdr-last-primary.json"

    public static func load(directory: String) -> PrimaryPosition? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(fileName)") else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try? decoder.decode(PrimaryPosition.self, from: data)
    }

    public func save(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        try encoder.encode(self).write(to: URL(fileURLWithPath: "\(directory)/\(Self.fileName)"), options: .atomic)
    }
}
