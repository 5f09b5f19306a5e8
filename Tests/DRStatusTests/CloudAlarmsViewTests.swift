import Foundation
import Testing
@testable import DRStatus

/// How `pgdr status` shows the deployment's CloudWatch alarms (target: aws).
@Suite struct CloudAlarmsViewTests {
    let since = Date(timeIntervalSince1970: 1_764_583_200)

    @Test func firingAlarmsAreListedWithTheirReasonAndTheRestCounted() {
        let view = CloudAlarmsView(pattern: "orders-*-prod", alarms: [
            .init(name: "orders-cpu-prod", region: "us-east-1", state: "OK", reason: nil, since: nil),
            .init(name: "orders-replica-lag-prod", region: "us-east-2", state: "ALARM", reason: "Threshold Crossed", since: since),
            .init(name: "orders-connections-prod", region: "us-east-1", state: "INSUFFICIENT_DATA", reason: nil, since: nil),
        ], unreadable: [:])
        #expect(view.firing.map(\.name) == ["orders-replica-lag-prod"])
        #expect(view.rendered == """
            CloudWatch alarms: 1 of 3 in ALARM, 1 with insufficient data
              ALARM orders-replica-lag-prod (us-east-2) since 2025-12-01T10:00:00Z: Threshold Crossed

            """)
    }

    @Test func noneDeployedAndARegionThatCannotBeReadAreSaid() {
        #expect(CloudAlarmsView(pattern: "orders-*-prod", alarms: [], unreadable: [:]).rendered
                == "CloudWatch alarms: none named orders-*-prod (the deployment's stacks create them: pgdr deploy)\n")
        let partial = CloudAlarmsView(pattern: "orders-*-prod", alarms: [
            .init(name: "orders-cpu-prod", region: "us-east-1", state: "OK", reason: nil, since: nil),
        ], unreadable: ["us-east-2": "monitoring DescribeAlarms in us-east-2: AccessDenied"])
        #expect(partial.rendered == """
            CloudWatch alarms: 0 of 1 in ALARM
            CloudWatch alarms in us-east-2 could not be read: monitoring DescribeAlarms in us-east-2: AccessDenied

            """)
        let blind = CloudAlarmsView(pattern: "orders-*-prod", alarms: [], unreadable: ["us-east-1": "timed out"])
        #expect(!blind.rendered.contains("none named"), "unread is not the same as none: \(blind.rendered)")
    }
}
