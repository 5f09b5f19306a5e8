import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization

/// Finds credentials the way the AWS SDKs do, in their order: environment
/// variables; the shared credentials and config files (profile from
/// `AWS_PROFILE`, else `default`); the container endpoint (ECS, EKS pod
/// identity); the instance metadata service (IMDSv2, with its token).
/// Temporary credentials are refreshed five minutes before they expire.
/// Nothing here logs or prints a secret.
public final class CredentialChain: Sendable {
    let environment: [String: String]
    let client: HTTPClient
    private let cached = Mutex<AWSCredentials?>(nil)

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, client: HTTPClient = .aws) {
        self.environment = environment
        self.client = client
    }

    public func credentials() async throws -> AWSCredentials {
        if let current = cached.withLock({ $0 }), !current.expires(within: 300) { return current }
        let found = try await resolve()
        cached.withLock { $0 = found }
        return found
    }

    /// Forget cached credentials (after the service said they expired).
    public func invalidate() { cached.withLock { $0 = nil } }

    func resolve() async throws -> AWSCredentials {
        var tried: [String] = []
        // 1. Environment.
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case let (key?, secret?):
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                  sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                                  source: "environment")
        case (.some, nil): throw AWSError.credentials("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, .some): throw AWSError.credentials("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (nil, nil): tried.append("environment (AWS_ACCESS_KEY_ID)")
        }
        // 2. Shared files.
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        if let found = try sharedFiles(profile: profile, tried: &tried) { return found }
        // 3. Container endpoint.
        if let found = try await container(tried: &tried) { return found }
        // 4. Instance metadata (IMDSv2).
        if let found = try await instanceMetadata(tried: &tried) { return found }
        throw AWSError.credentials("no AWS credentials found (tried: \(tried.joined(separator: "; ")))")
    }

    // MARK: shared files

    var home: String { environment["HOME"] ?? NSHomeDirectory() }

    func sharedFiles(profile: String, tried: inout [String]) throws -> AWSCredentials? {
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        let configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
        // The credentials file names sections `[name]`; the config file `[profile name]` (and `[default]`).
        let sources: [(String, String)] = [(credentialsPath, profile), (configPath, profile == "default" ? "default" : "profile \(profile)")]
        for (path, section) in sources {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                tried.append("\(path) (absent)")
                continue
            }
            guard let values = INIFile.parse(text)[section] else {
                tried.append("\(path) (no [\(section)])")
                continue
            }
            if let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] {
                return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"],
                                      source: "profile \(profile) in \(path)")
            }
            for unsupported in ["role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file"]
            where values[unsupported] != nil {
                throw AWSError.credentials("profile \(profile) in \(path) uses \(unsupported), which pgdr does not support; "
                                           + "export temporary credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) instead")
            }
            tried.append("\(path) [\(section)] (no access key)")
        }
        if environment["AWS_PROFILE"] != nil {
            throw AWSError.credentials("AWS_PROFILE=\(profile), but no such profile with an access key in \(credentialsPath) or \(configPath)")
        }
        return nil
    }

    // MARK: container

    func container(tried: inout [String]) async throws -> AWSCredentials? {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + relative
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = full
        } else {
            tried.append("container endpoint (not configured)")
            return nil
        }
        var request = HTTPClientRequest(url: url)
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"],
           let token = try? String(contentsOfFile: file, encoding: .utf8) {
            request.headers.add(name: "Authorization", value: token.trimmingCharacters(in: .whitespacesAndNewlines))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            request.headers.add(name: "Authorization", value: token)
        }
        do {
            let (status, body) = try await fetch(request, timeout: .seconds(2))
            guard status == 200 else { throw AWSError.credentials("the container credentials endpoint answered HTTP \(status)") }
            return try Self.decodeTemporary(body, source: "container endpoint")
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError.credentials("the container credentials endpoint \(url) did not answer (\(error))")
        }
    }

    // MARK: instance metadata

    func instanceMetadata(tried: inout [String]) async throws -> AWSCredentials? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            tried.append("instance metadata (AWS_EC2_METADATA_DISABLED)")
            return nil
        }
        let base = (environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        do {
            var tokenRequest = HTTPClientRequest(url: base + "/latest/api/token")
            tokenRequest.method = .PUT
            tokenRequest.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "21600")
            let (tokenStatus, tokenBody) = try await fetch(tokenRequest, timeout: .seconds(1))
            guard tokenStatus == 200 else {
                tried.append("instance metadata (token request answered HTTP \(tokenStatus))")
                return nil
            }
            let token = String(decoding: tokenBody, as: UTF8.self)
            var roleRequest = HTTPClientRequest(url: base + "/latest/meta-data/iam/security-credentials/")
            roleRequest.headers.add(name: "X-aws-ec2-metadata-token", value: token)
            let (roleStatus, roleBody) = try await fetch(roleRequest, timeout: .seconds(1))
            guard roleStatus == 200, let role = String(decoding: roleBody, as: UTF8.self).split(separator: "\n").first else {
                tried.append("instance metadata (no instance role)")
                return nil
            }
            var credentialRequest = HTTPClientRequest(url: base + "/latest/meta-data/iam/security-credentials/\(role)")
            credentialRequest.headers.add(name: "X-aws-ec2-metadata-token", value: token)
            let (status, body) = try await fetch(credentialRequest, timeout: .seconds(1))
            guard status == 200 else { throw AWSError.credentials("instance metadata answered HTTP \(status) for role \(role)") }
            return try Self.decodeTemporary(body, source: "instance metadata (role \(role))")
        } catch let error as AWSError {
            throw error
        } catch {
            tried.append("instance metadata (no answer)")
            return nil
        }
    }

    func fetch(_ request: HTTPClientRequest, timeout: Duration) async throws -> (Int, Data) {
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.components.seconds * 1000)))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(buffer: body))
    }

    /// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`, as the container and IMDS endpoints answer.
    static func decodeTemporary(_ data: Data, source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw AWSError.credentials("\(source) answered something that holds no credentials")
        }
        let expiration = (object["Expiration"] as? String).flatMap { try? Date($0, strategy: .iso8601) }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: object["Token"] as? String,
                              expiration: expiration, source: source)
    }
}

/// The shared config files' INI dialect: `[section]`, `key = value`, `#` and `;` comments.
enum INIFile {
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if let current, sections[current] == nil { sections[current] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current]?[key] = value
        }
        return sections
    }
}
