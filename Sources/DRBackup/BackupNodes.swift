import DRSpec
import Foundation

/// Each node's pgBackRest configuration, from pgdr.yaml: the nodes pgdr
/// runs beside (those with a `dataDirectory`). Relative paths are relative
/// to the folder pgdr.yaml is in.
public enum BackupNodes {
    public static func configs(_ spec: Spec, baseDirectory: String) throws -> [String: PgBackRestConfig] {
        guard var settings = spec.backup.pgbackrest else {
            throw BackupError.badInput("pgdr.yaml has no backup.repositories: pgdr takes no backups (see docs/backups.md)")
        }
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
        }
        for index in settings.repositories.indices {
            // An S3 repository's path is inside its bucket; its CA file is on this machine.
            let ca = settings.repositories[index].s3?.caFile.map(absolute)
            settings.repositories[index].s3?.caFile = ca
        }
        var out: [String: PgBackRestConfig] = [:]
        for node in spec.nodes {
            guard let data = node.dataDirectory else { continue }
            out[node.name] = PgBackRestConfig(settings: settings,
                                              repositoryPaths: settings.repositories.map { $0.s3 == nil ? absolute($0.path) : $0.path },
                                              retentionDays: spec.backup.retentionDays,
                                              nodeDirectory: absolute(settings.directory) + "/" + node.name,
                                              dataDirectory: absolute(data), port: node.port,
                                              socketDirectory: absolute(node.socketDirectory),
                                              user: node.adminUser ?? "postgres")
        }
        guard !out.isEmpty else {
            throw BackupError.badInput("no node in pgdr.yaml has a dataDirectory: pgBackRest runs beside the servers it backs up")
        }
        return out
    }
}
