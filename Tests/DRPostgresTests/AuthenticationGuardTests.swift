import NIOCore
import NIOEmbedded
import Testing
@testable import DRPostgres

/// The guard's rule and its framing, apart from any connection (the real
/// server and an impostor are in LabTLSTests and ImpostorServerTests).
@Suite struct AuthenticationGuardTests {
    @Test func cleartextAndMD5AreRefusedEverythingElsePasses() {
        let r = UInt8(ascii: "R")
        #expect(AuthenticationGuard.decide(type: r, code: 3) == .refuse("cleartext password"))
        #expect(AuthenticationGuard.decide(type: r, code: 5) == .refuse("MD5 password"))
        #expect(AuthenticationGuard.decide(type: r, code: 10) == .pass, "SASL (SCRAM) starts")
        #expect(AuthenticationGuard.decide(type: r, code: 11) == .pass)
        #expect(AuthenticationGuard.decide(type: r, code: 12) == .pass)
        #expect(AuthenticationGuard.decide(type: r, code: 0) == .passAndFinish, "AuthenticationOk ends the watch")
        #expect(AuthenticationGuard.decide(type: UInt8(ascii: "E"), code: 3) == .pass, "an error message is not a request")
    }

    static func message(_ type: Character, code: Int32, extra: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(type.asciiValue!)
        buffer.writeInteger(Int32(8 + extra.count))
        buffer.writeInteger(code)
        buffer.writeBytes(extra)
        return buffer
    }

    @Test func onAChannelWhatPrecedesARefusalPassesAndNothingAfter() throws {
        let channel = EmbeddedChannel()
        let verdict = AuthenticationGuard.Verdict()
        try channel.pipeline.syncOperations.addHandler(AuthenticationGuard(verdict: verdict))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 5432)).wait()
        // A notice-like message, then a cleartext request, then bytes that must never pass: one read.
        var read = Self.message("N", code: 0, extra: [0])
        read.writeImmutableBuffer(Self.message("R", code: 3))
        read.writeImmutableBuffer(Self.message("S", code: 0))
        try channel.writeInbound(read)
        let passed = try channel.readInbound(as: ByteBuffer.self)
        #expect(passed == Self.message("N", code: 0, extra: [0]), "what came before the request passes, in one buffer")
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "the request and what follows never pass")
        #expect(verdict.refused.withLock { $0?.method } == "cleartext password")
        #expect(!channel.isActive, "the connection is closed")
    }

    @Test func afterAuthenticationOkEverythingPassesAsItCame() throws {
        let channel = EmbeddedChannel()
        let verdict = AuthenticationGuard.Verdict()
        try channel.pipeline.syncOperations.addHandler(AuthenticationGuard(verdict: verdict))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 5432)).wait()
        // SASLFinal split across two reads, then AuthenticationOk with a ParameterStatus behind it.
        let final = Self.message("R", code: 12, extra: [1, 2, 3])
        try channel.writeInbound(final.getSlice(at: 0, length: 6)!)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "half a message waits")
        var rest = final.getSlice(at: 6, length: final.readableBytes - 6)!
        rest.writeImmutableBuffer(Self.message("R", code: 0))
        rest.writeImmutableBuffer(Self.message("S", code: 0))
        try channel.writeInbound(rest)
        var expected = final
        expected.writeImmutableBuffer(Self.message("R", code: 0))
        expected.writeImmutableBuffer(Self.message("S", code: 0))
        #expect(try channel.readInbound(as: ByteBuffer.self) == expected)
        // Later reads pass untouched, even a code-3-looking message (it is no longer a login).
        try channel.writeInbound(Self.message("R", code: 3))
        #expect(try channel.readInbound(as: ByteBuffer.self) == Self.message("R", code: 3))
        #expect(verdict.refused.withLock { $0 } == nil && channel.isActive)
    }

    @Test func messagesAreFramedWholeAcrossReads() {
        var buffer = ByteBuffer()
        // AuthenticationMD5Password: 'R', length 12, code 5, 4-byte salt; then half of another message.
        buffer.writeInteger(UInt8(ascii: "R")); buffer.writeInteger(Int32(12)); buffer.writeInteger(Int32(5)); buffer.writeInteger(UInt32(0xdead_beef))
        buffer.writeInteger(UInt8(ascii: "R")); buffer.writeInteger(Int32(8))
        let first = AuthenticationGuard.frame(&buffer)
        #expect(first?.type == UInt8(ascii: "R") && first?.code == 5 && first?.bytes.readableBytes == 13)
        #expect(AuthenticationGuard.frame(&buffer) == nil, "the second message has not all arrived")
        #expect(buffer.readableBytes == 5, "an incomplete message stays for the next read")
        buffer.writeInteger(Int32(0))
        let second = AuthenticationGuard.frame(&buffer)
        #expect(second?.code == 0 && buffer.readableBytes == 0)
    }
}
