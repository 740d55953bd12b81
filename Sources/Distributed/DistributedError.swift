/// Why a data-parallel job could not start or went on no further.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// The process was started by `mpirun` but Open MPI's library cannot be loaded.
    case libraryUnavailable(name: String, reason: String)
    /// The launcher's environment is malformed (e.g. `OMPI_COMM_WORLD_RANK=x`).
    case invalidEnvironment(variable: String, value: String)
    /// The library's view of the world disagrees with the launcher's environment.
    case worldMismatch(environment: String, library: String)
    /// An MPI call returned an error.
    case callFailed(call: String, message: String)
    /// A contribution too large for one MPI call (its counts are 32-bit).
    case messageTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case let .libraryUnavailable(name, reason):
            return "started by mpirun (OMPI_COMM_WORLD_SIZE is set) but Open MPI's library \(name) cannot be loaded: \(reason); "
                + "install Open MPI (Debian: libopenmpi-dev openmpi-bin) or run ddpm without mpirun"
        case let .invalidEnvironment(variable, value):
            return "\(variable) is '\(value)', expected a non-negative integer (set by mpirun)"
        case let .worldMismatch(environment, library):
            return "the launcher's environment describes \(environment) but MPI reports \(library)"
        case let .callFailed(call, message):
            return "\(call) failed: \(message)"
        case let .messageTooLarge(bytes):
            return "one process's contribution is \(bytes) bytes, more than one MPI call can move (2^31 - 1)"
        }
    }
}
