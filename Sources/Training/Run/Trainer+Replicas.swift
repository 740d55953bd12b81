import Foundation
import Graph

extension Trainer {
    /// Whether this process writes the run folder (checkpoints, grids, metrics, the lock): the
    /// only process of a plain run, rank 0 of a data-parallel job.
    var isWriter: Bool { (group?.rank ?? 0) == 0 }

    /// Checks that every process of the job holds the state whose ``fingerprint(_:)`` is
    /// `local`, and throws ``TrainingError/replicasDiverged(what:ranks:)`` on every process when
    /// one differs from rank 0's (all of them receive all fingerprints, so all stop together).
    func checkReplicas(_ local: UInt64, at what: String) throws {
        guard let group else { return }
        let all = try group.allGather(local)
        let differing = all.indices.filter { all[$0] != all[0] }
        guard differing.isEmpty else { throw TrainingError.replicasDiverged(what: what, ranks: differing) }
    }

    /// Whether any process was asked to stop: every process must leave the loop at the same
    /// step, or the others would wait for it in their next gather.
    func anyStopRequested(_ local: Bool) throws -> Bool {
        guard let group else { return local }
        return try group.allGather(UInt8(local ? 1 : 0)).contains(1)
    }

    /// A 64-bit fingerprint (FNV-1a over 64-bit words) of the state a checkpoint holds: the step,
    /// the weights, the EMA, the Adam moments and the device random state, in layout order.
    static func fingerprint(step: Int, model: [Float], ema: [Float], state: OptimizerState) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) { hash = (hash ^ word) &* 0x0000_0100_0000_01b3 }
        mix(UInt64(step))
        for values in [model, ema, state.m, state.v] {
            mix(UInt64(values.count))
            values.withUnsafeBufferPointer { p in
                var i = 0
                while i + 1 < p.count {
                    mix(UInt64(p[i].bitPattern) | UInt64(p[i + 1].bitPattern) << 32)
                    i += 2
                }
                if i < p.count { mix(UInt64(p[i].bitPattern)) }
            }
        }
        for w in state.randomState { mix(UInt64(w)) }
        return hash
    }
}
