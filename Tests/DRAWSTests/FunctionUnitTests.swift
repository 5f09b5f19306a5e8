@testable import DRAWS
import DRCloud
import DRLambda
import DRStatus
import Foundation
import PGDRTestSupport
import Testing

/// The functions' pure decisions: what an event asks, the lag reading, and
/// whether a bootstrap loads on Amazon Linux 2023 (checked on real objdump
/// output of the debug bootstrap, which needs Swift's shared runtime).
@Suite struct FunctionUnitTests {
    @Test func eventsAreClassified() throws {
        let approvals = "/pgdr/orders-prod/approvals/"
        func classify(_ object: Any) -> Result<FunctionEvent, FunctionError> {
            FunctionEvent.classify(try! JSONSerialization.data(withJSONObject: object), approvals: approvals)
        }
        let alarm: [String: Any] = ["source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
                                    "detail": ["alarmName": "a", "state": ["value": "ALARM"]]]
        #expect(try classify(alarm).get() == .primaryDown(alarm: "a"))
        var ok = alarm
        ok["detail"] = ["alarmName": "a", "state": ["value": "OK"]]
        if case .ignored = try classify(ok).get() {} else { Issue.record("an alarm leaving ALARM is ignored") }
        let created: [String: Any] = ["source": "aws.ssm", "detail-type": "Parameter Store Change",
                                      "detail": ["name": approvals + "failover-0011aabb", "operation": "Create"]]
        #expect(try classify(created).get() == .approved(id: "failover-0011aabb"))
        let deleted: [String: Any] = ["source": "aws.ssm", "detail-type": "Parameter Store Change",
                                      "detail": ["name": approvals + "failover-0011aabb", "operation": "Delete"]]
        if case .ignored = try classify(deleted).get() {} else { Issue.record("a deleted approval runs nothing") }
        let elsewhere: [String: Any] = ["source": "aws.ssm", "detail-type": "Parameter Store Change",
                                        "detail": ["name": "/pgdr/other-prod/approvals/failover-0011aabb", "operation": "Create"]]
        if case .ignored = try classify(elsewhere).get() {} else { Issue.record("another deployment's approval runs nothing here") }
        #expect((try? classify(["source": "aws.s3"]).get()) == nil)
        #expect((try? FunctionEvent.classify(Data("not json".utf8), approvals: approvals).get()) == nil)
        #expect(try classify(["pgdr": ["approved": "failover-0011aabb"]]).get() == .approved(id: "failover-0011aabb"))
    }

    @Test func lagReadingFromWhatARunSaw() {
        let now = Date()
        let streaming = LagReading.from(stampedAt: now.addingTimeInterval(-0.2), primaryLSN: LSN(0x3000), replayedBeatAt: now.addingTimeInterval(-0.2),
                                        replayLSN: LSN(0x3000), now: now)
        #expect(streaming.primaryReachable && abs((streaming.lagSeconds ?? 9) - 0.2) < 0.001 && streaming.lagBytes == 0)
        let behind = LagReading.from(stampedAt: now, primaryLSN: LSN(0x5000), replayedBeatAt: now.addingTimeInterval(-90), replayLSN: LSN(0x3000), now: now)
        #expect(behind.lagSeconds == 90 && behind.lagBytes == 0x2000)
        // The replica replayed WAL written after the stamp: never negative.
        let ahead = LagReading.from(stampedAt: now, primaryLSN: LSN(0x3000), replayedBeatAt: now, replayLSN: LSN(0x4000), now: now)
        #expect(ahead.lagBytes == 0)
        let down = LagReading.from(stampedAt: nil, primaryLSN: nil, replayedBeatAt: now.addingTimeInterval(-30), replayLSN: LSN(0x3000), now: now)
        #expect(!down.primaryReachable && down.lagBytes == nil && down.lagSeconds == 30)
        #expect(down.datapoints.map(\.name) == ["PrimaryReachable", "ReplicationLagSeconds"])
        #expect(down.datapoints.first?.value == 0)
    }

