"""Evaluation: Evaluator (metrics over classes/regions, per case) and EvalResult."""

from medseg.evaluation.evaluator import Evaluator, evaluate_pair
from medseg.evaluation.result import EvalResult

__all__ = ["EvalResult", "Evaluator", "evaluate_pair"]
