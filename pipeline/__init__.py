"""Tâm tư core library: every step of the petition pipeline, one module each."""
