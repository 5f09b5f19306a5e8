import Testing
@testable import DRSpec

/// `replication.mode: bounded` in pgdr.yaml: the bound, its default, and the
/// bounds pgdr refuses to promise.
@Suite struct BoundedSpecTests {
    @Test func theBoundDefaultsToTheRPOAndTakesASizeATimeOrBoth() throws {
        let plain = try SpecParser.parse(yaml: minimalSpec + "\nreplication: {mode: bounded}").spec
        #expect(plain.replication.mode == .bounded)
        #expect(plain.replication.bound(rpo: plain.objectives.rpo) == DataLossLimit(bytes: nil, time: .minutes(5)))
        let both = try SpecParser.parse(yaml: minimalSpec + "\nreplication: {mode: bounded, maxLag: {bytes: 64MB, time: 30s}}").spec
        #expect(both.replication.bound(rpo: both.objectives.rpo) == DataLossLimit(bytes: .megabytes(64), time: .seconds(30)))
        #expect(both.effectiveAlarms.contains { $0.name == "commits-held" }, "bounded mode adds the commits-held alarm")
        let async = try SpecParser.parse(yaml: minimalSpec).spec
        #expect(!async.effectiveAlarms.contains { $0.name == "commits-held" })
    }

    @Test func boundsThatCannotBeKeptAreRefused() {
        let tight = errorAt("replication.maxLag", in: minimalSpec + "\nmonitoring: {interval: 5s}\nreplication: {mode: bounded, maxLag: 8s}")
        #expect(tight?.message.contains("less than two agent intervals") == true)
        #expect(errorAt("replication.maxLag", in: minimalSpec + "\nreplication: {mode: bounded, maxLag: 100kB}")?.message
            .contains("every burst") == true)
        #expect(errorAt("replication.maxLag", in: minimalSpec + "\nreplication: {mode: async, maxLag: 30s}")?.message
            .contains("only to replication.mode: bounded") == true)
        #expect(errorAt("replication.mode", in: minimalSpec + """

            replication: {mode: bounded}
            dcs: {endpoints: [http://a:2379, http://b:2379, http://c:2379]}
            """)?.message.contains("quorum mode") == true)
        #expect(errorAt("replication.mode", in: minimalSpec + "\ntarget: aws\nreplication: {mode: bounded}")?.message
            .contains("cannot be deployed on RDS") == true)
    }
}

/// `backup.repositories[].s3`: a repository in a bucket, credentials by reference only.
@Suite struct S3RepositorySpecTests {
    static let backup = """

        backup:
          passphraseFile: pass
          repositories:
            - {region: us-east-1, path: /var/lib/pgbackrest}

        """

    @Test func anS3RepositoryTakesItsBucketEndpointAndCredentialFiles() throws {
        let spec = try SpecParser.parse(yaml: minimalSpec + Self.backup + """
                - {region: us-east-2, path: /pgdr, s3: {bucket: b, endpoint: localhost, port: 9443, uriStyle: path, keyFile: k, secretEnv: S}}

            """).spec
        let s3 = try #require(spec.backup.pgbackrest?.repositories.last?.s3)
        #expect(s3.bucket == "b" && s3.region == "us-east-2" && s3.endpoint == "localhost" && s3.port == 9443 && s3.uriStyle == .path)
        #expect(s3.key == .file("k") && s3.secret == .environment("S"))
        let aws = try SpecParser.parse(yaml: minimalSpec + Self.backup + "    - {region: us-east-2, path: /pgdr, s3: {bucket: b}}\n").spec
        #expect(aws.backup.pgbackrest?.repositories.last?.s3?.endpoint == "s3.us-east-2.amazonaws.com")
        #expect(aws.backup.pgbackrest?.repositories.last?.s3?.key == nil, "no key: the instance's role")
    }

    @Test func aKeyWithoutItsSecretIsRefused() {
        let yaml = minimalSpec + Self.backup + "    - {region: us-east-2, path: /pgdr, s3: {bucket: b, keyFile: k}}\n"
        #expect(problems(yaml).contains { $0.severity == .error && $0.message.contains("needs its secret") })
    }
}
