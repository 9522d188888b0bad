"""SynthHuman: synthetic humans rendered from the kinematic prior, written in the real datasets' formats."""

from suite.data.synth.generate import generate

__all__ = ["generate"]
