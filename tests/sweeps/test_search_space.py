"""What an out-of-memory point implies on a grid: more memory-hungry values of the options with a
known memory direction, the same value of every other option."""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from app.sweeps.search_space import GridSpace


def test_oom_implies_larger_batches_on_fewer_tensor_parallel_gpus_and_nothing_across_other_options() -> None:
    space = GridSpace.of({"tensor_parallel_size": IntDistribution(1, 4), "batch_size": IntDistribution(0, 3),
                          "dtype": CategoricalDistribution(["float16", "bfloat16"])})
    assert space is not None and space.size == 4 * 4 * 2
    failed = {"tensor_parallel_size": 2, "batch_size": 1, "dtype": "float16"}
    implied = {(p["tensor_parallel_size"], p["batch_size"]) for p in space.implied_oom(failed, space.points())
               if p["dtype"] == "float16"}
    assert implied == {(t, b) for t in (1, 2) for b in (1, 2, 3)}
    assert not any(p["dtype"] == "bfloat16" for p in space.implied_oom(failed, space.points()))


def test_a_continuous_axis_has_no_grid() -> None:
    assert GridSpace.of({"temperature": FloatDistribution(0.0, 1.0), "batch_size": IntDistribution(1, 8)}) is None
    assert GridSpace.of({"temperature": FloatDistribution(0.0, 1.0, step=0.25)}).size == 5  # type: ignore[union-attr]
