import COpenCL
import Devices

/// Kernel objects, argument binding and `clEnqueueNDRangeKernel`, shared by every kernel family.
extension OpenCLQueue {
    /// This queue's `cl_kernel` for `function` in the embedded file `file`, building the program on first use.
    func kernel(_ file: String, _ function: String) throws -> cl_kernel {
        let key = "\(file)/\(function)"
        if let kernel = kernels[key] { return kernel }
        let program = try openCLDevice.programs.program(file: file)
        var status: cl_int = CL_SUCCESS
        let kernel = clCreateKernel(program, function, &status)
        try CLError.check(status, "clCreateKernel(\(function))", device: deviceName)
        guard let kernel else {
            throw DeviceError.backendFailure(device: deviceName, call: "clCreateKernel(\(function))",
                                             code: Int(status), message: "returned no kernel")
        }
        kernels[key] = kernel
        return kernel
    }

    /// The largest power-of-two work-group size up to `limit` that the device and this kernel allow.
    ///
    /// Reduction kernels tree-reduce in local memory and so need a power of two; the choice depends
    /// only on the device, which keeps every reduction's summation order fixed for a device.
    func localSize(_ file: String, _ function: String, limit: Int = 256) throws -> Int {
        let key = "\(file)/\(function)/\(limit)"
        if let size = localSizes[key] { return size }
        let kernel = try self.kernel(file, function)
        var kernelLimit = 0
        let status = clGetKernelWorkGroupInfo(kernel, openCLDevice.handle.device,
                                              cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                              MemoryLayout<Int>.size, &kernelLimit, nil)
        try CLError.check(status, "clGetKernelWorkGroupInfo(\(function))", device: deviceName)
        let bound = max(1, min(limit, openCLDevice.capabilities.maxWorkGroupSize, kernelLimit))
        var size = 1
        while size * 2 <= bound { size *= 2 }
        localSizes[key] = size
        return size
    }

    /// Binds arguments and enqueues `function` of `file` over `global` work items.
    ///
    /// `global` is rounded up to a multiple of `local` (kernels bounds-check their ids); a launch
    /// with an empty global range enqueues nothing. While profiling, the kernel's event is kept and
    /// its duration added to `family`.
    func dispatch(_ file: String, _ function: String, family: String, global: [Int], local: [Int]? = nil,
                  _ bind: (inout KernelArguments) throws -> Void) throws {
        if global.contains(0) { return }
        let kernel = try self.kernel(file, function)
        var arguments = KernelArguments(kernel: kernel, queue: self, function: function)
        try bind(&arguments)
        var globalSize = global
        // CPU drivers get a work-group shape from us when the kernel does not need one (see
        // `dividingGroup`); other drivers choose their own.
        let local = local ?? (openCLDevice.capabilities.kind == .cpu ? dividingGroup(global) : nil)
        var localSize = local ?? []
        if let local {
            for i in globalSize.indices { globalSize[i] = (globalSize[i] + local[i] - 1) / local[i] * local[i] }
        }
        var event: cl_event?
        let profiling = isProfiling
        let status = globalSize.withUnsafeBufferPointer { globalPointer in
            localSize.withUnsafeMutableBufferPointer { localPointer in
                withUnsafeMutablePointer(to: &event) { eventPointer in
                    clEnqueueNDRangeKernel(commandQueue, kernel, cl_uint(globalSize.count), nil,
                                           globalPointer.baseAddress, local == nil ? nil : localPointer.baseAddress,
                                           0, nil, profiling ? eventPointer : nil)
                }
            }
        }
        try CLError.check(status, "clEnqueueNDRangeKernel(\(function))", device: deviceName)
        if let event { profile(event) }
    }
}

extension OpenCLQueue {
    /// Work-items a CPU driver's work group should hold at most: enough to amortise the per-group
    /// cost, few enough that a launch has several groups per core.
    static let groupItems = 256
    /// Work groups per compute unit a launch should have when its range is large enough.
    static let groupsPerUnit = 8

