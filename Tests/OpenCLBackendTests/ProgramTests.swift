import Devices
import Foundation
import XCTest
@testable import OpenCLBackend

/// Program building: compiler errors, and the on-disk binary cache.
final class ProgramTests: XCTestCase {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-cache-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testBrokenKernelReportsFileAndCompilerLog() throws {
        let device = try TestDevice.shared()
        let source = "__kernel void broken(__global float* x) { x[0] = not_declared_anywhere + 1.0f; }"
        XCTAssertThrowsError(try device.programs.buildUncached(source: source, file: "broken.cl")) { error in
            guard case let .kernelBuildFailed(name, file, log) = error as? DeviceError else {
                return XCTFail("expected kernelBuildFailed, got \(error)")
            }
            XCTAssertEqual(name, device.info.name)
            XCTAssertEqual(file, "broken.cl")
            XCTAssertTrue(log.contains("not_declared_anywhere"), "the log should quote the compiler: \(log)")
            XCTAssertTrue("\(error)".contains("broken.cl"))
        }
    }

    func testUnknownKernelFileIsABuildFailure() throws {
        let device = try TestDevice.shared()
        XCTAssertThrowsError(try device.programs.program(file: "missing.cl")) { error in
            guard case let .kernelBuildFailed(_, file, _) = error as? DeviceError else {
                return XCTFail("expected kernelBuildFailed, got \(error)")
            }
            XCTAssertEqual(file, "missing.cl")
        }
    }

    func testProgramCacheIsWrittenThenReusedByASecondDevice() throws {
        let directory = try temporaryDirectory()
        let shared = try TestDevice.shared()
        let first = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try first.programs.program(file: "optim.cl")
        XCTAssertEqual(first.programs.statistics, .init(builtFromSource: 1))

        let source = try XCTUnwrap(EmbeddedKernels.sources["optim.cl"])
        let key = OpenCLProgramCache.key(source: source, options: first.programs.buildOptions(file: "optim.cl"),
                                         capabilities: first.capabilities)
        let entry = OpenCLProgramCache(directory: directory).entryURL(key: key)
        XCTAssertTrue(FileManager.default.fileExists(atPath: entry.path), "cache entry \(entry.path)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "temporary files are renamed into place")

        let second = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        let queue = try second.makeQueue()
        let ema = try queue.makeBuffer([Float](repeating: 1, count: 5))
        let param = try queue.makeBuffer([Float](repeating: 3, count: 5))
        let hyper = try queue.makeBuffer([Float(0.75)])
        try queue.launch(.emaUpdate(count: 5), [ema.slice(), param.slice(), hyper.slice()])
        XCTAssertEqual(try queue.readFloats(ema.slice(), count: 5), [Float](repeating: 1.5, count: 5))
        XCTAssertEqual(second.programs.statistics, .init(loadedFromCache: 1), "the binary came from the cache")
    }

    func testCorruptCacheEntryIsIgnoredAndRebuilt() throws {
        let directory = try temporaryDirectory()
        let shared = try TestDevice.shared()
        let first = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try first.programs.program(file: "random.cl")
        let entries = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        let entry = try XCTUnwrap(entries.first { $0.pathExtension == "clbin" })
        var bytes = try [UInt8](Data(contentsOf: entry))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: entry)

        let second = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try second.programs.program(file: "random.cl")
        XCTAssertEqual(second.programs.statistics, .init(builtFromSource: 1, rejectedCacheEntries: 1))
        guard case .binary = OpenCLProgramCache(directory: directory).load(key: entry.deletingPathExtension().lastPathComponent)
        else { return XCTFail("the rebuilt program replaced the corrupt entry") }

        try Data("DDPMCLB1".utf8).write(to: entry)
        let third = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try third.programs.program(file: "random.cl")
        XCTAssertEqual(third.programs.statistics, .init(builtFromSource: 1, rejectedCacheEntries: 1), "truncated entry")
    }

