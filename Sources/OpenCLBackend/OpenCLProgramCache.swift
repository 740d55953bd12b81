import Crypto
import Foundation

/// The on-disk cache of built OpenCL program binaries.
///
/// Building a program is slow (PoCL runs LLVM; GPU drivers run their own compilers), so a built
/// binary is kept on disk and reused by later processes. An entry is named by
/// ``key(source:options:capabilities:)``: the SHA-256 of the cache format version, the kernel
/// source, the build options, and the device name, driver version and platform version, so any
/// change to one of them misses the cache instead of loading a stale binary.
///
/// Directory, first that is set: `$DDPM_CACHE_DIR/opencl`, `$XDG_CACHE_HOME/ddpm/opencl`,
/// `~/.cache/ddpm/opencl`. An entry file `<key>.clbin` holds an 8-byte magic, the 64-character
/// key it was stored under, the SHA-256 of key and binary, and the binary. An entry is used only
/// when it is a regular file of at most ``maxEntryBytes``, its magic and checksum hold, and the key
/// inside is its own (an entry copied or swapped under another name is refused, with the key it
/// belongs to in ``Entry/misplaced(holds:)``). A process about to hand a cached binary to the
/// driver leaves a marker `<key>.loading-<pid>` until the driver has accepted it; a marker left by
/// a process that is gone means the driver died on that binary, so the entry is discarded and
/// rebuilt instead of crashing every later run. Writes go to a temporary file that is renamed over
/// the entry; temporary files and markers of dead processes are removed. The cache never makes a
/// build fail: when the directory cannot be written, programs are simply built every time.
struct OpenCLProgramCache: Sendable {
    /// Bumped whenever the entry layout or the meaning of the key changes.
    static let formatVersion = "ddpm-opencl-program-cache-2"
    private static let magic: [UInt8] = Array("DDPMCLB2".utf8)
    /// The largest entry read (program binaries are a few MiB at most).
    static let maxEntryBytes = 256 << 20

    let directory: URL

    /// The cache directory the environment selects (see the type's documentation).
    static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let root = environment["DDPM_CACHE_DIR"], !root.isEmpty {
            return URL(fileURLWithPath: root).appendingPathComponent("opencl")
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("ddpm/opencl")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/ddpm/opencl")
    }

    /// The entry name for a program: hex SHA-256 over every input that changes the binary, each
    /// field preceded by its length so that fields cannot run into each other.
    static func key(source: String, options: String, capabilities: OpenCLCapabilities) -> String {
        var hasher = SHA256()
        for field in [formatVersion, source, options, capabilities.deviceName, capabilities.driverVersion,
                      capabilities.platformVersion] {
            let bytes = Array(field.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        return hex(hasher.finalize())
    }

    /// Lowercase hex of a digest.
    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The file that holds (or would hold) the entry `key`.
    func entryURL(key: String) -> URL { directory.appendingPathComponent("\(key).clbin") }

    /// What ``load(key:)`` found.
    enum Entry: Equatable {
        case missing
        /// A file exists but is not a regular file, too large, truncated, has a foreign header or
        /// fails its checksum.
        case corrupt(reason: String)
        /// A whole entry that belongs to another key (copied or swapped between names).
        case misplaced(holds: String)
        case binary([UInt8])
    }

    /// The binary stored under `key`, if a valid entry exists.
    func load(key: String) -> Entry {
        let path = entryURL(key: key).path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return .missing }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { return .corrupt(reason: "not a regular file") }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= Self.maxEntryBytes else { return .corrupt(reason: "\(size) bytes, more than the \(Self.maxEntryBytes)-byte limit") }
        guard let data = FileManager.default.contents(atPath: path) else { return .corrupt(reason: "unreadable") }
        let bytes = [UInt8](data)
        let keyEnd = Self.magic.count + 64, header = keyEnd + 32
        guard bytes.count > header, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            return .corrupt(reason: "truncated or not a cache entry")
        }
        let storedKey = String(decoding: bytes[Self.magic.count..<keyEnd], as: UTF8.self)
        let checksum = Array(bytes[keyEnd..<header])
        let binary = Array(bytes[header...])
        guard Self.checksum(key: storedKey, binary: binary) == checksum else { return .corrupt(reason: "checksum mismatch") }
        guard storedKey == key else { return .misplaced(holds: storedKey) }
        return .binary(binary)
    }

    static func checksum(key: String, binary: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(key.utf8))
        hasher.update(data: binary)
        return Array(hasher.finalize())
    }

    /// Stores `binary` under `key` atomically (temporary file, then rename). Returns whether it worked.
    @discardableResult
    func store(key: String, binary: [UInt8]) -> Bool {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            return false
        }
        removeLeftovers()
        let contents = Data(Self.magic + Array(key.utf8) + Self.checksum(key: key, binary: binary) + binary)
        let temporary = directory.appendingPathComponent(".\(key).\(getpid()).\(UInt32.random(in: .min ... .max)).tmp")
        do { try contents.write(to: temporary) } catch {
            try? manager.removeItem(at: temporary)
            return false
        }
        if rename(temporary.path, entryURL(key: key).path) != 0 {
            try? manager.removeItem(at: temporary)
            return false
        }
        return true
    }

    // MARK: - Loading markers

    private func markerURL(key: String, pid: Int32) -> URL { directory.appendingPathComponent("\(key).loading-\(pid)") }

    /// Marks `key` as being loaded by this process. Returns false, after removing the entry, when
    /// a marker of a process that is gone shows that the driver died on this entry before.
    func beginLoading(key: String) -> Bool {
        var poisoned = false
        for (pid, url) in markers(of: key) where !Self.isAlive(pid) {
            try? FileManager.default.removeItem(at: url)
            poisoned = true
        }
        if poisoned {
            try? FileManager.default.removeItem(at: entryURL(key: key))
            return false
        }
        FileManager.default.createFile(atPath: markerURL(key: key, pid: getpid()).path, contents: nil)
        return true
    }

    /// The driver accepted (or refused, without dying) the entry `key`.
    func endLoading(key: String) {
        try? FileManager.default.removeItem(at: markerURL(key: key, pid: getpid()))
    }

    private func markers(of key: String) -> [(Int32, URL)] {
        let prefix = "\(key).loading-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)) else { return nil }
            return (pid, directory.appendingPathComponent(name))
        }
    }

    /// Removes temporary files (`.<key>.<pid>.<n>.tmp`) of writers that are gone.
    func removeLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let parts = name.split(separator: ".")
            guard parts.count == 4, let pid = Int32(parts[1]), !Self.isAlive(pid) else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Whether a process `pid` exists (EPERM: it exists but belongs to someone else).
    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }
}
