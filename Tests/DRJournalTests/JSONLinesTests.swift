import DRJournal
import Foundation
import Testing

@Suite struct JSONLinesTests {
    struct Item: Codable, Equatable { var n: Int }

    /// Defect: a kill during a write left a last line without its newline,
    /// and the next entry was glued to it and lost with it.
    @Test func aTornLastLineNeverSwallowsTheNextEntry() throws {
        let path = NSTemporaryDirectory() + "pgdr-jsonl-\(UUID().uuidString.prefix(8)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try JSONLines.append(Item(n: 1), to: path)
        // What a process killed half-way through a write leaves behind.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"n\":".utf8))
        try handle.close()
        try JSONLines.append(Item(n: 2), to: path)
        try JSONLines.append(Item(n: 3), to: path)
        #expect(JSONLines.read(Item.self, from: path) == [Item(n: 1), Item(n: 2), Item(n: 3)])
    }
}
