import DRMonitor
import DRNotify
import DRSpec
import Foundation
import Logging

/// Delivers notices to every sink in the background: the sampling loop hands
/// them over and goes on. Each attempt, failed or not, is journaled; a failed
/// delivery is retried with exponential backoff (0.5 s, 1 s, 2 s, … capped at
/// 30 s) up to the sink's `retries`. One notice is sent at most once per sink
/// unless an attempt fails.
public actor NotificationDispatcher {
    struct Sink {
        let notifier: any Notifier
        let retries: Int
    }

    private let sinks: [Sink]
    private let journal: Journal
    private let deployment: String
    private let logger: Logger
    private var inFlight: [UUID: Task<Void, Never>] = [:]

    public init(spec: Spec, baseDirectory: String, journal: Journal, logger: Logger) {
        sinks = spec.notifications.map { Sink(notifier: NotifierFactory.make($0, baseDirectory: baseDirectory), retries: $0.retries) }
        self.journal = journal
        deployment = spec.resourceName(spec.name)
        self.logger = logger
    }

    public func submit(_ notices: [NotificationPolicy.Notice]) {
        for notice in notices {
            let body: Data
            do {
                body = try NoticePayload(notice, deployment: deployment).json()
            } catch {
                logger.error("cannot encode notice", metadata: ["id": "\(notice.id)"])
                continue
            }
            for sink in sinks {
                let id = UUID()
                inFlight[id] = Task { [journal, logger] in
                    await Self.deliver(body, notice: notice, to: sink, journal: journal, logger: logger)
                    self.finished(id)
                }
            }
        }
    }

    private func finished(_ id: UUID) { inFlight[id] = nil }

    /// Waits for deliveries in flight, at most `limit`, so a clean shutdown
    /// journals what it sent.
    public func drain(limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while !inFlight.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    static func deliver(_ body: Data, notice: NotificationPolicy.Notice, to sink: Sink, journal: Journal,
                        logger: Logger) async {
        var delay = 0.5
        for attempt in 1...(sink.retries + 1) {
            do {
                try await sink.notifier.deliver(body)
                _ = try? await journal.append(.init(at: Date(), kind: .delivery, alarm: notice.transition.alarm,
                                                    sink: sink.notifier.label, notice: notice.id, attempt: attempt, ok: true))
                return
            } catch {
                let last = attempt == sink.retries + 1
                logger.warning("notification delivery failed", metadata: [
                    "sink": "\(sink.notifier.label)", "attempt": "\(attempt)", "error": "\(error)",
                ])
                _ = try? await journal.append(.init(at: Date(), kind: .delivery, alarm: notice.transition.alarm,
                                                    sink: sink.notifier.label, notice: notice.id, attempt: attempt,
                                                    ok: false, message: "\(error)" + (last ? "; giving up" : "; will retry")))
                if last { return }
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 30)
            }
        }
    }
}
