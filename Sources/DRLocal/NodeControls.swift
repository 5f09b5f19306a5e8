import DRControl
import DRSpec
import Foundation

/// Builds each node's `NodeControl` from its `control:` section.
public enum NodeControls {
    /// The control of one node, or nil when the spec gives it none.
    public static func make(_ node: NodeSpec, baseDirectory: String) -> (any NodeControl)? {
        guard let control = node.control else { return nil }
        let resolve = { (path: String) in path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path) }
        let timeout = control.timeout.duration
        switch control.kind {
        case .commands:
            return CommandControl(node: node.name, commands: control.commands, timeout: timeout)
        case .pgCtl, .systemd:
            guard let dataDirectory = node.dataDirectory.map(resolve) else { return nil }
            let starter: DataDirectoryControl.Starter = control.kind == .systemd
                ? .systemd(unit: control.unit ?? "")
                : .pgCtl(logFile: control.logFile.map(resolve) ?? "\(dataDirectory)/pgdr-server.log")
            return DataDirectoryControl(node: node.name, dataDirectory: dataDirectory, starter: starter,
                                        binDirectory: control.binDirectory.map(resolve),
                                        replicationUser: control.replicationUser,
                                        replicationPassfile: control.replicationPassfile.map(resolve),
                                        restoreCommand: control.restoreCommand, timeout: timeout, namespace: control.namespace)
        }
    }
}
