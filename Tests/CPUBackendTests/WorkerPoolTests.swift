import Foundation
import Synchronization
import XCTest
@testable import CPUBackend

/// The cpu device's worker pool: every iteration of a loop runs exactly once, whichever thread
/// claims it, including across parked and woken workers, concurrent callers and nested loops.
final class WorkerPoolTests: XCTestCase {
    /// Counts how often each iteration ran (atomic slots: any thread may run any iteration).
    private final class Tally: @unchecked Sendable {
        let slots: UnsafeMutablePointer<Atomic<Int>>
        let count: Int
        init(_ count: Int) {
            self.count = count
            slots = .allocate(capacity: count)
            for i in 0..<count { (slots + i).initialize(to: Atomic(0)) }
        }
        deinit { slots.deinitialize(count: count); slots.deallocate() }
        func hit(_ i: Int) { slots[i].add(1, ordering: .relaxed) }
        var counts: [Int] { (0..<count).map { slots[$0].load(ordering: .relaxed) } }
    }

    func testEveryIterationRunsOnceOverManyLoops() {
        let pool = WorkerPool(threads: 4)
        for size in [0, 1, 2, 3, 4, 7, 64, 1000] {
            for _ in 0..<200 {
                let tally = Tally(max(size, 1))
                pool.run(size) { tally.hit($0) }
                XCTAssertEqual(tally.counts, size == 0 ? [0] : [Int](repeating: 1, count: size), "loop of \(size)")
            }
        }
    }

    /// Loops far apart in time: the workers park after their spin and must be woken.
    func testParkedWorkersWakeUp() {
        let pool = WorkerPool(threads: 3)
        for _ in 0..<5 {
            Thread.sleep(forTimeInterval: WorkerPool.spinSeconds * 20)
            let tally = Tally(6)
            pool.run(6) { i in
                Thread.sleep(forTimeInterval: 0.001)
                tally.hit(i)
            }
            XCTAssertEqual(tally.counts, [Int](repeating: 1, count: 6))
        }
    }

    /// Two threads starting loops at once, and a loop inside a loop: the one that finds the pool
    /// busy falls back to `concurrentPerform`, and every iteration still runs exactly once.
    func testConcurrentAndNestedLoops() {
        let pool = WorkerPool(threads: 2)
        let outer = Tally(8), inner = Tally(8 * 5)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<50 {
                let t = Tally(9)
                pool.run(9) { t.hit($0) }
                XCTAssertEqual(t.counts, [Int](repeating: 1, count: 9), "caller \(caller)")
            }
        }
        pool.run(8) { i in
            outer.hit(i)
            pool.run(5) { j in inner.hit(i * 5 + j) }
        }
        XCTAssertEqual(outer.counts, [Int](repeating: 1, count: 8))
        XCTAssertEqual(inner.counts, [Int](repeating: 1, count: 40))
    }

    /// A pool of one thread runs the loop on the caller, in order.
    func testSingleThreadRunsInOrder() {
        let pool = WorkerPool(threads: 1)
        var order: [Int] = []
        pool.run(5) { order.append($0) }
        XCTAssertEqual(order, [0, 1, 2, 3, 4])
    }
}
