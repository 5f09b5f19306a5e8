import DRAWS
import Foundation
import PGDRTestSupport
import Testing

/// AWS's official SigV4 test suite, loaded from botocore's source
/// distribution (fetched with pip on first use, or from
/// `$PGDR_AWS4_TESTSUITE`), and pgdr's requests compared byte for byte with
/// botocore's own signer.
@Suite(.serialized) struct SigV4Tests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                            source: "test")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z

    /// The suite folder: `$PGDR_AWS4_TESTSUITE`, or botocore's sdist unpacked under the temporary folder.
    static func suiteFolder() async throws -> String {
        if let given = ProcessInfo.processInfo.environment["PGDR_AWS4_TESTSUITE"] { return given }
        let cache = NSTemporaryDirectory() + "pgdr-aws4-testsuite"
        let folder = cache + "/aws4_testsuite"
        if FileManager.default.fileExists(atPath: folder + "/get-vanilla") { return folder }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let download = try await CLI.program("/usr/bin/env", ["python3", "-m", "pip", "download", "--quiet", "botocore",
                                                              "--no-binary", ":all:", "--no-deps", "-d", cache])
        try #require(download.status == 0, "pip download botocore: \(download.stderr)")
        let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: cache).first { $0.hasSuffix(".tar.gz") })
        let root = archive.replacingOccurrences(of: ".tar.gz", with: "")
        let untar = try await CLI.program("/bin/tar", ["-xzf", "\(cache)/\(archive)", "-C", cache,
                                                       "\(root)/tests/unit/auth/aws4_testsuite"])
        try #require(untar.status == 0, "tar: \(untar.stderr)")
        try FileManager.default.moveItem(atPath: "\(cache)/\(root)/tests/unit/auth/aws4_testsuite", toPath: folder)
        return folder
    }

    /// A `.req` file: request line, headers (continuation lines folded in), blank line, body.
    static func parse(_ text: String) -> SigV4.Request {
        let lines = text.components(separatedBy: "\n")
        let requestLine = lines[0]
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        var headers: [(String, String)] = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        let body = index + 1 < lines.count ? lines[(index + 1)...].joined(separator: "\n") : ""
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        // Raw UTF-8 in the query is percent-encoded here, as a client would send it.
        let query = parts.count > 1 ? String(parts[1]).unicodeScalars.map { $0.isASCII ? String($0) : SigV4.encode(String($0)) }.joined() : ""
        return SigV4.Request(method: method, path: String(parts[0]), query: query, headers: headers, body: Data(body.utf8))
    }

    @Test func passesAWSsOfficialTestSuite() async throws {
        let folder = try await Self.suiteFolder()
        let cases = (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".req") }.sorted()
        try #require(cases.count >= 25, "expected the whole suite, found \(cases.count) cases in \(folder)")
        var checked = 0
        for file in cases {
            let base = "\(folder)/\(file.dropLast(4))"
            let request = Self.parse(try String(contentsOfFile: base + ".req", encoding: .utf8))
            let expectedCanonical = try String(contentsOfFile: base + ".creq", encoding: .utf8)
            let expectedSTS = try String(contentsOfFile: base + ".sts", encoding: .utf8)
            let expectedAuthz = try String(contentsOfFile: base + ".authz", encoding: .utf8)
            // The session token, where a case has one, is the one its canonical request shows.
            let token = expectedCanonical.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
                .map { String($0.dropFirst("x-amz-security-token:".count)) }
            var creds = Self.credentials
            if file.contains("post-sts-header-after") {
                // The token is added after signing: it is not part of the signed request.
                creds.sessionToken = nil
            } else {
                creds.sessionToken = token
            }
            let signature = SigV4.sign(request, credentials: creds, region: "us-east-1", service: "service", date: Self.suiteDate)
            #expect(signature.canonicalRequest == expectedCanonical, "\(file): canonical request")
            #expect(signature.stringToSign == expectedSTS, "\(file): string to sign")
            #expect(signature.authorization == expectedAuthz, "\(file): authorization")
            checked += 1
        }
        #expect(checked == cases.count)
    }

    /// Every request shape pgdr sends, signed by pgdr and by botocore.
    @Test func agreesWithBotocoreOnEveryRequestPgdrMakes() async throws {
        let endpoints = AWSEndpoints(specEndpoint: URL(string: "http://127.0.0.1:5000"), environment: [:])
        let client = AWSClient(credentials: CredentialChain(environment: [:]), endpoints: endpoints)
        let date = Date(timeIntervalSince1970: 1_705_311_000)  // 20240115T093000Z
        let form = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        typealias Shape = (AWSService, String, String, String, String, [(String, String)], String)
        let shapes: [Shape] = [
            (.rds, "us-east-2", "POST", "/", "", form, "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=orders-replica-prod"),
            (.rds, "us-east-2", "POST", "/", "", form, "Action=PromoteReadReplica&Version=2014-10-31&DBInstanceIdentifier=orders-replica-prod&BackupRetentionPeriod=7"),
            (.cloudwatch, "us-east-2", "POST", "/", "", form,
             "Action=GetMetricData&Version=2010-08-01&MetricDataQueries.member.1.Id=m1&StartTime=2024-01-15T09%3A20%3A00Z"),
            (.sns, "us-east-2", "POST", "/", "", form, AWSClient.formBody([
                ("Action", "Publish"), ("Version", "2010-03-31"), ("TopicArn", "arn:aws:sns:us-east-2:123456789012:orders-alerts-prod"),
                ("Subject", "pgdr failover: orders-replica-prod is the primary"), ("Message", "pg promoted ✓ (a/b~c*d)")])),
            (.sts, "us-east-1", "POST", "/", "", form, "Action=GetCallerIdentity&Version=2011-06-15"),
            (.secretsmanager, "us-east-1", "POST", "/", "", [("Content-Type", "application/x-amz-json-1.1"),
                                                             ("X-Amz-Target", "secretsmanager.GetSecretValue")], "{\"SecretId\":\"orders-master-prod\"}"),
            (.route53, "us-west-2", "POST", "/2013-04-01/hostedzone/Z123/rrset/", "", [("Content-Type", "application/xml")],
             "<?xml version=\"1.0\"?><ChangeResourceRecordSetsRequest/>"),
            (.route53, "us-west-2", "GET", "/2013-04-01/change/C2682N5HXP0BZ4", "", [], ""),
            (.route53, "us-west-2", "GET", "/2013-04-01/healthcheck/abcdef01-2345-6789-abcd-ef0123456789/status", "", [], ""),
            (.rds, "us-east-1", "POST", "/", "", form, AWSClient.formBody([
                ("Action", "ModifyDBInstance"), ("Version", "2014-10-31"), ("DBInstanceIdentifier", "orders-db-prod"),
                ("DBParameterGroupName", "orders-fence-prod"), ("ApplyImmediately", "true")])),
            (.rds, "us-east-1", "POST", "/", "", form, "Action=RebootDBInstance&Version=2014-10-31&DBInstanceIdentifier=orders-db-prod"),
            (.rds, "us-east-1", "POST", "/", "", form, AWSClient.formBody([
                ("Action", "CreateDBInstanceReadReplica"), ("Version", "2014-10-31"), ("DBInstanceIdentifier", "orders-db-prod"),
                ("SourceDBInstanceIdentifier", "arn:aws:rds:us-east-2:123456789012:db:orders-replica-prod"),
                ("KmsKeyId", "arn:aws:kms:us-east-1:123456789012:key/primary"), ("SourceRegion", "us-east-2"),
                ("PreSignedUrl", "https://rds.us-east-2.amazonaws.com/?Action=CreateDBInstanceReadReplica&X-Amz-Signature=ab%2Fcd&X-Amz-Date=20240115T093000Z")])),
            (.rds, "us-east-2", "POST", "/", "", form, AWSClient.formBody([
                ("Action", "DescribeEvents"), ("Version", "2014-10-31"), ("SourceIdentifier", "orders-replica-prod"),
                ("SourceType", "db-instance"), ("StartTime", "2024-01-15T09:00:00Z")])),
            (.cloudwatch, "us-east-2", "POST", "/", "", form, AWSClient.formBody([
                ("Action", "PutMetricData"), ("Version", "2010-08-01"), ("Namespace", "pgdr"),
                ("MetricData.member.1.MetricName", "ReplicationLagSeconds"), ("MetricData.member.1.Value", "0.25"),
                ("MetricData.member.1.Dimensions.member.1.Name", "Deployment"), ("MetricData.member.1.Dimensions.member.1.Value", "orders-prod")])),
            (.cloudwatch, "us-east-2", "POST", "/", "", form, "Action=DescribeAlarms&Version=2010-08-01&AlarmNamePrefix=orders-prod"),
            (.ssm, "us-east-2", "POST", "/", "", [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AmazonSSM.PutParameter")],
             "{\"Name\":\"/pgdr/orders-prod/approvals/failover-0a1b2c3d\",\"Type\":\"String\",\"Value\":\"{}\"}"),
            (.cloudformation, "us-east-1", "POST", "/", "", form, AWSClient.formBody([
                ("Action", "CreateChangeSet"), ("Version", "2010-05-15"), ("StackName", "orders-primary-prod"),
                ("ChangeSetName", "pgdr-20240115T093000Z"), ("ChangeSetType", "UPDATE"),
                ("TemplateBody", "{\"Resources\":{\"Key\":{\"Type\":\"AWS::KMS::Key\"}}}"),
                ("Capabilities.member.1", "CAPABILITY_NAMED_IAM")])),
        ]
        var requests: [[String: Any]] = []
        var ours: [AWSClient.Prepared] = []
        for token in [nil, "FQoGZXIvYXdzEJr//////////wEaDOPKE+token/with=chars"] as [String?] {
            let creds = AWSCredentials(accessKeyID: Self.credentials.accessKeyID, secretAccessKey: Self.credentials.secretAccessKey,
                                       sessionToken: token, source: "test")
            for (service, region, method, path, query, headers, body) in shapes {
                let prepared = client.prepare(service, region: region, method: method, path: path, query: query, headers: headers,
                                              body: Data(body.utf8), credentials: creds, date: date)
                ours.append(prepared)
                var request: [String: Any] = [
                    "method": method, "url": prepared.url, "headers": headers.map { [$0.0, $0.1] }, "body": body,
                    "date": "20240115T093000Z", "region": endpoints.signingRegion(service, region: region),
                    "service": service.signingName, "key": creds.accessKeyID, "secret": creds.secretAccessKey,
                ]
                if let token { request["token"] = token }
                requests.append(request)
            }
        }
        let botocore = try await Self.botocore(requests)
        try #require(botocore.count == ours.count)
        for (mine, theirs) in zip(ours, botocore) {
            #expect(mine.signature.canonicalRequest == theirs["canonicalRequest"], "\(mine.url)")
            #expect(mine.signature.stringToSign == theirs["stringToSign"], "\(mine.url)")
            #expect(mine.signature.authorization == theirs["authorization"], "\(mine.url)")
        }
    }

    /// Form bodies are written as botocore writes them (Python's urlencode):
    /// services that rebuild the body from its parameters (moto does) agree.
    @Test func formBodiesMatchPythonsURLEncode() async throws {
        let pairs = [("Message", "pg promoted ✓ a:b/c~d*e(f)'g!h&i=j"), ("Subject", "x+y %z"), ("Empty", "")]
        let python = "from urllib.parse import urlencode; import json,sys; print(urlencode([tuple(p) for p in json.load(sys.stdin)]), end='')"
        let input = NSTemporaryDirectory() + "pgdr-form-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: pairs.map { [$0.0, $0.1] }).write(to: URL(fileURLWithPath: input))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let script = input + ".py"
        try python.write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let result = try await CLI.program("/bin/sh", ["-c", "nice -n 19 python3 '\(script)' < '\(input)'"])
        try #require(result.status == 0, "\(result.stderr)")
        #expect(AWSClient.formBody(pairs) == result.stdout)
    }

    /// The pre-signed URL that a cross-region CreateDBInstanceReadReplica carries.
    @Test func presignsLikeBotocore() async throws {
        let date = Date(timeIntervalSince1970: 1_705_311_000)
        let params = [("Action", "CreateDBInstanceReadReplica"), ("Version", "2014-10-31"),
                      ("DBInstanceIdentifier", "orders-db-prod"),
                      ("SourceDBInstanceIdentifier", "arn:aws:rds:us-east-2:123456789012:db:orders-replica-prod"),
                      ("KmsKeyId", "arn:aws:kms:us-east-1:123456789012:key/abc"), ("DestinationRegion", "us-east-1")]
        for token in [nil, "TOKEN/+="] as [String?] {
            var creds = Self.credentials
            creds.sessionToken = token
            let mine = SigV4.presign(scheme: "https", host: "rds.us-east-2.amazonaws.com", parameters: params, credentials: creds,
                                     region: "us-east-2", service: "rds", date: date)
            var request: [String: Any] = ["url": "https://rds.us-east-2.amazonaws.com/", "date": "20240115T093000Z", "region": "us-east-2",
                                          "service": "rds", "key": creds.accessKeyID, "secret": creds.secretAccessKey,
                                          "presign": ["params": params.map { [$0.0, $0.1] }]]
            if let token { request["token"] = token }
            let theirs = try await Self.botocore([request])
            #expect(mine == theirs.first?["url"], "\(mine)\n\(theirs.first?["url"] ?? "")")
        }
    }

    static func botocore(_ requests: [[String: Any]]) async throws -> [[String: String]] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("botocore_sign.py").path
        let input = NSTemporaryDirectory() + "pgdr-sigv4-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: requests).write(to: URL(fileURLWithPath: input))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let result = try await CLI.program("/bin/sh", ["-c", "nice -n 19 python3 '\(script)' < '\(input)'"])
        try #require(result.status == 0, "botocore_sign.py: \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]])
    }

    @Test func credentialsNeverShowTheirSecret() {
        var creds = Self.credentials
        creds.sessionToken = "SESSIONTOKENVALUE"
        for text in ["\(creds)", String(describing: creds), String(reflecting: creds)] {
            #expect(!text.contains(creds.secretAccessKey) && !text.contains("SESSIONTOKENVALUE"), "\(text)")
        }
    }
}
