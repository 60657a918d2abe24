"""See inside recurrent networks: gradient flow through time, Jacobians, gate traces, experiments."""

from seqlab.diagnostics.compare_flow import CELLS, build_cell, compare_gradient_flow, gradient_flow_figure
from seqlab.diagnostics.gradient_flow import GradientFlow, gradient_flow, gradient_flow_from_engine, readout_loss
from seqlab.diagnostics.jacobians import jacobian_norms, recurrent_weight_spectra, step_jacobians

__all__ = [
    "CELLS",
    "GradientFlow",
    "build_cell",
    "compare_gradient_flow",
    "gradient_flow",
    "gradient_flow_figure",
    "gradient_flow_from_engine",
    "jacobian_norms",
    "readout_loss",
    "recurrent_weight_spectra",
    "step_jacobians",
]
