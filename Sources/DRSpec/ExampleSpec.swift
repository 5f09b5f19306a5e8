/// The commented pgdr.yaml that `pgdr init` writes. It parses as it stands
/// (a unit test holds it to that) and every default is spelled out, so the
/// file documents itself.
public enum ExampleSpec {
    public static let text = """
    # pgdr.yaml: one declarative description of a two-region PostgreSQL deployment.
    # Durations: 200ms, 30s, 5m, 1h, 1d. Sizes: 512kB, 16MB, 100GB (powers of 1024).
    # Check it with `pgdr validate`; see every key in the README.

    name: orders            # lowercase letters, digits, hyphens; part of every resource name
    environment: prod       # suffix on every resource name: orders-db-prod

    objectives:
      rpo: 5m               # most data (as time) a regional disaster may cost
      rto: 1h               # how soon the DR region must take writes

    engine:
      version: "16"         # PostgreSQL major version, or major.minor ("16.4") to pin RDS

    primary:
      region: us-east-1
      instanceClass: db.r6g.xlarge
      multiAZ: true
      storage: 100GB

    dr:
      region: us-east-2     # must differ from primary.region
      instanceClass: db.r6g.xlarge
      multiAZ: false
      storage: 100GB

    backup:
      retentionDays: 7      # 0-35; point-in-time recovery needs at least 1
      pointInTimeRecovery: true

    monitoring:
      interval: 5s          # how often the agent samples each node (1s or more)
      thresholds:
        replicationLag: 300s  # alarms only with byte evidence too: an idle primary never fires it
        cpuPercent: 80
        freeStorage: 10GB
        connectionsPercent: 80
        latency: 200ms

    failover:
      mode: manual          # manual (an operator approves) or automatic (opt-in, with guard rails)
      maxDataLoss: 5m       # refuse a failover that would lose more: a size (16MB), a time, or {bytes: 16MB, time: 5m}
      # hook: ["/usr/local/bin/repoint-dns"]   # run after promotion, with PGDR_NEW_PRIMARY_{NAME,HOST,PORT}
      # hookTimeout: 60s

    notifications:
      - type: log           # JSON lines; to standard error when no path is given
        path: pgdr-events.jsonl
      # - type: webhook
      #   url: https://hooks.example.com/pgdr
      #   timeout: 5s
      #   retries: 3
      # - type: command     # the event arrives on standard input
      #   command: ["/usr/local/bin/page-oncall", "--team", "db"]

    tags:                   # applied to every AWS resource; RDS allows letters, digits, spaces and _ . : / = + - @
      team: payments
      cost-center: "4711"

    # How pgdr's sessions (and the replication it sets up) protect connections:
    # verify-full checks the server's certificate against this CA and that it
    # names the host. Give a node its own `tls:` to differ (docs/security.md).
    tls:
      mode: verify-full
      ca: certs/ca.pem

    # Servers pgdr reaches directly (self-managed or `pgdr lab`); not needed for a pure AWS deployment.
    # Passwords never go in this file: use passwordFile (mode 0600, relative to this file) or passwordEnv.
    nodes:
      - name: pg1
        region: us-east-1
        host: 10.0.1.10
        port: 5432
        database: postgres
        user: pgdr_monitor
        passwordFile: secrets/monitor.password
        # For operations (stop, fence, rewind) on this server, run pgdr beside it and say how:
        # adminUser: pgdr_admin
        # adminPasswordFile: secrets/admin.password
        # dataDirectory: /var/lib/postgresql/16/main
        # control:
        #   type: systemd               # pg_ctl, systemd or commands (docs/operations.md)
        #   unit: postgresql@16-main
        #   replicationPassfile: /var/lib/postgresql/.pgpass
      - name: pg2
        region: us-east-2
        host: 10.1.1.10
        port: 5432
        database: postgres
        user: pgdr_monitor
        passwordEnv: PGDR_PG2_PASSWORD

    """
}
