import DRAWS
import DRStatus
import Foundation
import Testing

/// Where each call goes: AWS's regional names by default, and the
/// overrides in the order docs/rds.md gives: `AWS_ENDPOINT_URL_<SERVICE>`,
/// then `aws.endpoint` in pgdr.yaml, then `AWS_ENDPOINT_URL`.
@Suite struct AWSEndpointTests {
    @Test func awsOwnNamesPerRegionAndTheGlobalServices() {
        let aws = AWSEndpoints(environment: [:])
        #expect(aws.url(.rds, region: "us-east-2").absoluteString == "https://rds.us-east-2.amazonaws.com")
        #expect(aws.url(.cloudwatch, region: "eu-west-1").absoluteString == "https://monitoring.eu-west-1.amazonaws.com")
        #expect(aws.url(.route53, region: "eu-west-1").absoluteString == "https://route53.amazonaws.com")
        #expect(aws.signingRegion(.route53, region: "eu-west-1") == "us-east-1", "Route 53 is signed for us-east-1 from any region")
        #expect(aws.signingRegion(.rds, region: "eu-west-1") == "eu-west-1")
        #expect(!aws.isOverridden(.rds))
    }

    @Test func overridesInTheirOrder() throws {
        let spec = try #require(URL(string: "http://127.0.0.1:5001"))
        let all = ["AWS_ENDPOINT_URL_RDS": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL": "http://127.0.0.1:5002"]
        // A service's own variable wins over pgdr.yaml and the general variable, for that service only.
        #expect(AWSEndpoints(specEndpoint: spec, environment: all).url(.rds, region: "us-east-1").absoluteString == "http://127.0.0.1:5000")
        #expect(AWSEndpoints(specEndpoint: spec, environment: all).url(.sns, region: "us-east-1") == spec)
        // pgdr.yaml's aws.endpoint wins over AWS_ENDPOINT_URL.
        #expect(AWSEndpoints(specEndpoint: spec, environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:5002"]).url(.route53, region: "us-east-1") == spec)
        // AWS_ENDPOINT_URL alone covers every service, the global ones too.
        let general = AWSEndpoints(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:5002"])
        for service in AWSService.allCases {
            #expect(general.url(service, region: "us-east-2").absoluteString == "http://127.0.0.1:5002", "\(service)")
            #expect(general.isOverridden(service))
        }
        // The SDKs' names for the services' own variables (Route 53 and Secrets Manager have underscores).
        #expect(AWSEndpoints(environment: ["AWS_ENDPOINT_URL_ROUTE_53": "http://127.0.0.1:5003"]).url(.route53, region: "us-east-1")
                    .absoluteString == "http://127.0.0.1:5003")
        #expect(AWSEndpoints(environment: ["AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:5004"]).url(.secretsmanager, region: "us-east-1")
                    .absoluteString == "http://127.0.0.1:5004")
        // Set but empty is not set.
        #expect(AWSEndpoints(environment: ["AWS_ENDPOINT_URL_RDS": "", "AWS_ENDPOINT_URL": ""]).url(.rds, region: "us-east-1")
                    .absoluteString == "https://rds.us-east-1.amazonaws.com")
        #expect(!AWSEndpoints(environment: ["AWS_ENDPOINT_URL": ""]).isOverridden(.s3))
    }
}

/// The events an error quotes when a promotion does not finish.
@Suite struct RDSEventWordsTests {
    struct Refused: Error, CustomStringConvertible { var description: String { "AccessDenied" } }

    @Test func theNewestFewOnOneLineOrWhyNot() async {
        let at = { (seconds: TimeInterval) in Date(timeIntervalSince1970: 1_764_583_200 + seconds) }
        let events = [
            RDSEvent(date: at(30), message: "Promotion in progress", source: "orders-replica-prod"),
            RDSEvent(date: at(0), message: "Read replica promotion started", source: "orders-replica-prod"),
            RDSEvent(date: at(60), message: "Backing up DB instance", source: "orders-replica-prod"),
            RDSEvent(date: at(-60), message: "Replication stopped", source: "orders-replica-prod"),
        ]
        let line = await RDSEvent.lastWords(events)
        #expect(line == "RDS events (last 3 of 4): 2025-12-01T10:00:00Z Read replica promotion started; "
                + "2025-12-01T10:00:30Z Promotion in progress; 2025-12-01T10:01:00Z Backing up DB instance", "\(line)")
        #expect(await RDSEvent.lastWords([]) == "RDS recorded no events for it in that time")
        func refused() throws -> [RDSEvent] { throw Refused() }
        #expect(await RDSEvent.lastWords(try refused()) == "RDS events could not be read (AccessDenied)")
    }
}

/// `dns.healthCheckId`: Route 53's checkers as `pgdr status` shows them, read
/// with GetHealthCheckStatus from a loopback stand-in that answers in AWS's
/// documented shape (moto cannot verify a Route 53 GET's signature; the
/// signer is checked byte for byte against botocore for this request).
@Suite struct HealthCheckStatusTests {
    @Test func theCheckersVerdictAndAnUnknownCheck() async throws {
        let endpoints = try await LocalEndpoints.start(mode: "throttle")
        defer { endpoints.stop() }
        let env = ["AWS_ACCESS_KEY_ID": "AKIATESTTESTTEST0001", "AWS_SECRET_ACCESS_KEY": "a-secret-for-the-test", "HOME": "/nonexistent"]
        let route53 = Route53API(client: AWSClient(credentials: CredentialChain(environment: env),
                                                   endpoints: AWSEndpoints(specEndpoint: URL(string: endpoints.url), environment: [:])))
        let id = "0f2c7e51-0a6d-4b1c-9a8e-3d5f6a7b8c9d"
        let view = HealthCheckView(id: id, observations: try await route53.healthCheckStatus(id))
        #expect(view.observations.count == 3 && view.successes == 1)
        #expect(view.healthy == true, "Route 53's rule: healthy when more than 18% of checkers report success")
        #expect(view.rendered == "Route 53 health check \(id): healthy (1 of 3 checkers report success); "
                + "Failure: The CloudWatch alarm orders-primary-unreachable-prod is in the ALARM state.\n", "\(view.rendered)")
        #expect(try await endpoints.signingKeys() == ["AKIATESTTESTTEST0001"], "signed")

        let unknown = "11111111-2222-3333-4444-555555555555"
        let error = await #expect(throws: AWSError.self) { _ = try await route53.healthCheckStatus(unknown) }
        #expect(error?.code == "NoSuchHealthCheck", "\(String(describing: error))")
    }

    @Test func route53sRule() {
        let fail = "Failure: alarm", ok = "Success: alarm"
        #expect(HealthCheckView(id: "x", observations: [fail, fail, fail, fail, fail, ok]).healthy == false, "1 of 6 is under 18%")
        #expect(HealthCheckView(id: "x", observations: [fail, fail, fail, fail, ok]).healthy == true, "1 of 5 is over 18%")
        #expect(HealthCheckView(id: "x", observations: []).healthy == nil)
        #expect(HealthCheckView(id: "x", observations: []).rendered == "Route 53 health check x: no checker has reported yet\n")
        #expect(HealthCheckView(id: "x", observations: [], error: "AccessDenied").rendered == "Route 53 health check x could not be read: AccessDenied\n")
        #expect(HealthCheckView(id: "x", observations: [fail, fail, fail, fail, fail, ok]).rendered
                == "Route 53 health check x: UNHEALTHY (1 of 6 checkers report success); Failure: alarm\n")
    }
}
