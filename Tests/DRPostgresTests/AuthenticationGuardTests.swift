import NIOCore
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
