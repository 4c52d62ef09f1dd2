"""The demo FAQ's dev set (evals/dev.json) decided twice: with the FAQ as the eval file holds it
(each entry's Ukrainian and English phrasings among its alternative phrasings) and with the demo
FAQ as shipped (knowledge_base/demo: its busiest entries translated, those phrasings now their
translations' questions). Expected keys are the same: an entry is one entry in every language.

    .venv/bin/python -m benchmarks.translated_demo
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from benchmarks.faq_suite import EVALS, report
from core.settings import get_settings
from firstline.assembly import configured_embedder
from retrieval.calibration import effective_thresholds
from retrieval.evaluation import EvalFile
from retrieval.scratch import run_eval

DEMO = Path(__file__).resolve().parents[1] / "knowledge_base" / "demo" / "demo_faq.json"


async def main() -> None:
    settings = get_settings()
    settings = settings.model_copy(update={"decision": effective_thresholds(settings)})
    embedder = configured_embedder(settings)
    dev = json.loads((EVALS / "dev.json").read_text(encoding="utf-8"))
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    translated = sum(bool(entry.get("translations")) for entry in demo)
    for name, faq in (("as in evals/dev.json", dev["faq"]), (f"translated ({translated})", demo)):
        eval_file = EvalFile.model_validate({**dev, "name": f"{dev['name']}, {name}", "faq": faq})
        report(await run_eval(settings, eval_file, embedder))


if __name__ == "__main__":
    asyncio.run(main())
