"""What tests and benchmarks share: the fake Telegram Bot API, processes, tiny models, fakes."""
