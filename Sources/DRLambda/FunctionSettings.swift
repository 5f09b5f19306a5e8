import DRRDS
import DRSpec
import Foundation

/// What a function is told by its environment (set by the templates
/// `pgdr synth` writes) and by the pgdr.yaml that `pgdr package` puts in its
/// zip beside `bootstrap`: the same file the CLI reads, so the function
/// plans with the same rules.
public struct FunctionSettings: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case lagMonitor = "lag-monitor"
        case failover
    }

    public var kind: Kind
    public var spec: Spec
    /// The function's own region (AWS_REGION, set by Lambda).
    public var region: String
    /// The master secret in this region (the primary's, or its replica).
    public var secretID: String
    /// The SNS topic of this region.
    public var topicARN: String?
    /// The CA bundle the database certificates are checked against (verify-full).
    public var caFile: String
    /// Where an instance is reached when not at the endpoint RDS reports
    /// (an RDS Proxy, a tunnel): instance id → host and port.
    public var addresses: [String: HostAndPort]

    public static func from(_ environment: [String: String]) throws -> FunctionSettings {
        func required(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else { throw FunctionError.settings("\(name) is not set") }
            return value
        }
        let kindText = try required("PGDR_FUNCTION")
        guard let kind = Kind(rawValue: kindText) else {
            throw FunctionError.settings("PGDR_FUNCTION is \(kindText); expected \(Kind.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        let root = environment["LAMBDA_TASK_ROOT"] ?? FileManager.default.currentDirectoryPath
        let configPath = environment["PGDR_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(root)/pgdr.yaml"
        let parsed: ParsedSpec
        do {
            parsed = try SpecParser.load(path: configPath)
        } catch {
            throw FunctionError.settings("\(configPath): \(error)")
        }
        guard parsed.spec.target == .aws else {
            throw FunctionError.settings("\(configPath) is not for RDS (target: aws): the functions run beside RDS instances only")
        }
        let region = try required("AWS_REGION")
        return FunctionSettings(
            kind: kind, spec: parsed.spec, region: region,
            secretID: environment["PGDR_SECRET"].flatMap { $0.isEmpty ? nil : $0 } ?? RDSSessions.defaultSecretID(parsed.spec),
            topicARN: environment["PGDR_TOPIC"].flatMap { $0.isEmpty ? nil : $0 },
            caFile: environment["PGDR_DB_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(root)/rds-ca.pem",
            addresses: try parseAddresses(environment["PGDR_DB_ADDRESSES"] ?? ""))
    }

    /// `id=host:port,id=host:port`.
    static func parseAddresses(_ text: String) throws -> [String: HostAndPort] {
        var out: [String: HostAndPort] = [:]
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let address = HostAndPort(String(pair[1]).trimmingCharacters(in: .whitespaces)) else {
                throw FunctionError.settings("PGDR_DB_ADDRESSES: `\(item)` is not id=host:port")
            }
            out[String(pair[0]).trimmingCharacters(in: .whitespaces)] = address
        }
        return out
    }
}

extension FunctionError {
    static func settings(_ message: String) -> FunctionError { FunctionError(type: "pgdr.Settings", message: message) }
}
