import dataclasses

import pytest

from nncore import TrainConfig


def test_defaults_match_the_design():
    config = TrainConfig()
    assert config.as_dict() == {
        "optimizer": "lbfgs",
        "lam": 1.0,
        "learning_rate": 1.0,
        "max_iter": 100,
        "tol": 1e-6,
        "batch_size": None,
        "seed": 0,
        "dtype": "float64",
        "early_stopping": False,
        "n_iter_no_change": 10,
    }


def test_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lam = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "sgd"}, "optimizer"),
        ({"lam": -0.1}, "lam"),
        ({"lam": float("nan")}, "lam"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"max_iter": True}, "max_iter"),
        ({"tol": -1e-3}, "tol"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 3.0}, "batch_size"),
        ({"seed": -1}, "seed"),
        ({"dtype": "float16"}, "dtype"),
        ({"early_stopping": "yes"}, "early_stopping"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=f"expected {message}"):
        TrainConfig(**kwargs)


def test_integers_are_accepted_for_floats():
    config = TrainConfig(lam=0, learning_rate=2, tol=0, batch_size=32, optimizer="adam")
    assert config.lam == 0 and config.batch_size == 32
