import numpy as np
import pytest

from labutils import checks


def test_assert_close_passes_and_prints_one_line(capsys):
    checks.assert_close("x", np.ones(3), np.ones(3) + 1e-9)
    assert capsys.readouterr().out.startswith("✓ x")


def test_assert_close_names_worst_entry():
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[1, 2] = 0.5
    got[0, 0] = 0.1
    with pytest.raises(AssertionError) as err:
        checks.assert_close("dW", got, expected, hint="look at the recurrence")
    msg = str(err.value)
    assert "dW" in msg and "(1, 2)" in msg and "expected 0" in msg and "got 0.5" in msg
    assert "2 of 6 entries" in msg and "hint: look at the recurrence" in msg


def test_assert_close_rejects_shape_and_nan():
    with pytest.raises(AssertionError, match="shape"):
        checks.assert_close("h", np.zeros(3), np.zeros(4))
    with pytest.raises(AssertionError, match="not finite"):
        checks.assert_close("h", np.array([0.0, np.nan]), np.zeros(2))


def test_rel_error_is_symmetric_and_safe():
    a, b = np.array([1.0, -1.0, 0.0]), np.array([1.0 + 1e-6, 1.0, 0.0])
    assert np.allclose(checks.rel_error(a, b), checks.rel_error(b, a))
    assert checks.rel_error(a, b)[1] == 1.0  # opposite signs: the largest possible error, not inf
    assert checks.rel_error(a, b)[2] == 0.0


def test_numerical_gradient_of_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    grad = checks.numerical_gradient(lambda: float(np.sum(x ** 2)), x)
    assert np.allclose(grad, 2 * x, atol=1e-8)
    assert np.array_equal(x, [1.0, -2.0, 3.0])  # restored


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        checks.numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))


def test_check_gradient_catches_wrong_gradient():
    x = np.array([[0.5, -1.5], [2.0, 0.1]])
    f = lambda: float(np.sum(np.sin(x)))  # noqa: E731
    assert checks.check_gradient("d sin", f, x, np.cos(x)) < 1e-8
    with pytest.raises(AssertionError, match=r"d sin: max rel. error .* at index"):
        checks.check_gradient("d sin", f, x, -np.cos(x))


def test_threshold_helpers():
    checks.assert_greater("acc", 0.9, 0.5)
    with pytest.raises(AssertionError, match="acc: 0.4 is not above 0.5"):
        checks.assert_greater("acc", 0.4, 0.5)
    with pytest.raises(AssertionError, match="not below"):
        checks.assert_less("loss", 2.0, 1.0)
    checks.assert_raises("empty", ValueError, int, "x")
    with pytest.raises(AssertionError, match="nothing was raised"):
        checks.assert_raises("empty", ValueError, int, "3")


def test_empty_arrays_pass_when_shapes_match():
    assert checks.assert_close("none", np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    assert checks.assert_rel_error("none", np.zeros(0), np.zeros(0)) == 0.0
    with pytest.raises(AssertionError, match="shape"):
        checks.assert_close("none", np.zeros((0, 3)), np.zeros((0, 2)))


def test_check_gradient_accepts_a_correct_gradient_with_tiny_entries():
    import numpy as np

    from labutils.checks import check_gradient

    # f(x) = 1e3 * sum(x**2) + 1e-6 * x[0]: the gradient of entry 0 near x = 0 is tiny against |f|.
    x = np.array([0.0, 3.0, -2.0])

    def f():
        return 1e3 * float(np.sum(x ** 2)) + 1e-6 * x[0]

    analytic = 2e3 * x + np.array([1e-6, 0.0, 0.0])
    check_gradient("tiny entries", f, x, analytic)
    wrong = analytic.copy()
    wrong[1] *= 1.001
    with pytest.raises(AssertionError, match="index \\(1,\\)"):
        check_gradient("wrong entry", f, x, wrong)
