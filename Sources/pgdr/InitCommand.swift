import ArgumentParser
import DRSpec
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented example pgdr.yaml.",
        discussion: "Never overwrites an existing file unless --force is given.")

    @Argument(help: "Where to write it.")
    var file: String = "pgdr.yaml"

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: file) && !force {
            throw fail("\(file) already exists; nothing was written (use --force to overwrite it)", code: Exit.badInput)
        }
        do {
            try ExampleSpec.text.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw fail("cannot write \(file): \(error.localizedDescription)", code: Exit.failed)
        }
        print("wrote \(file); edit it, then run `pgdr validate \(file)`")
    }
}
