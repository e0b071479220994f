"""The kernels the plan runner starts for its notebooks.

A plan's kernels talk to papermill over loopback TCP; ipykernel (>= 7.3) then warns once per kernel that
the channels are unencrypted. Where pyzmq has CurveZMQ, the kernel manager provisions keys so the
channels are encrypted and the warning never comes; elsewhere nothing changes.

A kernel whose runner dies (even by SIGKILL) ends itself: ipykernel polls its parent. Its ASHA pool workers
then die with it (`randnas.backends.die_with_parent`); tests/test_plans.py kills a runner to check both.
"""

from __future__ import annotations

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import default


class EncryptedKernelManager(AsyncKernelManager):
    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        # "auto": keys when the kernelspec says the kernel supports them (ipykernel's does)
        return "auto" if zmq.has("curve") else "disabled"
