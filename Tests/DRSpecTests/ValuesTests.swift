import Testing
@testable import DRSpec

@Suite struct TimeSpanTests {
    @Test(arguments: [("200ms", 200), ("300s", 300_000), ("5m", 300_000), ("1h", 3_600_000), ("1d", 86_400_000),
                      ("0s", 0), (" 30s ", 30_000)])
    func parses(text: String, milliseconds: Int64) {
        #expect(TimeSpan(parsing: text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["", "300", "5 minutes", "-5s", "1.5h", "s", "10w", "99999999999999999999d"])
    func rejects(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test func printsShortestExactUnit() {
        #expect(TimeSpan(milliseconds: 300_000).description == "5m")
        #expect(TimeSpan(milliseconds: 1500).description == "1500ms")
        #expect(TimeSpan.hours(24).description == "1d")
        #expect(TimeSpan(milliseconds: 0).description == "0s")
    }
}

@Suite struct ByteSizeTests {
    @Test(arguments: [("16MB", Int64(16) << 20), ("512kB", Int64(512) << 10), ("100GB", Int64(100) << 30),
                      ("1TB", Int64(1) << 40), ("0", 0), ("16MiB", Int64(16) << 20), ("8 kB", Int64(8) << 10)])
    func parses(text: String, bytes: Int64) {
        #expect(ByteSize(parsing: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "16", "MB", "16XB", "-1MB", "1.5GB"])
    func rejects(text: String) {
        #expect(ByteSize(parsing: text) == nil)
    }

    @Test func printsLargestExactUnit() {
        #expect(ByteSize.megabytes(16).description == "16MB")
        #expect(ByteSize(bytes: 1536).description == "1536B")
        #expect(ByteSize.human(1536) == "1.5 kB")
    }
}

@Suite struct SecretTests {
    @Test func neverPrintsItsValue() {
        let secret = Secret("hunter2-correct-horse")
        let holder = ["password": secret]
        for rendering in [String(describing: secret), String(reflecting: secret), "\(secret)",
                          String(describing: holder), String(reflecting: holder)] {
            #expect(!rendering.contains("hunter2"), "leaked in: \(rendering)")
        }
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(secret.reveal() == "hunter2-correct-horse")
    }

    @Test func specHoldsNoPasswordOnlyItsSource() throws {
        let parsed = try SpecParser.parse(yaml: ExampleSpec.text)
        let text = String(reflecting: parsed.spec)
        #expect(text.contains("password: Optional(file secrets/monitor.password)"))
        #expect(text.contains("password: Optional(environment variable PGDR_PG2_PASSWORD)"))
    }
}
