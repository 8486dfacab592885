"""Pass 4: references — every name a spec uses names a declaration of the right kind."""

from __future__ import annotations

from homog.dsl.diagnostics import Related, suggestion_hint

from .. import codes
from ..context import Context, Declared
from ..values import Symbol

LEARNER_KINDS = ("model", "fusion")
# Keys of a condition block that name no modality: a domain shift, and the learners it applies to.
RESERVED_CONDITION_KEYS = ("dataset", "learners")


def resolve(ctx: Context) -> None:
    for declared in ctx.blocks:
        data = declared.data
        if declared.kind == "modality" and data is not None:
            _field(ctx, data.from_)
        elif declared.kind == "model" and data is not None:
            _lookup(ctx, data.input, ("modality",))
            if data.init is not None:
                _lookup(ctx, data.init, ("model",))
        elif declared.kind == "fusion" and data is not None:
            for symbol in data.inputs:
                _lookup(ctx, symbol, ("modality", *LEARNER_KINDS))
        elif declared.kind == "external" and data is not None and data.dataset is not None:
            _lookup(ctx, data.dataset, ("dataset",))
        elif declared.kind == "evaluate":
            for condition in declared.nested:
                _condition_keys(ctx, condition)
        elif declared.kind == "metrics":
            for invocation in declared.entries:
                call = ctx.call(invocation)
                if call is not None:
                    _metric_references(ctx, call)


def either(words: tuple[str, ...] | list[str]) -> str:
    """("a", "b", "c") -> "a, b or c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _lookup(ctx: Context, symbol: Symbol, kinds: tuple[str, ...]) -> Declared | None:
    """Resolve a one-part name to a declaration of one of `kinds`."""
    wanted = either(kinds)
    target = ctx.names.get(symbol.name)
    if target is None:
        candidates = [name for name, d in ctx.names.items() if d.kind in kinds]
        ctx.report(
            codes.UNKNOWN_REFERENCE,
            f"no {wanted} is named '{symbol.name}'",
            symbol.span,
            hint=suggestion_hint(symbol.name, candidates, f"declared {wanted} names"),
        )
        return None
    if target.kind not in kinds:
        ctx.report(
            codes.WRONG_REFERENCE_KIND,
            f"'{symbol.name}' is a {target.kind}, but a {wanted} is expected here",
            symbol.span,
            hint=f"name a {wanted}",
            related=(Related(target.name_span, f"'{symbol.name}' is declared here"),),
        )
        return None
    ctx.references[id(symbol)] = target
    return target


def _field(ctx: Context, symbol: Symbol) -> None:
    """`digits.image`: a dataset and one of its fields."""
    if len(symbol.parts) != 2:
        ctx.report(
            codes.UNKNOWN_REFERENCE,
            f"'{symbol.name}' is not of the form dataset.field",
            symbol.span,
            hint="name a dataset and one of its fields, as in digits.image",
        )
        return
    dataset_name, field_name = symbol.parts
    dataset = _lookup(ctx, Symbol(dataset_name, symbol.span), ("dataset",))
    if dataset is None:
        return
    ctx.references[id(symbol)] = dataset
    source = ctx.call(dataset.data.source if dataset.data else None)
    fields = source.entry.fields if source else None
    if fields is None:
        return  # files: only the data can tell, and the runtime checks before training
    info = fields.get(field_name)
    if info is None:
        ctx.report(
            codes.UNKNOWN_FIELD,
            f"the dataset '{dataset_name}' ({source.entry.name}) has no field '{field_name}'",
            symbol.span,
            hint=suggestion_hint(field_name, [f for f, i in fields.items() if not i.is_label], "fields"),
        )
    elif info.is_label:
        ctx.report(
            codes.WRONG_REFERENCE_KIND,
            f"'{field_name}' is the label of '{dataset_name}', not an input",
            symbol.span,
            hint="a modality views an input field: "
            + ", ".join(f for f, i in fields.items() if not i.is_label),
        )


def _condition_keys(ctx: Context, condition: Declared) -> None:
    for member in condition.block.members:
        key = getattr(member, "key", None)
        if key is not None and key.text not in RESERVED_CONDITION_KEYS:
            _lookup(ctx, Symbol(key.text, key.span), ("modality",))
    if condition.domain is not None:
        _lookup(ctx, condition.domain, ("dataset",))
    for symbol in condition.targets or ():
        _lookup(ctx, symbol, LEARNER_KINDS)


def _metric_references(ctx: Context, call) -> None:
    for param, kind in call.entry.references.items():
        symbol = getattr(call.params, param, None)
        if not isinstance(symbol, Symbol):
            continue
        if kind == "learner":
            _lookup(ctx, symbol, LEARNER_KINDS)
        elif kind == "field":
            _field(ctx, symbol)
        elif kind == "metric":
            _metric_name(ctx, call.entry.name, symbol)


# What a metric argument may name: spread compares per-run scores; cluster groups by a pairwise matrix.
_SCOPES_FOR = {"spread": ("run",), "ttest": ("run",), "wilcoxon": ("run",), "cluster": ("pairwise",)}


def _metric_name(ctx: Context, user: str, symbol: Symbol) -> None:
    scopes = _SCOPES_FOR.get(user, ("run",))
    candidates = [
        e.name for e in ctx.registry.entries("metric") if e.scope in scopes and e.name != "confusion"
    ]
    entry = ctx.registry.get("metric", symbol.name)
    if entry is None:
        ctx.report(
            codes.UNKNOWN_ENTRY,
            f"unknown metric '{symbol.name}'",
            symbol.span,
            hint=suggestion_hint(symbol.name, candidates, "metrics"),
        )
    elif symbol.name not in candidates:
        ctx.report(
            codes.WRONG_REFERENCE_KIND,
            f"'{user}' needs a {' or '.join(scopes)} score, and '{symbol.name}' is not one",
            symbol.span,
            hint=suggestion_hint(symbol.name, candidates, "metrics"),
        )
