"""How many CPU threads the model and the vector maths compute on.

One by default: idle pool threads spin on the core the bot's event loop needs, and lose most of
their gain whenever the machine is shared (README, "The whole bot"). OpenMP keeps the limit per
calling thread: the process's main thread applies it when the model loads, the answer engine's
worker when it starts. Eval runs and gap reports, which embed in asyncio's default threads, are
not limited yet. ONNX Runtime's threads are its session's own (retrieval.onnx_encoder).
"""

from __future__ import annotations

import sys

import faiss
from threadpoolctl import threadpool_limits


def limit_compute_threads(threads: int) -> None:
    """Cap PyTorch (when a model runs on it), OpenBLAS / OpenMP and faiss at ``threads`` for the
    calling thread."""
    # Looked up, not imported: the bundled model serves without PyTorch (~400 MB resident).
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    threadpool_limits(threads)
    faiss.omp_set_num_threads(threads)
