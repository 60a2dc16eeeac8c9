"""The notebooks' glue helper hands myst-nb values it can format."""

import numpy as np
import torch

from dcgan_lib.notebook import _plain, glue


def test_numpy_and_tensor_scalars_become_python_numbers():
    for value, expected in [
        (np.float64(0.25), 0.25),
        (np.int64(3), 3),
        (torch.tensor(1.5), 1.5),
        (np.float32(2.0), 2.0),
    ]:
        plain = _plain(value)
        assert type(plain) in (float, int) and plain == expected
        # myst-nb parses the text/plain repr back into a number for format specs like :.2f
        assert float(repr(plain)) == expected


def test_other_values_pass_through():
    arr = np.zeros(3)
    assert _plain(arr) is arr and _plain("text") == "text" and _plain(7) == 7


def test_glue_runs_outside_a_notebook():
    glue("x", np.float64(0.5), display=False)
