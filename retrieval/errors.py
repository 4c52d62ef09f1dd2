"""The answer engine's errors; each message says how to fix the problem."""


class RetrievalError(Exception):
    """Base of the answer engine's errors."""


class ModelLoadError(RetrievalError):
    """The embedding model could not be loaded."""


class IndexMismatchError(RetrievalError):
    """A persisted index does not fit the model or the knowledge base it is used with."""


class ModelPreparationError(RetrievalError):
    """The default model could not be built; the message says how to fix it."""
