"""Workloads: layers with their GEMM view, the YAML zoo and density profiles."""
from .layer import OPS, Layer, conv, gemm
from .zoo import Density, Workload, check_density, erk_densities, list_workloads, load_workload

__all__ = ["OPS", "Layer", "conv", "gemm", "Density", "Workload", "check_density", "erk_densities",
           "list_workloads", "load_workload"]
