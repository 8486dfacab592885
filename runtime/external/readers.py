"""Readers of other people's model outputs, each in the layout its tool writes (specs/external/README.md
documents every layout and where it comes from).

A reader returns one `Answers` per model: per example its id, the predicted and the gold class (as
text), the number of options the example offers (0: every class of the task), optionally a score per
option (a log-likelihood or a probability), and where in which file the example was read (for
messages). A file that is not in its layout is a located data error naming the file, the line (or
row) and the field at fault.
"""

from __future__ import annotations

import csv
import json
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import errors
from ..registry import implements
from .errors import EXTERNAL_ATTRIBUTES, EXTERNAL_EMBEDDINGS, EXTERNAL_MALFORMED, EXTERNAL_MISSING


@dataclass
class Answers:
    """One model's answers, one entry per example, in the order read."""

    model: str
    ids: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)
    options: list[int] = field(default_factory=list)  # options the example offers; 0: every class
    scores: list[list[float] | None] = field(default_factory=list)  # per option, where known
    log: bool = True  # scores are log-likelihoods (False: probabilities)
    groups: list[str] = field(default_factory=list)  # the task or subject of each example
    where: list[str] = field(default_factory=list)  # "file, line N" per example

    def add(self, id_: str, predicted: str, gold: str, options: int, scores, group: str, where: str) -> None:
        self.ids.append(id_)
        self.predicted.append(predicted)
        self.gold.append(gold)
        self.options.append(options)
        self.scores.append(scores)
        self.groups.append(group)
        self.where.append(where)


def malformed(where: str, field_name: str, problem: str, hint: str) -> errors.RunError:
    return errors.RunError(EXTERNAL_MALFORMED, f"{where}, field '{field_name}': {problem}", hint)


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def existing(base: Path, path: str, what: str) -> Path:
    found = (base / path).resolve()
    if not found.exists():
        raise errors.RunError(
            EXTERNAL_MISSING,
            f"no {what} '{path}' (looked for {found})",
            "paths are relative to the spec's folder",
        )
    return found


def _model_folders(root: Path, pattern: str, base: Path, what: str) -> list[tuple[str, list[Path]]]:
    """A folder with one subfolder per model (its name is the model's) holding files that match
    `pattern`; or one model's folder itself."""
    own = sorted(root.glob(pattern))
    folders = [(root.name, own)] if own else []
    folders += [(sub.name, sorted(sub.glob(pattern))) for sub in sorted(root.iterdir()) if sub.is_dir()]
    folders = [(name, files) for name, files in folders if files]
    if not folders:
        raise errors.RunError(
            EXTERNAL_MISSING,
            f"'{_shown(root, base)}' holds no {what} ({pattern}), "
            "neither itself nor in a subfolder per model",
            f"point the source at a folder with one subfolder per model, each holding its {pattern} files",
        )
    return folders


# --------------------------------------------------------------------------- lm-evaluation-harness


def _lm_eval_row(row: Any, where: str, task: str, model: Answers) -> None:
    """One document of `--log_samples` (lm_eval/evaluator.py): doc_id, doc, target, arguments, resps,
    filtered_resps, and the task's metrics (acc, ...). A multiple-choice document has one
    `[log-likelihood, is_greedy]` pair per option in `filtered_resps` (strings in the file) and the
    gold option's index as `target`; a generative one has the generated text."""
    if not isinstance(row, dict):
        raise malformed(where, "(row)", "is not a JSON object", "each line holds one document's JSON object")
    for name in ("doc_id", "target", "filtered_resps"):
        if name not in row:
            raise malformed(where, name, "is missing", "write the file with lm_eval --log_samples")
    doc_id, target, responses = row["doc_id"], row["target"], row["filtered_resps"]
    if not isinstance(doc_id, (int, str)) or isinstance(doc_id, bool):
        raise malformed(where, "doc_id", f"is {doc_id!r}, not a number or text", "each document needs its id")
    if not isinstance(responses, (list, tuple)) or not responses:
        raise malformed(where, "filtered_resps", "is not a non-empty list", "one response per option")
    if all(isinstance(r, (list, tuple)) and len(r) == 2 for r in responses):
        try:
            scores = [float(r[0]) for r in responses]
        except (TypeError, ValueError):
            raise malformed(
                where,
                "filtered_resps",
                "holds a log-likelihood that is not a number",
                "each option's entry is [log-likelihood, is_greedy]",
            ) from None
        if not all(math.isfinite(s) for s in scores):
            raise malformed(where, "filtered_resps", "holds a non-finite log-likelihood", "check the run")
        gold = _gold_index(target, row, len(scores), where)
        model.add(str(doc_id), str(int(np.argmax(scores))), str(gold), len(scores), scores, task, where)
        return
    text = responses[0]
    while isinstance(text, (list, tuple)) and text:  # older files nest the generation once more
        text = text[0]
    if not isinstance(text, str):
        raise malformed(where, "filtered_resps", f"holds {text!r}, not a generation", "check the run")
    model.add(str(doc_id), text.strip(), str(target).strip(), 0, None, task, where)


