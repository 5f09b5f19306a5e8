import Crypto
import Foundation
import SWXMLHash

/// The S3 calls of `pgdr deploy` and `pgdr destroy`: the Lambda code upload,
/// and emptying a versioned bucket (every version and delete marker) so that
/// CloudFormation can delete it.
public struct S3API: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    /// One version of an object, or a delete marker.
    public struct ObjectVersion: Sendable, Hashable {
        public var key: String
        public var versionID: String
    }

    /// Whether the object exists (HeadObject; 404 is no, any other error is thrown).
    public func exists(bucket: String, key: String, region: String) async throws -> Bool {
        do {
            _ = try await client.s3(region: region, action: "HeadObject", method: "HEAD", bucket: bucket, key: key)
            return true
        } catch let error as AWSError {
            if case .service(_, _, _, let status, _) = error, status == 404 { return false }
            throw error
        }
    }

    public func put(bucket: String, key: String, region: String, data: Data, contentType: String = "application/zip") async throws {
        _ = try await client.s3(region: region, action: "PutObject", method: "PUT", bucket: bucket, key: key,
                                headers: [("Content-Type", contentType)], body: data)
    }

    /// Every version and delete marker in the bucket (ListObjectVersions, page by page).
    public func versions(bucket: String, region: String) async throws -> [ObjectVersion] {
        var out: [ObjectVersion] = []
        var marker: (key: String, version: String)?
        repeat {
            var query = [("versions", ""), ("max-keys", "1000")]
            if let marker { query += [("key-marker", marker.key), ("version-id-marker", marker.version)] }
            let data = try await client.s3(region: region, action: "ListObjectVersions", method: "GET", bucket: bucket,
                                           query: query.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&"))
            let result = XMLHash.parse(data)["ListVersionsResult"]
            for entry in result["Version"].all + result["DeleteMarker"].all {
                if let key = entry["Key"].element?.text {
                    out.append(ObjectVersion(key: key, versionID: entry["VersionId"].element?.text ?? "null"))
                }
            }
            if result["IsTruncated"].element?.text == "true", let key = result["NextKeyMarker"].element?.text {
                marker = (key, result["NextVersionIdMarker"].element?.text ?? "")
            } else {
                marker = nil
            }
        } while marker != nil
        return out
    }

    /// Deletes these versions (DeleteObjects, 1,000 at a time); the ones S3 refused, with its reason.
    public func delete(_ versions: [ObjectVersion], bucket: String, region: String) async throws -> [(ObjectVersion, String)] {
        var refused: [(ObjectVersion, String)] = []
        for start in stride(from: 0, to: versions.count, by: 1000) {
            let batch = versions[start..<min(start + 1000, versions.count)]
            let body = Data(Self.deleteBody(Array(batch)).utf8)
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            let data = try await client.s3(region: region, action: "DeleteObjects", method: "POST", bucket: bucket, query: "delete=",
                                           headers: [("Content-Type", "application/xml"), ("Content-MD5", md5)], body: body)
            for error in XMLHash.parse(data)["DeleteResult"]["Error"].all {
                let version = ObjectVersion(key: error["Key"].element?.text ?? "", versionID: error["VersionId"].element?.text ?? "")
                refused.append((version, "\(error["Code"].element?.text ?? "?"): \(error["Message"].element?.text ?? "")"))
            }
        }
        return refused
    }

    /// The DeleteObjects document (quiet: only failures come back).
    static func deleteBody(_ versions: [ObjectVersion]) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let objects = versions.map { "<Object><Key>\(escape($0.key))</Key><VersionId>\(escape($0.versionID))</VersionId></Object>" }
        return "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>\(objects.joined())</Delete>"
    }
}

/// CloudWatch Logs DeleteLogGroup (JSON 1.1): a log group that RDS or Lambda
/// created, or re-created, outside the stacks.
public struct LogsAPI: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    /// Deletes it; false when there was none.
    @discardableResult
    public func deleteLogGroup(_ name: String, region: String) async throws -> Bool {
        do {
            _ = try await client.json(.logs, region: region, target: "Logs_20140328.DeleteLogGroup", ["logGroupName": name])
            return true
        } catch let error as AWSError where error.code == "ResourceNotFoundException" {
            return false
        }
    }
}