    func testSwappedCacheEntriesAreRefusedNamingTheirKeyAndRebuilt() throws {
        let directory = try temporaryDirectory()
        let shared = try TestDevice.shared()
        let first = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try first.programs.program(file: "random.cl")
        _ = try first.programs.program(file: "optim.cl")
        let cache = OpenCLProgramCache(directory: directory)
        func key(_ file: String) throws -> String {
            OpenCLProgramCache.key(source: try XCTUnwrap(EmbeddedKernels.sources[file]), options: first.programs.buildOptions(file: file),
                                   capabilities: first.capabilities)
        }
        let (random, optim) = (try key("random.cl"), try key("optim.cl"))
        // Swap the two entries: each has a valid checksum, but holds the other program.
        let a = try Data(contentsOf: cache.entryURL(key: random)), b = try Data(contentsOf: cache.entryURL(key: optim))
        try b.write(to: cache.entryURL(key: random))
        try a.write(to: cache.entryURL(key: optim))
        XCTAssertEqual(cache.load(key: random), .misplaced(holds: optim))

        let second = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try second.programs.program(file: "random.cl")
        XCTAssertEqual(second.programs.statistics, .init(builtFromSource: 1, rejectedCacheEntries: 1))
        XCTAssertEqual(second.programs.rejections,
                       ["random.cl: cache entry holds the program of key \(optim) (copied or swapped between entries); rebuilt from source"])
        guard case .binary = cache.load(key: random) else { return XCTFail("the rebuilt program replaced the swapped entry") }
    }

    func testEntryTheDriverDiedOnIsDiscardedByTheNextRun() throws {
        let directory = try temporaryDirectory()
        let shared = try TestDevice.shared()
        let first = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try first.programs.program(file: "random.cl")
        let key = OpenCLProgramCache.key(source: try XCTUnwrap(EmbeddedKernels.sources["random.cl"]),
                                         options: first.programs.buildOptions(file: "random.cl"), capabilities: first.capabilities)
        // What a process that died inside the driver while loading the entry leaves behind.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let marker = directory.appendingPathComponent("\(key).loading-\(gone.processIdentifier)")
        XCTAssertTrue(FileManager.default.createFile(atPath: marker.path, contents: nil))

        let second = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try second.programs.program(file: "random.cl")
        XCTAssertEqual(second.programs.statistics, .init(builtFromSource: 1, rejectedCacheEntries: 1))
        XCTAssertEqual(second.programs.rejections, ["random.cl: cache entry discarded: the driver died loading it in an earlier run; rebuilt from source"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path))
        let third = try FrontEndDevice.openCL(sameHardwareAs: shared, cacheDirectory: directory)
        _ = try third.programs.program(file: "random.cl")
        XCTAssertEqual(third.programs.statistics, .init(loadedFromCache: 1), "the rebuilt entry is used again")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".loading-") || $0.hasSuffix(".tmp") }
        XCTAssertEqual(left, [], "no markers or temporary files remain")
    }

    func testUnwritableCacheDirectoryDoesNotFailBuilds() throws {
        let directory = try temporaryDirectory()
        let blocker = directory.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let device = try FrontEndDevice.openCL(sameHardwareAs: try TestDevice.shared(), cacheDirectory: blocker)
        _ = try device.programs.program(file: "fill_copy.cl")
        XCTAssertEqual(device.programs.statistics, .init(builtFromSource: 1, cacheWriteFailures: 1))
    }

    func testCacheKeyCoversSourceOptionsDeviceDriverAndPlatform() throws {
        let caps = try TestDevice.shared().capabilities
        let base = OpenCLProgramCache.key(source: "s", options: "o", capabilities: caps)
        XCTAssertEqual(base.count, 64)
        XCTAssertEqual(base, OpenCLProgramCache.key(source: "s", options: "o", capabilities: caps))
        XCTAssertNotEqual(base, OpenCLProgramCache.key(source: "s2", options: "o", capabilities: caps))
        XCTAssertNotEqual(base, OpenCLProgramCache.key(source: "s", options: "o2", capabilities: caps))
        XCTAssertNotEqual(OpenCLProgramCache.key(source: "so", options: "", capabilities: caps),
                          OpenCLProgramCache.key(source: "s", options: "o", capabilities: caps), "fields are delimited")
        for change in [\OpenCLCapabilities.deviceName, \.driverVersion, \.platformVersion] {
            var other = caps
            other[keyPath: change] += "x"
            XCTAssertNotEqual(base, OpenCLProgramCache.key(source: "s", options: "o", capabilities: other))
        }
    }

    func testDefaultCacheDirectoryFollowsTheEnvironment() {
        XCTAssertEqual(OpenCLProgramCache.defaultDirectory(environment: ["DDPM_CACHE_DIR": "/a", "XDG_CACHE_HOME": "/b"]).path,
                       "/a/opencl")
        XCTAssertEqual(OpenCLProgramCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/b", "HOME": "/h"]).path,
                       "/b/ddpm/opencl")
        XCTAssertEqual(OpenCLProgramCache.defaultDirectory(environment: ["HOME": "/h"]).path, "/h/.cache/ddpm/opencl")
        XCTAssertEqual(OpenCLProgramCache.defaultDirectory(environment: ["DDPM_CACHE_DIR": "", "HOME": "/h"]).path,
                       "/h/.cache/ddpm/opencl")
    }
}
