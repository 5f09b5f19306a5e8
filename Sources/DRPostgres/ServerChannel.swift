import DRSpec
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// Opens the connection to a server the way libpq does with `sslmode`: TCP,
/// then (unless TLS is off) an SSLRequest and a TLS handshake that verifies
/// the server as `tls:` says, then the authentication guard. postgres-nio
/// runs the protocol on the channel this returns; pgdr opens it itself so
/// that a failed check names which check failed, and so that a login that
/// would give the password away is refused before postgres-nio sees it.
enum ServerChannel {
    static func open(host: String, port: Int, tls: TLSSpec, caPath: String?, connectTimeout: Duration,
                     verdict: AuthenticationGuard.Verdict) async throws -> any Channel {
        let context = try tls.mode == .disable ? nil : TLSContexts.shared.context(mode: tls.mode, caPath: caPath)
        let channel = try await connect(host: host, port: port, timeout: connectTimeout)
        do {
            if let context {
                try await negotiate(channel, context: context, host: host)
            }
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(AuthenticationGuard(verdict: verdict))
            }.get()
            return channel
        } catch let error as TLSFailure {
            try? await channel.close()
            guard tls.mode.verifiesChain, let caPath,
                  let leaf = await peerCertificate(host: host, port: port, timeout: connectTimeout) else { throw error }
            switch error {
            case .handshake: throw diagnose(leaf, caPath: caPath)
            case .hostMismatch: throw TLSFailure.hostMismatch(host: host, names: names(leaf))
            default: throw error
            }
        } catch {
            try? await channel.close()
            throw error
        }
    }

    static func connect(host: String, port: Int, timeout: Duration) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: host, port: port).get()
    }

    /// SSLRequest, the server's one-byte answer, the TLS handshake.
    static func negotiate(_ channel: any Channel, context: NIOSSLContext, host: String) async throws {
        // Each promise is made where its handler is added, and failed if that
        // fails: a promise left unfulfilled is a leak NIO traps on.
        let answer = try await channel.eventLoop.submit { () throws -> EventLoopFuture<UInt8> in
            let promise = channel.eventLoop.makePromise(of: UInt8.self)
            do { try channel.pipeline.syncOperations.addHandler(SSLAnswerReader(answer: promise)) } catch {
                promise.fail(error)
                throw error
            }
            return promise.futureResult
        }.get()
        var request = channel.allocator.buffer(capacity: 8)
        request.writeInteger(Int32(8))
        request.writeInteger(Int32(80_877_103))
        try await channel.writeAndFlush(request).get()
        let byte: UInt8
        do { byte = try await answer.get() } catch let error as TLSFailure { throw error } catch {
            throw TLSFailure.handshake("the server closed the connection before answering the SSLRequest (\(error))")
        }
        guard byte == UInt8(ascii: "S") else { throw TLSFailure.notOffered }
        let handshake = try await channel.eventLoop.submit { () throws -> EventLoopFuture<Void> in
            let reader = try channel.pipeline.syncOperations.handler(type: SSLAnswerReader.self)
            channel.pipeline.syncOperations.removeHandler(reader, promise: nil)
            let ssl = try NIOSSLClientHandler(context: context, serverHostname: isIPAddress(host) ? nil : host)
            let promise = channel.eventLoop.makePromise(of: Void.self)
            do {
                try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(done: promise))
                try channel.pipeline.syncOperations.addHandler(ssl, position: .first)
            } catch {
                promise.fail(error)
                throw error
            }
            return promise.futureResult
        }.get()
        do { try await handshake.get() } catch {
            if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname { throw TLSFailure.hostMismatch(host: host, names: []) }
            throw TLSFailure.handshake("\(error)")
        }
    }

    /// The certificate the server shows, fetched without trusting it and
    /// without logging in, to say why it did not verify.
    static func peerCertificate(host: String, port: Int, timeout: Duration) async -> NIOSSLCertificate? {
        guard let context = try? TLSContexts.shared.context(mode: .require, caPath: nil),
              let channel = try? await connect(host: host, port: port, timeout: timeout) else { return nil }
        defer { channel.close(promise: nil) }
        guard (try? await negotiate(channel, context: context, host: host)) != nil else { return nil }
        return try? await channel.nioSSL_peerCertificate().get()
    }

    /// Why a chain did not verify against the CA: its dates first, else the CA.
    static func diagnose(_ leaf: NIOSSLCertificate, caPath: String) -> TLSFailure {
        let now = Date()
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        let notBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
        if now > notAfter { return .expired(notAfter: notAfter) }
        if now < notBefore { return .notYetValid(notBefore: notBefore) }
        return .untrusted(caPath: caPath)
    }

    /// The DNS names and IP addresses a certificate is valid for.
    static func names(_ certificate: NIOSSLCertificate) -> [String] {
        certificate._subjectAlternativeNames().compactMap { name -> String? in
            let bytes = name.contents.withUnsafeBufferPointer { Array($0) }
            switch name.nameType {
            case .dnsName: return String(decoding: bytes, as: UTF8.self)
            case .ipAddress where bytes.count == 4: return bytes.map(String.init).joined(separator: ".")
            case .ipAddress: return "an IPv6 address"
            default: return nil
            }
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// One TLS context per (mode, CA file as it is now): a rotated CA file is read again.
final class TLSContexts: Sendable {
    static let shared = TLSContexts()
    private let cache = Mutex<[String: NIOSSLContext]>([:])

    func context(mode: TLSSpec.Mode, caPath: String?) throws -> NIOSSLContext {
        let stamp = caPath.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date }
        let key = "\(mode.rawValue)|\(caPath ?? "")|\(stamp?.timeIntervalSince1970 ?? 0)"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch mode {
        case .disable, .require:
            configuration.certificateVerification = .none
        case .verifyCA, .verifyFull:
            guard let caPath else { throw TLSFailure.caUnreadable(path: "(none)", cause: "tls mode \(mode.rawValue) needs tls.ca") }
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(caPath) } catch {
                let cause = FileManager.default.isReadableFile(atPath: caPath) ? "not a PEM certificate file" : "no such file, or not readable"
                throw TLSFailure.caUnreadable(path: caPath, cause: cause)
            }
            guard !roots.isEmpty else { throw TLSFailure.caUnreadable(path: caPath, cause: "no certificate in it") }
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = mode == .verifyFull ? .fullVerification : .noHostnameVerification
        }
        let context = try NIOSSLContext(configuration: configuration)
        cache.withLock { $0[key] = context }
        return context
    }
}

/// Reads the server's one-byte answer to the SSLRequest, and refuses
/// anything after it (nothing may come before the handshake).
final class SSLAnswerReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let answer: EventLoopPromise<UInt8>
    private var answered = false

    init(answer: EventLoopPromise<UInt8>) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard !answered else {
            context.close(promise: nil)
            return
        }
        answered = true
        guard let byte = buffer.readInteger(as: UInt8.self), buffer.readableBytes == 0 else {
            answer.fail(TLSFailure.unexpectedData)
            context.close(promise: nil)
            return
        }
        answer.succeed(byte)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !answered {
            answered = true
            answer.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }

    /// Removed (after the answer, or with a pipeline torn down): the promise is never left open.
    func handlerRemoved(context: ChannelHandlerContext) {
        if !answered {
            answered = true
            answer.fail(ChannelError.ioOnClosedChannel)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !answered {
            answered = true
            answer.fail(error)
        }
        context.close(promise: nil)
    }
}

/// Waits for the TLS handshake's end and removes itself.
final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<Void>
    private var finished = false

    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, !finished {
            finished = true
            done.succeed()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished {
            finished = true
            done.fail(error)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
