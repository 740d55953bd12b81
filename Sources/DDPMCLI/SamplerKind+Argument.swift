import ArgumentParser
import Diffusion

/// `--sampler NAME`: parsed straight into the sampler kind, so an unknown name is refused with
/// the list of known ones before anything is read.
extension SamplerKind: ExpressibleByArgument {}

/// `--timestep-spacing NAME` of DPM-Solver++.
extension DPMSolverSampler.Spacing: ExpressibleByArgument {}
