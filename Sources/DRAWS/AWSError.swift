import Foundation

/// Why an AWS call failed, in one line that names AWS's error code and
/// what to do. Never carries a credential.
public enum AWSError: Error, CustomStringConvertible, Sendable {
    /// No usable credentials, or a malformed source of them.
    case credentials(String)
    /// The service answered with an error.
    case service(Call, code: String, message: String, status: Int, attempts: Int)
    /// No answer (connection refused, timeout, DNS) after every attempt.
    case transport(Call, String, attempts: Int)
    /// An answer pgdr cannot read.
    case malformed(Call, String)
    /// A wait that did not finish (a promotion, a DNS change).
    case timedOut(String)

    /// Which call: service, region and action, for messages.
    public struct Call: Sendable, CustomStringConvertible {
        public var service: String
        public var region: String
        public var action: String
        public init(service: String, region: String, action: String) {
            self.service = service
            self.region = region
            self.action = action
        }
        public var description: String { "\(service) \(action) in \(region)" }
    }

    public var code: String? {
        if case .service(_, let code, _, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .credentials(let text):
            return text
        case .service(let call, let code, let message, let status, let attempts):
            let tries = attempts > 1 ? " (after \(attempts) attempts)" : ""
            return "\(call): \(code): \(message) (HTTP \(status))\(tries)" + (Self.hint(code, call: call).map { "; \($0)" } ?? "")
        case .transport(let call, let text, let attempts):
            return "\(call): no answer after \(attempts) attempt\(attempts == 1 ? "" : "s") (\(text)); check the network, the region, and aws.endpoint / AWS_ENDPOINT_URL"
        case .malformed(let call, let text):
            return "\(call): an answer pgdr cannot read (\(text))"
        case .timedOut(let text):
            return text
        }
    }

    /// What to do about the usual errors.
    static func hint(_ code: String, call: Call) -> String? {
        switch code {
        case "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "AuthFailure":
            return "AWS does not know this access key: check the credentials pgdr found (environment, AWS_PROFILE, instance role)"
        case "SignatureDoesNotMatch":
            return "the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key"
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired":
            return "the temporary credentials have expired: get new ones (aws sso login, assume the role again)"
        case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
            return "the credentials lack permission for \(call.service):\(call.action)"
        case "DBInstanceNotFound", "DBInstanceNotFoundFault":
            return "check primary.instanceIdentifier / dr.instanceIdentifier in pgdr.yaml and that region"
        case "InvalidDBInstanceState", "InvalidDBInstanceStateFault":
            return "the instance is busy (modifying, rebooting, backing up): wait until it is available, then retry"
        case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled",
             "PriorRequestNotComplete":
            return "AWS kept throttling pgdr: retry later, or check what else calls this API in the account"
        case "NoSuchHostedZone":
            return "check dns.hostedZoneId in pgdr.yaml"
        case "NotFound", "NotFoundException":
            return "check the topic ARN (aws.snsTopicArn)"
        case "ResourceNotFoundException":
            return "check the secret's name (the function's PGDR_SECRET, by default NAME-master) and that it exists in this region"
        default:
            return nil
        }
    }
}
