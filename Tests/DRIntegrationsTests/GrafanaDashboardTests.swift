import DRIntegrations
import DRSpec
import Foundation
import Testing

/// The dashboard `pgdr config grafana` writes, against the essentials of
/// Grafana's dashboard JSON model: what an import needs and what each panel
/// needs to draw (the live agent's scrape is matched in PromtoolTests).
@Suite struct GrafanaDashboardTests {
    @Test func theModelHasWhatAnImportNeeds() throws {
        let spec = try SpecParser.parse(yaml: HAProxyConfigTests.base + """
            dcs: {endpoints: [http://a:2379, http://b:2379, http://c:2379]}
            backup: {retentionDays: 7, pointInTimeRecovery: true, passphraseFile: pass, repositories: [{region: us-east-1, path: /r1}, {region: us-east-2, path: /r2}]}

            """).spec
        let model = try #require(try JSONSerialization.jsonObject(with: Data(GrafanaDashboard.render(spec).utf8)) as? [String: Any])
        #expect(model["title"] as? String == "pgdr: orders-prod")
        #expect((model["uid"] as? String)?.count ?? 99 <= 40, "Grafana uids are at most 40 characters")
        #expect(model["schemaVersion"] as? Int == 39)
        let variables = try #require((model["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        #expect(variables.contains { $0["name"] as? String == "datasource" && $0["query"] as? String == "prometheus" })
        let panels = try #require(model["panels"] as? [[String: Any]])
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count && Set(ids).count == ids.count, "every panel has a unique id")
        var occupied: [String: Int] = [:]
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            #expect(["timeseries", "stat", "state-timeline", "table"].contains(panel["type"] as? String ?? ""), "\(title)")
            let grid = try #require(panel["gridPos"] as? [String: Int])
            let (x, y, w, h) = (grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
            #expect(x >= 0 && w > 0 && h > 0 && x + w <= 24, "\(title) fits the 24-column grid")
            for column in x..<(x + w) {
                let key = "\(column),\(y)"
                #expect(occupied[key] == nil, "\(title) overlaps panel \(occupied[key] ?? 0)")
                occupied[key] = panel["id"] as? Int
            }
            let targets = try #require(panel["targets"] as? [[String: Any]])
            #expect(!targets.isEmpty, "\(title) queries something")
            for target in targets {
                let expr = target["expr"] as? String ?? ""
                #expect(expr.hasPrefix("pgdr_") && expr.contains("{deployment=\"orders-prod\"}"), "\(expr)")
                #expect((target["datasource"] as? [String: String])?["uid"] == "${datasource}")
                #expect((target["refId"] as? String)?.isEmpty == false)
            }
        }
        let titles = panels.compactMap { $0["title"] as? String }
        #expect(titles.contains("Replication lag (seconds)") && titles.contains("Replication lag (bytes)"))
        #expect(titles.contains("Newest backup age") && titles.contains("Leader key (etcd)"), "panels follow the deployment")
    }
}
