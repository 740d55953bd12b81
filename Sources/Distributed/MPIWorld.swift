#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Graph

/// The processes `mpirun` started (`MPI_COMM_WORLD`), as a ``Graph/ProcessGroup``.
///
/// `ddpm` joins a world only when the launcher says it runs one: Open MPI's `mpirun` sets
/// `OMPI_COMM_WORLD_SIZE` and `OMPI_COMM_WORLD_RANK` in every process it starts. Without them
/// nothing is loaded and ``join(environment:)`` returns nil; with them a missing library is an
/// error naming it, never a silent single-process run (which would train N copies of one job).
public final class MPIWorld: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Processes of this job on this host, and this one's index among them (for thread sizing).
    public let localSize: Int
    public let localRank: Int
    let library: MPILibrary
    private var finalized = false

    /// What the launcher's environment says about the world, or nil outside `mpirun`.
    public struct Launch: Equatable, Sendable {
        public var size: Int
        public var rank: Int
        public var localSize: Int
        public var localRank: Int

        /// Reads `OMPI_COMM_WORLD_{SIZE,RANK,LOCAL_SIZE,LOCAL_RANK}`; nil when `OMPI_COMM_WORLD_SIZE` is unset.
        public init?(environment: [String: String]) throws {
            guard let sizeText = environment["OMPI_COMM_WORLD_SIZE"] else { return nil }
            func integer(_ name: String, _ text: String?) throws -> Int {
                guard let text, let value = Int(text), value >= 0 else {
                    throw DistributedError.invalidEnvironment(variable: name, value: text ?? "unset")
                }
                return value
            }
            size = try integer("OMPI_COMM_WORLD_SIZE", sizeText)
            rank = try integer("OMPI_COMM_WORLD_RANK", environment["OMPI_COMM_WORLD_RANK"])
            localSize = try integer("OMPI_COMM_WORLD_LOCAL_SIZE", environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "1")
            localRank = try integer("OMPI_COMM_WORLD_LOCAL_RANK", environment["OMPI_COMM_WORLD_LOCAL_RANK"] ?? "0")
            guard size >= 1, rank < size else {
                throw DistributedError.invalidEnvironment(variable: "OMPI_COMM_WORLD_RANK", value: "\(rank) of \(size)")
            }
        }
    }

    /// Joins the world `mpirun` started (`MPI_Init`), or returns nil outside `mpirun`.
    ///
    /// - Parameter library: the library to open (`DDPM_MPI_LIBRARY` overrides the default soname).
    public static func join(environment: [String: String]) throws -> MPIWorld? {
        guard let launch = try Launch(environment: environment) else { return nil }
        let library = try MPILibrary(name: environment["DDPM_MPI_LIBRARY"] ?? MPILibrary.defaultName)
        return try MPIWorld(library: library, launch: launch)
    }

    private init(library: MPILibrary, launch: Launch) throws {
        self.library = library
        try library.check(library.initialize(nil, nil), "MPI_Init")
        var r: Int32 = 0, s: Int32 = 0
        try library.check(library.commRank(library.commWorld, &r), "MPI_Comm_rank")
        try library.check(library.commSize(library.commWorld, &s), "MPI_Comm_size")
        guard Int(r) == launch.rank, Int(s) == launch.size else {
            throw DistributedError.worldMismatch(environment: "rank \(launch.rank) of \(launch.size)", library: "rank \(r) of \(s)")
        }
        rank = Int(r)
        size = Int(s)
        localSize = launch.localSize
        localRank = launch.localRank
    }

    public func allGather(_ local: UnsafeRawBufferPointer, into all: UnsafeMutableRawBufferPointer) throws {
        precondition(all.count == local.count * size, "allGather: \(all.count) bytes for \(size) x \(local.count)")
        guard local.count <= Int(Int32.max) else { throw DistributedError.messageTooLarge(bytes: local.count) }
        let n = Int32(local.count)
        try library.check(library.allgather(local.baseAddress, n, library.byte, all.baseAddress, n, library.byte, library.commWorld),
                          "MPI_Allgather")
    }

    /// `MPI_Allreduce` with `MPI_SUM` over floats, in place: the library's own reduction, whose
    /// grouping of the additions depends on its algorithm choice. Training never uses it (see
    /// ``Graph/ProcessGroup``); `ddpm bench` times it next to the gather for comparison.
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        guard values.count <= Int(Int32.max) else { throw DistributedError.messageTooLarge(bytes: values.count * 4) }
        // MPI_IN_PLACE is (void *) 1 in Open MPI.
        try library.check(library.allreduce(UnsafeRawPointer(bitPattern: 1), values.baseAddress, Int32(values.count), library.float,
                                            library.sum, library.commWorld), "MPI_Allreduce")
    }

    /// Ends the whole job at once (`MPI_Abort`): what a process that failed must do, so the
    /// others do not wait for it in their next gather. Does not return.
    public func abort(exitStatus: Int32) -> Never {
        _ = library.abort(library.commWorld, exitStatus)
        exit(exitStatus)
    }

    /// `MPI_Finalize`, once; after a finished run.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = library.finalize()
    }
}
