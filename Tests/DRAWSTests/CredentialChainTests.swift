import Foundation
import PGDRTestSupport
import Testing
@testable import DRAWS

/// The standard credential chain, in its order, on real files and real
/// HTTP endpoints (instance metadata and container stand-ins on loopback).
@Suite struct CredentialChainTests {
    /// An environment with nothing in it but a home of its own (no files yet).
    func bare() throws -> [String: String] {
        ["HOME": try CLI.tempDirectory(), "AWS_EC2_METADATA_DISABLED": "true"]
    }

    func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func theEnvironmentComesFirstAndAHalfSetOneIsAnError() async throws {
        var env = try bare()
        try write("[default]\naws_access_key_id = AKIAFROMFILE00000001\naws_secret_access_key = file-secret\n", "\(env["HOME"]!)/.aws/credentials")
        env["AWS_ACCESS_KEY_ID"] = "AKIAFROMENVIRONMENT1"
        env["AWS_SECRET_ACCESS_KEY"] = "environment-secret"
        env["AWS_SESSION_TOKEN"] = "environment-token"
        let found = try await CredentialChain(environment: env).credentials()
        #expect(found.accessKeyID == "AKIAFROMENVIRONMENT1" && found.sessionToken == "environment-token" && found.source == "environment")
        #expect(!String(describing: found).contains("environment-secret") && !String(describing: found).contains("environment-token"),
                "a credential's description shows neither secret nor token: \(found)")

