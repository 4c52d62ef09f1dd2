"""What is wrong with an FAQ file, and where: a file with any problem is refused whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Each entry is validated and embedded: ten thousand is far more than a support FAQ holds.
MAX_FILE_ENTRIES = 10_000


@dataclass(frozen=True)
class FileProblem:
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class FaqFileError(ValueError):
    """The file was rejected whole; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(problem) for problem in self.problems[:20])
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        super().__init__(f"the file was not imported: {shown}{more}")


def too_many_entries() -> FileProblem:
    return FileProblem("file", f"more than {MAX_FILE_ENTRIES:,} entries: split the file")
