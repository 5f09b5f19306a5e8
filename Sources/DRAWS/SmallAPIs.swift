import Foundation
import SWXMLHash

/// SNS Publish (Query protocol, version 2010-03-31).
public struct SNSAPI: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    /// Publishes to a topic; the message id.
    @discardableResult
    public func publish(topicARN: String, subject: String, message: String) async throws -> String {
        let region = topicARN.split(separator: ":").dropFirst(3).first.map(String.init) ?? "us-east-1"
        let xml = try await client.query(.sns, region: region, action: "Publish", version: "2010-03-31",
                                         [("TopicArn", topicARN), ("Subject", String(subject.prefix(99))), ("Message", message)])
        return xml["PublishResponse"]["PublishResult"]["MessageId"].element?.text ?? ""
    }
}

/// Secrets Manager GetSecretValue (JSON 1.1 protocol).
public struct SecretsManagerAPI: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    /// The secret's string. The caller keeps it in a `Secret`; it is never logged.
    public func secretString(_ id: String, region: String) async throws -> String {
        let answer = try await client.json(.secretsmanager, region: region, target: "secretsmanager.GetSecretValue", ["SecretId": id])
        guard let text = answer["SecretString"] as? String else {
            throw AWSError.malformed(.init(service: "secretsmanager", region: region, action: "GetSecretValue"), "the secret has no SecretString")
        }
        return text
    }
}

/// STS GetCallerIdentity (Query protocol, version 2011-06-15): who the credentials are.
public struct STSAPI: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    public struct Identity: Sendable, Hashable, Codable {
        public var account: String
        public var arn: String
        public var userID: String
    }

    public func callerIdentity(region: String) async throws -> Identity {
        let xml = try await client.query(.sts, region: region, action: "GetCallerIdentity", version: "2011-06-15")
        let r = xml["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
        guard let account = r.text("Account") else {
            throw AWSError.malformed(.init(service: "sts", region: region, action: "GetCallerIdentity"), "no Account")
        }
        return Identity(account: account, arn: r.text("Arn") ?? "", userID: r.text("UserId") ?? "")
    }
}
