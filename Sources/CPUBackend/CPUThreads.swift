#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How many threads the `cpu` device runs: the cores this process may really use.
///
/// `sched_getaffinity` gives the cores the process is bound to (Open MPI's `mpirun` binds each
/// rank to its own core(s) by default, `taskset` and container limits do the same), which
/// `activeProcessorCount` does not see. When `mpirun` started several ranks on this host without
/// binding them (`--bind-to none`, or an oversubscribed job, where Open MPI does not bind), the
/// ranks share the same cores, so each takes an equal share of them
/// (`OMPI_COMM_WORLD_LOCAL_SIZE` ranks here) rather than every rank starting one thread per core.
///
/// `DDPM_CPU_THREADS=n` overrides the decision. The cpu device's sums are split per thread in a
/// few kernels (the weight gradients of convolutions accumulate one partial per thread), so its
/// results depend on the thread count: two runs are bit-identical when their processes run the
/// same number of threads (docs/distributed.md).
enum CPUThreads {
    /// The thread count of this process (at least 1), and why.
    static let current: (count: Int, reason: String) = decide(affinity: affinityCount(),
                                                               online: ProcessInfo.processInfo.activeProcessorCount,
                                                               environment: ProcessInfo.processInfo.environment)

    /// The decision, from its inputs (tested without a launcher).
    static func decide(affinity: Int?, online: Int, environment: [String: String]) -> (count: Int, reason: String) {
        if let text = environment["DDPM_CPU_THREADS"], let n = Int(text), n >= 1 {
            return (min(n, 4096), "DDPM_CPU_THREADS")
        }
        let cores = max(1, affinity ?? online)
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
        if local > 1 && cores >= online {
            let share = max(1, cores / local)
            return (share, "\(cores) cores shared by \(local) unbound mpirun ranks on this host")
        }
        return (cores, affinity == nil ? "\(cores) online cores" : "\(cores) cores in this process's affinity mask")
    }

    /// Cores in this process's affinity mask (`sched_getaffinity`), nil if it cannot be read.
    /// Looked up with `dlsym`: the Glibc module does not export this GNU extension.
    static func affinityCount() -> Int? {
        typealias GetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_getaffinity") else { return nil }
        let call = unsafeBitCast(symbol, to: GetAffinity.self)
        // 1024 CPUs (glibc's cpu_set_t); more bytes are accepted if the kernel has more.
        var mask = [UInt8](repeating: 0, count: 128)
        let written = mask.withUnsafeMutableBytes { call(0, $0.count, $0.baseAddress!) }
        guard written == 0 else { return nil }
        let count = mask.reduce(0) { $0 + $1.nonzeroBitCount }
        return count > 0 ? count : nil
    }
}
