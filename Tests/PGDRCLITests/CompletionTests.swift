import Foundation
import PGDRTestSupport
import Testing

/// Shell completion as the README says to install it: swift-argument-parser
/// writes the scripts; bash itself checks and loads the bash one.
@Suite struct CompletionTests {
    @Test func theBashScriptLoadsAndCompletesTheVerbs() async throws {
        let script = try await CLI.run(["--generate-completion-script", "bash"])
        #expect(script.status == 0)
        let file = try CLI.tempDirectory() + "/pgdr.bash"
        try script.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        // Loaded into a real bash, then asked what follows `pgdr sw`.
        let completed = try await CLI.program("/bin/bash", ["-c", """
            source "$0"
            COMP_WORDS=(pgdr sw); COMP_CWORD=1; COMP_LINE="pgdr sw"; COMP_POINT=${#COMP_LINE}
            _pgdr
            printf '%s\\n' "${COMPREPLY[@]}"
            """, file])
        #expect(completed.status == 0, "\(completed.stderr)")
        #expect(completed.stdout.split(separator: "\n").contains("switchover"), "\(completed.stdout)")
        for shell in ["zsh", "fish"] {
            let other = try await CLI.run(["--generate-completion-script", shell])
            #expect(other.status == 0 && other.stdout.contains("switchover"), "\(shell)")
        }
    }
}
