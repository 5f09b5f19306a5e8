import DRMonitor
import DRNotify
import DRSpec
import Foundation
import Logging

/// Delivers notices to every sink in the background: the sampling loop hands
/// them over and goes on. Each attempt, failed or not, is journaled; a failed
/// delivery is retried with exponential backoff (0.5 s, 1 s, 2 s, … capped at
/// 30 s) up to the sink's `retries`. Deliveries are child tasks of `run()`,
/// which the agent's task group owns: at shutdown the queue is closed, and
/// what is in flight gets a moment to finish before it is cancelled.
public final class NotificationDispatcher: Sendable {
    struct Sink: Sendable {
        let notifier: any Notifier
        let retries: Int
    }

    struct Delivery: Sendable {
        let body: Data
        let notice: NotificationPolicy.Notice
        let sink: Sink
    }

    private let sinks: [Sink]
    private let journal: Journal
    private let deployment: String
    private let logger: Logger
    private let queue: AsyncStream<Delivery>
    private let continuation: AsyncStream<Delivery>.Continuation

    public init(spec: Spec, baseDirectory: String, journal: Journal, logger: Logger) {
        sinks = spec.notifications.map {
            Sink(notifier: NotifierFactory.make($0, baseDirectory: baseDirectory), retries: $0.delivery.retries)
        }
        self.journal = journal
        deployment = spec.resourceName(spec.name)
        self.logger = logger
        (queue, continuation) = AsyncStream.makeStream(of: Delivery.self)
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
            for sink in sinks { continuation.yield(Delivery(body: body, notice: notice, sink: sink)) }
        }
    }

    /// No more notices: `run()` returns once what is queued has been delivered.
    public func finish() { continuation.finish() }

    /// Delivers until `finish()`, each delivery a child task.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await delivery in queue {
                group.addTask { [journal, logger] in
                    await Self.deliver(delivery, journal: journal, logger: logger)
                }
            }
        }
    }

    static func deliver(_ delivery: Delivery, journal: Journal, logger: Logger) async {
        let sink = delivery.sink, notice = delivery.notice
        var delay = 0.5
        for attempt in 1...(sink.retries + 1) {
            do {
                try await sink.notifier.deliver(delivery.body)
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
                if last || Task.isCancelled { return }
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 30)
            }
        }
    }
}
