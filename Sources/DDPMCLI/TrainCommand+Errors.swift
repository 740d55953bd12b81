import ArgumentParser
import Devices
import Foundation

/// Runs a train/sample/inspect body, printing the library's errors as one `error: …` line on
/// standard error (exit status 1; 2 for device errors, as every subcommand does) instead of a
/// Swift error dump.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as DeviceError {
        printError("error: \(error)")
        throw ExitCode(2)
    } catch {
        // Dataset, image, checkpoint, configuration, graph and safetensors errors all describe
        // themselves with the file or setting at fault.
        printError("error: \(error)")
        throw ExitCode(1)
    }
}
