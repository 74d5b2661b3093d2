"""A training command stops before any work, with what to do, when it needs a missing module."""

from __future__ import annotations

import pytest

from training.params import require_modules


def test_a_missing_training_module_stops_the_command_with_what_to_do():
    with pytest.raises(SystemExit) as stopped:
        require_modules("json", "a_training_only_module_this_machine_lacks")
    assert str(stopped.value) == ("a_training_only_module_this_machine_lacks is missing: run this "
                                  "with a training environment (see --help).")


def test_modules_that_are_there_let_it_run():
    require_modules("json", "numpy")  # returns quietly
