"""Tests of knowledge_base/."""
