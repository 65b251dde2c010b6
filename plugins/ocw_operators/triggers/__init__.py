"""Triggers for deferrable operators; they live in plugins/ so the triggerer can import them."""
