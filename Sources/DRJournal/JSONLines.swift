import Foundation

/// Append-only JSON-lines files, the storage of pgdr's journals: one object
/// per line, fsync'd before `append` returns, so an entry reported written
/// survives a crash. A reader skips a torn last line (a crash mid-write).
public enum JSONLines {
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Sorted keys, dates as milliseconds since 1970: the journals' JSON.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    public static func append<T: Encodable>(_ value: T, to path: String) throws {
        var line = try encoder.encode(value)
        line.append(0x0A)
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else {
            throw WriteError(description: "cannot open \(path): \(String(cString: strerror(errno))); check the folder exists and is writable")
        }
        defer { close(fd) }
        // A crash mid-write leaves a last line without its newline; ending it
        // here keeps this entry on a line of its own (the torn one is skipped
        // by readers) instead of gluing it to the torn bytes.
        let size = lseek(fd, 0, SEEK_END)
        if size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, size - 1) == 1, last != 0x0A { line.insert(0x0A, at: 0) }
        }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw WriteError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    public static func read<T: Decodable>(_ type: T.Type, from path: String) -> [T] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(T.self, from: Data($0)) }
    }
}
