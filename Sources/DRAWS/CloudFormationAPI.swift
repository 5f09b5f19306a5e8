import Foundation
import SWXMLHash

/// The CloudFormation calls of `pgdr deploy` and `pgdr destroy` (Query
/// protocol, version 2010-05-15): change sets, stacks, their events.
public struct CloudFormationAPI: Sendable {
    public let client: AWSClient
    static let version = "2010-05-15"
    public init(client: AWSClient) { self.client = client }

    public struct Stack: Sendable, Hashable {
        public var id: String
        public var name: String
        public var status: String
        public var reason: String?
        public var outputs: [String: String]
        /// The values its parameters have now.
        public var parameters: [String: String]

        public init(id: String, name: String, status: String, reason: String?, outputs: [String: String], parameters: [String: String] = [:]) {
            self.id = id
            self.name = name
            self.status = status
            self.reason = reason
            self.outputs = outputs
            self.parameters = parameters
        }
    }

    public struct ChangeSet: Sendable, Hashable {
        public var id: String
        public var status: String
        public var reason: String?
        public var executionStatus: String
        public var changes: [Change]
    }

    /// One resource a change set would add, modify or remove; `replacement`
    /// (True, False, Conditional) says whether a modification makes a new one.
    public struct Change: Sendable, Hashable {
        public var action: String
        public var logicalID: String
        public var type: String
        public var replacement: String?

        public init(action: String, logicalID: String, type: String, replacement: String?) {
            self.action = action
            self.logicalID = logicalID
            self.type = type
            self.replacement = replacement
        }
    }

    public struct Event: Sendable, Hashable {
        public var id: String
        public var time: Date?
        public var logicalID: String
        public var type: String
        public var status: String
        public var reason: String?
    }

    /// The stack by name or id; nil when there is none (a deleted stack is found by its id only).
    public func stack(_ nameOrID: String, region: String) async throws -> Stack? {
        let xml: XMLIndexer
        do {
            xml = try await client.query(.cloudformation, region: region, action: "DescribeStacks", version: Self.version,
                                         [("StackName", nameOrID)])
        } catch let error as AWSError where error.code == "ValidationError" && "\(error)".contains("does not exist") {
            return nil
        }
        guard let member = xml["DescribeStacksResponse"]["DescribeStacksResult"]["Stacks"]["member"].all.first,
              let id = member.text("StackId") else { return nil }
        var outputs: [String: String] = [:]
        for output in member["Outputs"]["member"].all {
            if let key = output.text("OutputKey") { outputs[key] = output.text("OutputValue") ?? "" }
        }
        var parameters: [String: String] = [:]
        for parameter in member["Parameters"]["member"].all {
            if let key = parameter.text("ParameterKey") { parameters[key] = parameter.text("ParameterValue") ?? "" }
        }
        return Stack(id: id, name: member.text("StackName") ?? nameOrID, status: member.text("StackStatus") ?? "",
                     reason: member.text("StackStatusReason"), outputs: outputs, parameters: parameters)
    }

    /// Creates a change set (CREATE for a new stack, UPDATE otherwise); its id and the stack's.
    public func createChangeSet(stack: String, name: String, region: String, templateBody: String, parameters: [(String, String)],
                                create: Bool, tags: [(String, String)] = []) async throws -> (id: String, stackID: String) {
        var form: [(String, String)] = [("StackName", stack), ("ChangeSetName", name), ("TemplateBody", templateBody),
                                        ("ChangeSetType", create ? "CREATE" : "UPDATE"),
                                        ("Capabilities.member.1", "CAPABILITY_IAM"), ("Capabilities.member.2", "CAPABILITY_AUTO_EXPAND")]
        for (index, parameter) in parameters.enumerated() {
            form += [("Parameters.member.\(index + 1).ParameterKey", parameter.0), ("Parameters.member.\(index + 1).ParameterValue", parameter.1)]
        }
        for (index, tag) in tags.enumerated() {
            form += [("Tags.member.\(index + 1).Key", tag.0), ("Tags.member.\(index + 1).Value", tag.1)]
        }
        let xml = try await client.query(.cloudformation, region: region, action: "CreateChangeSet", version: Self.version, form)
        let result = xml["CreateChangeSetResponse"]["CreateChangeSetResult"]
        guard let id = result.text("Id") else {
            throw AWSError.malformed(.init(service: "cloudformation", region: region, action: "CreateChangeSet"), "no change set Id")
        }
        return (id, result.text("StackId") ?? stack)
    }

    public func changeSet(_ id: String, region: String) async throws -> ChangeSet {
        let xml = try await client.query(.cloudformation, region: region, action: "DescribeChangeSet", version: Self.version,
                                         [("ChangeSetName", id)])
        let result = xml["DescribeChangeSetResponse"]["DescribeChangeSetResult"]
        let changes = result["Changes"]["member"].all.map { member -> Change in
            let change = member["ResourceChange"]
            return Change(action: change.text("Action") ?? "", logicalID: change.text("LogicalResourceId") ?? "",
                          type: change.text("ResourceType") ?? "", replacement: change.text("Replacement"))
        }
        return ChangeSet(id: id, status: result.text("Status") ?? "", reason: result.text("StatusReason"),
                         executionStatus: result.text("ExecutionStatus") ?? "", changes: changes)
    }

    public func executeChangeSet(_ id: String, region: String) async throws {
        _ = try await client.query(.cloudformation, region: region, action: "ExecuteChangeSet", version: Self.version,
                                   [("ChangeSetName", id)])
    }

    public func deleteChangeSet(_ id: String, region: String) async throws {
        _ = try await client.query(.cloudformation, region: region, action: "DeleteChangeSet", version: Self.version,
                                   [("ChangeSetName", id)])
    }

    /// The stack's events, newest first (the first page: enough to follow progress between polls).
    public func events(_ stackID: String, region: String) async throws -> [Event] {
        let xml = try await client.query(.cloudformation, region: region, action: "DescribeStackEvents", version: Self.version,
                                         [("StackName", stackID)])
        return xml["DescribeStackEventsResponse"]["DescribeStackEventsResult"]["StackEvents"]["member"].all.map {
            Event(id: $0.text("EventId") ?? "", time: $0.text("Timestamp").flatMap(ISODate.parse), logicalID: $0.text("LogicalResourceId") ?? "",
                  type: $0.text("ResourceType") ?? "", status: $0.text("ResourceStatus") ?? "", reason: $0.text("ResourceStatusReason"))
        }
    }

    public func deleteStack(_ nameOrID: String, region: String) async throws {
        _ = try await client.query(.cloudformation, region: region, action: "DeleteStack", version: Self.version,
                                   [("StackName", nameOrID)])
    }
}
