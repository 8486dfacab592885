"""Writes the small samples of specs/external/ in each tool's real layout (see README.md there).

The answers are synthetic (drawn from a seeded generator), the layouts are the tools': run
`python specs/external/generate.py` to write them again.
"""

from __future__ import annotations

import csv
import json
import shutil
import struct
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
MODELS = ["EleutherAI__pythia-160m", "Qwen__Qwen2.5-0.5B", "meta-llama__Llama-3.2-1B"]
SUBJECTS = ["abstract_algebra", "anatomy", "astronomy"]
N, K = 12, 4
rng = np.random.default_rng(0)
GOLD = rng.integers(0, K, N)
SKILL = {m: s for m, s in zip(MODELS, (0.4, 1.2, 2.0), strict=True)}


def loglikelihoods(model: str, doc: int) -> list[float]:
    noise = rng.normal(0, 1, K)
    noise[GOLD[doc]] += SKILL[model]
    return [float(-4 + v) for v in noise]


def lm_eval_doc(model: str, doc: int) -> dict:
    ll = loglikelihoods(model, doc)
    question = f"Question {doc} ({SUBJECTS[doc % 3]})?"
    context = f"The following are multiple choice questions.\n\n{question}\nAnswer:"
    arguments = {f"gen_args_{k}": {"arg_0": context, "arg_1": f" {'ABCD'[k]}"} for k in range(K)}
    correct = float(int(np.argmax(ll)) == GOLD[doc])
    return {
        "doc_id": doc,
        "doc": {
            "question": question,
            "subject": SUBJECTS[doc % 3],
            "choices": list("wxyz"),
            "answer": int(GOLD[doc]),
        },
        "target": int(GOLD[doc]),
        "arguments": arguments,
        "resps": [[[str(v), "False"]] for v in ll],
        "filtered_resps": [[str(v), "False"] for v in ll],
        "filter": "none",
        "metrics": ["acc"],
        "doc_hash": f"{doc:064x}",
        "prompt_hash": f"{doc + 1000:064x}",
        "target_hash": f"{int(GOLD[doc]):064x}",
        "acc": correct,
    }


def lm_eval() -> None:
    root = HERE / "lm_eval"
    shutil.rmtree(root, ignore_errors=True)
    for model in MODELS:
        folder = root / model
        folder.mkdir(parents=True)
        docs = range(N - 1) if model == MODELS[0] else range(N)  # pythia misses the last document
        with (folder / "samples_mmlu_2025-01-01T00-00-00.000000.jsonl").open("w") as f:
            for doc in docs:
                f.write(json.dumps(lm_eval_doc(model, doc)) + "\n")


def leaderboard() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = HERE / "leaderboard"
    shutil.rmtree(root, ignore_errors=True)
    for model in MODELS[1:]:
        folder = root / f"{model}-details"
        folder.mkdir(parents=True)
        rows = [lm_eval_doc(model, doc) for doc in range(N)]
        for row in rows:
            row["target"] = "ABCD"[row["target"]]  # the leaderboard's MMLU-Pro gives the answer letter
            row["acc_norm"] = row.pop("acc")
        pq.write_table(
            pa.Table.from_pylist(rows), folder / "samples_leaderboard_mmlu_pro_2024-07-01T00-00-00.parquet"
        )


def helm() -> None:
    root = HERE / "helm"
    shutil.rmtree(root, ignore_errors=True)
    for model in MODELS[1:]:
        name = model.replace("__", "/")
        run = root / f"mmlu:subject=anatomy,method=multiple_choice_joint,model={model.replace('__', '_')}"
        run.mkdir(parents=True)
        states, stats = [], []
        for doc in range(N):
            letters = "ABCD"
            options = [f"option {doc}.{k}" for k in range(K)]
            answer = letters[int(np.argmax(loglikelihoods(model, doc)))]
            instance = {
                "input": {"text": f"Question {doc}?"},
                "references": [
                    {"output": {"text": o}, "tags": ["correct"] if k == GOLD[doc] else []}
                    for k, o in enumerate(options)
                ],
                "split": "test",
                "id": f"id{100 + doc}",
            }
            states.append(
                {
                    "instance": instance,
                    "train_trial_index": 0,
                    "output_mapping": dict(zip(letters, options, strict=True)),
                    "request": {
                        "model": name,
                        "prompt": f"Question {doc}?\nAnswer:",
                        "temperature": 0.0,
                        "max_tokens": 1,
                    },
                    "result": {
                        "success": True,
                        "completions": [{"text": f" {answer}", "logprob": -0.2, "tokens": []}],
                        "cached": True,
                    },
                    "num_train_instances": 5,
                    "prompt_truncated": False,
                }
            )
            exact = float(answer == letters[GOLD[doc]])
            stats.append(
                {
                    "instance_id": f"id{100 + doc}",
                    "train_trial_index": 0,
                    "stats": [
                        {
                            "name": {"name": "exact_match", "split": "test"},
                            "count": 1,
                            "sum": exact,
                            "sum_squared": exact,
                            "min": exact,
                            "max": exact,
                            "mean": exact,
                        }
                    ],
                }
            )
        adapter = {
            "method": "multiple_choice_joint",
            "model": name,
            "model_deployment": name,
            "max_train_instances": 5,
        }
        (run / "scenario_state.json").write_text(
            json.dumps({"adapter_spec": adapter, "request_states": states}, indent=2)
        )
        (run / "per_instance_stats.json").write_text(json.dumps(stats, indent=2))


