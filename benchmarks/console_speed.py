"""The web console's page times: `firstline run` on the demo FAQ, headless Chromium (Debian's,
driven by Playwright), each page opened again and again; prints the median and the slowest time
from following a link to the page showing its data (the API calls and the drawing included).
Goal (issue 25): every page within 300 ms on the demo data, and usable with 5,000 FAQ entries and
50,000 tickets (--entries 5000 --tickets 50000: synthetic entries beside the demo FAQ, tickets
written straight into the database; large_desk.py).

    python -m benchmarks.console_speed [--rounds 10] [--entries N] [--tickets N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.large_desk import import_faq, seed_tickets, write_faq
from tests.support.processes import (
    BUNDLED_MODELS_DIR,
    create_token,
    free_port,
    start_firstline,
    stop_firstline,
)

# (page, its address, what shows once its data is drawn)
PAGES = [
    ("FAQ list", "#/faq", "#faq-count"),
    ("FAQ entry", "#/faq/entry/refund", "#entry-version"),
    ("Try it", "#/try", "main form"),
    ("Tickets", "#/tickets", "main .pager"),
    ("Gaps", "#/gaps", "#proposals table"),
    ("Analytics", "#/analytics", "#chart-hours svg"),
    ("Settings", "#/settings", "#tokens table"),
    ("Import & export", "#/import", "#import-result"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--entries", type=int, default=0, help="FAQ entries (default: the demo)")
    parser.add_argument("--tickets", type=int, default=0, help="tickets (default: none)")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    workdir = Path(tempfile.mkdtemp(prefix="firstline-console-speed-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIRSTLINE_")},
        "FIRSTLINE_DATA_DIR": str(workdir / "data"),
        "FIRSTLINE_MODELS_DIR": str(BUNDLED_MODELS_DIR),
        "FIRSTLINE_API_PORT": str(port),
    }
    admin = create_token(env, "admin", "Benchmark")
    if args.entries:
        import_faq(env, write_faq(workdir / "faq.json", args.entries))
    if args.tickets:
        seed_tickets(workdir / "data" / "firstline.sqlite3", args.tickets)
    process = start_firstline(env, port, log=workdir / "run.log")
    times: dict[str, list[float]] = {name: [] for name, _, _ in PAGES}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/console")
            page.get_by_label("API token").wait_for()
            first_paint = time.perf_counter() - started
            page.get_by_label("API token").fill(admin)
            started = time.perf_counter()
            page.get_by_label("API token").press("Enter")
            page.wait_for_selector("#faq-count")
            sign_in = time.perf_counter() - started
            for _ in range(args.rounds):
                for name, address, ready in PAGES:
                    started = time.perf_counter()
                    page.evaluate("address => { location.hash = address; }", address)
                    page.wait_for_selector(f"{ready} >> nth=0", state="attached")
                    times[name].append((time.perf_counter() - started) * 1000)
            browser.close()
    finally:
        stop_firstline(process)
        shutil.rmtree(workdir, ignore_errors=True)
    size = f"{args.entries or 'the demo'} FAQ entries, {args.tickets} tickets"
    print(
        f"{size}\n"
        f"sign-in page shown: {first_paint * 1000:.0f} ms; sign in to the FAQ list: {sign_in * 1000:.0f} ms"
    )
    print(f"{'page':<18}{'median ms':>10}{'slowest ms':>12}   ({args.rounds} rounds)")
    for name, measured in times.items():
        print(f"{name:<18}{statistics.median(measured):>10.0f}{max(measured):>12.0f}")


if __name__ == "__main__":
    main()
