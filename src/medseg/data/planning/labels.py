"""Planning the label side of the Plan: label values and names, unlisted values, regions, activation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from medseg.config.plan import RegionSpec
from medseg.data.inspection.fingerprint import Fingerprint
from medseg.data.planning.overrides import override_error


def _validated(overrides: Mapping[str, Any], key: str, kind: Any, choices: str) -> Any:
    if key not in overrides:
        return None
    try:
        return TypeAdapter(kind).validate_python(overrides[key])
    except ValidationError as exc:
        raise override_error(key, overrides[key], exc.errors()[0]["msg"], choices) from None


def plan_labels(fingerprint: Fingerprint, overrides: Mapping[str, Any], reasons: list[str]) -> dict[str, Any]:
    """``labels``, ``unlisted_labels``, ``regions`` and the network activation, with reasons.

    Label values come from the data: every value found is a class (named by the dataset where it
    says, else ``label<value>``, or ``foreground`` for binary masks such as 0/255). ``labels`` given
    as an override select a subset (the other values then count as background, unless
    ``unlisted_labels`` says ``error``).
    """
    found = sorted({v for case in fingerprint.cases for v in case.class_voxels} | {0})
    wanted = _validated(overrides, "labels", dict[str, int], "a mapping of names to label values")
    if wanted is not None:
        labels = dict(wanted)
        if 0 not in labels.values():
            labels = {"background": 0, **labels}
        reasons.append(f"labels: {labels} (override)")
    else:
        labels = {}
        for value, name in sorted(fingerprint.labels.items()):
            labels[name if name not in labels else f"{name}_{value}"] = value
        shown = ", ".join(f"{v}={n}" for n, v in labels.items())
        reasons.append(f"labels: values {found} found in the data ({shown})")
        declared_only = sorted(set(labels.values()) - set(found))
        if declared_only:
            reasons.append(f"labels: values {declared_only} are declared but occur in no case")
        if labels and sorted(labels.values()) != list(range(len(labels))):
            reasons.append(
                f"labels: values {sorted(labels.values())} are trained as classes 0..{len(labels) - 1} "
                "and written back with their own values"
            )
    unlisted_choice = _validated(
        overrides, "unlisted_labels", Literal["error", "background"], "'error', 'background'"
    )
    unlisted = sorted(set(found) - set(labels.values()))
    if unlisted_choice is None:
        unlisted_choice = "background" if unlisted else "error"
        if unlisted:
            reasons.append(f"labels: values {unlisted[:20]} are not selected and become background")
    regions = fingerprint.regions
    if "regions" in overrides:
        given = overrides["regions"]
        regions = (
            None
            if given in (None, [])
            else _validated(overrides, "regions", list[RegionSpec], "a list of {name, labels, paint}")
        )
    activation = _validated(
        overrides, "network.activation", Literal["softmax", "sigmoid"], "'softmax', 'sigmoid'"
    )
    if regions:
        reasons.append(
            "regions: "
            + ", ".join(f"{r.name}={r.labels}" for r in regions)
            + "; one sigmoid output per region (region-based training)"
        )
        activation = "sigmoid"
    else:
        regions = None
        activation = activation or "softmax"
    return {
        "labels": labels,
        "unlisted_labels": unlisted_choice,
        "regions": regions,
        "activation": activation,
    }