        env["AWS_SECRET_ACCESS_KEY"] = nil
        let error = await #expect(throws: AWSError.self) { try await CredentialChain(environment: env).credentials() }
        #expect(String(describing: error!).contains("AWS_SECRET_ACCESS_KEY is not"), "\(error!)")
        #expect(!String(describing: error!).contains("AKIAFROMFILE"), "a half-set environment is an error, not a fall-through to the files")
    }

    @Test func profilesFromTheCredentialsAndConfigFiles() async throws {
        var env = try bare()
        let home = env["HOME"]!
        try write("""
            # the credentials file: [name]
            [default]
            aws_access_key_id = AKIADEFAULT000000001
            aws_secret_access_key = default-secret
            [prod]
            aws_access_key_id=AKIAPROD000000000001
            aws_secret_access_key=prod-secret
            aws_session_token = prod-token
            """, "\(home)/.aws/credentials")
        try write("""
            ; the config file: [profile name]
            [profile staging]
            region = us-east-2
            aws_access_key_id = AKIASTAGING000000001
            aws_secret_access_key = staging-secret
            [profile assumed]
            role_arn = arn:aws:iam::123456789012:role/dr
            source_profile = default
            """, "\(home)/.aws/config")
        #expect(try await CredentialChain(environment: env).credentials().accessKeyID == "AKIADEFAULT000000001")
        env["AWS_PROFILE"] = "prod"
        let prod = try await CredentialChain(environment: env).credentials()
        #expect(prod.accessKeyID == "AKIAPROD000000000001" && prod.sessionToken == "prod-token")
        #expect(prod.source.contains("profile prod") && prod.source.contains(".aws/credentials"))
        env["AWS_PROFILE"] = "staging"
        #expect(try await CredentialChain(environment: env).credentials().accessKeyID == "AKIASTAGING000000001")

        env["AWS_PROFILE"] = "assumed"
        let assumed = await #expect(throws: AWSError.self) { try await CredentialChain(environment: env).credentials() }
        #expect(String(describing: assumed!).contains("role_arn, which pgdr does not support"), "\(assumed!)")

        env["AWS_PROFILE"] = "nosuch"
        let missing = await #expect(throws: AWSError.self) { try await CredentialChain(environment: env).credentials() }
        let text = String(describing: missing!)
        #expect(text.contains("AWS_PROFILE=nosuch") && text.contains("\(home)/.aws/credentials") && text.contains("\(home)/.aws/config"), "\(text)")
        #expect(!["default-secret", "prod-secret", "staging-secret", "prod-token"].contains { text.contains($0) })

        // Other file locations, as the SDKs allow.
        env = try bare()
        let elsewhere = try CLI.tempDirectory() + "/creds"
        try write("[default]\naws_access_key_id = AKIAELSEWHERE0000001\naws_secret_access_key = s\n", elsewhere)
        env["AWS_SHARED_CREDENTIALS_FILE"] = elsewhere
        #expect(try await CredentialChain(environment: env).credentials().accessKeyID == "AKIAELSEWHERE0000001")
    }

    @Test func instanceMetadataWithItsToken() async throws {
        let endpoints = try await LocalEndpoints.start()
        defer { endpoints.stop() }
        var env = try bare()
        env["AWS_EC2_METADATA_DISABLED"] = nil
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = endpoints.url
        // The stand-in answers 401 to any GET without the token from the PUT:
        // credentials coming back prove the IMDSv2 exchange.
        let found = try await CredentialChain(environment: env).credentials()
        #expect(found.accessKeyID == "ASIAINSTANCEROLE0001")
        #expect(found.sessionToken == "made-up-session-token")
        #expect(found.source == "instance metadata (role pgdr-role)")
        let expiration = try #require(found.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 3600) < 120, "the expiration is read: \(expiration)")
        #expect(!found.expires(within: 300))
    }

    /// A service that says the session token expired (ExpiredToken) makes the
    /// client forget its cached credentials and fetch them again from the
    /// chain, once: the same call then goes out signed with the new key. A
    /// token that stays expired is an error after that one retry, naming the code.
    @Test func anExpiredTokenIsRefreshedFromTheChainOnce() async throws {
        for (mode, succeeds) in [("expired", true), ("expired-always", false)] {
            let endpoints = try await LocalEndpoints.start(mode: mode)
            defer { endpoints.stop() }
            var env = try bare()
            env["AWS_EC2_METADATA_DISABLED"] = nil
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = endpoints.url
            let aws = AWSClient(credentials: CredentialChain(environment: env),
                                endpoints: AWSEndpoints(specEndpoint: URL(string: endpoints.url), environment: [:]), maxAttempts: 5)
            do {
                let instance = try await RDSAPI(client: aws).describe("orders-db-prod", region: "us-east-1")
                #expect(succeeds, "\(mode): \(instance)")
                #expect(instance.identifier == "orders-db-prod" && instance.status == "available")
            } catch let error as AWSError {
                #expect(!succeeds, "\(mode): \(error)")
                #expect(error.code == "ExpiredToken", "\(error)")
                #expect(String(describing: error).contains("ExpiredToken: The security token included in the request is expired (HTTP 400)"), "\(error)")
                #expect(!String(describing: error).contains("made-up-secret"), "\(error)")
            }
            #expect(try await endpoints.signingKeys() == ["ASIAINSTANCEROLE0001", "ASIAINSTANCEROLE0002"],
                    "\(mode): the first call with the cached key, one more with the refreshed key, no more")
        }
    }

    @Test func theContainerEndpointWithItsAuthorization() async throws {
        let endpoints = try await LocalEndpoints.start()
        defer { endpoints.stop() }
        var env = try bare()
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "\(endpoints.url)/container"
        let tokenFile = env["HOME"]! + "/token"
        try write(LocalEndpoints.containerToken + "\n", tokenFile)
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile
        let found = try await CredentialChain(environment: env).credentials()
        #expect(found.accessKeyID == "ASIACONTAINERROLE001" && found.source == "container endpoint")

        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = nil
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "the-wrong-token"
        let refused = await #expect(throws: AWSError.self) { try await CredentialChain(environment: env).credentials() }
        #expect(String(describing: refused!).contains("HTTP 401"), "\(refused!)")
        #expect(!String(describing: refused!).contains("the-wrong-token"), "the token is not repeated in the error")
    }

    @Test func nothingFoundSaysWhatWasTried() async throws {
        var env = try bare()
        env["AWS_EC2_METADATA_DISABLED"] = nil
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:\(try MotoBed.freePort())"
        let error = await #expect(throws: AWSError.self) { try await CredentialChain(environment: env).credentials() }
        let text = String(describing: error!)
        #expect(text.hasPrefix("no AWS credentials found (tried: environment (AWS_ACCESS_KEY_ID);"), "\(text)")
        #expect(text.contains("container endpoint (not configured)") && text.contains("instance metadata (no answer)"), "\(text)")
    }
}

