import Foundation

/// Systems Manager Parameter Store (JSON 1.1 protocol, `AmazonSSM.*`):
/// the durable records of the failover function (plans, approvals, runs).
/// Every write is versioned by Parameter Store and logged by CloudTrail.
public struct SSMAPI: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    /// Writes a parameter. `overwrite: false` creates it only when it does
    /// not exist: a second writer gets `ParameterAlreadyExists` (the way an
    /// approval or a run is claimed exactly once).
    public func put(_ name: String, value: String, overwrite: Bool, region: String, description: String? = nil) async throws {
        var body: [String: Any] = ["Name": name, "Value": value, "Type": "String", "Overwrite": overwrite, "Tier": "Standard"]
        if let description { body["Description"] = description }
        _ = try await client.json(.ssm, region: region, target: "AmazonSSM.PutParameter", body)
    }

    /// A parameter's value, or nil when there is none.
    public func get(_ name: String, region: String) async throws -> String? {
        do {
            let answer = try await client.json(.ssm, region: region, target: "AmazonSSM.GetParameter", ["Name": name])
            return (answer["Parameter"] as? [String: Any])?["Value"] as? String
        } catch let error as AWSError where error.code == "ParameterNotFound" {
            return nil
        }
    }

    /// Every parameter under a path (recursively): name and value.
    public func list(path: String, region: String) async throws -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        var token: String?
        repeat {
            var body: [String: Any] = ["Path": path, "Recursive": true, "MaxResults": 10]
            if let token { body["NextToken"] = token }
            let answer = try await client.json(.ssm, region: region, target: "AmazonSSM.GetParametersByPath", body)
            for item in answer["Parameters"] as? [[String: Any]] ?? [] {
                if let name = item["Name"] as? String, let value = item["Value"] as? String { out.append((name, value)) }
            }
            token = answer["NextToken"] as? String
        } while token != nil
        return out
    }

    public func delete(_ name: String, region: String) async throws {
        do {
            _ = try await client.json(.ssm, region: region, target: "AmazonSSM.DeleteParameter", ["Name": name])
        } catch let error as AWSError where error.code == "ParameterNotFound" {
        }
    }
}
