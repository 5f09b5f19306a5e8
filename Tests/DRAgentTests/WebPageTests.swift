import DRAgent
import DRMonitor
import Foundation
import PGDRTestSupport
import Testing

/// The agent's web page in a real headless Chromium (Debian `chromium`,
/// driven over the DevTools protocol by browser.py): the topology renders,
/// the lag chart grows, a plan is reviewed and approved from the page and the
/// failover runs; a missing or wrong token, and an expired plan, are refused.
/// With PGDR_SCREENSHOTS=DIR it saves the page at desktop and phone widths.
@Suite(.serialized) struct WebPageTests {
    @Test func approvingFromThePageRunsTheFailoverAndNothingWithoutTheToken() async throws {
        try await AgentLab.with(sinks: "  - {type: log, path: notices.jsonl}",
                                failover: "failover: {mode: manual, approvalTimeout: 12s}", token: true) { env in
            let dir = (env.configPath as NSString).deletingLastPathComponent
            let token = "t0ken-\(UUID().uuidString)"
            try token.write(toFile: "\(dir)/api.token", atomically: true, encoding: .utf8)
            chmod("\(dir)/api.token", 0o600)
            let agent = try AgentProcess(config: env.configPath)
            defer { _ = agent.stop() }
            #expect(await agent.waitFor("/health", status: 200, within: .seconds(15)))
            let (status, page) = try await agent.get("/")
            #expect(status == 200 && page.contains("<svg id=\"lag-chart\"") && !page.contains(token))

            let base = agent.base
            func role(_ node: String, _ role: String) -> String {
                "document.querySelector('[data-node=\"\(node)\"]') && document.querySelector('[data-node=\"\(node)\"]').dataset.role === '\(role)'"
            }
            var results = try await Self.browse([
                ["goto": base + "/"],
                ["wait": role("pg1", "primary") + " && " + role("pg2", "standby")],
                ["eval": "document.querySelectorAll('[data-region]').length"],
                // The chart grows as the page refreshes (one point per agent round).
                ["eval": "window.p0 = +document.getElementById('lag-chart').dataset.points"],
                ["wait": "+document.getElementById('lag-chart').dataset.points > window.p0 + 1", "timeout": 30],
            ])
            #expect(results[2] as? Int == 2, "two regions on the page")

            // A plan left to expire: reviewed in time, confirmed too late.
            let first = try await Self.plan(env)
            results = try await Self.browse([
                ["goto": base + "/"],
                // Without the token the plan's details are refused by the agent, not only hidden.
                ["eval": "fetch('/ui/operations/\(first)').then(r => r.status)"],
                ["eval": "fetch('/ui/operations/\(first)', {headers: {Authorization: 'Bearer wrong'}}).then(r => r.status)"],
                ["wait": "!!document.querySelector('[data-review=\"\(first)\"]')"],
                ["eval": "document.querySelector('[data-review=\"\(first)\"]').click(); document.getElementById('message').textContent"],
                ["eval": "document.getElementById('token').value = \(Self.js(token)); document.getElementById('token-form').requestSubmit(); sessionStorage.getItem('pgdr-token') === \(Self.js(token))"],
                ["eval": "document.querySelector('[data-review=\"\(first)\"]').click(); true"],
                ["wait": "!document.getElementById('plan').hidden && !!document.getElementById('confirm')"],
                ["eval": "document.getElementById('plan').textContent"],
            ])
            #expect(results[1] as? Int == 401, "plan details without the token")
            #expect(results[2] as? Int == 401, "plan details with a wrong token")
            #expect((results[4] as? String)?.contains("enter the token first") == true)
            #expect(results[5] as? Bool == true)
            let details = results[8] as? String ?? ""
            #expect(details.contains("pg1") && details.contains("pg2") && details.contains("Confirm: failover to pg2"), "\(details)")

            // The page stays open past the expiry; the click is refused by the server.
            let planFile = "\(env.lab.layout.root)/pgdr-plans/\(first).json"
            let saved = try #require((try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: planFile)))) as? [String: Any])
            let expires = try #require((saved["expiresAt"] as? Double).map { Date(timeIntervalSince1970: $0 / 1000) })
            try await Task.sleep(for: .seconds(max(0, expires.timeIntervalSinceNow) + 1.5))
            #expect(await AgentOperationTests.isPrimary(env, "pg1") == true, "nothing happened before any approval")
            results = try await Self.browse([
                ["goto": base + "/"],
                ["eval": "sessionStorage.setItem('pgdr-token', \(Self.js(token))); true"],
                ["eval": "fetch('/operations/\(first)/approve', {method: 'POST', headers: {Authorization: 'Bearer ' + sessionStorage.getItem('pgdr-token')}}).then(r => r.status)"],
                ["wait": "!document.querySelector('[data-review=\"\(first)\"]')"],
                ["eval": "document.querySelector('[data-operation=\"\(first)\"]').textContent"],
            ])
            #expect(results[2] as? Int == 409, "an expired plan is refused")
            #expect((results[4] as? String)?.contains("approval expired") == true, "\(results[4] ?? "")")
            #expect(await AgentOperationTests.isPrimary(env, "pg1") == true, "the expired plan changed nothing")

            // A fresh plan, approved from the page: the failover runs.
            let second = try await Self.plan(env)
            var approve: [[String: Any]] = [
                ["goto": base + "/"],
                ["eval": "sessionStorage.setItem('pgdr-token', \(Self.js(token))); true"],
                ["wait": "!!document.querySelector('[data-review=\"\(second)\"]')"],
                ["eval": "document.querySelector('[data-review=\"\(second)\"]').click(); true"],
                ["wait": "!!document.getElementById('confirm')"],
            ]
            if let shots = ProcessInfo.processInfo.environment["PGDR_SCREENSHOTS"] {
                approve += [["viewport": [1280, 900]], ["screenshot": "\(shots)/web-desktop.png"],
                            ["viewport": [390, 844]], ["screenshot": "\(shots)/web-phone.png"], ["viewport": [1280, 900]]]
            }
            approve += [
                ["eval": "document.getElementById('confirm').click(); true"],
                ["wait": "document.getElementById('message').textContent.indexOf('approved \(second)') === 0", "timeout": 60],
                ["wait": role("pg2", "primary"), "timeout": 30],
            ]
            results = try await Self.browse(approve)
            #expect(await AgentOperationTests.isPrimary(env, "pg2") == true, "the failover approved on the page ran")
            let approvals = env.journal().filter { $0["kind"] as? String == "approval" }
            #expect(approvals.contains { $0["notice"] as? String == second && $0["ok"] as? Bool == true }, "the approval is journaled")
        }
    }

