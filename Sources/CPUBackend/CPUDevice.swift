#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPUTargetGuard
import Devices
import Foundation

/// The host CPU as a ``DeviceBackend``: buffers are aligned host allocations, queues run on a worker thread.
///
/// The registry puts it behind a ``FrontEndDevice`` like every other device.
///
/// Two modes share this class: ``Mode/fast`` (registry name `cpu`: OpenBLAS and parallel loops)
/// and ``Mode/reference`` (`cpu-reference`: plain single-threaded loops accumulating in Double,
/// the oracle of the conformance suite).
public final class CPUDevice: DeviceBackend, @unchecked Sendable {
    /// Which kernel implementation the device runs.
    public enum Mode: String, Sendable {
        /// OpenBLAS sgemm, im2col convolution, loops parallel over all cores.
        case fast
        /// Obviously-correct single-threaded loops, Double accumulation, no BLAS.
        case reference

        /// The registry name of a device in this mode.
        public var registryName: String { self == .fast ? "cpu" : "cpu-reference" }
    }

    public let info: DeviceInfo
    let kernels: CPUKernelSet
    let workspaces: WorkspacePool

    /// Makes a device in `mode`; the fast mode throws ``DeviceError/unavailable(name:reason:)``
    /// when OpenBLAS cannot be loaded.
    public init(mode: Mode) throws {
        let name = mode.registryName
        let features = CPUFeatures.host
        let physical = CPUDevice.physicalMemoryBytes
        let cores = mode == .fast ? try CPUThreads.current.get().count : ProcessInfo.processInfo.activeProcessorCount
        let target = String(cString: ddpm_cpu_kernel_target())
        var properties = [DeviceInfo.Property("simd", features.simdLevel),
                          DeviceInfo.Property("kernels compiled for", target.isEmpty ? "x86-64 / generic (portable build)" : target)]
        switch mode {
        case .fast:
            let blas: OpenBLAS
            switch OpenBLAS.shared {
            case let .success(loaded): blas = loaded
            case let .failure(error): throw DeviceError.unavailable(name: name, reason: error.description)
            }
            self.kernels = CPUFast(blas: blas)
            properties += [
                .init("blas", blas.summary),
                .init("blas core source", blas.coreTypeSource),
                .init("blas config", blas.config),
                .init("threads", "\(Parallel.workers) (\(try CPUThreads.current.get().reason))"),
            ]
            self.info = DeviceInfo(
                name: name, deviceName: features.modelName.isEmpty ? "host CPU" : features.modelName,
                vendor: features.vendor.isEmpty ? "unknown" : features.vendor, kind: .cpu,
                driverVersion: "OpenBLAS \(blas.version)", platform: "host CPU (OpenBLAS + Swift loops)",
                computeUnits: cores, globalMemoryBytes: physical,
                maxAllocationBytes: CPUDevice.maxAllocation(physical: physical),
                alignment: CPUBuffer.alignment, supportsFP16: false, properties: properties)
        case .reference:
            self.kernels = CPUReference()
            properties += [
                .init("arithmetic", "single-threaded loops, sums accumulated in Double"),
                .init("blas", "none (direct loops)"),
            ]
            self.info = DeviceInfo(
                name: name, deviceName: features.modelName.isEmpty ? "host CPU" : features.modelName,
                vendor: features.vendor.isEmpty ? "unknown" : features.vendor, kind: .reference,
                driverVersion: "reference 1", platform: "host CPU (reference loops, the conformance oracle)",
                computeUnits: 1, globalMemoryBytes: physical,
                maxAllocationBytes: CPUDevice.maxAllocation(physical: physical),
                alignment: CPUBuffer.alignment, supportsFP16: false, properties: properties)
        }
        self.workspaces = WorkspacePool(deviceName: name)
    }

    public func allocateBuffer(bytes: Int) throws -> Buffer {
        guard let buffer = CPUBuffer(byteCount: bytes, deviceName: info.name) else {
            throw DeviceError.outOfMemory(device: info.name, requested: bytes)
        }
        if let cache = (kernels as? CPUFast)?.filterCache {
            buffer.onInvalidate = { [weak cache] serial in cache?.drop(buffer: serial) }
        }
        return buffer
    }

    public func makeBackendQueue() throws -> QueueBackend { CPUQueue(device: self) }

    /// Both modes implement the whole vocabulary; parameter errors are reported by `validate`.
    public func supports(_ kernel: Kernel) -> Bool { true }

    /// Installed physical memory, in bytes.
    static var physicalMemoryBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        if pages > 0, size > 0 { return pages * size }
        return Int(ProcessInfo.processInfo.physicalMemory)
    }

    /// The largest single allocation: half the physical memory, at most 16 GiB, so one runaway
    /// request fails with a clear error instead of invoking the OOM killer.
    static func maxAllocation(physical: Int) -> Int { min(physical / 2, 16 << 30) }
}
