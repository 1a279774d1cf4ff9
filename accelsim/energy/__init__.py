"""Energy accounting: models count actions, tables price them (Accelergy's split)."""
from .actions import ActionCounts
from .area import Inventory
from .table import EnergyTable, load_table

__all__ = ["ActionCounts", "Inventory", "EnergyTable", "load_table"]
