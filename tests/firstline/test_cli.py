"""The `firstline` command line, run as a user runs it, with a tiny model built in the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tiny_model import HIDDEN, build_tiny_model

FIRSTLINE = str(Path(sys.executable).parent / "firstline")
FAQ = [
    {
        "key": "refund",
        "question": "how do i get my money back",
        "answer": "Refunds take 3-10 days.",
        "alt_questions": ["refund please"],
    },
    {
        "key": "password",
        "question": "i forgot my password",
        "answer": "Press *Forgot password*.",
        "tags": ["account"],
    },
    {"key": "cancel", "question": "how do i cancel my plan", "answer": "Profile → Plan → Cancel."},
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    words = " ".join(
        entry["question"] + " " + " ".join(entry.get("alt_questions", [])) for entry in FAQ
    ).split()
    return build_tiny_model(tmp_path_factory.mktemp("model"), words)


def firstline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FIRSTLINE, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def env(tmp_path: Path, tiny_model: Path) -> dict[str, str]:
    return {
        "FIRSTLINE_DATA_DIR": str(tmp_path / "data"),
        "FIRSTLINE_EMBEDDING_MODEL": str(tiny_model),
    }


def test_import_ask_export_with_another_model(tmp_path: Path, env: dict[str, str]) -> None:
    faq_file = tmp_path / "faq.json"
    faq_file.write_text(json.dumps(FAQ))
    imported = firstline("kb", "import", str(faq_file), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "3 created, 0 updated, 0 unchanged" in imported.stdout

    meta = json.loads((tmp_path / "data" / "index" / "meta.json").read_text())
    assert (meta["model"], meta["dimension"]) == (env["FIRSTLINE_EMBEDDING_MODEL"], HIDDEN)

    asked = firstline("ask", "i forgot my password", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    decision = json.loads(asked.stdout)
    assert decision["decision"] in {"answer", "clarify", "handoff"}
    assert decision["candidates"][0]["faq_key"] == "password"
    # thresholds fitted to this FAQ, and what they are expected to do on it
    assert decision["calibration"]["source"] == "self-calibrated"
    assert decision["calibration"]["wrong_answer_budget"] == 0.02

    human = json.loads(firstline("ask", "agent please", "--json", env=env).stdout)
    assert (human["decision"], human["reason"]) == ("handoff", "customer_request")

    exported = firstline("kb", "export", "--format", "csv", env=env)
    assert exported.returncode == 0
    (tmp_path / "faq.csv").write_text(exported.stdout)
    again = firstline("kb", "import", str(tmp_path / "faq.csv"), env=env)
    assert "0 created, 0 updated, 3 unchanged" in again.stdout, again.stdout + again.stderr


def test_a_broken_file_is_rejected_with_its_reasons_and_changes_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("key,question,answer\ngood,how do i cancel my plan,ok\nBAD KEY,,x\n")
    result = firstline("kb", "import", str(broken), env=env)
    assert result.returncode == 2
    assert "line 3" in result.stderr and "Traceback" not in result.stderr
    assert json.loads(firstline("kb", "export", env=env).stdout) == []
    missing = firstline("kb", "import", str(tmp_path / "nope.json"), env=env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_eval_reports_the_metrics_and_one_decision_per_query(
    tmp_path: Path, env: dict[str, str]
) -> None:
    queries = [
        {"text": "i forgot my password", "lang": "en", "expected": "password"},
        {"text": "talk to a real person", "lang": "en", "expected": "HUMAN"},
        {"text": "", "lang": "en", "expected": None},
    ]
    eval_file = tmp_path / "eval.json"
    eval_file.write_text(json.dumps({"name": "tiny", "faq": FAQ, "queries": queries}))
    result = firstline("eval", str(eval_file), "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["name"] == "tiny" and report["metrics"]["queries"] == 3
    assert (
        report["metrics"]["human_handoff"] == 1.0 and report["metrics"]["uncovered_declined"] == 1.0
    )
    assert [r["text"] for r in report["results"]] == [q["text"] for q in queries]
    assert report["calibration"]["rehearsed"]["covered"] == 2  # the FAQ's own phrasings, held out
    text = firstline("eval", str(eval_file), env=env)
    assert "wrong answers" in text.stdout and "self-calibrated" in text.stdout, text.stderr
    assert not (tmp_path / "data" / "firstline.sqlite3").exists()  # a temporary database only

    eval_file.write_text('{"name": "x", "queries": "nope"}')
    bad = firstline("eval", str(eval_file), env=env)
    assert bad.returncode == 2 and "not an eval file" in bad.stderr
