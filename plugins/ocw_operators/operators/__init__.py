"""Operators: each a thin, templated wrapper over a hook and a plain module."""
