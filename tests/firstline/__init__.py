"""Tests of firstline/."""
