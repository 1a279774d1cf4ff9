"""Energy accounting: models count actions, tables price them (Accelergy's split)."""
from .actions import ActionCounts
from .table import EnergyTable, load_table

__all__ = ["ActionCounts", "EnergyTable", "load_table"]
