import DRAWS
import DRCloud
import Foundation

/// Where `pgdr deploy` and `pgdr destroy` tell the operator what happens.
public protocol DeployProgress: Sendable {
    func say(_ line: String)
}

/// Why a deploy or destroy stopped; each keeps its cause.
public enum DeployError: Error, CustomStringConvertible {
    case stackNotReady(stack: String, region: String, status: String, hint: String)
    case changeSetFailed(stack: String, reason: String)
    case stackFailed(stack: String, region: String, status: String, reasons: [String])
    case missingOutputs(stack: String, [DeployPlan.Input])
    case wouldLoseData(stack: String, [String])
    case timedOut(String)
    case templateTooLarge(String, bytes: Int)
    case bucketNotEmptied(bucket: String, [String])
    case aws(String, AWSError)

    public var description: String {
        switch self {
        case .stackNotReady(let stack, let region, let status, let hint):
            return "\(stack) in \(region) is \(status): \(hint)"
        case .changeSetFailed(let stack, let reason):
            return "CloudFormation refused the change set of \(stack): \(reason)"
        case .stackFailed(let stack, let region, let status, let reasons):
            return "\(stack) in \(region) ended \(status)" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
        case .missingOutputs(let stack, let inputs):
            return "refusing to deploy \(stack): " + inputs.map { "\($0.stack) (\($0.region)) has no \($0.output) output for \($0.parameter)" }
                .joined(separator: "; ")
        case .wouldLoseData(let stack, let changes):
            return "refusing to change \(stack): the change set would delete or replace what holds data ("
                + changes.joined(separator: "; ") + "); nothing was changed. Look at the change in the console, "
                + "take a snapshot, and run again with --allow-replacement if it is meant"
        case .timedOut(let what):
            return "gave up waiting: \(what) (it may still finish: look at the stack's events, then run the command again)"
        case .templateTooLarge(let template, let bytes):
            return "\(template) is \(bytes) bytes, over CloudFormation's TemplateBody limit of \(StackDecisions.templateBodyLimit)"
        case .bucketNotEmptied(let bucket, let reasons):
            return "could not empty s3://\(bucket): " + reasons.prefix(3).joined(separator: "; ")
                + " (an object lock or a bucket policy can refuse deletes: lift it, then run pgdr destroy again)"
        case .aws(let doing, let error):
            return "\(doing): \(error)"
        }
    }
}

/// One stack's change: a change set, executed, followed by its events until
/// CloudFormation is done; and a stack's deletion, followed the same way.
struct StackRunner: Sendable {
    let cloudFormation: CloudFormationAPI
    let progress: any DeployProgress
    let poll: Duration
    let timeout: Duration
    /// Execute a change set that deletes or replaces a database, key, bucket or secret.
    var allowReplacement = false

