#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Open MPI's C library, loaded at run time with `dlopen` so that `ddpm` has no link-time MPI
/// dependency: the binary starts and trains single-process on a machine without Open MPI, and
/// only a process started by `mpirun` loads it (as the CPU device loads OpenBLAS).
///
/// Open MPI's handles (`MPI_COMM_WORLD`, `MPI_BYTE`) are macros taking the address of global
/// structures (`&ompi_mpi_comm_world`, `&ompi_mpi_byte`); `dlsym` of those globals returns
/// exactly that address, so no C shim is needed. The library is opened `RTLD_GLOBAL` because
/// Open MPI's own components (the `mca_*` plugins it `dlopen`s) resolve symbols of `libmpi`.
final class MPILibrary: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer
    typealias InitFunction = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32
    typealias CommIntFunction = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    typealias AllgatherFunction = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    typealias AllreduceFunction = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    typealias AbortFunction = @convention(c) (Handle, Int32) -> Int32
    typealias FinalizeFunction = @convention(c) () -> Int32
    typealias ErrorStringFunction = @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32

    /// The soname of Open MPI 4.x's C library (Debian's `libopenmpi3`, from `libopenmpi-dev`).
    static let defaultName = "libmpi.so.40"

    let path: String
    let initialize: InitFunction
    let commRank: CommIntFunction
    let commSize: CommIntFunction
    let allgather: AllgatherFunction
    let allreduce: AllreduceFunction
    let abort: AbortFunction
    let finalize: FinalizeFunction
    let errorString: ErrorStringFunction
    /// `MPI_COMM_WORLD`, `MPI_BYTE`, `MPI_FLOAT` and `MPI_SUM`.
    let commWorld: Handle
    let byte: Handle
    let float: Handle
    let sum: Handle

    /// Opens `name` (a soname the loader searches for, or a path) and resolves what `ddpm` calls.
    init(name: String = MPILibrary.defaultName) throws {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw DistributedError.libraryUnavailable(name: name, reason: reason)
        }
        func symbol(_ symbol: String) throws -> UnsafeMutableRawPointer {
            guard let p = dlsym(handle, symbol) else {
                throw DistributedError.libraryUnavailable(name: name, reason: "it has no symbol \(symbol) (not Open MPI 4?)")
            }
            return p
        }
        path = name
        initialize = unsafeBitCast(try symbol("MPI_Init"), to: InitFunction.self)
        commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: CommIntFunction.self)
        commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: CommIntFunction.self)
        allgather = unsafeBitCast(try symbol("MPI_Allgather"), to: AllgatherFunction.self)
        allreduce = unsafeBitCast(try symbol("MPI_Allreduce"), to: AllreduceFunction.self)
        abort = unsafeBitCast(try symbol("MPI_Abort"), to: AbortFunction.self)
        finalize = unsafeBitCast(try symbol("MPI_Finalize"), to: FinalizeFunction.self)
        errorString = unsafeBitCast(try symbol("MPI_Error_string"), to: ErrorStringFunction.self)
        commWorld = try symbol("ompi_mpi_comm_world")
        byte = try symbol("ompi_mpi_byte")
        float = try symbol("ompi_mpi_float")
        sum = try symbol("ompi_mpi_op_sum")
    }

    /// Throws ``DistributedError/callFailed(call:message:)`` for a return code other than `MPI_SUCCESS` (0).
    func check(_ code: Int32, _ call: String) throws {
        guard code != 0 else { return }
        var buffer = [CChar](repeating: 0, count: 512)  // MPI_MAX_ERROR_STRING is 256 in Open MPI
        var length: Int32 = 0
        _ = errorString(code, &buffer, &length)
        throw DistributedError.callFailed(call: call, message: "\(String(cString: buffer)) (code \(code))")
    }
}
