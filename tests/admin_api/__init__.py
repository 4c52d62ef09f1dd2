"""Tests of admin_api/."""
