"""Sparse-format encoders: one module per format family, a registry, the Encoded result.

>>> from accelsim.formats import get_format
>>> e = get_format("rle", value_bits=8, run_bits=4).encode(np.array([0, 0, 5, 0, 7]))
"""
import numpy as np  # noqa: F401  (doctest namespace)

from . import compressed, rle, simple, structured  # noqa: F401  (registration)
from .base import Encoded, Format, get_format, index_bits, list_formats, register

__all__ = ["Encoded", "Format", "get_format", "index_bits", "list_formats", "register"]