def _gold_index(target: Any, row: dict, options: int, where: str) -> int:
    """The gold option: `target` is its index (an integer, or its digits), or the text of one of the
    continuations in `arguments`."""
    index = None
    if isinstance(target, int) and not isinstance(target, bool):
        index = target
    elif isinstance(target, str) and target.strip().lstrip("-").isdigit():
        index = int(target)
    elif isinstance(target, str):
        continuations = _continuations(row.get("arguments"))
        stripped = [c.strip() for c in continuations]
        if target.strip() in stripped:
            index = stripped.index(target.strip())
    if index is None or not 0 <= index < options:
        raise malformed(
            where,
            "target",
            f"is {target!r}: not the index of one of the {options} options",
            "a multiple-choice target is the gold option's index (0-based) or its continuation's text",
        )
    return index


def _continuations(arguments: Any) -> list[str]:
    """The options' continuations: `{"gen_args_0": {"arg_0": context, "arg_1": continuation}, ...}`
    (lm-eval >= 0.4.3) or `[[context, continuation], ...]` (earlier)."""
    if isinstance(arguments, dict):
        arguments = [arguments[key] for key in sorted(arguments, key=lambda k: int(k.rsplit("_", 1)[-1]))]
        return [str(a.get("arg_1", "")) if isinstance(a, dict) else "" for a in arguments]
    if isinstance(arguments, list):
        return [str(a[1]) if isinstance(a, (list, tuple)) and len(a) > 1 else "" for a in arguments]
    return []


def _jsonl(path: Path, shown: str) -> Iterator[tuple[Any, str]]:
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            where = f"{shown}, line {number}"
            try:
                yield json.loads(line), where
            except json.JSONDecodeError as error:
                raise malformed(
                    where,
                    "(line)",
                    f"is not JSON ({error.msg} at column {error.colno})",
                    "one JSON object a line",
                ) from None


def _task(path: Path) -> str:
    """`samples_<task>_<date>.jsonl` -> the task (lm-eval's file name)."""
    stem = path.stem.removeprefix("samples_")
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def lm_eval(base: Path, path: str) -> list[Answers]:
    root = existing(base, path, "lm-evaluation-harness output folder")
    out = []
    for name, files in _model_folders(root, "samples_*.jsonl", base, "lm-eval sample files"):
        model = Answers(name.replace("__", "/"))
        for file in files:
            for row, where in _jsonl(file, _shown(file, base)):
                _lm_eval_row(row, where, _task(file), model)
        out.append(model)
    return out


def leaderboard(base: Path, path: str) -> list[Answers]:
    """Open LLM Leaderboard (v2) details: lm-eval's sample fields as Parquet columns, one file per task
    (`samples_<task>_<date>.parquet`, as the `<org>__<model>-details` datasets serve them)."""
    import pyarrow.parquet as pq

    root = existing(base, path, "Open LLM Leaderboard details folder")
    out = []
    for name, files in _model_folders(root, "*.parquet", base, "details Parquet files"):
        model = Answers(name.removesuffix("-details").replace("__", "/"))
        for file in files:
            shown = _shown(file, base)
            try:
                rows = pq.read_table(file).to_pylist()
            except Exception as error:  # pyarrow's errors for a file that is not Parquet
                raise malformed(shown, "(file)", f"is not Parquet: {error}", "check the download") from None
            for number, row in enumerate(rows):
                _lm_eval_row(row, f"{shown}, row {number}", _task(file), model)
        out.append(model)
    return out


# --------------------------------------------------------------------------- HELM


