import Foundation

/// Winograd-transformed filter banks kept between launches while the weights they came from are
/// unchanged.
///
/// Sampling runs the same Unet hundreds of times with fixed weights, and transforming every 3×3
/// filter bank again each time (`(m + 2)²` floats written per 9 read, bound by memory bandwidth)
/// was ~17% of a 512-channel 4×4 convolution. A bank is keyed by the weights' region
/// (``BufferRegion``) and the transform; the device calls ``drop(buffer:)`` before any command
/// writes a buffer and when it is freed, so whatever the cache holds for a region matches its bytes.
///
/// - A bank is stored on the *second* launch that sees the weights unwritten since the first, and
///   served from the third on. A training step writes its weights between two launches, so
///   training never fills the cache; repeated inference (sampling, or several micro-batches before
///   one update) does. Banks kept while sampling during training are dropped by the next
///   optimizer step rather than staying allocated.
/// - At most ``capacity`` bytes are kept; past that, further banks are simply not stored (with a
///   pass over more banks than fit, evicting would drop every bank before its next use).
/// - Banks are reference counted: a bank in use stays valid even if it is dropped meanwhile.
final class WinogradFilterCache: @unchecked Sendable {
    /// One transformed filter bank, freed with its last reference.
    final class Bank: @unchecked Sendable {
        let floats: UnsafeMutablePointer<Float>
        let count: Int

        init(count: Int) {
            self.count = count
            floats = .allocate(capacity: Swift.max(count, 1))
        }

        deinit { floats.deallocate() }

        var byteCount: Int { count * MemoryLayout<Float>.stride }
    }

    /// Which transform of which weights: the buffer region, the bank's shape and direction.
    struct Key: Hashable {
        let buffer: UInt64
        let offset: Int
        let rows: Int
        let columns: Int
        let transposed: Bool
        let positions: Int
    }

    /// What the caller should do for one launch.
    enum Lookup {
        /// Use this bank as it is.
        case hit(Bank)
        /// Transform into this new bank, then ``insert(_:for:)`` it for later launches.
        case store(Bank)
        /// Transform into scratch memory: first sight of these weights, or the cache is full.
        case miss
    }

    /// Bytes of banks the cache may hold.
    let capacity: Int
    private let lock = NSLock()
    /// A key seen once holds nil (a sighting), then its bank.
    private var entries: [Key: Bank?] = [:]
    private var heldBytes = 0
    private var hitCount = 0
    /// Buffers with an entry (sighting or bank).
    private var buffers = Set<UInt64>()

    init(capacity: Int) { self.capacity = capacity }

    /// Bytes of banks held now.
    var byteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return heldBytes
    }

    /// Launches served from a kept bank so far.
    var hits: Int {
        lock.lock()
        defer { lock.unlock() }
        return hitCount
    }

    /// The bank for `key`, or what to do instead. `count` is the bank's size in floats.
    func lookup(_ key: Key, count: Int) -> Lookup {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = entries[key] else {
            // First sight since the weights' buffer was last written.
            entries[key] = .some(nil)
            buffers.insert(key.buffer)
            return .miss
        }
        if let bank = entry {
            hitCount += 1
            return .hit(bank)
        }
        guard heldBytes + count * MemoryLayout<Float>.stride <= capacity else { return .miss }
        return .store(Bank(count: count))
    }

    /// Keeps `bank`, now filled by the caller, for `key` (unless the weights' buffer was written
    /// meanwhile, another launch kept one first, or it no longer fits).
    func insert(_ bank: Bank, for key: Key) {
        lock.lock()
        defer { lock.unlock() }
        guard case .some(.none) = entries[key], heldBytes + bank.byteCount <= capacity else { return }
        entries[key] = bank
        heldBytes += bank.byteCount
    }

    /// Forgets every bank and sighting derived from buffer `buffer` (called before a command
    /// writes the buffer and when it is freed: for every written operand of every launch, so the
    /// common case of a buffer with nothing derived from it is one set lookup).
    func drop(buffer: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard buffers.remove(buffer) != nil else { return }
        for (key, bank) in entries where key.buffer == buffer {
            if let bank { heldBytes -= bank.byteCount }
            entries[key] = nil
        }
    }
}
