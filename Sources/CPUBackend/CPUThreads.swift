#if canImport(Glibc)
import Glibc
#endif
import Devices
import Foundation

/// How many threads the `cpu` device runs: the cores this process may really use.
///
/// `sched_getaffinity` gives the cores the process is bound to (Open MPI's `mpirun` binds each
/// rank to a core for two ranks or fewer and to a socket above; `taskset` and container limits
/// bind too), which `activeProcessorCount` does not see. With L ranks of one job on a host of T
/// online cores (`OMPI_COMM_WORLD_LOCAL_SIZE`), each rank takes `min(its cores, T / L)` threads
/// (at least 1): bound to its own core(s) that is all of them; bound to a socket shared with
/// other ranks, or not bound at all (`--bind-to none`, oversubscribed jobs), an equal share, so
/// the ranks of a host never run more threads than it has cores.
///
/// `DDPM_CPU_THREADS=n` overrides the decision. The cpu device's sums are split per thread in a
/// few kernels (the weight gradients of convolutions accumulate one partial per thread), so its
/// results depend on the thread count: two runs are bit-identical when their processes run the
/// same number of threads (docs/distributed.md).
enum CPUThreads {
    /// The thread count of this process (at least 1) and why, or why `DDPM_CPU_THREADS` is refused.
    static let current: Result<(count: Int, reason: String), DeviceError> = Result {
        try decide(affinity: affinityCount(), online: ProcessInfo.processInfo.processorCount,
                   environment: ProcessInfo.processInfo.environment)
    }.mapError { $0 as! DeviceError }

    /// The count the parallel loops use (1 when `DDPM_CPU_THREADS` is invalid: the cpu device then refuses to open).
    static var count: Int { (try? current.get().count) ?? 1 }

    /// The decision, from its inputs (tested without a launcher).
    static func decide(affinity: Int?, online: Int, environment: [String: String]) throws -> (count: Int, reason: String) {
        if let text = environment["DDPM_CPU_THREADS"] {
            guard let n = Int(text), (1...4096).contains(n) else {
                throw DeviceError.unavailable(name: "cpu", reason: "DDPM_CPU_THREADS is '\(text)', expected a thread count from 1 to 4096")
            }
            return (n, "DDPM_CPU_THREADS")
        }
        let cores = max(1, affinity ?? online)
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
        let source = affinity == nil ? "\(cores) online cores" : "\(cores) cores in this process's affinity mask"
        if local > 1 {
            let share = max(1, min(cores, online / local))
            return (share, "\(source), \(online) on this host shared by \(local) mpirun ranks")
        }
        return (cores, source)
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
