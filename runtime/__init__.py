"""homog.runtime: runs a compiled spec and reports on it.

Rooms, each with one job: `run.py` (compile once, schedule, write the run
directory), `nodes/` (what each node kind computes, from its inputs by name),
`learners/` (the learner protocol, torch and scikit-learn backends, the one
training loop), `architectures/` (torch networks and fusions), `evaluation/`
and `metrics/` (the metrics), `report/` (the page, from the typed
`results.Results`), `registry.py` (implementations by (kind, name)),
`scheduler.py`, `cache.py`, `placement.py` and the executors.
"""
