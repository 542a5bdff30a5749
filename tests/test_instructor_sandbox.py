"""Submissions that try to game the grader score only what their exercise code earns (here 0).

Each dishonest submission answers both exercises wrongly (``return x``) and then attacks: replaces
the checks (``labutils.checks``, ``numpy.allclose``, ``numpy.testing``, ``sys.modules`` entries),
reads the solution notebook or another student's submission from disk, writes to the gradebook or
the solution notebook, exits or kills its kernel. An honest solution and a blank submission are
graded in the same parallel batch; their scores must not change. The attacks on files need the
bubblewrap sandbox and are left out (with the reason) where it is not available. Slow: kernels.
"""
from __future__ import annotations

import copy

import nbformat
import pytest

pytest.importorskip("nbgrader")

from instructor_fixture import CUBE, SQUARE, TIMEOUT, cell_by_id, fixture_notebook, with_solutions  # noqa: E402

from labutils.instructor import grade_submissions, student_version  # noqa: E402
from labutils.instructor.execute import execute  # noqa: E402
from labutils.instructor.gradebook import grade_all, load_sources  # noqa: E402
from labutils.instructor.sandbox import bwrap, choose_runner, sandbox_args  # noqa: E402

pytestmark = pytest.mark.slow
SANDBOX = bwrap() is not None
RUNNER, _ = choose_runner(True)
WRONG = {"square": "def square(x):\n    return x", "cube": "def cube(x):\n    return x"}

# cube's check uses numpy's own comparisons, so that patching them would matter
NUMPY_CHECK = ('import numpy as np\nassert np.allclose(cube(np.arange(3.0)), [0.0, 1.0, 8.0]), "cube is wrong"\n'
               'np.testing.assert_allclose(cube(2.0), 8.0)')

IN_KERNEL = {
    "patch-checks": "import labutils.checks\nlabutils.checks.assert_close = lambda *a, **k: 0.0\n"
                    "assert_close = labutils.checks.assert_close",
    "patch-code": "import labutils.checks\nlabutils.checks.assert_close.__code__ = (lambda *a, **k: 0.0).__code__",
    "patch-numpy": "import numpy, numpy.testing\nnumpy.allclose = lambda *a, **k: True\n"
                   "numpy.testing.assert_allclose = lambda *a, **k: None",
    "patch-sys-modules": "import sys, types\nfake = types.ModuleType('labutils.checks')\n"
                         "fake.assert_close = lambda *a, **k: 0.0\nsys.modules['labutils.checks'] = fake\n"
                         "fake_np = types.ModuleType('numpy')\nfake_np.__dict__.update(vars(sys.modules['numpy']))\n"
                         "fake_np.allclose = lambda *a, **k: True\n"
                         "fake_np.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)\n"
                         "sys.modules['numpy'] = fake_np",
    "sys-exit": "import sys\nsys.exit(0)",
    "os-exit": "import os\nos._exit(0)",
    "kill-kernel": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
}