    /// Deploys `template` as `stack`; its outputs.
    func deploy(stack name: String, region: String, step: Int, template: String, parameters: [(String, String)],
                tags: [(String, String)]) async throws -> [String: String] {
        var existing = try await call("DescribeStacks \(name)") { try await cloudFormation.stack(name, region: region) }
        switch StackDecisions.state(existing?.status) {
        case .busy:
            throw DeployError.stackNotReady(stack: name, region: region, status: existing?.status ?? "",
                                            hint: "CloudFormation is working on it; wait until it is done, then run pgdr deploy again")
        case .failed:
            throw DeployError.stackNotReady(stack: name, region: region, status: existing?.status ?? "",
                                            hint: "look at its events (aws cloudformation describe-stack-events); pgdr will not change a stack in this state")
        case .failedCreate:
            progress.say("  \(name) is ROLLBACK_COMPLETE (its creation failed; it holds nothing): deleting it before creating it again")
            try await delete(stack: existing!.id, name: name, region: region)
            existing = nil
        case .missing, .reviewOnly, .stable, .rolledBack:
            break
        }
        let create = [.missing, .reviewOnly].contains(StackDecisions.state(existing?.status))
        let parameters = create ? parameters : StackDecisions.updateParameters(parameters, current: existing?.parameters ?? [:])
        let changeSetName = StackDecisions.changeSetName(step: step, date: Date())
        let changeSetID: String, stackID: String
        do {
            (changeSetID, stackID) = try await cloudFormation.createChangeSet(stack: name, name: changeSetName, region: region,
                                                                              templateBody: template, parameters: parameters,
                                                                              create: create, tags: tags)
        } catch let error as AWSError {
            // Some endpoints refuse an empty change set at once rather than failing it afterwards.
            if case .service(_, _, let message, _, _) = error, StackDecisions.noChanges(message) {
                progress.say("  no changes")
                return existing?.outputs ?? [:]
            }
            throw DeployError.aws("CreateChangeSet \(name)", error)
        }
        let changeSet = try await waitFor("the change set of \(name)") {
            let set = try await call("DescribeChangeSet \(name)") { try await cloudFormation.changeSet(changeSetID, region: region) }
            return ["CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"].contains(set.status) ? set : nil
        }
        if changeSet.status != "CREATE_COMPLETE" {
            if StackDecisions.noChanges(changeSet.reason) {
                progress.say("  no changes")
                try? await cloudFormation.deleteChangeSet(changeSetID, region: region)
                return existing?.outputs ?? [:]
            }
            throw DeployError.changeSetFailed(stack: name, reason: changeSet.reason ?? changeSet.status)
        }
        progress.say("  change set \(changeSetName): \(changeSet.changes.count) change\(changeSet.changes.count == 1 ? "" : "s"), \(create ? "creating" : "updating")")
        if !create {
            for change in changeSet.changes {
                progress.say("    \(change.action) \(change.type) \(change.logicalID)" + (change.replacement.map { " (replacement: \($0))" } ?? ""))
            }
        }
        let losing = changeSet.changes.filter { StackDecisions.losesData(action: $0.action, type: $0.type, replacement: $0.replacement) }
        if !losing.isEmpty && !allowReplacement {
            try? await cloudFormation.deleteChangeSet(changeSetID, region: region)
            throw DeployError.wouldLoseData(stack: name, losing.map { "\($0.action) \($0.logicalID) (\($0.type))" + ($0.replacement.map { ", replacement \($0)" } ?? "") })
        }
        let seen = Set(((try? await cloudFormation.events(stackID, region: region)) ?? []).map(\.id))
        try await call("ExecuteChangeSet \(name)") { try await cloudFormation.executeChangeSet(changeSetID, region: region) }
        let final = try await follow(stackID: stackID, name: name, region: region, seen: seen)
        guard StackDecisions.state(final.status) == .stable else {
            throw DeployError.stackFailed(stack: name, region: region, status: final.status,
                                          reasons: try await failureReasons(stackID, region: region, seen: seen))
        }
        return final.outputs
    }

    /// Deletes a stack and waits until it is gone.
    func delete(stack id: String, name: String, region: String) async throws {
        let seen = Set(((try? await cloudFormation.events(id, region: region)) ?? []).map(\.id))
        try await call("DeleteStack \(name)") { try await cloudFormation.deleteStack(id, region: region) }
        let final = try await follow(stackID: id, name: name, region: region, seen: seen)
        guard StackDecisions.state(final.status) == .missing else {
            throw DeployError.stackFailed(stack: name, region: region, status: final.status,
                                          reasons: try await failureReasons(id, region: region, seen: seen))
        }
    }

    /// Polls the stack (by id: a deleted stack is found by its id only),
    /// printing each new event oldest first, until CloudFormation is done.
    private func follow(stackID: String, name: String, region: String, seen: Set<String>) async throws -> CloudFormationAPI.Stack {
        var seen = seen
        return try await waitFor("\(name) in \(region)") {
            let events = (try? await cloudFormation.events(stackID, region: region)) ?? []
            for event in events.reversed() where !seen.contains(event.id) {
                seen.insert(event.id)
                let time = event.time.map { $0.formatted(.iso8601.time(includingFractionalSeconds: false)) } ?? "--:--:--"
                progress.say("  \(time) \(event.status) \(event.type) \(event.logicalID)" + (event.reason.map { ": \($0)" } ?? ""))
            }
            let stack = try await call("DescribeStacks \(name)") { try await cloudFormation.stack(stackID, region: region) }
            let current = stack ?? CloudFormationAPI.Stack(id: stackID, name: name, status: "DELETE_COMPLETE", reason: nil, outputs: [:])
            return StackDecisions.state(current.status) == .busy ? nil : current
        }
    }

    private func failureReasons(_ stackID: String, region: String, seen: Set<String>) async throws -> [String] {
        let events = (try? await cloudFormation.events(stackID, region: region)) ?? []
        return events.reversed().filter { !seen.contains($0.id) && $0.status.hasSuffix("_FAILED") && $0.reason != nil }
            .map { "\($0.logicalID) (\($0.type)): \($0.reason ?? "")" }
    }

    func waitFor<T: Sendable>(_ what: String, _ check: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let done = try await check() { return done }
            guard ContinuousClock.now < deadline else { throw DeployError.timedOut(what) }
            try await Task.sleep(for: poll)
        }
    }

    func call<T>(_ doing: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as AWSError { throw DeployError.aws(doing, error) }
    }
}
