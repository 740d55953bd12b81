import Foundation

/// Assembles batches on a background thread while the device trains, keeping up to `depth`
/// ready batches in a bounded queue (the producer waits when it is full).
///
/// Batches come out in stream order starting at `firstBatch`; the first error (e.g. a corrupt
/// image met on demand) is delivered by ``next()`` in place of the batch that needed it. The
/// thread stops when the loader is released or ``stop()`` is called.
public final class BatchLoader: @unchecked Sendable {
    public let dataset: ImageDataset
    public let order: DataOrder
    public let batchSize: Int
    private let queue: BoundedBatchQueue

    /// Starts producing batches `firstBatch, firstBatch + 1, …`; with `take` < `every`, runs of
    /// `take` consecutive batches every `every` batches (`firstBatch + (n / take)·every + n % take`
    /// for the n-th batch): the micro-batches one process of a data-parallel job runs. With
    /// `labels`, each batch's class labels follow its images (see ``Batch``).
    public init(dataset: ImageDataset, order: DataOrder, batchSize: Int, firstBatch: Int, take: Int = 1, every: Int = 1,
                labels: Bool = false, depth: Int = 3) {
        precondition(batchSize >= 1 && depth >= 1 && take >= 1 && every >= take, "invalid loader settings")
        self.dataset = dataset
        self.order = order
        self.batchSize = batchSize
        let queue = BoundedBatchQueue(depth: depth)
        self.queue = queue
        // The thread holds the queue, not the loader, so releasing the loader stops it.
        let thread = Thread {
            defer { queue.markExited() }
            var cache: [Int: [Int]] = [:]
            var n = 0
            while queue.waitForRoom() {
                let index = firstBatch + (n / take) * every + n % take
                do {
                    queue.push(try order.assemble(batch: index, size: batchSize, from: dataset, labels: labels, cache: &cache))
                } catch {
                    queue.fail(error)
                    return
                }
                n += 1
            }
        }
        thread.name = "ddpm-data-loader"
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    deinit { queue.stop() }

    /// The next batch, waiting for the loader if it is not ready yet.
    public func next() throws -> Batch { try queue.pop() }

    /// Stops the background thread and waits for it to exit (it finishes the batch it is
    /// assembling), so no decoding runs on after the trainer returns or the process exits.
    public func stop() {
        queue.stop()
        queue.waitUntilExited()
    }
}

/// The producer/consumer queue between the loader thread and the trainer.
final class BoundedBatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Batch] = []
    private var failure: Error?
    private var stopped = false
    private var exited = false
    private let depth: Int

    init(depth: Int) { self.depth = depth }

    /// Waits until there is room for a batch; false once stopped.
    func waitForRoom() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= depth && !stopped { condition.wait() }
        return !stopped
    }

    func push(_ batch: Batch) {
        condition.lock()
        ready.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    func fail(_ error: Error) {
        condition.lock()
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    func pop() throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && failure == nil && !stopped { condition.wait() }
        if !ready.isEmpty {
            let batch = ready.removeFirst()
            condition.broadcast()
            return batch
        }
        if let failure { throw failure }
        throw DatasetError.loaderStopped
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Called by the loader thread as it returns.
    func markExited() {
        condition.lock()
        exited = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the loader thread has returned.
    func waitUntilExited() {
        condition.lock()
        while !exited { condition.wait() }
        condition.unlock()
    }
}
