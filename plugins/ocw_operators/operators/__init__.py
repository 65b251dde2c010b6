"""Operators: thin shells that build hooks at run time and call the plain domain functions."""
