"""Tests of handoff/."""
