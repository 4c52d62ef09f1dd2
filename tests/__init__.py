"""Firstline's tests, folder by folder as the packages they test; end-to-end tests in e2e/."""
