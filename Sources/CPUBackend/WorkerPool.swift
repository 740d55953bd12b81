#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPUTargetGuard
import Dispatch
import Foundation
import Synchronization

/// The threads of the `cpu` device's parallel loops: ``Parallel/workers`` − 1 of them, kept
/// spinning for a while after each loop so the next one starts within a microsecond.
///
/// A training step of a small Unet is hundreds of launches of a few microseconds to a
/// millisecond each, most split across the cores. `DispatchQueue.concurrentPerform` parks its
/// threads on a futex after every loop and wakes them (a system call and a context switch each,
/// ~5-20 µs) at the next one: on the digits model ~15% of the CPU cycles of a step went to the
/// kernel's wake-up and task-switch paths. Here a worker polls for the next loop for up to
/// ``spinSeconds`` (the caller keeps its core busy between loops anyway: it runs the serial
/// kernels and enqueues the next launch), then parks on a condition variable and is woken
/// explicitly. OpenMP runtimes do the same (`OMP_WAIT_POLICY`, `GOMP_SPINCOUNT`).
///
/// Iterations are claimed one at a time from a shared counter, so which thread runs which
/// iteration varies; every loop of the device writes results that depend only on the iteration
/// index, never on the thread, so results do not change. One loop runs at a time: a loop started
/// while another is running (a second queue, a nested loop) falls back to `concurrentPerform`.
final class WorkerPool: @unchecked Sendable {
    /// The pool of the process, sized by ``CPUThreads``.
    static let shared = WorkerPool(threads: CPUThreads.count)

    /// How long an idle worker polls before it parks: 200 µs covers the gaps between the
    /// launches of a training step (a serial kernel, the host enqueuing the next command) while
    /// bounding the CPU time an idle process burns after its last loop.
    static let spinSeconds = 200e-6

    /// Threads of a loop, the caller's included.
    let threads: Int

    /// `job << 32 | iterations << 16 | next`: the current loop, its size and its next unclaimed
    /// iteration, in one word so a claim can never take an index of another loop.
    private let state = Atomic<UInt64>(0)
    /// Iterations of the current loop finished.
    private let done = Atomic<Int>(0)
    /// Workers parked (or about to park) on `wakeup`.
    private let sleepers = Atomic<Int>(0)
    /// Set while a loop runs.
    private let busy = Atomic<Bool>(false)
    /// The current loop's body; written only while no iteration of a loop is unclaimed or running.
    private var body: ((Int) -> Void)?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private static let indexBits: UInt64 = 16
    private static let indexMask: UInt64 = (1 << 16) - 1

    init(threads: Int) {
        self.threads = max(1, threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeup, nil)
        for _ in 1..<self.threads {
            // The workers keep the pool alive: a pool lives as long as the process (the device
            // has one, ``shared``), its idle workers parked.
            let thread = Thread { self.workerLoop() }
            thread.name = "ddpm.cpu.worker"
            thread.qualityOfService = .userInitiated
            thread.start()
        }
    }

    /// Runs `body(i)` for every `i < iterations` on up to ``threads`` threads (the caller's
    /// included) and returns when all have finished.
    func run(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 1, threads > 1 else {
            for i in 0..<max(iterations, 0) { body(i) }
            return
        }
        guard iterations <= Int(Self.indexMask), busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            self.body = escaping
            done.store(0, ordering: .relaxed)
            let job = (state.load(ordering: .relaxed) >> 32) &+ 1
            // Publishing the state releases `body` and `done` to the workers that claim from it.
            state.store(job << 32 | UInt64(iterations) << Self.indexBits, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wakeup)
                pthread_mutex_unlock(mutex)
            }
            claimAndRun()
            // The other iterations are running; if a thread running one has lost its core (a
            // busy machine), yielding gives the core back instead of polling a whole time slice.
            var polls = 0
            while done.load(ordering: .acquiring) < iterations {
                polls &+= 1
                if polls < 256 { ddpm_cpu_relax() } else { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Whether the published loop has an unclaimed iteration.
    private func hasWork(_ s: UInt64) -> Bool { s & Self.indexMask < (s >> Self.indexBits) & Self.indexMask }

    /// Claims iterations of the current loop until none is left, running each.
    private func claimAndRun() {
        var s = state.load(ordering: .acquiring)
        while hasWork(s) {
            let (exchanged, original) = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                runOne(Int(s & Self.indexMask))
                // Counted after the body's reference is released (runOne returned), so the
                // caller's `withoutActuallyEscaping` never sees it still held.
                done.add(1, ordering: .releasing)
                s = state.load(ordering: .acquiring)
            } else {
                s = original
            }
        }
    }

    @inline(never)
    private func runOne(_ i: Int) { body!(i) }

    private func workerLoop() {
        let spinNanos = UInt64(Self.spinSeconds * 1e9)
        while true {
            var start = DispatchTime.now().uptimeNanoseconds
            var polls = 0
            while !hasWork(state.load(ordering: .acquiring)) {
                ddpm_cpu_relax()
                polls &+= 1
                guard polls & 63 == 0 else { continue }
                // Every 64 polls, let any other runnable thread of this core go first.
                sched_yield()
                if DispatchTime.now().uptimeNanoseconds - start > spinNanos {
                    park()
                    start = DispatchTime.now().uptimeNanoseconds
                }
            }
            claimAndRun()
        }
    }

    /// Sleeps until a loop with unclaimed iterations is published.
    private func park() {
        sleepers.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        while !hasWork(state.load(ordering: .sequentiallyConsistent)) {
            pthread_cond_wait(wakeup, mutex)
        }
        pthread_mutex_unlock(mutex)
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
    }
}
