import DRBackup
import DRPostgres
import Foundation

/// The server settings and access rules of lab nodes. Pure text builders.
public enum LabConfig {
    static let adminRole = "pgdr_admin"
    static let replicationRole = "pgdr_replicator"
    static let monitorRole = "pgdr_monitor"

    static func slotName(for node: String) -> String { SlotName.forNode(node) }

    /// `pgdr.conf`, included from postgresql.conf. Written for each node after
    /// initdb or pg_basebackup, so a copied primary's settings never leak into
    /// the standby.
    static func serverSettings(port: Int, archive: String, node: String, sync: Bool = false, peers: [String] = [],
                               address: String = "127.0.0.1", backup: PgBackRestConfig? = nil,
                               tls: (certificate: String, key: String)? = nil) -> String {
        """
        # Written by pgdr lab. Edit with care: `pgdr lab up` does not rewrite it.
        listen_addresses = '\(address)'
        port = \(port)
        unix_socket_directories = '\(backup?.socketDirectory ?? "")'
        cluster_name = '\(node)'
        max_connections = 50
        shared_buffers = 32MB
        wal_level = replica
        wal_log_hints = on
        max_wal_senders = 10
        max_replication_slots = 10
        wal_keep_size = 64MB
        # A standby that stops consuming WAL must not fill the primary's disk:
        # its slot is invalidated past this (the agent's slot-wal-at-risk alarm
        # fires first), and the standby is rebuilt.
        max_slot_wal_keep_size = 1GB
        archive_mode = on
        archive_command = '\(backup?.archiveCommand ?? archiveCommand(archive: archive))'
        archive_timeout = 60s
        hot_standby = on
        hot_standby_feedback = on
        wal_receiver_status_interval = 1s
        # PostgreSQL's default of 5s can stall a promotion for 5s.
        wal_retrieve_retry_interval = 200ms
        password_encryption = scram-sha-256
        logging_collector = off
        log_line_prefix = '%m [%p] %q%u@%d '
        log_checkpoints = on
        log_replication_commands = on

        """ + (tls.map { tls in """
        # TLS for every connection over the network (pg_hba.conf: hostssl only).
        ssl = on
        ssl_cert_file = '\(tls.certificate)'
        ssl_key_file = '\(tls.key)'
        ssl_min_protocol_version = 'TLSv1.2'

        """ } ?? "") + (sync ? """
        # replication.mode: sync. Each node names every other as a candidate
        # synchronous standby (a server is never its own standby), so the
        # setting survives a change of roles.
        synchronous_commit = on
        synchronous_standby_names = 'ANY 1 (\(peers.joined(separator: ", ")))'

        """ : "")
    }

    /// `archive_command` by the PostgreSQL manual's rules: copy to a temporary
    /// name, flush it, rename it into place, flush the folder; a file already
    /// archived with the same content is success, with other content failure.
    /// A copy cut short (a full disk) leaves only a temporary file, which the
    /// next attempt overwrites, so archiving resumes once there is room.
    public static func archiveCommand(archive: String) -> String {
        "f=\"\(archive)/%f\"; if [ -f \"$f\" ]; then cmp -s \"%p\" \"$f\"; "
            + "else cp \"%p\" \"$f.tmp\" && sync \"$f.tmp\" && mv \"$f.tmp\" \"$f\" && sync \"\(archive)\"; fi"
    }

    /// `restore_command` of a lab node as a standby: WAL from the other
    /// region's archive when streaming cannot deliver.
    static func restoreCommand(peerArchive: String) -> String {
        "cp \"\(peerArchive)/%f\" \"%p\""
    }

    /// Loopback (or the lab's own subnet) only, passwords always (SCRAM);
    /// replication only for its role, and that role nothing else.
    static func hba(network: String = "127.0.0.1/32", backups: Bool = false, tls: Bool = false) -> String {
        let host = tls ? "hostssl" : "host   "
        return """
        # Written by pgdr lab.
        # TYPE  DATABASE     USER              ADDRESS        METHOD
        """ + (backups ? """

        # pgBackRest, as the server's own user, through the socket (pg_ident.conf: map pgdr).
        local   all          \(adminRole)        peer map=pgdr
        """ : "") + """

        \(host) replication  \(replicationRole)   \(network)   scram-sha-256
        \(host) all          \(replicationRole)   \(network)   reject
        \(host) all          all               \(network)   scram-sha-256

        """
    }

    /// Paths end up inside quoted settings: refuse characters that would need escaping there.
    static func checkPath(_ path: String) throws {
        if let bad = path.first(where: { "'\"%\\\n".contains($0) }) {
            throw LocalError.badInput("the lab folder \(path) contains `\(bad)`, which PostgreSQL settings cannot quote safely; choose another folder")
        }
    }
}
