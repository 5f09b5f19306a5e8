import ArgumentParser
import Crypto
import DRCloud
import DRProcess
import DRSpec
import Foundation
import ZIPFoundation

struct PackageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Write the Lambda code of the lag monitor and the failover function: one zip for both.",
        discussion: """
            The zip holds `bootstrap` (the pgdr-lambda binary, built by scripts/build-functions), the pgdr.yaml \
            the functions plan with (the same file the CLI reads; it holds no secret) and, with --ca-bundle, the \
            RDS CA bundle the functions check the databases' certificates against (rds-ca.pem). The bootstrap is \
            refused (exit 2, nothing written) unless it can load on Amazon Linux 2023 (provided.al2023): only \
            glibc, libstdc++ and libgcc_s may be shared libraries, with no symbol newer than glibc 2.34 and GCC 11. \
            Prints the S3 key to upload it under (named by its SHA-256, so a new build makes CloudFormation \
            update the functions): upload it to the code bucket of each region (deploy-plan.md).
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: "The pgdr-lambda binary (scripts/build-functions prints where it is).")
    var bootstrap: String

    @Option(help: "PEM bundle of the RDS certificate authorities (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem).")
    var caBundle: String?

    @Option(help: "Output folder (created; an existing pgdr-functions.zip is replaced).")
    var out: String = "pgdr-functions"

    func run() async throws {
        let parsed = try config.load()
        guard parsed.spec.target == .aws else {
            throw fail("\(try config.resolve()) is not for RDS (target: aws): the functions run beside RDS instances only", code: Exit.badInput)
        }
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: bootstrap) else {
            throw fail("\(bootstrap) is not an executable file: build it with scripts/build-functions", code: Exit.badInput)
        }
        if let caBundle, !((try? String(contentsOfFile: caBundle, encoding: .utf8))?.contains("-----BEGIN CERTIFICATE-----") ?? false) {
            throw fail("\(caBundle) is not a PEM certificate bundle", code: Exit.badInput)
        }
        let dump: ChildProcess.Result
        do {
            dump = try await ChildProcess.checked(.init("/usr/bin/objdump", ["-p", bootstrap], timeout: .seconds(30), outputLimit: 4 << 20))
        } catch {
            throw fail("cannot read \(bootstrap) with objdump (package binutils): \(error)", code: Exit.badInput)
        }
        let text = dump.output
        guard text.contains("file format elf64-x86-64") else {
            throw fail("\(bootstrap) is not an x86-64 Linux executable (the templates run the functions on x86_64)", code: Exit.badInput)
        }
        let report = BootstrapFloor.check(objdump: text)
        guard report.passes else {
            for problem in report.problems { FileHandle.standardError.write(Data("pgdr: \(bootstrap): \(problem)\n".utf8)) }
            throw fail("\(bootstrap) would not load on Amazon Linux 2023; nothing was written (build it with scripts/build-functions)", code: Exit.badInput)
        }
        do {
            try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
            let zip = "\(out)/pgdr-functions.zip"
            let staging = "\(zip).\(getpid())"
            try? fm.removeItem(atPath: staging)
            let archive = try Archive(url: URL(fileURLWithPath: staging), accessMode: .create)
            try add(archive, "bootstrap", contentsOf: bootstrap, permissions: 0o755)
            try add(archive, "pgdr.yaml", contentsOf: try config.resolve(), permissions: 0o644)
            if let caBundle { try add(archive, "rds-ca.pem", contentsOf: caBundle, permissions: 0o644) }
            if fm.fileExists(atPath: zip) { try fm.removeItem(atPath: zip) }
            try fm.moveItem(atPath: staging, toPath: zip)
            let data = try Data(contentsOf: URL(fileURLWithPath: zip))
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            print("wrote \(zip) (\(data.count / 1_048_576) MiB; bootstrap needs \(report.newestNeeded.values.sorted().joined(separator: ", ")))")
            print("sha256 \(digest)")
            print("s3 key: \(StackDecisions.functionCodeKey(sha256: digest))   (the LambdaCodeKey parameter of both stacks; pgdr deploy uploads it)")
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("cannot write \(out)/pgdr-functions.zip: \(error)", code: Exit.failed)
        }
    }

    func add(_ archive: Archive, _ name: String, contentsOf path: String, permissions: UInt16) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), permissions: permissions,
                             compressionMethod: .deflate) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
}