    /// A work-group shape for `global` on a CPU driver: per dimension (first dimension first) the
    /// largest divisor of its extent within what is left of a budget of `groupItems` items, the
    /// budget shrunk so that the launch has `groupsPerUnit` groups per compute unit where it can.
    ///
    /// Left to choose, PoCL 3.1 (2-core AVX2) ran small ranges far slower: a float8 increment of
    /// 4,096 floats (512 items) took 24 µs against 2.5 µs in groups of 64, and one float per item
    /// over 2^20 floats 1.1 ms against 0.78 ms in groups of 256. The shape divides the range
    /// exactly, so no item is added: kernels need not bounds-check for it. Cached per range.
    func dividingGroup(_ global: [Int]) -> [Int] {
        if let shape = dividingGroups[global] { return shape }
        let items = global.reduce(1, *)
        let units = max(1, openCLDevice.capabilities.computeUnits)
        var budget = max(1, min(Self.groupItems, items / (units * Self.groupsPerUnit)))
        var shape: [Int] = []
        for extent in global {
            var size = min(budget, extent)
            while size > 1, extent % size != 0 { size -= 1 }
            shape.append(max(1, size))
            budget = max(1, budget / max(1, size))
        }
        dividingGroups[global] = shape
        return shape
    }
}

/// Sets a kernel's arguments in order, following the ABI of `Kernels/*.cl`.
///
/// A tensor is two arguments, `(__global T* base, ulong offset)`, the offset in elements (the
/// slice's byte offset / 4). Sizes are 32-bit `int`; shapes and strides of up to rank 6 are one
/// `int8` each (lanes 6 and 7 unused).
struct KernelArguments {
    let kernel: cl_kernel
    let queue: OpenCLQueue
    let function: String
    private(set) var index: cl_uint = 0

    init(kernel: cl_kernel, queue: OpenCLQueue, function: String) {
        self.kernel = kernel
        self.queue = queue
        self.function = function
    }

    /// A tensor operand: its `cl_mem` and its element offset.
    mutating func tensor(_ slice: BufferSlice) throws {
        let buffer = try queue.ownBuffer(slice, role: "an operand", operation: function)
        try memory(buffer.memory, elementOffset: slice.offset / 4)
    }

    /// A tensor in raw device memory (queue scratch), or a null pointer for an unused operand.
    mutating func memory(_ memory: cl_mem?, elementOffset: Int) throws {
        try set(memory)
        try set(cl_ulong(elementOffset))
    }

    mutating func int(_ value: Int) throws {
        guard let narrow = Int32(exactly: value) else {
            throw DeviceError.invalidOperands(kernel: function, reason: "value \(value) does not fit a 32-bit int argument")
        }
        try set(narrow)
    }

    mutating func int(_ value: Bool) throws { try int(value ? 1 : 0) }

    mutating func uint(_ value: UInt32) throws { try set(value) }

    mutating func float(_ value: Float) throws { try set(value) }

    /// Up to six ints as one `int8` (unused lanes zero).
    mutating func int8(_ values: [Int]) throws {
        precondition(values.count <= 8, "int8 holds at most 8 lanes")
        var lanes = [Int32](repeating: 0, count: 8)
        for (i, value) in values.enumerated() {
            guard let narrow = Int32(exactly: value) else {
                throw DeviceError.invalidOperands(kernel: function, reason: "value \(value) does not fit a 32-bit int argument")
            }
            lanes[i] = narrow
        }
        let status = lanes.withUnsafeBytes { clSetKernelArg(kernel, index, 32, $0.baseAddress) }
        try CLError.check(status, "clSetKernelArg(\(function), \(index))", device: queue.deviceName)
        index += 1
    }

    /// A `__local float*` argument of `count` floats.
    mutating func localFloats(_ count: Int) throws {
        let status = clSetKernelArg(kernel, index, count * 4, nil)
        try CLError.check(status, "clSetKernelArg(\(function), \(index))", device: queue.deviceName)
        index += 1
    }

    /// Sets the next argument to the bytes of `value` (a plain value: handle, integer or float).
    private mutating func set<T>(_ value: T) throws {
        let status = withUnsafeBytes(of: value) { clSetKernelArg(kernel, index, $0.count, $0.baseAddress) }
        try CLError.check(status, "clSetKernelArg(\(function), \(index))", device: queue.deviceName)
        index += 1
    }
}

/// A kernel tensor argument: a caller's slice, or queue scratch memory at an element offset.
enum DeviceTensor {
    case slice(BufferSlice)
    case scratch(cl_mem, elementOffset: Int = 0)
}

extension KernelArguments {
    mutating func bind(_ tensor: DeviceTensor) throws {
        switch tensor {
        case let .slice(slice): try self.tensor(slice)
        case let .scratch(handle, offset): try memory(handle, elementOffset: offset)
        }
    }
}
