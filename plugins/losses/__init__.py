"""Built-in adversarial losses."""
