import Foundation

/// `pgdr --version`: the release and the build, named by the GNU build ID the
/// linker stamps into the executable (a hash of its contents), so two
/// binaries with the same version string can still be told apart.
enum BuildInfo {
    static let version = "0.16.0"

    static var configuration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    static var line: String {
        "pgdr \(version) (build \(buildID().map { String($0.prefix(12)) } ?? "unknown"), \(configuration))"
    }

    /// The executable's NT_GNU_BUILD_ID note, found through its program
    /// headers in memory (AT_PHDR and AT_PHNUM of /proc/self/auxv; ELF64 layout).
    static func buildID() -> String? {
        #if os(Linux)
        let (atPHDR, atPHNUM, ptPHDR, ptNOTE) = (UInt64(3), UInt64(5), UInt32(6), UInt32(4))
        guard let auxv = FileManager.default.contents(atPath: "/proc/self/auxv") else { return nil }
        var vector: [UInt64: UInt64] = [:]
        auxv.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: raw.count - 15, by: 16) {
                vector[raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)] = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            }
        }
        let address = UInt(vector[atPHDR] ?? 0), count = Int(vector[atPHNUM] ?? 0)
        guard address != 0, count > 0, let table = UnsafeRawPointer(bitPattern: UInt(address)) else { return nil }
        func header(_ i: Int) -> (type: UInt32, vaddr: UInt64, memsz: UInt64) {
            let h = table + i * 56
            return (h.loadUnaligned(as: UInt32.self), h.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    h.loadUnaligned(fromByteOffset: 40, as: UInt64.self))
        }
        // A position-independent executable is loaded at a bias: where PT_PHDR landed minus where it asked to.
        guard let phdr = (0..<count).map(header).first(where: { $0.type == ptPHDR }) else { return nil }
        let bias = UInt64(address) &- phdr.vaddr
        func aligned(_ n: Int) -> Int { (n + 3) & ~3 }
        for note in (0..<count).map(header) where note.type == ptNOTE {
            guard var cursor = UnsafeRawPointer(bitPattern: UInt(bias &+ note.vaddr)) else { continue }
            let end = cursor + Int(note.memsz)
            while cursor + 12 <= end {
                let nameSize = Int(cursor.loadUnaligned(as: UInt32.self))
                let descSize = Int(cursor.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                let type = cursor.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
                let name = cursor + 12, desc = cursor + 12 + aligned(nameSize)
                if type == 3, nameSize == 4, name.load(as: UInt32.self) == 0x0055_4e47, desc + descSize <= end {  // "GNU\0"
                    return (0..<descSize).map { hex(desc.load(fromByteOffset: $0, as: UInt8.self)) }.joined()
                }
                cursor = desc + aligned(descSize)
            }
        }
        return nil
        #else
        return nil
        #endif
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
