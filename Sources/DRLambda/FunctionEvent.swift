import Foundation

/// Pure: what an event asks of the failover function.
public enum FunctionEvent: Sendable, Hashable {
    /// An alarm went into ALARM (the primary-down signal): plan, and ask for approval.
    case primaryDown(alarm: String)
    /// An approval record was written (Parameter Store change), or an
    /// invocation names an approved plan: execute it if the record is there.
    case approved(id: String)
    /// An alarm left ALARM, or anything else that needs no action.
    case ignored(String)

    /// - approvals: the Parameter Store path of approval records (`/pgdr/DEPLOYMENT/approvals/`).
    public static func classify(_ data: Data, approvals: String) -> Result<FunctionEvent, FunctionError> {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(FunctionError(type: "pgdr.Event", message: "the event is not a JSON object"))
        }
        if let direct = object["pgdr"] as? [String: Any] {
            if let id = direct["approved"] as? String { return .success(.approved(id: id)) }
            if let alarm = direct["primaryDown"] as? String { return .success(.primaryDown(alarm: alarm)) }
            return .failure(FunctionError(type: "pgdr.Event", message: "a direct invocation takes {\"pgdr\": {\"approved\": ID}} or {\"pgdr\": {\"primaryDown\": ALARM}}"))
        }
        let source = object["source"] as? String ?? ""
        let kind = object["detail-type"] as? String ?? ""
        let detail = object["detail"] as? [String: Any] ?? [:]
        switch (source, kind) {
        case ("aws.cloudwatch", "CloudWatch Alarm State Change"):
            let name = detail["alarmName"] as? String ?? "?"
            let state = (detail["state"] as? [String: Any])?["value"] as? String ?? ""
            return .success(state == "ALARM" ? .primaryDown(alarm: name) : .ignored("alarm \(name) is \(state)"))
        case ("aws.ssm", "Parameter Store Change"):
            let name = detail["name"] as? String ?? ""
            let operation = detail["operation"] as? String ?? ""
            guard name.hasPrefix(approvals), operation == "Create" || operation == "Update" else {
                return .success(.ignored("parameter \(name) \(operation)"))
            }
            return .success(.approved(id: String(name.dropFirst(approvals.count))))
        default:
            return .failure(FunctionError(type: "pgdr.Event", message: "an event the failover function does not take: source \(source), detail-type \(kind)"))
        }
    }
}
