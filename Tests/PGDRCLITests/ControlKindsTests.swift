import DRLocal
import DRPostgres
import Foundation
import PGDRTestSupport
import PostgresNIO
import Testing

/// Operations on servers that are not driven by pg_ctl: pg1 through
/// commands of the operator's own, pg2 through a systemd unit. There is no
/// systemd in the test machine, so `systemctl` is a stand-in script (named by
/// PGDR_SYSTEMCTL) that starts and stops the real server with pg_ctl; what is
/// checked is that pgdr drives both kinds, in both roles, on real servers.
@Suite(.serialized) struct ControlKindsTests {
    /// One script for every action of the `commands` control, and a systemctl stand-in.
    static func writeScripts(in dir: String, bin: String) async throws -> (ctl: String, systemctl: String) {
        let prelude = """
            #!/bin/sh
            set -eu
            BIN=\(bin)
            as_owner() {  # run as the data directory's owner (PostgreSQL refuses root), with its HOME as a service manager gives it
              if [ "$(id -u)" = 0 ]; then
                HOME="$(getent passwd "$(stat -c %u "$DATA")" | cut -d: -f6)" setpriv --reuid="$(stat -c %u "$DATA")" --regid="$(stat -c %g "$DATA")" --clear-groups -- "$@"
              else "$@"; fi
            }

            """
        let ctl = prelude + """
            DATA="$1"; LOG="$2"; ACTION="${PGDR_ACTION:?}"
            echo "$ACTION ${PGDR_NODE:-} ${PGDR_UPSTREAM_NAME:-}" >> "$(dirname "$DATA")/actions.log"
            case "$ACTION" in
              start) as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w start >/dev/null ;;
              stop) as_owner "$BIN/pg_ctl" -D "$DATA" -m "${PGDR_STOP_MODE:-fast}" -w stop >/dev/null || true ;;
              status) as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null ;;
              fence)
                as_owner touch "$DATA/standby.signal" "$DATA/pgdr.fenced"
                as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true ;;
              unfence)
                rm -f "$DATA/pgdr.fenced"
                if [ "${PGDR_AS_PRIMARY:-0}" = 1 ]; then rm -f "$DATA/standby.signal"; fi ;;
              follow)
                grep -v '^primary_conninfo\\|^primary_slot_name' "$DATA/postgresql.auto.conf" > "$DATA/auto.tmp" || true
                echo "primary_conninfo = 'host=$PGDR_UPSTREAM_HOST port=$PGDR_UPSTREAM_PORT user=pgdr_replicator application_name=$PGDR_NODE passfile=''$(dirname "$DATA")/pgpass'' sslmode=$PGSSLMODE sslrootcert=''$PGSSLROOTCERT'''" >> "$DATA/auto.tmp"
                echo "primary_slot_name = '$PGDR_UPSTREAM_SLOT'" >> "$DATA/auto.tmp"
                mv "$DATA/auto.tmp" "$DATA/postgresql.auto.conf"
                chown "$(stat -c %u "$DATA"):$(stat -c %g "$DATA")" "$DATA/postgresql.auto.conf"
                as_owner touch "$DATA/standby.signal" ;;
              controldata) LC_ALL=C as_owner "$BIN/pg_controldata" -D "$DATA" ;;
              *) echo "no such action $ACTION" >&2; exit 2 ;;
            esac

            """
        let systemctl = prelude + """
            VERB="$1"; UNIT="$2"
            DATA="$(cat "\(dir)/units/$UNIT")"
            echo "systemctl $VERB $UNIT" >> "$(dirname "$DATA")/actions.log"
            case "$VERB" in
              start) as_owner "$BIN/pg_ctl" -D "$DATA" -l "$(dirname "$DATA")/postgres.log" -w start >/dev/null ;;
              stop) as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null ;;
              *) exit 1 ;;
            esac

            """
        let ctlPath = "\(dir)/ctl.sh", systemctlPath = "\(dir)/systemctl"
        try ctl.write(toFile: ctlPath, atomically: true, encoding: .utf8)
        try systemctl.write(toFile: systemctlPath, atomically: true, encoding: .utf8)
        chmod(ctlPath, 0o755)
        chmod(systemctlPath, 0o755)
        return (ctlPath, systemctlPath)
    }

