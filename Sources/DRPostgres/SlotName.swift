/// The physical replication slot a node streams through, named after it:
/// `pg2` → `pgdr_pg2` (slot names allow lowercase letters, digits and `_`).
public enum SlotName {
    public static func forNode(_ node: String) -> String {
        "pgdr_" + node.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}
