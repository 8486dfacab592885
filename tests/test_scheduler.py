"""Every local executor passes the shared executor contract."""

from __future__ import annotations

from homog.runtime.scheduler import LocalExecutor, SyncExecutor

from .executor_contract import ExecutorContract


class TestSyncExecutor(ExecutorContract):
    def executor(self):
        return SyncExecutor()


class TestLocalExecutorWithThreads(ExecutorContract):
    def executor(self):
        return LocalExecutor(jobs=3)
