import ArgumentParser

/// The `pgdr` command. Each subcommand is a few lines over the libraries.
@main
struct PGDR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgdr",
        abstract: "Multi-region disaster recovery for PostgreSQL.",
        discussion: """
            A primary in one region, a DR replica in another, streaming replication between them. \
            Describe the deployment in pgdr.yaml (`pgdr init`), try it on this machine with `pgdr lab up`, \
            and watch it with `pgdr status`.

            Exit codes: 0 success, 1 operation failed or unhealthy, 2 bad input (usage or spec), \
            3 refused by a safety guard.
            """,
        version: "0.1.0",
        subcommands: [InitCommand.self, ValidateCommand.self, LabCommand.self, StatusCommand.self,
                      AgentCommand.self, EventsCommand.self, FailoverCommand.self, ApproveCommand.self,
                      SwitchoverCommand.self, RejoinCommand.self, OperationsCommand.self, DrillCommand.self,
                      SynthCommand.self, CostCommand.self])
}
