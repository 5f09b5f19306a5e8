/// Pure: whether a Lambda `bootstrap` can load on Amazon Linux 2023 (the
/// `provided.al2023` runtime), from what `objdump -p` says it needs: only
/// libraries AL2023 has (glibc's, libstdc++ and libgcc_s; everything else
/// linked in), and no symbol version newer than AL2023's: glibc 2.34,
/// GCC 11's libstdc++ (GLIBCXX_3.4.29, CXXABI_1.3.13), libgcc_s GCC_11.0.
public enum BootstrapFloor {
    /// The shared libraries a bootstrap may need.
    public static let allowedLibraries: Set<String> = [
        "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1", "libstdc++.so.6", "libgcc_s.so.1",
    ]

    /// The newest version of each versioned namespace on Amazon Linux 2023.
    public static let newest: [String: [Int]] = ["GLIBC": [2, 34], "GLIBCXX": [3, 4, 29], "CXXABI": [1, 3, 13], "GCC": [11, 0]]

    public struct Report: Sendable, Hashable {
        public var libraries: [String]
        /// The newest version needed in each namespace (GLIBC_2.34, …).
        public var newestNeeded: [String: String]
        public var problems: [String]
        public var passes: Bool { problems.isEmpty }
    }

    /// `objdump -p` of the binary: its NEEDED entries and its Version References.
    public static func check(objdump text: String) -> Report {
        var libraries: [String] = []
        var needed: [String: (text: String, parts: [Int])] = [:]
        var problems: [String] = []
        for raw in text.split(separator: "\n") {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.first == "NEEDED", fields.count >= 2 {
                libraries.append(fields[1])
                if !allowedLibraries.contains(fields[1]) {
                    problems.append("needs \(fields[1]), which Amazon Linux 2023's Lambda runtime does not provide: link it statically")
                }
            }
            // Version reference lines: `0x0d696914 0x00 05 GLIBC_2.34`.
            guard fields.count == 4, fields[0].hasPrefix("0x"), let underscore = fields[3].firstIndex(of: "_") else { continue }
            let name = String(fields[3][..<underscore])
            let parts = fields[3][fields[3].index(after: underscore)...].split(separator: ".").compactMap { Int($0) }
            guard !parts.isEmpty else { continue }
            if let current = needed[name], !current.parts.lexicographicallyPrecedes(parts) { continue }
            needed[name] = (fields[3], parts)
        }
        for (name, version) in needed.sorted(by: { $0.key < $1.key }) {
            guard let limit = newest[name] else { continue }
            if limit.lexicographicallyPrecedes(version.parts) {
                problems.append("needs \(version.text), newer than Amazon Linux 2023's \(name)_\(limit.map(String.init).joined(separator: "."))")
            }
        }
        return Report(libraries: libraries, newestNeeded: needed.mapValues(\.text), problems: problems)
    }
}