/// Retries as the AWS SDKs do them, against endpoints that never get better.
@Suite struct AWSRetryTests {
    func client(_ url: String, maxAttempts: Int = 5, timeout: Duration = .seconds(5)) -> AWSClient {
        let env = ["AWS_ACCESS_KEY_ID": "AKIATESTTESTTEST0001", "AWS_SECRET_ACCESS_KEY": "a-secret-for-the-test", "HOME": "/nonexistent"]
        return AWSClient(credentials: CredentialChain(environment: env),
                         endpoints: AWSEndpoints(specEndpoint: URL(string: url), environment: [:]),
                         maxAttempts: maxAttempts, timeout: timeout)
    }

    @Test func throttlingThatNeverEndsGivesUpAfterFiveAttempts() async throws {
        let endpoints = try await LocalEndpoints.start(mode: "throttle")
        defer { endpoints.stop() }
        let started = ContinuousClock.now
        let aws = client(endpoints.url)
        let error = await #expect(throws: AWSError.self) {
            _ = try await RDSAPI(client: aws).describe("orders-db-prod", region: "us-east-1")
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == "Throttling")
        let text = String(describing: error!)
        #expect(text.contains("rds DescribeDBInstances in us-east-1: Throttling: Rate exceeded (HTTP 400) (after 5 attempts)"), "\(text)")
        #expect(text.contains("AWS kept throttling pgdr"))
        #expect(!text.contains("a-secret-for-the-test"))
        #expect(try await endpoints.count() == 5, "five requests, no more")
        // Full jitter under a cap that doubles: before attempt n+1 the client
        // chose a wait of at most min(5 s, 0.2 s × 2^n), and the server saw it
        // wait at least that long (a request's own overhead on a loaded
        // machine only adds to the gap, so the gap has no upper bound here).
        let waits = aws.retryWaits
        #expect(waits.count == 4, "four waits between five attempts: \(waits)")
        let times = try await endpoints.arrivals()
        #expect(times.count == 5)
        for (index, wait) in waits.enumerated() where index + 1 < times.count {
            let n = index + 1
            #expect(wait <= .milliseconds(Int(min(5, 0.2 * pow(2, Double(n))) * 1000)), "wait before attempt \(n + 1): \(wait)")
            let gap = times[n] - times[n - 1]
            let chosen = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
            #expect(gap >= chosen - 0.005, "the server saw \(gap)s before attempt \(n + 1), the client chose \(wait)")
        }
        #expect(elapsed < .seconds(30), "\(elapsed)")
    }

    @Test func backoffIsFullJitterUnderACapThatDoublesToFiveSeconds() {
        #expect((1...6).map { AWSClient.backoffCap($0) }
                == [.milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5)])
        #expect(AWSClient.backoffCap(1000) == .seconds(5), "no overflow on a long run of retries")
        for attempt in 1...6 {
            #expect(AWSClient.backoffDelay(attempt, unit: 0) == .zero)
            #expect(AWSClient.backoffDelay(attempt, unit: 1) == AWSClient.backoffCap(attempt))
            #expect(AWSClient.backoffDelay(attempt, unit: 0.5) == AWSClient.backoffCap(attempt) / 2)
        }
        #expect(AWSClient.backoffDelay(2, unit: 7) == AWSClient.backoffCap(2), "a unit out of range is clamped")
    }

    @Test func serverErrorsAreRetriedAndAClientErrorIsNot() async throws {
        let endpoints = try await LocalEndpoints.start(mode: "unavailable")
        defer { endpoints.stop() }
        let error = await #expect(throws: AWSError.self) {
            _ = try await RDSAPI(client: client(endpoints.url, maxAttempts: 3)).describe("orders-db-prod", region: "us-east-1")
        }
        #expect(String(describing: error!).contains("ServiceUnavailable: try again (HTTP 503) (after 3 attempts)"), "\(error!)")
        #expect(try await endpoints.count() == 3)
    }

    @Test func anEndpointThatDoesNotAnswerIsATransportError() async throws {
        let closed = "http://127.0.0.1:\(try MotoBed.freePort())"
        let error = await #expect(throws: AWSError.self) {
            _ = try await RDSAPI(client: client(closed, maxAttempts: 2)).describe("orders-db-prod", region: "us-east-1")
        }
        let text = String(describing: error!)
        #expect(text.contains("no answer after 2 attempts (connection refused)"), "\(text)")
        #expect(text.contains("aws.endpoint / AWS_ENDPOINT_URL"))
    }
}
