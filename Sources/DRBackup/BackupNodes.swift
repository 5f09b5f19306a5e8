import DRSpec
import Foundation

/// Each node's pgBackRest configuration, from pgdr.yaml: the nodes pgdr
/// runs beside (those with a `dataDirectory`). Relative paths are relative
/// to the folder pgdr.yaml is in.
public enum BackupNodes {
    public static func configs(_ spec: Spec, baseDirectory: String) throws -> [String: PgBackRestConfig] {
        guard let settings = spec.backup.pgbackrest else {
            throw BackupError.badInput("pgdr.yaml has no backup.repositories: pgdr takes no backups (see docs/backups.md)")
        }
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
        }
        var out: [String: PgBackRestConfig] = [:]
        for node in spec.nodes {
            guard let data = node.dataDirectory else { continue }
            out[node.name] = PgBackRestConfig(settings: settings, repositoryPaths: settings.repositories.map { absolute($0.path) },
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
