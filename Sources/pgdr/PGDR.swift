import ArgumentParser
import Foundation

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
            3 refused by a safety guard, 4 an operation finished degraded (the output says why).
            """,
        version: BuildInfo.version,
        subcommands: [InitCommand.self, ValidateCommand.self, LabCommand.self, StatusCommand.self,
                      AgentCommand.self, EventsCommand.self, FailoverCommand.self, ApproveCommand.self,
                      SwitchoverCommand.self, RejoinCommand.self, OperationsCommand.self, DrillCommand.self,
                      BackupCommand.self, BackupsCommand.self, RestoreCommand.self, SynthCommand.self, CostCommand.self,
                      ConfigCommand.self, ReleaseCommitsCommand.self, PackageCommand.self, DeployCommand.self, DestroyCommand.self])

    /// The entry point: ArgumentParser's, except that a usage error exits 2
    /// (pgdr's "bad input"), not EX_USAGE (64).
    static func main() async {
        // The build as well as the release (ArgumentParser's own flag knows only the latter).
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print(BuildInfo.line)
            return
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(Exit.badInput)
            }
            exit(withError: error)
        }
    }
}
