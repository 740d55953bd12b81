/// The processes of a data-parallel job (an MPI world), as the optimiser step and the trainer
/// need them: a rank, a size, and a gather that moves bytes without computing anything.
///
/// The gather is all the step needs because the sum of the gradients is not left to the
/// communication library: every process receives every micro-batch's gradient and adds them on
/// its own device in micro-batch order (``TrainingStep``), so `N` processes give the bits of one
/// process accumulating `N` micro-batches. A library reduction (ring, tree, recursive halving)
/// groups the additions by its own algorithm, and float addition is not associative.
public protocol ProcessGroup: AnyObject {
    /// This process's rank, `0 ..< size`.
    var rank: Int { get }
    /// Processes in the job.
    var size: Int { get }
    /// Every process contributes `local` (the same byte count on each); `all`, `size` times as
    /// large, receives the contributions in rank order. Blocks until every process took part.
    func allGather(_ local: UnsafeRawBufferPointer, into all: UnsafeMutableRawBufferPointer) throws
}

extension ProcessGroup {
    /// Every process's `value`, in rank order.
    public func allGather<T: BitwiseCopyable>(_ value: T) throws -> [T] {
        var local = value
        var all = [T](repeating: value, count: size)
        try withUnsafeBytes(of: &local) { l in
            try all.withUnsafeMutableBytes { try allGather(l, into: $0) }
        }
        return all
    }
}
