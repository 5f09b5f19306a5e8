import Foundation

/// One CloudFormation resource, typed enough to check what matters.
public struct CFResource: Sendable, Hashable {
    public var type: String
    public var properties: [String: CFValue]
    public var dependsOn: [String] = []
    public var condition: String?
    /// `Delete` everywhere but the DR database, which is `Retain`: a stack
    /// update that drops it (an empty PrimaryDBInstanceArn) must never delete
    /// what may be the promoted primary. `pgdr destroy` deletes it by name.
    public var deletionPolicy: String = "Delete"

    public init(_ type: String, _ properties: [String: CFValue], dependsOn: [String] = [], condition: String? = nil,
                deletionPolicy: String = "Delete") {
        self.type = type
        self.properties = properties
        self.dependsOn = dependsOn
        self.condition = condition
        self.deletionPolicy = deletionPolicy
    }
}

public struct CFParameter: Sendable, Hashable, Encodable {
    public var type: String = "String"
    public var description: String
    public var defaultValue: String?
    public var noEcho: Bool = false

    public init(_ description: String, default defaultValue: String? = nil) {
        self.description = description
        self.defaultValue = defaultValue
    }

    enum CodingKeys: String, CodingKey { case type = "Type", description = "Description", defaultValue = "Default", noEcho = "NoEcho" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(description, forKey: .description)
        try c.encodeIfPresent(defaultValue, forKey: .defaultValue)
        if noEcho { try c.encode(true, forKey: .noEcho) }
    }
}

public struct CFOutput: Sendable, Hashable, Encodable {
    public var description: String
    public var value: CFValue
    public var exportName: String?
    public var condition: String? = nil

    enum CodingKeys: String, CodingKey { case description = "Description", value = "Value", export = "Export", condition = "Condition" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(condition, forKey: .condition)
        try c.encode(description, forKey: .description)
        try c.encode(value, forKey: .value)
        if let exportName { try c.encode(["Name": exportName], forKey: .export) }
    }
}

/// A whole template; `json()` is deterministic (sorted keys, stable spacing).
public struct CFTemplate: Sendable {
    public var description: String
    /// Macros CloudFormation expands (`AWS::SecretsManager-2020-07-23` for hosted rotation).
    public var transforms: [String] = []
    public var parameters: [String: CFParameter] = [:]
    public var conditions: [String: CFValue] = [:]
    public var resources: [String: CFResource] = [:]
    public var outputs: [String: CFOutput] = [:]

    public init(description: String) { self.description = description }

    public mutating func add(_ id: String, _ resource: CFResource) {
        precondition(resources[id] == nil, "duplicate logical id \(id)")
        resources[id] = resource
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        struct Whole: Encodable {
            let template: CFTemplate
            enum Keys: String, CodingKey {
                case version = "AWSTemplateFormatVersion", transform = "Transform", description = "Description", parameters = "Parameters"
                case conditions = "Conditions", resources = "Resources", outputs = "Outputs"
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode("2010-09-09", forKey: .version)
                if !template.transforms.isEmpty { try c.encode(template.transforms, forKey: .transform) }
                try c.encode(template.description, forKey: .description)
                if !template.parameters.isEmpty { try c.encode(template.parameters, forKey: .parameters) }
                if !template.conditions.isEmpty { try c.encode(template.conditions, forKey: .conditions) }
                try c.encode(template.resources.mapValues(EncodedResource.init), forKey: .resources)
                if !template.outputs.isEmpty { try c.encode(template.outputs, forKey: .outputs) }
            }
        }
        return String(decoding: try encoder.encode(Whole(template: self)), as: UTF8.self) + "\n"
    }
}

struct EncodedResource: Encodable {
    let resource: CFResource
    init(_ resource: CFResource) { self.resource = resource }
    enum Keys: String, CodingKey {
        case type = "Type", properties = "Properties", dependsOn = "DependsOn", condition = "Condition"
        case deletionPolicy = "DeletionPolicy", updateReplacePolicy = "UpdateReplacePolicy"
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(resource.type, forKey: .type)
        if !resource.properties.isEmpty { try c.encode(resource.properties, forKey: .properties) }
        if !resource.dependsOn.isEmpty { try c.encode(resource.dependsOn.sorted(), forKey: .dependsOn) }
        try c.encodeIfPresent(resource.condition, forKey: .condition)
        try c.encode(resource.deletionPolicy, forKey: .deletionPolicy)
        try c.encode(resource.deletionPolicy, forKey: .updateReplacePolicy)
    }
}
