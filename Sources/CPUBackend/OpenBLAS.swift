#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// OpenBLAS, loaded at run time with `dlopen` so the package has no link-time BLAS dependency.
///
/// Loading is lazy and happens once per process. Before the library's constructor runs, the
/// loader sets `OPENBLAS_CORETYPE` from the CPU's feature flags unless the user set it (see
/// ``CPUFeatures/openBLASCoreType``): OpenBLAS reads that variable only while loading, and its own
/// detection picks a ~6x slower kernel on processors newer than its tables.
final class OpenBLAS: @unchecked Sendable {
    /// `cblas_sgemm` (row-major order code 101, no-transpose 111, transpose 112).
    typealias Sgemm = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetInt = @convention(c) () -> Int32
    typealias GetString = @convention(c) () -> UnsafePointer<CChar>?

    static let rowMajor: Int32 = 101
    static let noTrans: Int32 = 111
    static let trans: Int32 = 112

    /// The library's `cblas_sgemm`; call it through ``sgemm(_:_:_:_:_:_:_:_:_:_:_:_:_:_:)``.
    private let rawSgemm: Sgemm
    /// The kernel set OpenBLAS runs, e.g. `Haswell`, `SkylakeX` (`openblas_get_corename`).
    let coreName: String
    /// `openblas_get_config`, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64`.
    let config: String
    /// Where the core type came from: the environment, this loader's detection, or OpenBLAS itself.
    let coreTypeSource: String
    /// OpenBLAS's thread count per call (`openblas_get_num_threads`), set to 1 at load.
    let threads: Int