    @Test func theFloorNamesWhatWouldNotLoad() {
        let fine = """
            bootstrap:     file format elf64-x86-64
              NEEDED               libstdc++.so.6
              NEEDED               libc.so.6
            Version References:
              required from libc.so.6:
                0x06969194 0x00 05 GLIBC_2.34
                0x0d696914 0x00 04 GLIBC_2.2.5
              required from libstdc++.so.6:
                0x08922979 0x00 03 GLIBCXX_3.4.29
                0x08922974 0x00 02 GLIBCXX_3.4
            """
        let report = BootstrapFloor.check(objdump: fine)
        #expect(report.passes, "\(report.problems)")
        #expect(report.newestNeeded["GLIBC"] == "GLIBC_2.34" && report.newestNeeded["GLIBCXX"] == "GLIBCXX_3.4.29")
        let newer = fine.replacingOccurrences(of: "GLIBC_2.34", with: "GLIBC_2.35")
            .replacingOccurrences(of: "GLIBCXX_3.4.29", with: "GLIBCXX_3.4.30")
            .replacingOccurrences(of: "NEEDED               libc.so.6", with: "NEEDED               libxml2.so.2")
        let problems = BootstrapFloor.check(objdump: newer).problems
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.contains("GLIBC_2.35") } && problems.contains { $0.contains("GLIBCXX_3.4.30") }
                && problems.contains { $0.contains("libxml2.so.2") })
        // 2.4 is older than 2.34: versions compare by number, not by text.
        #expect(BootstrapFloor.check(objdump: "    0x0 0x00 02 GLIBC_2.4\n").passes)
    }
}

/// `pgdr package` refuses what Lambda could not run, and writes nothing then.
@Suite struct PackageCommandTests {
    @Test func aBootstrapThatNeedsSwiftsSharedRuntimeIsRefused() async throws {
        let folder = try CLI.tempDirectory()
        let config = "\(folder)/pgdr.yaml"
        try AWSTestSpec.base.write(toFile: config, atomically: true, encoding: .utf8)
        // The plain debug build links Swift's runtime as shared libraries, which Lambda does not have.
        let dynamic = URL(fileURLWithPath: PGDRBinary.path).deletingLastPathComponent().appendingPathComponent("pgdr-lambda").path
        let refused = try await CLI.run(["package", "--bootstrap", dynamic, "--config", config, "--out", "\(folder)/out"])
        #expect(refused.status == 2, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("libswiftCore.so") && refused.stderr.contains("would not load on Amazon Linux 2023"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/out"), "nothing is written")
        // A spec for self-managed servers has no functions.
        try "name: x\nenvironment: prod\nnodes: []\n".write(toFile: "\(folder)/self.yaml", atomically: true, encoding: .utf8)
        let notAWS = try await CLI.run(["package", "--bootstrap", dynamic, "--config", "\(folder)/self.yaml", "--out", "\(folder)/out"])
        #expect(notAWS.status == 2, "\(notAWS.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/out"))
    }
}

@Suite struct S3RequestTests {
    /// Keys are XML-escaped in DeleteObjects, and each version is named.
    @Test func deleteObjectsDocument() {
        let body = S3API.deleteBody([.init(key: "a&b<c>.txt", versionID: "v1"), .init(key: "plain", versionID: "null")])
        #expect(body.contains("<Key>a&amp;b&lt;c&gt;.txt</Key><VersionId>v1</VersionId>"))
        #expect(body.contains("<Quiet>true</Quiet>") && body.hasPrefix("<Delete xmlns="))
    }

    /// Path-style on an overridden endpoint, virtual-hosted on AWS; the key signed as it is.
    @Test func addressing() {
        let creds = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", source: "test")
        let aws = AWSClient(endpoints: AWSEndpoints(environment: [:]))
        let hosted = aws.prepare(.s3, region: "us-east-2", method: "PUT", path: "/pgdr functions.zip", query: "", headers: [], body: Data(),
                                 credentials: creds, date: Date(timeIntervalSince1970: 1_700_000_000),
                                 s3: .init(hostPrefix: "code.", path: "/pgdr functions.zip"))
        #expect(hosted.url == "https://code.s3.us-east-2.amazonaws.com/pgdr%20functions.zip")
        #expect(hosted.signature.canonicalRequest.contains("\n/pgdr%20functions.zip\n"))
        #expect(AWSEndpoints(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:5000"]).isOverridden(.s3))
        #expect(!AWSEndpoints(environment: [:]).isOverridden(.s3))
    }
}
