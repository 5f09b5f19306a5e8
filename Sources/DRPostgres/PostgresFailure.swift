import Foundation
import PostgresNIO

/// A one-line, secret-free account of why talking to a server failed, with
/// what to do about it. postgres-nio's own `description` is deliberately
/// generic; the server's message lives in `serverInfo`.
public struct PostgresFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable { case refused, timeout, authentication, server, connection, tls }
    public let kind: Kind
    public let sqlState: String?
    public let description: String

    public init(_ error: any Error, target: ConnectionTarget, during: String) {
        if let already = error as? PostgresFailure {
            self = already
            return
        }
        let address = "\(target.host):\(target.port)"
        if let tls = error as? TLSFailure {
            kind = .tls
            sqlState = nil
            description = "\(address): TLS: \(tls)"
            return
        }
        if let insecure = error as? InsecureAuthentication {
            kind = .authentication
            sqlState = nil
            description = "\(address): \(insecure)"
            return
        }
        if error is DeadlineExceeded {
            kind = .timeout
            sqlState = nil
            description = "no answer from \(address) within the \(during) deadline; the server may be hung or the network cut"
            return
        }
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] {
                let state = psql.serverInfo?[.sqlState]
                sqlState = state
                // 28P01 invalid_password, 28000 invalid_authorization_specification
                if state == "28P01" || state == "28000" {
                    kind = .authentication
                    description = "\(address) refused user \(target.user): \(message); check the password source in pgdr.yaml"
                } else if state == "57014" {
                    kind = .timeout
                    description = "\(address): statement timed out (\(message))"
                } else {
                    kind = .server
                    description = "\(address): \(message) (SQLSTATE \(state ?? "?"))"
                }
                return
            }
            sqlState = nil
            let underlying = psql.underlying.map { String(describing: $0) } ?? ""
            if underlying.localizedCaseInsensitiveContains("refused") {
                kind = .refused
                description = "connection refused at \(address); is PostgreSQL running and listening there?"
            } else if psql.code == .serverClosedConnection || psql.code == .uncleanShutdown {
                kind = .connection
                description = "\(address) closed the connection (server shutting down or crashed)"
            } else if psql.code == .authMechanismRequiresPassword {
                kind = .authentication
                description = "\(address) asks user \(target.user) for a password and none is configured; add passwordFile or passwordEnv"
            } else {
                kind = .connection
                description = "cannot talk to \(address): \(psql.code)\(underlying.isEmpty ? "" : " (\(underlying))")"
            }
            return
        }
        sqlState = nil
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("refused") {
            kind = .refused
            description = "connection refused at \(address); is PostgreSQL running and listening there?"
        } else if text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("timed out") {
            kind = .timeout
            description = "no answer from \(address) while trying to \(during)"
        } else {
            kind = .connection
            description = "cannot reach \(address): \(text)"
        }
    }
}
