import COpenCL
import Devices
import Foundation

/// Builds the device's programs lazily, one per kernel file, through the on-disk binary cache.
///
/// Programs belong to the device (its context) and are shared by all of its queues; the
/// `cl_kernel` objects made from them belong to each queue, because `clSetKernelArg` mutates a
/// kernel and must not race between queues.
final class OpenCLProgramLibrary: @unchecked Sendable {
    /// How often programs came from source or from the disk cache (tests check the cache is used).
    struct Statistics: Equatable {
        var builtFromSource = 0
        var loadedFromCache = 0
        /// Cache entries that existed but were rejected (corrupt, or refused by the driver) and rebuilt.
        var rejectedCacheEntries = 0
        var cacheWriteFailures = 0
    }

    private let deviceName: String
    private let device: cl_device_id
    private let context: cl_context
    private let capabilities: OpenCLCapabilities
    /// `nil` disables the disk cache.
    let cache: OpenCLProgramCache?
    private let lock = NSLock()
    private var programs: [String: cl_program] = [:]
    private var stats = Statistics()
    /// Why each rejected cache entry was rejected (one line per entry, naming the kernel file).
    private(set) var rejections: [String] = []

    init(deviceName: String, device: cl_device_id, context: cl_context, capabilities: OpenCLCapabilities,
         cache: OpenCLProgramCache?) {
        self.deviceName = deviceName
        self.device = device
        self.context = context
        self.capabilities = capabilities
        self.cache = cache
    }

    deinit {
        for program in programs.values { clReleaseProgram(program) }
    }

    var statistics: Statistics { lock.withLock { stats } }

    /// The built program of the embedded kernel file `file` (e.g. `elementwise.cl`), building it on first use.
    func program(file: String) throws -> cl_program {
        try lock.withLock {
            if let program = programs[file] { return program }
            guard let source = EmbeddedKernels.sources[file] else {
                throw DeviceError.kernelBuildFailed(
                    device: deviceName, file: file, log: "no kernel file named \(file) is embedded in this binary")
            }
            let program = try build(source: source, file: file, options: buildOptions(file: file))
            programs[file] = program
            return program
        }
    }

    /// Builds an arbitrary source string (not kept by the library; the caller releases it).
    ///
    /// For tests and tools: proves that a broken kernel surfaces as
    /// ``DeviceError/kernelBuildFailed(device:file:log:)`` with the compiler log.
    func buildUncached(source: String, file: String, options: String? = nil) throws -> cl_program {
        try lock.withLock { try build(source: source, file: file, options: options ?? buildOptions(file: file), useCache: false) }
    }

    /// The build options for `file`, all derived from device capabilities.
    ///
    /// `-cl-std` follows the device's OpenCL C version. Correctly rounded divide and sqrt are
    /// requested where the device offers them, so elementwise results track the CPU reference.
    /// `-cl-mad-enable` is left to the GEMM and convolution files, whose tolerance allows it.
    func buildOptions(file: String) -> String {
        var options = ["-cl-std=CL\(capabilities.openCLC.major).\(capabilities.openCLC.minor)"]
        if capabilities.correctlyRoundedDivideSqrt { options.append("-cl-fp32-correctly-rounded-divide-sqrt") }
        switch file {
        case OpenCLQueue.gemmFile: options += OpenCLQueue.gemmBuildOptions(capabilities)
        case OpenCLQueue.convFile: options += OpenCLQueue.convBuildOptions(capabilities)
        default: break
        }
        return options.joined(separator: " ")
    }

    // MARK: - Building

    private func build(source: String, file: String, options: String, useCache: Bool = true) throws -> cl_program {
        let key = OpenCLProgramCache.key(source: source, options: options, capabilities: capabilities)
        if useCache, let cache {
            switch cache.load(key: key) {
            case .missing:
                break
            case let .corrupt(reason):
                reject(file, "corrupt (\(reason))")
            case let .misplaced(holds):
                reject(file, "holds the program of key \(holds) (copied or swapped between entries)")
            case let .binary(binary):
                // A binary the driver refuses (e.g. written by a build it no longer accepts) is
                // rebuilt. A marker covers the driver call: if the driver dies on the binary, the
                // next run discards the entry instead of dying the same way.
                if cache.beginLoading(key: key) {
                    defer { cache.endLoading(key: key) }
                    if let program = try? fromBinary(binary, options: options) {
                        stats.loadedFromCache += 1
                        return program
                    } else {
                        reject(file, "refused by the driver")
                    }
                } else {
                    reject(file, "discarded: the driver died loading it in an earlier run")
                }
            }
        }
        let program = try fromSource(source, file: file, options: options)
        stats.builtFromSource += 1
        if useCache, let cache {
            if let binary = binary(of: program), cache.store(key: key, binary: binary) {} else {
                stats.cacheWriteFailures += 1
            }
        }
        return program
    }

    /// Counts a rejected cache entry and keeps the reason (the entry is rebuilt and overwritten).
    private func reject(_ file: String, _ reason: String) {
        stats.rejectedCacheEntries += 1
        rejections.append("\(file): cache entry \(reason); rebuilt from source")
    }

    private func fromSource(_ source: String, file: String, options: String) throws -> cl_program {
        var status: cl_int = CL_SUCCESS
        let created: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context, 1, &pointer, &length, &status)
        }
        try CLError.check(status, "clCreateProgramWithSource(\(file))", device: deviceName)
        guard let program = created else {
            throw DeviceError.backendFailure(device: deviceName, call: "clCreateProgramWithSource(\(file))",
                                             code: Int(status), message: "returned no program")
        }
        var device: cl_device_id? = self.device
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        if built != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            if built == CL_BUILD_PROGRAM_FAILURE || built == CL_INVALID_BUILD_OPTIONS || built == CL_COMPILE_PROGRAM_FAILURE {
                throw DeviceError.kernelBuildFailed(
                    device: deviceName, file: file,
                    log: "\(CLError.name(built)) with options '\(options)'\n\(log.isEmpty ? "(the compiler gave no log)" : log)")
            }
            try CLError.check(built, "clBuildProgram(\(file))", device: deviceName)
        }
        return program
    }

    private func fromBinary(_ binary: [UInt8], options: String) throws -> cl_program {
        var status: cl_int = CL_SUCCESS
        var binaryStatus: cl_int = CL_SUCCESS
        var device: cl_device_id? = self.device
        var length = binary.count
        let created: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context, 1, &device, &length, &pointer, &binaryStatus, &status)
        }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS, let program = created else {
            if let created { clReleaseProgram(created) }
            throw CLStatus(code: status != CL_SUCCESS ? status : binaryStatus, call: "clCreateProgramWithBinary")
        }
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        guard built == CL_SUCCESS else {
            clReleaseProgram(program)
            throw CLStatus(code: built, call: "clBuildProgram(binary)")
        }
        return program
    }

    private func binary(of program: cl_program) -> [UInt8]? {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil)
                == CL_SUCCESS, size > 0 else { return nil }
        var binary = [UInt8](repeating: 0, count: size)
        let status = binary.withUnsafeMutableBufferPointer { bytes -> cl_int in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        return status == CL_SUCCESS ? binary : nil
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
                == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
                == CL_SUCCESS else { return "" }
        return String(cString: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
