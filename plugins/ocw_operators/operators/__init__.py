"""Operators: thin wrappers that read Variables and Connections at run time and call the plain domain code."""
