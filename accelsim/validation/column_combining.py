"""Column combining: the worked example of issue 5, reproduced through the model.

The paper's quantitative results (utilization, accuracy and energy on its
retrained CIFAR-10 and ImageNet networks) depend on its trained and retrained
weights, which accelsim does not have, so no number from the paper is
reproduced here. What is checked is the packing rule on the hand-worked
example of the issue (four columns of five rows, three combined): the
combined column, the pruned weight and the number of packed columns, each
derived by hand in the source below.
"""
from __future__ import annotations

import numpy as np

SOURCE = ("issue 5 worked example (hand-derived from the packing rule of Kung et al., ASPLOS 2019): "
          "c1=[0,2,0,3,0], c2=[1,0,2,1,0], c3=[1,2,0,1,0], c4=[0,0,0,0,4]")

#: the example's filter matrix: rows = filters, columns c1..c4
EXAMPLE = np.array([[0, 1, 1, 0],
                    [2, 0, 2, 0],
                    [0, 2, 0, 0],
                    [3, 1, 1, 0],
                    [0, 0, 0, 4]], dtype=np.float32)


def example_result(alpha: int = 3, gamma: float = 0.2):
    """The ``column_combining`` model on the example (X = identity, so the output is the packed matrix)."""
    from ..arch import load_arch
    from ..traces import LayerTrace
    from ..workload import gemm
    lay = gemm("example", 5, 4, 4)
    lt = LayerTrace(lay, EXAMPLE.copy(), np.eye(4, dtype=np.float32))
    return load_arch("column_combining", {"alpha": alpha, "gamma": gamma, "rows": 8, "cols": 8}).simulate(lt)


def cases() -> list[dict]:
    from ..arch.column_combining import pack_columns
    res = example_result()
    pk = pack_columns(EXAMPLE, alpha=3, gamma=0.2)
    first = pk.values[:, 0]
    expected = np.array([1, 2, 2, 3, 4], dtype=np.float32)
    return [
        {"model": "column_combining", "quantity": "worked example: packed columns (alpha 3)", "published": 2.0,
         "accelsim": float(res.totals["packed_columns"]), "unit": "columns", "tolerance_pct": 0.0,
         "source": SOURCE},
        {"model": "column_combining", "quantity": "worked example: weights pruned by the conflict in row 4",
         "published": 1.0, "accelsim": float(res.totals["weights_pruned"]), "unit": "weights",
         "tolerance_pct": 0.0, "source": SOURCE},
        {"model": "column_combining", "quantity": "worked example: entries of [1,2,2,3,4] in the combined column",
         "published": 5.0, "accelsim": float(np.sum(first == expected)), "unit": "entries",
         "tolerance_pct": 0.0, "source": SOURCE},
    ]
