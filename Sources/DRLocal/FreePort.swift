import Foundation

/// Ports on 127.0.0.1: a free one picked by the kernel, or a check that a
/// given one is free.
public enum FreePort {
    /// A port nothing listens on, below the kernel's ephemeral range: a port
    /// the kernel hands out for port 0 comes from the range every outgoing
    /// connection draws its source port from, so between the pick and the
    /// server's bind a client socket could take it (seen under a loaded test
    /// suite). Random in 20000–32767, checked free; the kernel's pick last.
    public static func pick() throws -> Int {
        let ephemeralStart = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } } ?? 32768
        let range = 20000..<max(20001, min(ephemeralStart, 65536))
        for _ in 0..<200 {
            if let port = bind(Int.random(in: range)) { return port }
        }
        guard let port = bind(0) else { throw LocalError("no free TCP port on 127.0.0.1") }
        return port
    }

    public static func isFree(_ port: Int) -> Bool { bind(port) != nil }

    /// Binds 127.0.0.1:`port`, returns the bound port, and closes the socket.
    static func bind(_ port: Int) -> Int? {
        guard let (fd, bound) = open(port) else { return nil }
        close(fd)
        return bound
    }

    /// Binds and listens on 127.0.0.1:`port` and keeps the socket: the port
    /// stays taken until the caller closes the descriptor (tests use it to
    /// stand in the way of a server).
    public static func hold(_ port: Int) -> Int32? {
        guard let (fd, _) = open(port) else { return nil }
        guard listen(fd, 1) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// A socket bound to 127.0.0.1:`port` and the port it got.
    static func open(_ port: Int) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        // As PostgreSQL does: a port left in TIME_WAIT by a server that just
        // stopped is free for the next one.
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            return nil
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