    @Test func switchoversThroughCommandsAndASystemdUnit() async throws {
        try await OperationCommandTests.withLab { config, lab in
            let dir = (config as NSString).deletingLastPathComponent
            let state = try lab.state()
            let (ctl, systemctl) = try await Self.writeScripts(in: dir, bin: state.binDirectory)
            try FileManager.default.createDirectory(atPath: "\(dir)/units", withIntermediateDirectories: true)
            try "\(lab.layout.dataDirectory("us-east-2"))".write(toFile: "\(dir)/units/postgresql@lab-pg2", atomically: true, encoding: .utf8)
            // pg1 through commands, pg2 through systemd: rewrite the lab's control sections.
            var text = try String(contentsOfFile: config, encoding: .utf8)
            let pg1Data = lab.layout.dataDirectory("us-east-1"), pg1Log = lab.layout.logFile("us-east-1")
            let commands = ["start", "stop", "status", "fence", "unfence", "follow", "controldata"]
                .map { "        \($0): [\"\(ctl)\", \"\(pg1Data)\", \"\(pg1Log)\"]" }.joined(separator: "\n")
            let sections = text.components(separatedBy: "    control:\n")
            try #require(sections.count == 3, "the lab spec has two control sections")
            let rest1 = sections[1].components(separatedBy: "  - name: pg2")
            text = sections[0] + "    control:\n      type: commands\n      timeout: 60s\n      commands:\n\(commands)\n\n  - name: pg2"
                + rest1[1] + "    control:\n      type: systemd\n      unit: postgresql@lab-pg2\n"
                + "      replicationPassfile: us-east-2/pgpass\n      timeout: 60s\n"
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let validate = try await CLI.run(["validate", config])
            #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")

            setenv("PGDR_SYSTEMCTL", systemctl, 1)
            defer { unsetenv("PGDR_SYSTEMCTL") }
            let there = try await CLI.run(["switchover", "--config", config])
            #expect(there.status == 0, "\(there.stdout)\(there.stderr)")
            #expect(await OperationCommandTests.isPrimary(lab, "pg2") == true)
            let back = try await CLI.run(["switchover", "--config", config])
            #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
            #expect(await OperationCommandTests.isPrimary(lab, "pg1") == true)
            let status = try await CLI.run(["status", "--config", config])
            #expect(status.stdout.contains("replication pg1 -> pg2: streaming"), "\(status.stdout)")

            let pg1Actions = (try? String(contentsOfFile: "\(dir)/us-east-1/actions.log", encoding: .utf8)) ?? ""
            for action in ["fence", "controldata", "follow pg1 pg2", "start", "unfence"] {
                #expect(pg1Actions.contains(action), "pg1's commands never ran \(action): \(pg1Actions)")
            }
            let pg2Actions = (try? String(contentsOfFile: "\(dir)/us-east-2/actions.log", encoding: .utf8)) ?? ""
            #expect(pg2Actions.contains("systemctl stop postgresql@lab-pg2"), "\(pg2Actions)")
            #expect(pg2Actions.contains("systemctl start postgresql@lab-pg2"), "\(pg2Actions)")
        }
    }

    @Test func anActionWithoutItsCommandNamesTheKey() async throws {
        let control = CommandControl(node: "pg9", commands: .init(), timeout: .seconds(5))
        let error = await #expect(throws: (any Error).self) { try await control.rewind(from: .init(name: "pg1", host: "127.0.0.1", port: 1, database: "postgres", slot: "s")) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("control.commands.rewind is not set for pg9"))
    }
}
