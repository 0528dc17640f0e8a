"""parse_predictant, re-exported: it lives in :mod:`medseg.data.predictant` (torch-free, shared with
the lite predictor)."""

from medseg.data.predictant import IMAGE_SUFFIXES, parse_predictant

__all__ = ["IMAGE_SUFFIXES", "parse_predictant"]
