// swift-tools-version:6.0
import Foundation
import PackageDescription

/// The CPU kernels are compiled for the vector extensions of the machine that builds them, as
/// `-march=native` does: on this project's machines the AVX-512 (or AVX2 + FMA) build trains
/// 10-15% faster than the portable SSE2 one, mostly in the Winograd transforms and elementwise
/// loops. `CPUTargetGuard` stops a binary carried to a processor without them with a message
/// instead of SIGILL. `DDPM_PORTABLE=1 make build SCRATCH=.build-portable` builds for any
/// x86-64 (its own build folder: SwiftPM caches the evaluated manifest per folder). The
/// instruction sets checked here must match the ones `cpu_target_guard.c` requires at run time.
let cpuKernelTuning: (swift: [String], c: [CSetting]) = {
    guard ProcessInfo.processInfo.environment["DDPM_PORTABLE"] == nil else { return ([], []) }
    #if os(Linux) && arch(x86_64)
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return ([], []) }
    let flags = Set(line.split(separator: " ").map(String.init))
    let avx2 = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "popcnt"]
    let avx512 = avx2 + ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    if avx512.allSatisfy(flags.contains) {
        return (["-target-cpu", "skylake-avx512", "-D", "DDPM_CPU_TARGET_AVX512"], [.define("DDPM_CPU_TARGET_AVX512")])
    }
    if avx2.allSatisfy(flags.contains) {
        return (["-target-cpu", "haswell"], [.define("DDPM_CPU_TARGET_AVX2")])
    }
    #endif
    return ([], [])
}()

// One module per layer; data flows top to bottom (see docs/architecture.md):
//   DDPMCLI -> Conformance -> Backends -> {CPUBackend, OpenCLBackend} -> Devices
//   Graph -> Devices (generic code never names a concrete device)
let package = Package(
    name: "ddpm",
    platforms: [.macOS(.v15)],   // Synchronization.Atomic (the OpenBLAS exit gate)
    products: [
        .executable(name: "ddpm", targets: ["DDPMCLI"]),
        // The OpenCL device as a plugin: a shared library next to the binary, loaded at run time
        // through the C interface (Sources/CDeviceAPI/include/ddpm_device.h); `ddpm` itself does
        // not link libOpenCL.
        .library(name: "ddpm-device-opencl", type: .dynamic, targets: ["OpenCLPlugin"]),
        .library(name: "Devices", targets: ["Devices"]),
        .library(name: "Backends", targets: ["Backends"]),
        .library(name: "Conformance", targets: ["Conformance"]),
        .library(name: "Graph", targets: ["Graph"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Training", targets: ["Training"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 of the OpenCL program cache's keys and entries (issue 15).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        // The C interface between ddpm and device plugins: one C99 header.
        .target(name: "CDeviceAPI"),
        .target(name: "Devices", dependencies: ["CDeviceAPI"]),
        .target(name: "CPUTargetGuard", cSettings: cpuKernelTuning.c),
        .target(name: "CPUBackend", dependencies: ["Devices", "CPUTargetGuard"],
                swiftSettings: cpuKernelTuning.swift.isEmpty ? [] : [.unsafeFlags(cpuKernelTuning.swift)]),
        .executableTarget(name: "EmbedKernels", path: "Plugins/EmbedKernelsTool"),
        .plugin(name: "EmbedKernelsPlugin", capability: .buildTool(), dependencies: ["EmbedKernels"],
                path: "Plugins/EmbedKernelsPlugin"),
        .target(name: "OpenCLBackend",
                dependencies: ["Devices", "COpenCL", .product(name: "Crypto", package: "swift-crypto")],
                plugins: ["EmbedKernelsPlugin"]),
        // The host looks up only `ddpm_device_get_api`; the plugin binds its own copy of the Swift
        // modules to itself (-Bsymbolic), so a host that also links them (the test bundle) cannot
        // interpose on its symbols.
        .target(name: "OpenCLPlugin", dependencies: ["Devices", "OpenCLBackend", "CDeviceAPI"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]),
        .target(name: "Backends", dependencies: ["Devices", "CPUBackend", "CDeviceAPI"]),
        .target(name: "Conformance", dependencies: ["Devices", "Backends", "Diffusion", "SafeTensors"]),
        .target(name: "Graph", dependencies: ["Devices"]),
        .target(name: "SafeTensors"),
        .target(name: "Distributed", dependencies: ["Graph"]),
        .target(name: "Diffusion", dependencies: ["Devices", "Graph", "SafeTensors"]),
        // Image files: libpng and libjpeg(-turbo) behind a small C shim that turns their
        // longjmp-based error handling into return codes (Swift cannot setjmp).
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .target(name: "CImageShim", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "Training",
                dependencies: ["Devices", "Backends", "Graph", "SafeTensors", "Diffusion", "CImageShim"]),
        .executableTarget(
            name: "DDPMCLI",
            dependencies: [
                "Devices", "Backends", "Conformance", "Graph", "SafeTensors", "Diffusion", "Training", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices"]),
        .testTarget(name: "CPUBackendTests", dependencies: ["Devices", "CPUBackend"]),
        .testTarget(name: "PluginTests", dependencies: ["Devices", "Backends", "CDeviceAPI", "Conformance", "DDPMCLI"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "OpenCLBackendTests", dependencies: ["Devices", "OpenCLBackend"]),
        .testTarget(name: "ConformanceTests", dependencies: ["Devices", "Backends", "Conformance"]),
        .testTarget(name: "GraphTests", dependencies: ["Devices", "Backends", "Graph"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TrainingTests",
                    dependencies: ["Devices", "Backends", "Graph", "SafeTensors", "Diffusion", "Training", "DDPMCLI"]),
        .testTarget(name: "BenchTests", dependencies: ["Devices", "Backends", "DDPMCLI"]),
        .testTarget(name: "DiffusionTests",
                    dependencies: ["Devices", "Backends", "Graph", "SafeTensors", "Diffusion", "Conformance"]),
    ],
    swiftLanguageModes: [.v5]
)
