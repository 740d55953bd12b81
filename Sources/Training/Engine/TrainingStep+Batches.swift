import Graph

/// What the trainer reads from the one optimiser engine, ``Graph/TrainingStep``.
extension TrainingStep {
    /// Kernel launches of one optimiser step on this process (graph runs, sums, tail), for the summary.
    var kernelsPerStep: Int {
        guard microBatches > 1 else { return schedule.count }
        return localMicroBatches * compiled.schedule.count + 2 * microBatches + optimizerTail.count
    }

    /// The arena of one micro-batch.
    var arenaPeakBytes: Int { compiled.report.memory.arenaPeakBytes }

    /// How many losses have been read back so far.
    var lossCount: Int { losses.count }

    /// The `index`-th loss read back (oldest first).
    func loss(at index: Int) -> LossRecord { losses[index] }

    /// Waits for the device and collects the pending loss read-back.
    func waitForDevice() throws { try synchronize() }

    /// Enqueues one optimiser step over this process's micro-batches (raw f32 `[N, C, H, W]`).
    func step(_ batches: [Batch]) throws {
        try withBytes(batches[...]) { try step(microBatches: $0) }
    }

    private func withBytes<R>(_ batches: ArraySlice<Batch>, _ pointers: [UnsafeRawBufferPointer] = [],
                              _ body: ([UnsafeRawBufferPointer]) throws -> R) throws -> R {
        guard let first = batches.first else { return try body(pointers) }
        return try first.values.withUnsafeBytes { try withBytes(batches.dropFirst(), pointers + [$0], body) }
    }
}