def _json(path: Path, shown: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise malformed(
            f"{shown}, line {error.lineno}", "(file)", f"is not JSON ({error.msg})", "check the run folder"
        ) from None


def _get(value: Any, keys: tuple, where: str, hint: str) -> Any:
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise malformed(where, ".".join(keys[: depth + 1]), "is missing", hint)
        value = value[key]
    return value


def helm(base: Path, path: str) -> list[Answers]:
    """HELM run folders (helm-run's `benchmark_output/runs/<suite>/<run>`): `scenario_state.json`
    (adapter_spec, request_states: instance {id, references [{output {text}, tags}]},
    train_trial_index, output_mapping, result {completions [{text}]}) and `per_instance_stats.json`
    ([{instance_id, train_trial_index, stats [{name {name, split}, mean}]}]). Multiple-choice runs
    (an `output_mapping` of letters to options) only; the first train trial."""
    root = existing(base, path, "HELM runs folder")
    runs = (
        [root]
        if (root / "scenario_state.json").is_file()
        else sorted(p.parent for p in root.glob("*/scenario_state.json"))
    )
    if not runs:
        raise errors.RunError(
            EXTERNAL_MISSING,
            f"'{path}' holds no HELM run folder (a folder with scenario_state.json)",
            "point the source at benchmark_output/runs/<suite> or at one run folder",
        )
    models: dict[str, Answers] = {}
    for run in runs:
        stats_file = run / "per_instance_stats.json"
        if not stats_file.is_file():
            raise errors.RunError(
                EXTERNAL_MISSING,
                f"HELM run folder '{_shown(run, base)}' has no per_instance_stats.json",
                "copy the whole run folder, as helm-run wrote it",
            )
        shown = _shown(run / "scenario_state.json", base)
        state = _json(run / "scenario_state.json", shown)
        hint = "scenario_state.json is written by helm-run; copy it unchanged"
        name = str(_get(state, ("adapter_spec", "model"), shown, hint))
        model = models.setdefault(name, Answers(name))
        _helm_stats(_json(stats_file, _shown(stats_file, base)), _shown(stats_file, base))
        for number, request in enumerate(_get(state, ("request_states",), shown, hint)):
            where = f"{shown}, request_states[{number}]"
            if request.get("train_trial_index", 0) != 0:
                continue
            _helm_request(request, where, run.name.split(":", 1)[0], model)
    return list(models.values())


def _helm_request(request: dict, where: str, scenario: str, model: Answers) -> None:
    hint = "a multiple-choice request state has instance.references, output_mapping and result.completions"
    instance_id = str(_get(request, ("instance", "id"), where, hint))
    references = _get(request, ("instance", "references"), where, hint)
    mapping = _get(request, ("output_mapping",), where, hint)
    completions = _get(request, ("result", "completions"), where, hint)
    if not isinstance(mapping, dict) or not mapping:
        raise malformed(where, "output_mapping", "is not a mapping of letters to options", hint)
    if not isinstance(completions, list) or not completions or "text" not in completions[0]:
        raise malformed(where, "result.completions", "has no completion text", hint)
    letters = sorted(mapping)
    correct = [i for i, r in enumerate(references) if "correct" in (r.get("tags") or [])]
    if len(correct) != 1:
        raise malformed(where, "instance.references", f"has {len(correct)} references tagged 'correct'", hint)
    gold_text = references[correct[0]].get("output", {}).get("text")
    gold = next((letter for letter in letters if mapping[letter] == gold_text), None)
    if gold is None:
        raise malformed(where, "output_mapping", "maps no letter to the correct reference", hint)
    answer = str(completions[0]["text"]).strip()
    predicted = str(letters.index(answer)) if answer in mapping else f"invalid: {answer}"
    model.add(instance_id, predicted, str(letters.index(gold)), len(letters), None, scenario, where)


def _helm_stats(stats: Any, shown: str) -> None:
    """per_instance_stats.json: a list of {instance_id, stats: [{name: {name}, ...}]}."""
    hint = "per_instance_stats.json is written by helm-run; copy it unchanged"
    if not isinstance(stats, list):
        raise malformed(shown, "(file)", "is not a list of per-instance stats", hint)
    for number, entry in enumerate(stats):
        where = f"{shown}, [{number}]"
        _get(entry, ("instance_id",), where, hint)
        for k, stat in enumerate(_get(entry, ("stats",), where, hint)):
            _get(stat, ("name", "name"), f"{where}.stats[{k}]", hint)


# --------------------------------------------------------------------------- a long-form table


def _table_rows(file: Path, shown: str) -> Iterator[tuple[dict, str]]:
    suffix = file.suffix.lower()
    if suffix == ".csv":
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise malformed(
                        f"{shown}, line {reader.line_num}",
                        "(row)",
                        "has more or fewer cells than the header",
                        "one cell per column",
                    )
                yield row, f"{shown}, line {reader.line_num}"
    elif suffix == ".jsonl":
        yield from _jsonl(file, shown)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(file).to_pylist()
        except Exception as error:
            raise malformed(shown, "(file)", f"is not Parquet: {error}", "check the file") from None
        for number, row in enumerate(rows):
            yield row, f"{shown}, row {number}"
    else:
        raise errors.RunError(
            EXTERNAL_MALFORMED,
            f"'{shown}' is neither .csv, .jsonl nor .parquet",
            "a long-form table is a CSV, JSON-lines or Parquet file",
        )


def table(
    base: Path, path: str, model: str, id: str, prediction: str, label: str, group: str | None
) -> list[Answers]:
    """One row per (model, example): the model, the example's id, its prediction and label, optionally
    a group, and optionally a score per class in columns `prob_<class>` (probabilities) or
    `logprob_<class>` (log-likelihoods)."""
    file = existing(base, path, "table")
    shown = _shown(file, base)
    models: dict[str, Answers] = {}
    score_columns: list[str] | None = None
    log = False
    for row, where in _table_rows(file, shown):
        if not isinstance(row, dict):
            raise malformed(where, "(row)", "is not an object", "one object per line")
        for column in (model, id, prediction, label) + ((group,) if group else ()):
            value = row.get(column)
            if value is None or str(value).strip() == "":
                raise malformed(where, column, "is missing", f"every row needs '{column}'")
        if score_columns is None:
            score_columns = [c for c in row if c.startswith("prob_")]
            log = not score_columns
            score_columns = score_columns or [c for c in row if c.startswith("logprob_")]
        scores = None
        if score_columns:
            try:
                scores = [float(row[c]) for c in score_columns]
            except (KeyError, TypeError, ValueError):
                bad = next(c for c in score_columns if not _is_number(row.get(c)))
                raise malformed(
                    where, bad, f"is {row.get(bad)!r}, not a number", "scores are numbers"
                ) from None
        answers = models.setdefault(str(row[model]), Answers(str(row[model]), log=log))
        classes = [c.split("_", 1)[1] for c in score_columns] if score_columns else []
        answers.add(
            str(row[id]),
            str(row[prediction]).strip(),
            str(row[label]).strip(),
            0,
            dict(zip(classes, scores, strict=True)) if scores is not None else None,
            str(row[group]) if group else "",
            where,
        )
    if not models:
        raise errors.RunError(EXTERNAL_MISSING, f"'{shown}' has no rows", "one row per model and example")
    return list(models.values())


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


READERS: dict[str, Callable[..., list[Answers]]] = {
    "lm_eval": lm_eval,
    "helm": helm,
    "leaderboard": leaderboard,
    "table": table,
}
for _name, _reader in READERS.items():
    implements("external", _name)(_reader)

# --------------------------------------------------------------------------- attributes and embeddings


def attributes(base: Path, path: str) -> dict[str, dict[str, Any]]:
    """A CSV table of models: a `model` column, then any attributes (family, provider, size,
    release date); a cell that parses as a number is a number."""
    file = existing(base, path, "attributes table")
    shown = _shown(file, base)
    out: dict[str, dict[str, Any]] = {}
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if "model" not in (reader.fieldnames or []):
            raise errors.RunError(
                EXTERNAL_ATTRIBUTES,
                f"{shown}, line 1, field 'model': the header has no 'model' column",
                "the first column names each model as its source does",
            )
        for row in reader:
            where = f"{shown}, line {reader.line_num}"
            if None in row or any(v is None for v in row.values()):
                raise errors.RunError(
                    EXTERNAL_ATTRIBUTES,
                    f"{where}: more or fewer cells than the header",
                    "one cell per column",
                )
            name = row.pop("model").strip()
            if name in out:
                raise errors.RunError(
                    EXTERNAL_ATTRIBUTES,
                    f"{where}, field 'model': '{name}' is listed twice",
                    "one row per model",
                )
            out[name] = {k: (float(v) if _is_number(v) else v.strip()) for k, v in row.items() if v.strip()}
    return out


def _ids_file(folder: Path, model: str, base: Path) -> list[str] | None:
    for candidate in (folder / f"{model}.ids.txt", folder / "ids.txt"):
        if candidate.is_file():
            return [
                line.strip() for line in candidate.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
    return None


def _safetensors(file: Path) -> dict[str, np.ndarray]:
    """The safetensors layout: an 8-byte little-endian header length, a JSON header {name: {dtype,
    shape, data_offsets}}, then the tensors' bytes."""
    dtypes = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    data = file.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, stop = info["data_offsets"]
        raw = data[8 + size + start : 8 + size + stop]
        out[name] = np.frombuffer(raw, dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def embeddings(base: Path, path: str) -> dict[str, tuple[list[str], np.ndarray]]:
    """A folder with one file per model, named by the model (`/` written `__`): `<model>.npz` (arrays
    `ids` and `embeddings`), `<model>.safetensors` (tensors `embeddings` and, optionally, integer
    `ids`), `<model>.npy` (rows in the order of `<model>.ids.txt` or `ids.txt`), or
    `<model>.parquet` (a column `id` and a list column `embedding`)."""
    folder = existing(base, path, "embeddings folder")
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for file in sorted(folder.iterdir()):
        suffix = file.suffix.lower()
        if suffix not in (".npz", ".npy", ".safetensors", ".parquet"):
            continue
        model, shown = file.stem.replace("__", "/"), _shown(file, base)
        try:
            ids, vectors = _embedding_file(file, suffix, folder, base)
        except errors.RunError:
            raise
        except Exception as error:
            raise errors.RunError(
                EXTERNAL_EMBEDDINGS, f"{shown}: cannot read it as {suffix[1:]}: {error}", "check the file"
            ) from None
        if vectors.ndim != 2 or len(ids) != len(vectors):
            raise errors.RunError(
                EXTERNAL_EMBEDDINGS,
                f"{shown}, field 'embeddings': shape {vectors.shape} for {len(ids)} example ids",
                "one row (a vector) per example id",
            )
        if not np.isfinite(vectors).all():
            row = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
            raise errors.RunError(
                EXTERNAL_EMBEDDINGS,
                f"{shown}, field 'embeddings', row {row} (id {ids[row]}): non-finite values",
                "drop or recompute those rows",
            )
        out[model] = (ids, vectors.astype(np.float32))
    if not out:
        raise errors.RunError(
            EXTERNAL_MISSING, f"'{path}' holds no embedding file", "name each file <model>.npz/.npy/..."
        )
    return out


def _embedding_file(file: Path, suffix: str, folder: Path, base: Path) -> tuple[list[str], np.ndarray]:
    shown = _shown(file, base)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table_ = pq.read_table(file)
        for column in ("id", "embedding"):
            if column not in table_.column_names:
                raise errors.RunError(
                    EXTERNAL_EMBEDDINGS, f"{shown}, field '{column}': missing", "columns id and embedding"
                )
        rows = table_.to_pydict()
        return [str(i) for i in rows["id"]], np.array(rows["embedding"], dtype=np.float64)
    if suffix == ".npz":
        with np.load(file, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    elif suffix == ".safetensors":
        arrays = _safetensors(file)
    else:
        arrays = {"embeddings": np.load(file, allow_pickle=False)}
    if "embeddings" not in arrays:
        raise errors.RunError(
            EXTERNAL_EMBEDDINGS, f"{shown}, field 'embeddings': missing", "store the vectors as 'embeddings'"
        )
    ids = [str(i) for i in arrays["ids"].tolist()] if "ids" in arrays else _ids_file(folder, file.stem, base)
    if ids is None:
        raise errors.RunError(
            EXTERNAL_EMBEDDINGS,
            f"{shown}, field 'ids': no example ids (in the file, {file.stem}.ids.txt or ids.txt)",
            "give the example id of each row",
        )
    return ids, np.asarray(arrays["embeddings"], dtype=np.float64)
