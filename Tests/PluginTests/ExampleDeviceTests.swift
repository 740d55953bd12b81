import Conformance
@testable import Devices
import Foundation
import XCTest
@testable import Backends

/// `examples/device-plugin`: the plain-C template plugin passes the conformance suite for what it
/// implements (fill, copy, elementwise, gemm) and reports everything else as unsupported.
final class ExampleDeviceTests: XCTestCase {
    static let source = PluginLoadingTests.root.appendingPathComponent("examples/device-plugin/example_device.c").path

    /// Builds the example with the flags of its Makefile.
    static func build() throws -> String {
        let file = PluginLoadingTests.directory.appendingPathComponent("libddpm-device-example.so").path
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC",
                              "-I", PluginLoadingTests.header, "-o", file, source, "-lm"]
        try compiler.run()
        compiler.waitUntilExit()
        XCTAssertEqual(compiler.terminationStatus, 0, "building \(source)")
        return file
    }

    func testExampleDevicePassesWhatItSupports() throws {
        let library = try PluginLibrary(path: try Self.build())
        XCTAssertEqual(library.devices.map(\.name), ["example"])
        let device = FrontEndDevice(try PluginDevice(library: library, index: 0))
        let oracle = try DeviceRegistry.device(named: DeviceRegistry.oracleDeviceName)
        var lines: [String] = []
        let result = try ConformanceSuite(device: device, oracle: oracle,
                                          options: ConformanceOptions(mode: .test, includeHeavy: false),
                                          output: { lines.append($0) }).run()
        XCTAssertEqual(result.failed, 0, result.failures.map(\.line).joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(result.passed, 280, result.summaryLine)
        XCTAssertGreaterThanOrEqual(result.skipped, 150, "convolutions, norms, reductions ... are unsupported, not failed")
        // What it implements it runs; what it does not, the front end refuses by name.
        XCTAssertTrue(device.supports(.gemm(Gemm(m: 2, n: 2, k: 2))))
        XCTAssertFalse(device.supports(.conv2d(Conv2d(batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3, kernel: 3))))
    }
}

/// A partial device trains and samples with the CPU as its fallback (``FallbackDevice``).
final class FallbackDeviceTests: XCTestCase {
    static let example: Device = {
        let library = try! PluginLibrary(path: try! ExampleDeviceTests.build())
        return FrontEndDevice(try! PluginDevice(library: library, index: 0))
    }()

    func partial() throws -> FallbackDevice {
        FallbackDevice(primary: Self.example, fallback: try DeviceRegistry.device(named: "cpu"))
    }

    func testByteRanges() {
        var r = ByteRanges()
        r.insert(10..<20)
        r.insert(30..<40)
        r.insert(20..<25)
        XCTAssertEqual(r.ranges, [10..<25, 30..<40])
        r.remove(12..<32)
        XCTAssertEqual(r.ranges, [10..<12, 32..<40])
        XCTAssertEqual(r.intersection(0..<34), [10..<12, 32..<34])
        r.insert(0..<100)
        XCTAssertEqual(r.ranges, [0..<100])
        r.remove(0..<100)
        XCTAssertTrue(r.isEmpty)
    }

    func testGemmOnTheDeviceConvolutionOnTheCPUDataMovedOnlyWhereNeeded() throws {
        let device = try partial()
        let queue = try device.makeQueue()
        let conv = Conv2d(batch: 1, inChannels: 2, outChannels: 2, height: 4, width: 4, kernel: 3)
        let x = try queue.makeBuffer((0..<32).map { Float($0 % 7) / 7 })
        let w = try queue.makeBuffer((0..<36).map { Float($0 % 5) / 5 - 0.4 })
        let bias = try queue.makeBuffer([Float(0.5), -0.5])
        let y = try device.allocate(bytes: 32 * 4)
        let z = try device.allocate(bytes: 32 * 4)
        // z = 2 * y (as a 1x32 by 32x32 identity-scaled gemm would be heavy; a [2,16] x [16,16]-free form):
        let gemm = Gemm(m: 2, n: 16, k: 2)   // z[2,16] = A[2,2] * y[2,16]
        let a = try queue.makeBuffer([Float(2), 0, 0, 2])
        try queue.launch(.conv2d(conv), [x.slice(), w.slice(), y.slice(), bias.slice()])       // on the CPU
        try queue.launch(.gemm(gemm), [a.slice(), y.slice(), z.slice()])                       // on the example device
        try queue.launch(.unary(.silu, count: 32), [z.slice(), z.slice()])                     // on the example device
        let got = try queue.readFloats(z.slice(), count: 32)

        let cpu = try DeviceRegistry.device(named: "cpu-reference")
        let q = try cpu.makeQueue()
        let (cx, cw, cb) = (try q.makeBuffer((0..<32).map { Float($0 % 7) / 7 }),
                            try q.makeBuffer((0..<36).map { Float($0 % 5) / 5 - 0.4 }), try q.makeBuffer([Float(0.5), -0.5]))
        let (cy, cz, ca) = (try cpu.allocate(bytes: 128), try cpu.allocate(bytes: 128), try q.makeBuffer([Float(2), 0, 0, 2]))
        try q.launch(.conv2d(conv), [cx.slice(), cw.slice(), cy.slice(), cb.slice()])
        try q.launch(.gemm(gemm), [ca.slice(), cy.slice(), cz.slice()])
        try q.launch(.unary(.silu, count: 32), [cz.slice(), cz.slice()])
        let want = try q.readFloats(cz.slice(), count: 32)
        for (g, e) in zip(got, want) { XCTAssertEqual(g, e, accuracy: 1e-5) }

        let c = queue.counters
        XCTAssertEqual(c.fallbackLaunchesPerFamily, ["conv2d": 1], "only the convolution ran on the CPU")
        XCTAssertEqual(c.kernelsLaunched, 3)
        // x, w, bias went to the CPU once (128 + 144 + 8 bytes); y came back once (128 bytes).
        XCTAssertEqual(c.bytesToFallback, 128 + 144 + 8)
        XCTAssertEqual(c.bytesFromFallback, 128)
        // A second round moves only what changed: nothing goes to the CPU again (x, w, bias are current there).
        try queue.launch(.conv2d(conv), [x.slice(), w.slice(), y.slice(), bias.slice()])
        try queue.synchronize()
        XCTAssertEqual(queue.counters.bytesToFallback, 128 + 144 + 8)
    }

