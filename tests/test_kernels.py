"""The plan runner's kernels: encrypted channels where pyzmq can, so no per-job warning."""

from __future__ import annotations

import nbformat
import papermill
import pytest
import zmq

from randnas.kernels import EncryptedKernelManager


@pytest.mark.skipif(not zmq.has("curve"), reason="this pyzmq has no CurveZMQ")
def test_a_plan_kernel_runs_encrypted_and_quiet(tmp_path, capfd):
    assert EncryptedKernelManager().transport_encryption == "auto"
    source = tmp_path / "in.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), source)
    papermill.execute_notebook(
        str(source),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        kernel_manager_class=EncryptedKernelManager,
    )
    assert nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs[0]["text"] == "42\n"
    assert "without encryption" not in capfd.readouterr().err
