"""homog.runtime.external: other people's models, through the outputs they already produced.

`readers` reads each format (lm-evaluation-harness `--log_samples`, HELM run folders, Open LLM
Leaderboard details, a documented long-form table, embeddings, a table of model attributes) into
`Answers`, one per model; `join` aligns the models on the examples they all answered and says
what it dropped. The `external` node (runtime/nodes/external.py) runs both.
"""
