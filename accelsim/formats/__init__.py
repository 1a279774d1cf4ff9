"""Sparse-format encoders: one module per format family, a registry, the Encoded result.

>>> from accelsim.formats import get_format
>>> e = get_format("rle", value_bits=8, run_bits=4).encode(np.array([0, 0, 5, 0, 7]))
>>> e.value_bits, e.metadata_bits, e.total_bits
(16, 8, 24)

See docs/formats.md for every format, its parameters and the comparison tools.
"""
import numpy as np  # noqa: F401  (doctest namespace)

from . import compressed, ranks, rle, simple, strided, structured  # noqa: F401  (registration)
from .base import Encoded, Expected, Format, expected_padding, get_format, index_bits, list_formats, register

__all__ = ["Encoded", "Expected", "Format", "expected_padding", "get_format", "index_bits", "list_formats",
           "register"]
