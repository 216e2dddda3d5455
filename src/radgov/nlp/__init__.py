"""Pure report NLP: labelling with negation and uncertainty (no Django).

>>> from radgov.nlp import Labeller
>>> [(l.finding, l.label) for l in Labeller().label("IMPRESSION: No pneumothorax.")]
[('pneumothorax', 'negative')]
"""

from .labeller import LABELLER_VERSION, Label, Labeller, LabelValue, Mention
from .rules import Finding, Modifier, RulesError, RuleSet, default_rules, load_rules, parse_rules

__all__ = [
    "LABELLER_VERSION",
    "Finding",
    "Label",
    "LabelValue",
    "Labeller",
    "Mention",
    "Modifier",
    "RuleSet",
    "RulesError",
    "default_rules",
    "load_rules",
    "parse_rules",
]
