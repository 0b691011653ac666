# The compiled kernels (stencilgen/_native.c); each has a numpy twin that gives the same results.
import numpy as np

def near_pairs(px: np.ndarray, py: np.ndarray, k: int, reach: float, start: float, nn: np.ndarray) -> bytes: ...
