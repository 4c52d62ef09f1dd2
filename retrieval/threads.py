"""How many CPU threads the model and the vector maths compute on.

One by default: idle pool threads spin on the core the bot's event loop needs, and lose most of
their gain whenever the machine is shared (README, "The whole bot"). OpenMP keeps the limit per
calling thread: the process's main thread applies it when the model loads, the answer engine's
worker when it starts. Eval runs and gap reports, which embed in asyncio's default threads, are
not limited yet.
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
