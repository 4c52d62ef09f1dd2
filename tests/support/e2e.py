"""What the end-to-end tests and the bot benchmarks share: the FAQ they import, the environment of
a `firstline run` process pointed at the fake Bot API, and the running process's handles."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import (
    BUNDLED_MODELS_DIR,
    FIRSTLINE,
    ROOT,
    free_port,
    start_firstline,
    stop_firstline,
)

MARKUP_ANSWER = (
    "Тариф *Семья*: 5 экранов, a < b & c > d, `код_1`, [сайт](https://example.com/?a=1&b=2)."
)
LONG_ANSWER = "\n\n".join(f"{n}. " + "Очень подробный шаг инструкции. " * 40 for n in range(1, 8))


@dataclass
class Running:
    telegram: FakeBotApi
    port: int
    database: Path
    faq: dict[str, dict[str, Any]]

    def rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(query, args).fetchall()


def faq_file(directory: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    demo = json.loads((ROOT / "knowledge_base" / "demo" / "demo_faq.json").read_text("utf-8"))
    entries = list(demo["faq"] if isinstance(demo, dict) else demo)
    entries += [
        {
            "key": "family-plan",
            "question": "Что входит в семейный тариф Семья?",
            "alt_questions": ["семейный тариф сколько экранов"],
            "answer": MARKUP_ANSWER,
        },
        {
            "key": "tv-setup-guide",
            "question": "Подробная инструкция по настройке телевизора LG",
            "alt_questions": ["как настроить телевизор LG по шагам"],
            "answer": LONG_ANSWER,
        },
    ]
    path = directory / "faq.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
    return path, {entry["key"]: entry for entry in entries}


def start_e2e_faq_import(workdir: Path) -> subprocess.Popen[bytes]:
    """Start importing the end-to-end FAQ with `firstline kb import` into ``workdir/data``."""
    faq_path, _ = faq_file(workdir)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIRSTLINE_")},
        "FIRSTLINE_DATA_DIR": str(workdir / "data"),
        "FIRSTLINE_MODELS_DIR": str(BUNDLED_MODELS_DIR),
    }
    with (workdir / "import.log").open("w") as log:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [FIRSTLINE, "kb", "import", str(faq_path)], env=env, stdout=log, stderr=log
        )


def firstline_environment(
    data_dir: Path, telegram: FakeBotApi, port: int, **extra: str
) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIRSTLINE_")},
        "FIRSTLINE_DATA_DIR": str(data_dir),
        "FIRSTLINE_MODELS_DIR": str(BUNDLED_MODELS_DIR),
        "FIRSTLINE_API_PORT": str(port),
        "FIRSTLINE_TELEGRAM_TOKEN": telegram.token,
        "FIRSTLINE_TELEGRAM_API_URL": telegram.url,
        **extra,
    }


def bot_ready(status: dict[str, Any]) -> bool:
    return status.get("bot") == "ok"


@contextmanager
def running_firstline(
    workdir: Path, imported_faq: Path
) -> Iterator[tuple[Running, dict[str, str]]]:
    """`firstline run` on a copy of the imported end-to-end FAQ, polling a fake Bot API, with its
    environment; when it stops, its log must hold no traceback."""
    _, faq = faq_file(workdir)
    shutil.copytree(imported_faq, workdir / "data")
    with FakeBotApi() as telegram:
        port = free_port()
        env = firstline_environment(workdir / "data", telegram, port)
        process = start_firstline(env, port, ready=bot_ready, log=workdir / "firstline.log")
        try:
            yield Running(telegram, port, workdir / "data" / "firstline.sqlite3", faq), env
        finally:
            stop_firstline(process)
        log = (workdir / "firstline.log").read_text()
        assert "Traceback" not in log, log[-3000:]
