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
/// `~/.cache/ddpm/opencl`. An entry file `<key>.clbin` holds an 8-byte magic, the SHA-256 of the
/// binary and the binary. Writes go to a temporary file in the same directory that is then
/// renamed over the entry, so readers never see a partial file; an entry that fails its checksum
/// or that the driver rejects is ignored and rebuilt. The cache never makes a build fail: when the
/// directory cannot be written, programs are simply built every time.
struct OpenCLProgramCache: Sendable {
    /// Bumped whenever the entry layout or the meaning of the key changes.
    static let formatVersion = "ddpm-opencl-program-cache-1"
    private static let magic: [UInt8] = Array("DDPMCLB1".utf8)

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

    /// The entry name for a program: hex SHA-256 over every input that changes the binary.
    static func key(source: String, options: String, capabilities: OpenCLCapabilities) -> String {
        var hasher = SHA256()
        for field in [formatVersion, source, options, capabilities.deviceName, capabilities.driverVersion,
                      capabilities.platformVersion] {
            hasher.updateField(field)
        }
        return SHA256.hexString(hasher.finalize())
    }

    /// The file that holds (or would hold) the entry `key`.
    func entryURL(key: String) -> URL { directory.appendingPathComponent("\(key).clbin") }

    /// What ``load(key:)`` found.
    enum Entry: Equatable {
        case missing
        /// A file exists but is truncated, has a foreign header or fails its checksum.
        case corrupt
        case binary([UInt8])
    }

    /// The binary stored under `key`, if a valid entry exists.
    func load(key: String) -> Entry {
        guard let data = FileManager.default.contents(atPath: entryURL(key: key).path) else { return .missing }
        let bytes = [UInt8](data)
        let header = Self.magic.count + 32
        guard bytes.count > header, Array(bytes[0..<Self.magic.count]) == Self.magic else { return .corrupt }
        let checksum = Array(bytes[Self.magic.count..<header])
        let binary = Array(bytes[header...])
        var hasher = SHA256()
        hasher.update(binary)
        return hasher.finalize() == checksum ? .binary(binary) : .corrupt
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
        var hasher = SHA256()
        hasher.update(binary)
        let contents = Data(Self.magic + hasher.finalize() + binary)
        let temporary = directory.appendingPathComponent(".\(key).\(getpid()).\(UInt32.random(in: .min ... .max)).tmp")
        guard manager.createFile(atPath: temporary.path, contents: contents) else { return false }
        if rename(temporary.path, entryURL(key: key).path) != 0 {
            try? manager.removeItem(at: temporary)
            return false
        }
        return true
    }
}