    private init(handle: UnsafeMutableRawPointer, sgemm: Sgemm, coreTypeSource: String) {
        func symbol<T>(_ name: String, as: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: T.self) }
        }
        self.rawSgemm = sgemm
        self.coreName = symbol("openblas_get_corename", as: GetString.self).flatMap { $0() }.map { String(cString: $0) } ?? "unknown"
        self.config = symbol("openblas_get_config", as: GetString.self).flatMap { $0() }.map { String(cString: $0) } ?? "OpenBLAS"
        // One thread per call: the device spreads calls over the cores itself (CPUFast+Sgemm.swift).
        symbol("openblas_set_num_threads", as: SetThreads.self)?(1)
        self.threads = symbol("openblas_get_num_threads", as: GetInt.self).map { Int($0()) } ?? 1
        self.coreTypeSource = coreTypeSource
    }

    /// `cblas_sgemm` through the ``ExitGate``: the call waits out process exit instead of running
    /// into OpenBLAS's teardown.
    @inline(__always)
    func sgemm(_ order: Int32, _ transA: Int32, _ transB: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float,
               _ a: UnsafePointer<Float>?, _ lda: Int32, _ b: UnsafePointer<Float>?, _ ldb: Int32, _ beta: Float,
               _ c: UnsafeMutablePointer<Float>?, _ ldc: Int32) {
        OpenBLAS.exitGate.enter()
        rawSgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        OpenBLAS.exitGate.leave()
    }

    /// Orderly shutdown of the threads that call OpenBLAS.
    ///
    /// `exit()` runs the library destructors (`_dl_fini`), and OpenBLAS's tears down its buffers
    /// and thread pool; a device worker thread still inside `cblas_sgemm` at that moment crashes
    /// (about one exit in ten while training). The gate counts calls in flight; an `atexit`
    /// handler, registered when the library is loaded and therefore run before `_dl_fini`, closes
    /// the gate and waits for the calls in flight to return. A call that arrives after that waits
    /// at the gate until the process is gone.
    ///
    /// Every `cblas_sgemm` passes it, so entering and leaving are single atomic operations (a
    /// lock here, contended by both worker threads, made the 64-channel forward 15-20% slower);
    /// only the rare paths (a call after closing, closing itself) wait.
    final class ExitGate: @unchecked Sendable {
        private let inFlight = Atomic<Int>(0)
        private let closed = Atomic<Bool>(false)

        func enter() {
            while true {
                inFlight.add(1, ordering: .sequentiallyConsistent)
                if !closed.load(ordering: .sequentiallyConsistent) { return }
                // Closing: back out and wait for the process to end.
                inFlight.subtract(1, ordering: .sequentiallyConsistent)
                while closed.load(ordering: .sequentiallyConsistent) { usleep(10_000) }
            }
        }

        func leave() { inFlight.subtract(1, ordering: .sequentiallyConsistent) }

        /// Closes the gate and waits until no call is in flight.
        func close() {
            closed.store(true, ordering: .sequentiallyConsistent)
            while inFlight.load(ordering: .sequentiallyConsistent) > 0 { usleep(100) }
        }

        /// Calls in flight (for tests).
        var callsInFlight: Int { inFlight.load(ordering: .sequentiallyConsistent) }
        /// Whether ``close()`` ran (for tests).
        var isClosed: Bool { closed.load(ordering: .sequentiallyConsistent) }
    }

    static let exitGate = ExitGate()

    /// The library version from `openblas_get_config`, e.g. `0.3.21`, or the config text itself.
    var version: String {
        let words = config.split(separator: " ")
        if words.count >= 2, words[0] == "OpenBLAS" { return String(words[1]) }
        return config
    }

    /// One line for `ddpm devices`: `OpenBLAS 0.3.21, core Haswell, 1 thread per call`.
    var summary: String { "OpenBLAS \(version), core \(coreName), \(threads) thread\(threads == 1 ? "" : "s") per call" }

    /// The process-wide instance, or why OpenBLAS cannot be used.
    static let shared: Result<OpenBLAS, DeviceLoadError> = load(candidates: defaultCandidates)

    /// Library names tried in order: the versioned soname first (present without `-dev` packages).
    static let defaultCandidates = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"]

    /// Why a library could not be loaded, in words a user can act on.
    struct DeviceLoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Loads the first of `candidates` that opens and exports `cblas_sgemm`.
    static func load(candidates: [String]) -> Result<OpenBLAS, DeviceLoadError> {
        // A library that is already mapped (linked by someone else) has read its core type already.
        let alreadyLoaded = candidates.contains { name in
            guard let handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD) else { return false }
            dlclose(handle)   // RTLD_NOLOAD still takes a reference
            return true
        }
        var source = "OpenBLAS's own detection"
        var restore: (() -> Void)?
        if let user = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }), !user.isEmpty {
            source = "OPENBLAS_CORETYPE=\(user) from the environment"
        } else if alreadyLoaded {
            source = "OpenBLAS's own detection (library was loaded before this device)"
        } else if let core = CPUFeatures.host.openBLASCoreType {
            setenv("OPENBLAS_CORETYPE", core, 1)
            // Leave the environment as the user had it once the library has read the variable.
            restore = { unsetenv("OPENBLAS_CORETYPE") }
            source = "detected from CPU flags (\(CPUFeatures.host.simdLevel))"
        }
        defer { restore?() }

        var errors: [String] = []
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                errors.append(dlerror().map { String(cString: $0) } ?? "\(name) not found")
                continue
            }
            guard let raw = dlsym(handle, "cblas_sgemm") else {
                errors.append("\(name) has no cblas_sgemm")
                dlclose(handle)
                continue
            }
            let sgemm = unsafeBitCast(raw, to: Sgemm.self)
            // Registered after dlopen, so it runs before the library's destructor (exit handlers
            // run in reverse order of registration, and _dl_fini was registered first of all).
            atexit { OpenBLAS.exitGate.close() }
            return .success(OpenBLAS(handle: handle, sgemm: sgemm, coreTypeSource: source))
        }
        let detail = errors.first ?? "no candidate library"
        return .failure(DeviceLoadError(
            description: "libopenblas.so.0 not found (\(detail)): apt-get install libopenblas-dev"))
    }
}
