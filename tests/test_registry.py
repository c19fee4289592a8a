"""Ops by name: the registry's errors, op keys and clones."""
import numpy as np
import pytest

from fastfit import _core
from helpers import rand


def test_unknown_op_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown op 'matmull'; known ops: abs, add, .*matmul"):
        _core.apply("matmull", [])


def test_unknown_attribute_names_the_expected_ones():
    with pytest.raises(ValueError, match=r"matmul: unknown attribute 'transpose'; expected one of: transpose_a, "
                                         r"transpose_b"):
        _core.Op("matmul", transpose=True)
    with pytest.raises(ValueError, match=r"relu: unknown attribute 'alpha'; it takes none"):
        _core.Op("relu", alpha=0.1)


@pytest.mark.parametrize("name,attrs,match", [
    ("matmul", {"transpose_a": 1}, r"matmul: attribute `transpose_a` must be bool, got int"),
    ("dropout", {"rate": "0.5"}, r"dropout: attribute `rate` must be float, got str"),
    ("reduce_sum", {"axes": 0}, r"reduce_sum: attribute `axes` must be list of int, got int"),
    ("reduce_sum", {"axes": [0.5]}, r"reduce_sum: attribute `axes` must be list of int, got list of float"),
    ("reduce_sum", {"axes": ["0"]}, r"attribute `axes` must be a list of numbers, got an element of type str"),
    ("matmul", {"transpose_a": None}, r"attribute `transpose_a` must be a bool, int, float, str or list of numbers, "
                                      r"got NoneType"),
])
def test_attribute_of_the_wrong_type_is_a_type_error(name, attrs, match):
    with pytest.raises(TypeError, match=match):
        _core.Op(name, **attrs)


def test_invalid_attribute_value_is_a_value_error():
    with pytest.raises(ValueError, match=r"dense: unknown activation 'gelu'"):
        _core.Op("dense", activation="gelu")


def test_wrong_inputs_are_clear_errors():
    x = _core.Tensor(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"matmul: expected 2 inputs, got 1"):
        _core.apply("matmul", [x])
    with pytest.raises(TypeError, match=r"add: input 1 is None"):
        _core.apply("add", [x, None])


def test_key_names_the_op_and_every_attribute():
    assert _core.Op("matmul").key() == "matmul(transpose_a=false,transpose_b=false)"
    assert _core.Op("dense", activation="relu").key() == "dense(activation='relu',use_bias=true)"
    assert _core.Op("reduce_mean", axes=(0, -1)).key() == "reduce_mean(axes=[0,-1],keepdims=false)"
    assert _core.Op("add").key() == "add()"


def test_equal_attributes_give_equal_keys():
    assert _core.Op("matmul").key() == _core.Op("matmul", transpose_a=False, transpose_b=False).key()
    assert _core.Op("dropout", rate=0).key() == _core.Op("dropout", rate=0.0).key()  # an int where a float goes
    assert _core.Op("reduce_sum", axes=[1]).key() == _core.Op("reduce_sum", axes=(1,)).key()


@pytest.mark.parametrize("a,b", [
    (("matmul", {}), ("matmul", {"transpose_b": True})),
    (("dropout", {"rate": 0.1}), ("dropout", {"rate": 0.1000001})),
    (("reduce_sum", {}), ("reduce_mean", {})),
    (("reduce_sum", {"axes": [0]}), ("reduce_sum", {"axes": [0], "keepdims": True})),
    (("sparse_categorical_crossentropy", {}), ("sparse_categorical_crossentropy", {"from_logits": True})),
])
def test_different_ops_or_attributes_give_different_keys(a, b):
    assert _core.Op(a[0], **a[1]).key() != _core.Op(b[0], **b[1]).key()


@pytest.mark.parametrize("name", _core.op_names())
def test_every_op_clones_to_the_same_configuration(name):
    op = _core.Op(name)
    clone = op.clone()
    assert clone is not op
    assert (clone.key(), clone.name, clone.registry_name, clone.attrs) == (op.key(), op.name, name, op.attrs)


@pytest.mark.parametrize("name,attrs,shapes", [
    ("matmul", {"transpose_b": True}, [(5, 3), (4, 3)]),
    ("dense", {"activation": "tanh"}, [(6, 3), (3, 4), (4,)]),
    ("reduce_mean", {"axes": [0]}, [(3, 4)]),
    ("dropout", {"rate": 0.4}, [(7, 5)]),
])
def test_a_clone_computes_what_the_original_computes(name, attrs, shapes):
    rng = np.random.default_rng(0)
    inputs = [_core.Tensor(rand(rng, *s)) for s in shapes]
    if name == "dropout":
        inputs.append(_core.Tensor(np.array([3, 1], np.int32)))
    op = _core.Op(name, **attrs)
    np.testing.assert_array_equal(op.clone().forward(inputs, threads=1).numpy(), op.forward(inputs, threads=1).numpy())
