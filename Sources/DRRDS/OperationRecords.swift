import DRAWS
import DROrchestrator
import DRSpec
import Foundation

/// The failover function's durable records, in Parameter Store under
/// `/pgdr/DEPLOYMENT/` in the function's region: the plan it made
/// (`plans/ID`), the approval an operator wrote (`approvals/ID`, created
/// once: `pgdr approve ID` or `aws ssm put-parameter`), and the run
/// (`runs/ID`, created once by the function that claims it, then its
/// outcome). Parameter Store keeps every version and CloudTrail logs each
/// write: who approved, when, is on record.
public struct OperationRecords: Sendable {
    public let ssm: SSMAPI
    public let region: String
    public let root: String

    public init(ssm: SSMAPI, region: String, spec: Spec) {
        self.ssm = ssm
        self.region = region
        root = Self.root(spec)
    }

    public static func root(_ spec: Spec) -> String { AWSRules.recordsRoot(spec) }

    public var approvalsPath: String { root + "approvals/" }

    public struct ApprovalRecord: Codable, Sendable {
        public var approvedBy: String
        public var at: Date
        public init(approvedBy: String, at: Date) {
            self.approvedBy = approvedBy
            self.at = at
        }
    }

    public struct RunRecord: Codable, Sendable {
        public enum State: String, Codable, Sendable { case running, done, degraded, failed, refused }
        public var state: State
        public var startedAt: Date
        public var endedAt: Date?
        public var detail: String?
        public var request: String?

        public init(state: State, startedAt: Date, endedAt: Date? = nil, detail: String? = nil, request: String? = nil) {
            self.state = state
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.detail = detail
            self.request = request
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    public func plan(_ id: String) async throws -> OperationPlan? {
        try await read(OperationPlan.self, root + "plans/" + id)
    }

    public func savePlan(_ plan: OperationPlan) async throws {
        try await ssm.put(root + "plans/" + plan.id, value: String(decoding: try Self.encoder.encode(plan), as: UTF8.self),
                          overwrite: false, region: region, description: "pgdr \(plan.kind.rawValue) plan \(plan.from) -> \(plan.to)")
    }

    public func approval(_ id: String) async throws -> ApprovalRecord? {
        try await read(ApprovalRecord.self, root + "approvals/" + id)
    }

    /// Writes the approval once: a second approval of the same plan is refused (ParameterAlreadyExists).
    public func approve(_ id: String, by: String, at: Date) async throws {
        try await ssm.put(root + "approvals/" + id, value: String(decoding: try Self.encoder.encode(ApprovalRecord(approvedBy: by, at: at)), as: UTF8.self),
                          overwrite: false, region: region, description: "pgdr approval of \(id)")
    }

    public func run(_ id: String) async throws -> RunRecord? {
        try await read(RunRecord.self, root + "runs/" + id)
    }

    /// Claims the run (created once); false when another invocation has it already.
    public func claim(_ id: String, _ record: RunRecord) async throws -> Bool {
        do {
            try await ssm.put(root + "runs/" + id, value: String(decoding: try Self.encoder.encode(record), as: UTF8.self),
                              overwrite: false, region: region)
            return true
        } catch let error as AWSError where error.code == "ParameterAlreadyExists" {
            return false
        }
    }

    public func finish(_ id: String, _ record: RunRecord) async throws {
        try await ssm.put(root + "runs/" + id, value: String(decoding: try Self.encoder.encode(record), as: UTF8.self),
                          overwrite: true, region: region)
    }

    /// Every plan on record, newest first.
    public func plans() async throws -> [OperationPlan] {
        try await ssm.list(path: root + "plans", region: region)
            .compactMap { try? Self.decoder.decode(OperationPlan.self, from: Data($0.value.utf8)) }
            .sorted { $0.createdAt > $1.createdAt }
    }

    func read<T: Decodable>(_ type: T.Type, _ name: String) async throws -> T? {
        guard let text = try await ssm.get(name, region: region) else { return nil }
        do {
            return try Self.decoder.decode(T.self, from: Data(text.utf8))
        } catch {
            throw RDSInputError("\(name) is not a record pgdr wrote: \(error)")
        }
    }
}
