import ArgumentParser
import DRCloud
import Foundation

struct CostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "Estimate the monthly AWS cost of the deployment, per resource, from a dated price table.")

    @OptionGroup var config: ConfigOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let spec = try config.load().spec
        let lines = CostEstimate.lines(spec)
        if json {
            struct Report: Encodable { var priceDate: String; var lines: [CostEstimate.Line]; var totalUSD: Double }
            print(try JSON.encode(Report(priceDate: CostEstimate.priceDate, lines: lines, totalUSD: CostEstimate.total(spec))))
            return
        }
        print("estimated monthly cost of \(spec.resourceName(spec.name)), prices of \(CostEstimate.priceDate):")
        for line in lines {
            print("  \(line.region.padding(toLength: 10, withPad: " ", startingAt: 0)) \(String(format: "%9.2f", line.monthlyUSD)) USD  \(line.item)  (\(line.basis))")
        }
        print(String(format: "  total      %9.2f USD / month", CostEstimate.total(spec)))
    }
}
