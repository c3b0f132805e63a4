"""Helpers the tests share: conversation, clock, processes, data (no tests here)."""