    /// Two operands of one launch read overlapping, partly stale ranges of one buffer: every
    /// stale byte of their union crosses (a range that overlapped one already planned used to be
    /// dropped whole, and the device read stale bytes: the cfg-gray golden case caught it).
    func testOverlappingReadsOfAStaleBufferAllCross() throws {
        let device = try partial()
        let queue = try device.makeQueue()
        let rows = Reduction(outer: 4, extent: 16, inner: 1)
        let x = try queue.makeBuffer((0..<64).map { Float($0 % 9) / 3 - 1 })
        let s = try device.allocate(bytes: 64 * 4)
        let out = try device.allocate(bytes: 48 * 4)
        try queue.launch(.softmax(rows), [x.slice(), s.slice()])                                   // on the CPU
        try queue.launch(.binary(.add, .dense(48)), [s.slice(), s.slice(offset: 16 * 4), out.slice()])  // on the device
        let got = try queue.readFloats(out.slice(), count: 48)
        XCTAssertEqual(queue.counters.fallbackLaunchesPerFamily, ["softmax": 1])

        let cpu = try DeviceRegistry.device(named: "cpu-reference")
        let q = try cpu.makeQueue()
        let (cx, cs) = (try q.makeBuffer((0..<64).map { Float($0 % 9) / 3 - 1 }), try cpu.allocate(bytes: 64 * 4))
        try q.launch(.softmax(rows), [cx.slice(), cs.slice()])
        let want = try q.readFloats(cs.slice(), count: 64)
        for i in 0..<48 { XCTAssertEqual(got[i], want[i] + want[i + 16], accuracy: 1e-6, "element \(i)") }
    }

    /// A GEMM on the device writes a strided view (`ldc > n`): the elements between its rows keep
    /// what the CPU wrote there, on whichever side reads them next.
    func testAStridedWriteKeepsTheGapsItDoesNotWrite() throws {
        let device = try partial()
        let queue = try device.makeQueue()
        let rows = Reduction(outer: 2, extent: 16, inner: 1)
        let x = try queue.makeBuffer((0..<32).map { Float($0 % 5) / 2 })
        let c = try device.allocate(bytes: 32 * 4)
        let a = try queue.makeBuffer([Float(1), 2, 3, 4])
        let b = try queue.makeBuffer((0..<16).map { Float($0) / 8 })
        try queue.launch(.softmax(rows), [x.slice(), c.slice()])                                 // CPU writes all 32
        let gemm = Gemm(m: 2, n: 8, k: 2, ldc: 16)                                                 // C[2, 8] in rows of 16
        XCTAssertTrue(gemm.ldc == 16 && Kernel.gemm(gemm).operands[2].hasGaps)
        try queue.launch(.gemm(gemm), [a.slice(), b.slice(), c.slice()])                          // device writes 16 of them
        let y = try device.allocate(bytes: 32 * 4)
        try queue.launch(.softmax(rows), [c.slice(), y.slice()])                                 // CPU reads all 32
        let got = try queue.readFloats(c.slice(), count: 32)

        let cpu = try DeviceRegistry.device(named: "cpu-reference")
        let q = try cpu.makeQueue()
        let (cx, cc) = (try q.makeBuffer((0..<32).map { Float($0 % 5) / 2 }), try cpu.allocate(bytes: 32 * 4))
        try q.launch(.softmax(rows), [cx.slice(), cc.slice()])
        try q.launch(.gemm(gemm), [try q.makeBuffer([Float(1), 2, 3, 4]).slice(),
                                   try q.makeBuffer((0..<16).map { Float($0) / 8 }).slice(), cc.slice()])
        let want = try q.readFloats(cc.slice(), count: 32)
        for i in 0..<32 { XCTAssertEqual(got[i], want[i], accuracy: 1e-6, "element \(i)") }
    }

    func testGoldenCasesPassOnThePartialDevice() throws {
        let directory = PluginLoadingTests.root.appendingPathComponent("Tests/Fixtures/golden").path
        var lines: [String] = []
        let summary = try GoldenRunner.run(directory: directory, device: try partial()) { lines.append($0) }
        XCTAssertEqual(summary.failedCount, 0, lines.joined(separator: "\n"))
        XCTAssertEqual(summary.passedCount, 4, lines.joined(separator: "\n"))
    }
}
