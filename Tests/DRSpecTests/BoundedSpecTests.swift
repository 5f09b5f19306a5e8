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
