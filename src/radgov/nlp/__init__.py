"""Pure report NLP: labelling with negation and uncertainty (no Django)."""
