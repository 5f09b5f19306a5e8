import Foundation

/// The AWS services pgdr calls, with their signing names and wire protocols.
public enum AWSService: String, Sendable, CaseIterable {
    case rds, cloudwatch = "monitoring", route53, sns, secretsmanager, sts, iam, ssm, cloudformation, s3, logs

    /// The SigV4 signing name (also the endpoint's first label).
    public var signingName: String { rawValue }

    /// Route 53 and IAM are global: signed for us-east-1 whatever the region.
    public var isGlobal: Bool { self == .route53 || self == .iam }

    /// The `AWS_ENDPOINT_URL_<ID>` suffix the AWS SDKs read for this service.
    var environmentID: String {
        switch self {
        case .rds: "RDS"
        case .cloudwatch: "CLOUDWATCH"
        case .route53: "ROUTE_53"
        case .sns: "SNS"
        case .secretsmanager: "SECRETS_MANAGER"
        case .sts: "STS"
        case .iam: "IAM"
        case .ssm: "SSM"
        case .cloudformation: "CLOUDFORMATION"
        case .s3: "S3"
        case .logs: "CLOUDWATCH_LOGS"
        }
    }
}

/// Where each service is: `https://SERVICE.REGION.amazonaws.com` (the
/// global ones without a region), unless overridden, as the AWS SDKs
/// allow, by `AWS_ENDPOINT_URL_<SERVICE>`, then `aws.endpoint` in
/// pgdr.yaml, then `AWS_ENDPOINT_URL`: for moto_server, a VPC endpoint or
/// a proxy.
public struct AWSEndpoints: Sendable {
    public var specEndpoint: URL?
    public var environment: [String: String]

    public init(specEndpoint: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.specEndpoint = specEndpoint
        self.environment = environment
    }

    public func url(_ service: AWSService, region: String) -> URL {
        if let text = environment["AWS_ENDPOINT_URL_\(service.environmentID)"], let url = URL(string: text), !text.isEmpty { return url }
        if let specEndpoint { return specEndpoint }
        if let text = environment["AWS_ENDPOINT_URL"], let url = URL(string: text), !text.isEmpty { return url }
        if service.isGlobal { return URL(string: "https://\(service.signingName).amazonaws.com")! }
        return URL(string: "https://\(service.signingName).\(region).amazonaws.com")!
    }

    /// Whether `service` goes to an endpoint of the operator's choosing
    /// (moto_server, a VPC endpoint, a proxy) rather than AWS's own name:
    /// S3 is then addressed path-style (`/BUCKET/KEY`), as the AWS SDKs do.
    public func isOverridden(_ service: AWSService) -> Bool {
        let own = environment["AWS_ENDPOINT_URL_\(service.environmentID)"] ?? ""
        return !own.isEmpty || specEndpoint != nil || !(environment["AWS_ENDPOINT_URL"] ?? "").isEmpty
    }

    /// The region a request to `service` is signed for.
    public func signingRegion(_ service: AWSService, region: String) -> String {
        service.isGlobal ? "us-east-1" : region
    }
}
