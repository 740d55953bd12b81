import Dispatch
import Foundation

/// Splits loops over the cores with ``WorkerPool``, or runs them inline when the work is too
/// small to pay for handing it to another thread.
///
/// Every entry point is `@inline(__always)` so a loop body written at the call site lands
/// directly in the closure the pool runs, where the compiler can vectorise it. Per-op
/// functions must reach such loops as generic types (``UnaryFunction``, ``Fn``), not as closure
/// values: a closure two closure levels down stays an indirect call per element.
enum Parallel {
    /// Threads the fast kernels use: every core the process may run on.
    static let workers = CPUThreads.count

    /// Elements below which an elementwise loop stays on the calling thread.
    static let elementGrain = 32 * 1024

    /// Runs `body` over disjoint ranges covering `0..<count`, in parallel when `count ≥ 2·grain`.
    ///
    /// `grain` is the smallest range worth a thread; ranges are contiguous and balanced.
    @inline(__always)
    static func forEach(_ count: Int, grain: Int = elementGrain, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(workers, count / max(grain, 1))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        WorkerPool.shared.run(chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            body(start..<end)
        }
    }

    /// Runs `body(i)` for every `i < count` (items of roughly equal cost `itemCost` elements),
    /// distributing items over the cores when the total cost is large enough.
    @inline(__always)
    static func forEachItem(_ count: Int, itemCost: Int, _ body: (Int) -> Void) {
        let grain = max(1, elementGrain / max(itemCost, 1))
        forEach(count, grain: grain) { range in
            for i in range { body(i) }
        }
    }

    /// ``forEachItem(_:itemCost:_:)``, or a plain loop on the calling thread when `serial`
    /// (code that already runs one task per core).
    @inline(__always)
    static func forEachItem(_ count: Int, itemCost: Int, serial: Bool, _ body: (Int) -> Void) {
        if serial {
            for i in 0..<count { body(i) }
        } else {
            forEachItem(count, itemCost: itemCost, body)
        }
    }

    /// Runs `body(worker, task)` for every task in `0..<tasks`, the tasks split into contiguous
    /// runs over at most ``workers`` threads (worker indices `0..<min(workers, tasks)`); the
    /// first error thrown is rethrown after every worker has stopped.
    static func forEachTask(_ tasks: Int, _ body: (_ worker: Int, _ task: Int) throws -> Void) throws {
        let parts = min(workers, tasks)
        if parts <= 1 {
            for t in 0..<tasks { try body(0, t) }
            return
        }
        let failure = FirstError()
        WorkerPool.shared.run(parts) { w in
            for t in (tasks * w / parts)..<(tasks * (w + 1) / parts) {
                do { try body(w, t) } catch {
                    failure.record(error)
                    return
                }
            }
        }
        if let error = failure.error { throw error }
    }

    /// Like ``forEach(_:grain:_:)``, but each range returns a partial result (e.g. per-thread
    /// sums), collected in range order so the combination is deterministic.
    @inline(__always)
    static func map<T>(_ count: Int, grain: Int = elementGrain, _ body: (Range<Int>) -> T) -> [T] {
        guard count > 0 else { return [] }
        let chunks = min(workers, count / max(grain, 1))
        if chunks <= 1 { return [body(0..<count)] }
        var results = [T?](repeating: nil, count: chunks)
        results.withUnsafeMutableBufferPointer { slots in
            WorkerPool.shared.run(chunks) { chunk in
                slots[chunk] = body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
        }
        return results.map { $0! }
    }
}

/// The first error recorded by any of several threads.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?

    func record(_ error: Error) {
        lock.lock()
        if stored == nil { stored = error }
        lock.unlock()
    }

    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
