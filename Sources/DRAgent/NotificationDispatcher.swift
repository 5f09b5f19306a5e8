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
        let notice: String
        let alarm: String
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

    /// Queues each notice for every sink, journaling it first (the outbox):
    /// an agent that dies before a delivery succeeds delivers it after restart.
    public func submit(_ notices: [NotificationPolicy.Notice]) async {
        for notice in notices {
            let body: Data
            do {
                body = try NoticePayload(notice, deployment: deployment).json()
            } catch {
                logger.error("cannot encode notice", metadata: ["id": "\(notice.id)"])
                continue
            }
            for sink in sinks {
                do {
                    try await journal.append(.init(at: Date(), kind: .queued, alarm: notice.transition.alarm,
                                                   sink: sink.notifier.label, notice: notice.id,
                                                   message: String(decoding: body, as: UTF8.self)))
                } catch {
                    logger.error("outbox entry not written yet (kept, retried)", metadata: ["error": "\(error)"])
                }
                continuation.yield(Delivery(body: body, notice: notice.id, alarm: notice.transition.alarm, sink: sink))
            }
        }
    }

    /// Hands the sinks again what the journal shows queued and neither
    /// delivered nor given up on (an agent killed between a failed attempt
    /// and its retry). Receivers drop a duplicate by the notice id.
    @discardableResult
    public func resubmitOutbox() -> Int {
        let entries = Journal.read(path: journal.path)
        var settled: Set<String> = []
        for entry in entries where entry.kind == .delivery {
            if entry.ok == true || entry.message?.hasSuffix("giving up") == true {
                settled.insert("\(entry.notice ?? "")|\(entry.sink ?? "")")
            }
        }
        var resubmitted = 0
        var seen: Set<String> = []
        for entry in entries where entry.kind == .queued {
            let key = "\(entry.notice ?? "")|\(entry.sink ?? "")"
            guard !settled.contains(key), seen.insert(key).inserted, let body = entry.message, let notice = entry.notice,
                  let sink = sinks.first(where: { $0.notifier.label == entry.sink }) else { continue }
            continuation.yield(Delivery(body: Data(body.utf8), notice: notice, alarm: entry.alarm ?? "", sink: sink))
            resubmitted += 1
        }
        return resubmitted
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
        let sink = delivery.sink
        var delay = 0.5
        for attempt in 1...(sink.retries + 1) {
            do {
                try await sink.notifier.deliver(delivery.body)
                _ = try? await journal.append(.init(at: Date(), kind: .delivery, alarm: delivery.alarm,
                                                    sink: sink.notifier.label, notice: delivery.notice, attempt: attempt, ok: true))
                return
            } catch {
                let last = attempt == sink.retries + 1
                logger.warning("notification delivery failed", metadata: [
                    "sink": "\(sink.notifier.label)", "attempt": "\(attempt)", "error": "\(error)",
                ])
                _ = try? await journal.append(.init(at: Date(), kind: .delivery, alarm: delivery.alarm,
                                                    sink: sink.notifier.label, notice: delivery.notice, attempt: attempt,
                                                    ok: false, message: "\(error)" + (last ? "; giving up" : "; will retry")))
                if last || Task.isCancelled { return }
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 30)
            }
        }
    }
}
