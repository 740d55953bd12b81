import ArgumentParser
import Diffusion
import Training

/// `--sampler NAME`: parsed straight into the sampler kind, so an unknown name is refused with
/// the list of known ones before anything is read.
extension SamplerKind: ExpressibleByArgument {}

/// `--timestep-spacing NAME` of DPM-Solver++.
extension DPMSolverSampler.Spacing: ExpressibleByArgument {}

/// `--resampling NAME` of RePaint.
extension RePaintSampler.Resampling: ExpressibleByArgument {}

/// `--mask-keeps white|black`.
extension EditInputs.MaskKeeps: ExpressibleByArgument {}
