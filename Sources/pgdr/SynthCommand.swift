import ArgumentParser
import DRCloud
import DRSpec
import Foundation

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write the AWS deployment: one CloudFormation template per region and the order to deploy them.",
        discussion: """
            Writes primary.template.json, dr.template.json, deploy-plan.md and deploy-plan.json into --out. \
            Nothing is written from an invalid spec (exit 2), and the folder is replaced whole or not at all.
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "Output folder.")
    var out: String = "pgdr-synth"

    static let files = ["primary.template.json", "dr.template.json", "deploy-plan.md", "deploy-plan.json"]

    func run() throws {
        let parsed = try config.load()
        let spec = parsed.spec
        let (errors, notes) = AWSRules.synthProblems(spec)
        if !errors.isEmpty {
            for error in errors { FileHandle.standardError.write(Data("pgdr: \(error.key): \(error.message); \(error.hint)\n".utf8)) }
            throw fail("nothing was written: the spec cannot be deployed on AWS as it stands", code: Exit.badInput)
        }
        for note in notes { FileHandle.standardError.write(Data("pgdr: note: \(note)\n".utf8)) }
        let plan = DeployPlan.make(spec)
        let contents: [String: String]
        do {
            contents = [
                "primary.template.json": try RegionStack.build(spec, role: .primary).json(),
                "dr.template.json": try RegionStack.build(spec, role: .dr).json(),
                "deploy-plan.md": plan.markdown(spec),
                "deploy-plan.json": try JSON.encode(plan) + "\n",
            ]
        } catch {
            throw fail("cannot render the templates: \(error)", code: Exit.failed)
        }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDirectory) {
            // Only a folder that a previous synth wrote is replaced: never a file
            // (`--out pgdr.yaml` would delete the spec), never a foreign folder.
            guard isDirectory.boolValue else {
                throw fail("\(out) is a file, not an output folder; nothing was written (choose another --out)", code: Exit.badInput)
            }
            let existing = (try? fm.contentsOfDirectory(atPath: out)) ?? []
            if let stranger = existing.first(where: { !Self.files.contains($0) }) {
                throw fail("\(out) holds \(stranger), which synth did not write; nothing was written (choose another --out)", code: Exit.badInput)
            }
        }
        // Write beside, then swap: the output folder is never half-written.
        let staging = out + ".synth-\(getpid())"
        do {
            try? fm.removeItem(atPath: staging)
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            for (name, text) in contents { try text.write(toFile: "\(staging)/\(name)", atomically: true, encoding: .utf8) }
            if fm.fileExists(atPath: out) { try fm.removeItem(atPath: out) }
            try fm.moveItem(atPath: staging, toPath: out)
        } catch {
            try? fm.removeItem(atPath: staging)
            throw fail("cannot write \(out): \(error.localizedDescription)", code: Exit.failed)
        }
        print("wrote \(Self.files.map { "\(out)/\($0)" }.joined(separator: ", "))")
        print("deploy in this order (see deploy-plan.md):")
        for step in plan.steps { print("  \(step.number). \(step.stack) in \(step.region): \(step.why)") }
    }
}