def table() -> None:
    with (HERE / "table.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "id", "prediction", "label", "subject", *[f"prob_{c}" for c in "ABCD"]])
        for model in MODELS:
            for doc in range(N):
                ll = np.array(loglikelihoods(model, doc))
                p = np.exp(ll - ll.max())
                p /= p.sum()
                row = [
                    model.replace("__", "/"),
                    f"q{doc}",
                    "ABCD"[int(p.argmax())],
                    "ABCD"[GOLD[doc]],
                    SUBJECTS[doc % 3],
                ]
                writer.writerow(row + [f"{v:.4f}" for v in p])


def embeddings() -> None:
    root = HERE / "embeddings"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    base = rng.normal(size=(N, 6))
    ids = [str(doc) for doc in range(N)]
    vectors = {
        m: (base @ rng.normal(size=(6, 8)) + 0.1 * rng.normal(size=(N, 8))).astype(np.float32) for m in MODELS
    }
    a, b, c = MODELS
    np.savez(root / f"{a}.npz", ids=np.array(ids), embeddings=vectors[a])
    np.save(root / f"{b}.npy", vectors[b])
    (root / f"{b}.ids.txt").write_text("\n".join(ids) + "\n")
    header = {
        "embeddings": {
            "dtype": "F32",
            "shape": list(vectors[c].shape),
            "data_offsets": [0, vectors[c].nbytes],
        },
        "ids": {"dtype": "I64", "shape": [N], "data_offsets": [vectors[c].nbytes, vectors[c].nbytes + 8 * N]},
    }
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    body = vectors[c].tobytes() + np.arange(N, dtype=np.int64).tobytes()
    (root / f"{c}.safetensors").write_bytes(struct.pack("<Q", len(encoded)) + encoded + body)


def attributes() -> None:
    rows = [
        ("EleutherAI/pythia-160m", "pythia", "EleutherAI", 0.16, "2023-02-13"),
        ("Qwen/Qwen2.5-0.5B", "qwen", "Alibaba", 0.5, "2024-09-19"),
        ("meta-llama/Llama-3.2-1B", "llama", "Meta", 1.2, "2024-09-25"),
    ]
    with (HERE / "models.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "family", "provider", "size", "release_date"])
        writer.writerows(rows)


def iris_models() -> None:
    """Three scikit-learn models' predictions on every example of iris, as another tool would write
    them (the example id is the row of sklearn.datasets.load_iris), with their probabilities."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_iris(return_X_y=True)
    models = {
        "zoo/naive-bayes": GaussianNB(),
        "zoo/tree": DecisionTreeClassifier(max_depth=2, random_state=0),
        "zoo/logistic": LogisticRegression(C=0.05, max_iter=1000),
    }
    with (HERE / "iris_models.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "id", "prediction", "label", "prob_0", "prob_1", "prob_2"])
        for name, model in models.items():
            p = cross_val_predict(model, x, y, cv=5, method="predict_proba")
            for row in range(len(y)):
                if name == "zoo/tree" and row == 7:
                    continue  # one example this model never answered
                writer.writerow([name, row, int(p[row].argmax()), int(y[row]), *(f"{v:.4f}" for v in p[row])])


if __name__ == "__main__":
    lm_eval()
    leaderboard()
    helm()
    table()
    embeddings()
    attributes()
    iris_models()