    /// `pgdr failover` plans and prints the id to approve.
    static func plan(_ env: AgentLab) async throws -> String {
        let text = try await CLI.run(["failover", "--config", env.configPath]).stdout
        return try #require(text.firstMatch(of: /approve with: pgdr approve (failover-[0-9a-f]+)/).map { String($0.1) })
    }

    static func js(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }

    /// Runs browser.py with the steps on standard input (the token never in
    /// argv); returns each step's value, or throws with the step that failed.
    static func browse(_ steps: [[String: Any]]) async throws -> [Any?] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("browser.py").path
        let input = try JSONSerialization.data(withJSONObject: steps)
        let result = try await CLI.program("/usr/bin/python3", [script], stdin: input)
        let lines = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        if result.status != 0 || lines.count != steps.count {
            throw AgentError("browser: \(result.stdout)\(result.stderr)")
        }
        return lines.map { $0["value"] is NSNull ? nil : $0["value"] }
    }
}

/// The page's pure parts: escaping and the bounded lag history.
@Suite struct WebPageUnitTests {
    @Test func everythingFromServersIsEscaped() {
        let evil = "<img src=x onerror=alert(1)>\"'&"
        let snapshot = WebPage.Snapshot(
            deployment: "d<b>", primaryRegion: "r1", drRegion: "r2", report: nil, lastRound: nil,
            alarms: [.init(name: "a", summary: evil, state: .alarm, reason: evil, since: Date())],
            history: LagHistory(), operations: [], lagThreshold: 10, approvals: false, now: Date())
        let html = WebPage.page(snapshot, nonce: "n")
        #expect(!html.contains("<img") && !html.contains("<b>"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"))
        #expect(html.contains("pgdr approve ID"), "without a token file the page says how to approve")
    }

    @Test func theHistoryKeepsOneHourAndNoMoreThanItsCapacity() {
        var history = LagHistory(window: 3600, capacity: 100)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<5000 { history.record(.init(at: start.addingTimeInterval(Double(i)), seconds: Double(i), bytes: nil)) }
        #expect(history.points.count == 100)
        #expect(history.points.last?.seconds == 4999)
        var sparse = LagHistory(window: 3600, capacity: 10_000)
        for i in 0..<10 { sparse.record(.init(at: start.addingTimeInterval(Double(i) * 1000), seconds: nil, bytes: nil)) }
        #expect(sparse.points.count == 4, "points older than an hour go: \(sparse.points.count)")
    }
}
