"""How many CPU threads the model and the vector maths compute on.

One by default: idle pool threads spin on the core the bot's event loop needs, and lose most of
their gain whenever the machine is shared (README, "The whole bot"). OpenMP keeps the limit per
calling thread, so every thread that computes (the answer engine's worker included) applies it.
"""

from __future__ import annotations

import faiss
from threadpoolctl import threadpool_limits


def limit_compute_threads(threads: int) -> None:
    """Cap PyTorch, OpenBLAS / OpenMP and faiss at ``threads`` for the calling thread."""
    import torch  # imported here: the lexical and vector tests run without loading it

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    faiss.omp_set_num_threads(threads)
