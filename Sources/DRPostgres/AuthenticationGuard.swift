import NIOCore
import Synchronization

/// Sits between the connection and postgres-nio until the login is over and
/// refuses the two methods that give the password away: cleartext
/// (`AuthenticationCleartextPassword`, code 3) and MD5 (code 5, a hash that
/// can be replayed and brute-forced). postgres-nio answers both without a
/// way to say no, so the request never reaches it: the connection closes and
/// nothing is sent.
final class AuthenticationGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// What the guard refused, read by the connector after the connection failed.
    final class Verdict: Sendable {
        let refused = Mutex<InsecureAuthentication?>(nil)
    }

    private var pending: ByteBuffer?
    private var finished = false
    private var inactive = false
    private let verdict: Verdict

    init(verdict: Verdict) {
        self.verdict = verdict
    }

    /// Complete messages go on in one buffer per read, as they came (so
    /// postgres-nio's own decoder sees the batch it would see without the
    /// guard); a refused request and everything after it never do.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !inactive else { return }
        var incoming = unwrapInboundIn(data)
        if finished {
            context.fireChannelRead(wrapInboundOut(incoming))
            return
        }
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        guard var buffer = pending else { return }
        let start = buffer.readerIndex
        var forwardUpTo = start
        var refusal: String?
        scan: while let message = Self.frame(&buffer) {
            switch Self.decide(type: message.type, code: message.code) {
            case .pass:
                forwardUpTo = buffer.readerIndex
            case .passAndFinish:
                finished = true
                forwardUpTo = buffer.writerIndex
                break scan
            case .refuse(let method):
                refusal = method
                break scan
            }
        }
        let ready = pending!.getSlice(at: start, length: forwardUpTo - start)
        pending!.moveReaderIndex(to: forwardUpTo)
        if finished || refusal != nil { pending = nil }
        if let ready, ready.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(ready)) }
        if let refusal, context.channel.isActive {
            verdict.refused.withLock { $0 = InsecureAuthentication(method: refusal) }
            context.close(promise: nil)
        }
    }

    /// Nothing is delivered after the connection ended.
    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        pending = nil
        context.fireChannelInactive()
    }

    enum Decision: Equatable { case pass, passAndFinish, refuse(String) }

    /// The rule, apart from the bytes: authentication requests other than
    /// cleartext and MD5 pass; `AuthenticationOk` ends the guard's watch.
    static func decide(type: UInt8, code: Int32?) -> Decision {
        guard type == UInt8(ascii: "R"), let code else { return .pass }
        switch code {
        case 0: return .passAndFinish
        case 3: return .refuse("cleartext password")
        case 5: return .refuse("MD5 password")
        default: return .pass
        }
    }

    /// One whole backend message off the front of `buffer` (type byte, length,
    /// body), or nil when it has not all arrived.
    static func frame(_ buffer: inout ByteBuffer) -> (type: UInt8, code: Int32?, bytes: ByteBuffer)? {
        guard buffer.readableBytes >= 5,
              let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self), length >= 4,
              buffer.readableBytes >= 1 + Int(length) else { return nil }
        let code = length >= 8 ? buffer.getInteger(at: buffer.readerIndex + 5, as: Int32.self) : nil
        guard let bytes = buffer.readSlice(length: 1 + Int(length)) else { return nil }
        return (type, code, bytes)
    }
}