def on_disk(root) -> dict:
    """Attacks on files (they need the sandbox); ``root`` is where the batch lives."""
    steal = ("import json\nfor cell in json.load(open({path!r}))['cells']:\n"
             "    if cell['metadata'].get('nbgrader', {{}}).get('solution'):\n"
             "        exec(''.join(cell['source']))")
    return {
        "read-solution": steal.format(path=str(root / "source" / "adv.ipynb")),
        "read-other-submission": steal.format(path=str(root / "subs" / "honest" / "adv.ipynb")),
        "write-gradebook": f"import os\nos.makedirs({str(root / 'out')!r}, exist_ok=True)\n"
                           f"open({str(root / 'out' / 'gradebook.csv')!r}, 'w').write('hacked')\n"
                           f"open({str(root / 'source' / 'adv.ipynb')!r}, 'a').write(' ')",
        "kill-parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    }


def adversarial_source():
    """The fixture without its hidden test (it would catch the wrong answers by itself), and with
    a check that uses numpy's comparisons for cube."""
    nb = fixture_notebook()
    check = cell_by_id(nb, "square-check")
    check.source = check.source.split("### BEGIN HIDDEN TESTS")[0].rstrip()
    cell_by_id(nb, "cube-check").source = NUMPY_CHECK
    return nb


def write_batch(root, attacks: dict) -> None:
    """The source and one submission per attack (wrong answers, the attack in both exercise cells),
    plus an honest and a blank one."""
    (root / "source").mkdir()
    source = adversarial_source()
    nbformat.write(source, root / "source" / "adv.ipynb")
    blank = student_version(source)
    subs = {"honest": with_solutions(blank, square=SQUARE, cube=CUBE), "blank": copy.deepcopy(blank)}
    for name, attack in attacks.items():
        subs[name] = with_solutions(blank, **{gid: f"{code}\n{attack}" for gid, code in WRONG.items()})
    for name, nb in subs.items():
        (root / "subs" / name).mkdir(parents=True)
        nbformat.write(nb, root / "subs" / name / "adv.ipynb")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    attacks = {**IN_KERNEL, **(on_disk(root) if SANDBOX else {})}
    write_batch(root, attacks)
    before = (root / "source" / "adv.ipynb").read_bytes()
    book = grade_submissions([root / "subs"], root / "source", root / "out", timeout=TIMEOUT, log=lambda s: None,
                             jobs=2, runner=RUNNER, progress=False)
    return book, root, attacks, before


def test_honest_and_blank_submissions_are_unaffected(batch):
    book = batch[0]
    assert book[book.student == "honest"].points.sum() == 5.0
    assert book[book.student == "blank"].points.sum() == 0.0


@pytest.mark.parametrize("attack", list(IN_KERNEL))
def test_in_kernel_attacks_earn_nothing(batch, attack):
    book = batch[0]
    mine = book[book.student == attack]
    assert len(mine) == 2 and mine.points.sum() == 0.0, mine.to_string()


@pytest.mark.parametrize("attack", ["patch-checks", "patch-code", "patch-numpy", "patch-sys-modules"])
def test_replaced_checks_are_named_in_the_feedback(batch, attack):
    feedback = (batch[1] / "out" / "feedback" / f"{attack}.md").read_text()
    assert "replaced code the checks rely on" in feedback


@pytest.mark.skipif(not SANDBOX, reason="bubblewrap (bwrap) is not available here: no sandbox to test")
@pytest.mark.parametrize("attack", ["read-solution", "read-other-submission", "write-gradebook", "kill-parent"])
def test_attacks_on_files_earn_nothing_and_change_nothing(batch, attack):
    book, root, _, before = batch
    mine = book[book.student == attack]
    assert len(mine) == 2 and mine.points.sum() == 0.0, mine.to_string()
    assert (root / "source" / "adv.ipynb").read_bytes() == before, "the solution notebook is untouched"
    assert "hacked" not in (root / "out" / "gradebook.csv").read_text()


@pytest.mark.skipif(not SANDBOX, reason="bubblewrap (bwrap) is not available here: no sandbox to test")
def test_sandbox_hides_the_repository_notebooks(tmp_path):
    args = sandbox_args(tmp_path)
    visible = [args[i + 1] for i, a in enumerate(args) if a in ("--ro-bind", "--bind", "--ro-bind-try")]
    assert not any(v.rstrip("/").endswith("notebooks") for v in visible)
    assert "--unshare-all" in args, "no network, own process tree"


def test_the_attacks_would_work_without_the_defences(tmp_path):
    """Without the guard and the sandbox, the same attacks earn points: the tests above have teeth."""
    attacks = {name: IN_KERNEL[name] for name in ("patch-checks", "patch-code", "patch-numpy", "patch-sys-modules")}
    attacks["read-solution"] = on_disk(tmp_path)["read-solution"]
    write_batch(tmp_path, attacks)
    found = [(name, tmp_path / "subs" / name / "adv.ipynb") for name in attacks]
    grades = grade_all(found, load_sources(tmp_path / "source"), tmp_path / "source", TIMEOUT, 2, None, execute,
                       log=lambda s: None, progress=False, guard=False)
    assert {g.student: g.points for g in grades} == {"patch-checks": 2.0, "patch-code": 2.0, "patch-numpy": 3.0,
                                                     "patch-sys-modules": 5.0, "read-solution": 5.0}
