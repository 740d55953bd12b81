import ArgumentParser
import Foundation

/// The `ddpm` command: train and sample diffusion models on pluggable devices.
///
/// Every subcommand lives in its own file as `<Name>Command` and is listed in
/// ``configuration``'s `subcommands`; options shared by all of them are in ``GlobalOptions``.
@main
struct DDPM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddpm",
        abstract: "Denoising diffusion (DDPM/DDIM) on pluggable devices: CPU, OpenCL, ...",
        discussion: """
            Global options go before the subcommand: `ddpm --device opencl conformance`.
            Run `ddpm devices` to see the devices of this machine.
            """,
        subcommands: [DevicesCommand.self, ConformanceCommand.self, TrainCommand.self, SampleCommand.self, InpaintCommand.self, InterpolateCommand.self,
                      InspectCommand.self, BenchCommand.self])

    @OptionGroup var global: GlobalOptions

    /// A file size limit (`ulimit -f`) makes writes fail with EFBIG, reported like any write
    /// error, instead of killing the process with SIGXFSZ.
    static func main() {
        signal(SIGXFSZ, SIG_IGN)
        main(nil)
    }
}
