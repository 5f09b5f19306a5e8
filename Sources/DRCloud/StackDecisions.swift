import DRSpec
import Foundation

/// What `pgdr deploy` and `pgdr destroy` decide from what CloudFormation
/// says: pure, so the rules are tested without a stack.
public enum StackDecisions {
    /// Where a stack stands, from its StackStatus.
    public enum State: Sendable, Equatable {
        /// No stack of that name (or DELETE_COMPLETE).
        case missing
        /// Created by a change set that was never executed: it holds nothing yet.
        case reviewOnly
        /// CloudFormation is working on it: wait.
        case busy
        /// CREATE_COMPLETE, UPDATE_COMPLETE, IMPORT_COMPLETE: it can be updated.
        case stable
        /// ROLLBACK_COMPLETE: its creation failed and was rolled back; it holds
        /// nothing and can only be deleted (as the AWS CDK does before re-creating).
        case failedCreate
        /// UPDATE_ROLLBACK_COMPLETE: an update failed and was undone; the stack
        /// is as before and can be updated again.
        case rolledBack
        /// *_FAILED: CloudFormation gave up part-way; an operator must look.
        case failed
    }

    public static func state(_ status: String?) -> State {
        guard let status, !status.isEmpty, status != "DELETE_COMPLETE" else { return .missing }
        switch status {
        case "REVIEW_IN_PROGRESS": return .reviewOnly
        case "CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE": return .stable
        case "ROLLBACK_COMPLETE": return .failedCreate
        case "UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE": return .rolledBack
        default: return status.hasSuffix("_IN_PROGRESS") ? .busy : .failed
        }
    }

    /// A change set that failed only because the template and parameters are
    /// what the stack already has: nothing to do, not an error.
    public static func noChanges(_ reason: String?) -> Bool {
        guard let reason else { return false }
        return reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
    }

    /// The S3 key of the functions' zip: named by its SHA-256, so a new build
    /// is a new key and CloudFormation updates the functions.
    public static func functionCodeKey(sha256 hex: String) -> String { "pgdr-functions-\(hex.prefix(16)).zip" }

    /// A step's parameters from the outputs of the stacks before it, or the
    /// inputs that are missing or empty (the step must not run: an empty
    /// PrimaryDBInstanceArn would drop the replica from the DR stack).
    public static func parameters(_ step: DeployPlan.Step, outputs: [String: [String: String]])
        -> (parameters: [(String, String)], missing: [DeployPlan.Input]) {
        var parameters: [(String, String)] = []
        var missing: [DeployPlan.Input] = []
        for input in step.inputs {
            if let value = outputs[input.stack]?[input.output], !value.isEmpty, value != "None" {
                parameters.append((input.parameter, value))
            } else {
                missing.append(input)
            }
        }
        return (parameters, missing)
    }

    /// The parameters of an update: the step's own, and every other one at the
    /// value the stack has now. Step 1 run again on a deployed DR stack must
    /// not reset PrimaryDBInstanceArn to its empty default: that would take
    /// the replica out of the stack (as `aws cloudformation deploy` keeps
    /// parameters it is not given).
    public static func updateParameters(_ given: [(String, String)], current: [String: String]) -> [(String, String)] {
        let named = Set(given.map(\.0))
        return given + current.filter { !named.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The resources holding data that a change would delete or replace with
    /// an empty one: the databases, their keys, the backup buckets, the master
    /// secret. `pgdr deploy` refuses such a change set unless told otherwise.
    public static let dataHolding: Set<String> = ["AWS::RDS::DBInstance", "AWS::KMS::Key", "AWS::S3::Bucket", "AWS::SecretsManager::Secret"]

    /// Which of a change set's changes (action, logical id, type, replacement) would lose data.
    public static func losesData(action: String, type: String, replacement: String?) -> Bool {
        guard dataHolding.contains(type) else { return false }
        return action == "Remove" || replacement == "True" || replacement == "Conditional"
    }

    /// A change set's name: CloudFormation wants [a-zA-Z][-a-zA-Z0-9]*, at most 128.
    public static func changeSetName(step: Int, date: Date) -> String {
        "pgdr-step\(step)-\(Int(date.timeIntervalSince1970))"
    }

    /// The log groups a template names (RDS's and the functions'): RDS and
    /// Lambda create them again by themselves when they write after the stack
    /// deleted them, so `pgdr destroy` deletes them once more at the end.
    public static func logGroups(_ templateJSON: String) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(templateJSON.utf8)) as? [String: Any],
              let resources = object["Resources"] as? [String: [String: Any]] else { return [] }
        return resources.values.compactMap { resource in
            guard resource["Type"] as? String == "AWS::Logs::LogGroup" else { return nil }
            return (resource["Properties"] as? [String: Any])?["LogGroupName"] as? String
        }.sorted()
    }

    /// The bucket name in an S3 ARN (`arn:aws:s3:::NAME`).
    public static func bucketName(arn: String) -> String? {
        guard arn.hasPrefix("arn:"), let name = arn.split(separator: ":", omittingEmptySubsequences: false).last, !name.isEmpty else { return nil }
        return String(name)
    }

    /// The template sent to CloudFormation: compact JSON (the pretty form is
    /// over TemplateBody's 51,200-byte limit).
    public static func compact(_ templateJSON: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(templateJSON.utf8))
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    public static let templateBodyLimit = 51_200
}
