"""Runs inside a grading kernel: before each check cell, put back what a submission replaced.

A check cell trusts the functions it calls: ``labutils.checks.assert_close``, ``numpy.allclose``,
``torch.testing.assert_close``, a reference function defined by a read-only cell. Student code runs
in the same kernel and could replace any of them with a function that always passes. The grader
therefore asks this module (through silent requests the notebook does not show):

- ``snapshot(modules, bindings)`` before the first cell: imports the modules the instructor's
  notebook imports and records, for every loaded module of those packages (and ``builtins``,
  ``math``), its ``sys.modules`` entry, its functions, classes and submodules, each Python
  function's code and defaults, and each Python class's methods; ``bindings`` are the names the
  instructor's import statements bind (``np`` → ``numpy``, ``assert_close`` → ...);
- ``protect(names)`` after each read-only (locked) cell: the objects that cell bound;
- ``restore()`` before each check cell: puts all of that back, and returns what it had to put back
  (the grader writes it into the feedback).

Only the standard library is imported here. What this cannot stop (code that rewrites this module
or the kernel itself) is described in docs/instructor.md, with the sandbox that limits it.
"""
from __future__ import annotations

import importlib
import sys
import types
import warnings

ALWAYS = ("builtins", "math")
KERNEL_OWNED = {"builtins": {"input", "raw_input"}}  # ipykernel swaps these for every request
# PyTorch wraps its own functions at run time (``torch.manual_seed`` when dynamo loads, an optimizer's
# ``step`` on first use, dataclass methods): a replacement that wraps the original (``__wrapped__``)
# is accepted there. Elsewhere every replacement is put back.
SELF_WRAPPING = {"torch"}
SHADOW_CHECKED = {"torch.Tensor"}  # classes (besides labutils') where an added method hiding an
#                                    inherited one (``Tensor.allclose``) is removed
ALSO = {"numpy": ["numpy.testing"], "torch": ["torch.testing", "torch.nn.functional"]}  # lazily loaded
_CALLABLE = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type,
             types.MethodDescriptorType, types.WrapperDescriptorType)
_HEAP, _IMMUTABLE = 1 << 9, 1 << 8  # type flags: defined in Python (patchable) / read-only
_state: dict = {"modules": {}, "attrs": {}, "code": [], "classes": [], "bindings": {}}


def _guarded(name: str, packages: set[str]) -> bool:
    return name.split(".")[0] in packages


def _user_ns() -> dict:
    return sys.modules["__main__"].__dict__


def _keep(module_name: str, value) -> bool:
    """Attributes worth restoring: code and structure always; constants only in labutils.checks."""
    return isinstance(value, _CALLABLE) or callable(value) or module_name == "labutils.checks"


def snapshot(modules: list[str], bindings: dict[str, str]) -> None:
    """Import ``modules`` and record the pristine state of their packages (see the module doc)."""
    with warnings.catch_warnings():  # touching deprecated attributes must not print anything
        warnings.simplefilter("ignore")
        _snapshot(modules, bindings)


def _snapshot(modules: list[str], bindings: dict[str, str]) -> None:
    modules = list(modules) + [extra for name in modules for extra in ALSO.get(name, [])]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional package is simply not guarded
            pass
    packages = {name.split(".")[0] for name in modules} | set(ALWAYS)
    seen: set[int] = set()
    for name, module in list(sys.modules.items()):
        if module is None or not _guarded(name, packages):
            continue
        _state["modules"][name] = module
        attrs = {k: v for k, v in vars(module).items() if _keep(name, v) and k not in KERNEL_OWNED.get(name, ())}
        _state["attrs"][name] = attrs
        for value in attrs.values():
            if isinstance(value, types.FunctionType):
                _state["code"].append((value, value.__code__, value.__defaults__, value.__kwdefaults__))
            elif isinstance(value, type) and _patchable(value, packages) and id(value) not in seen:
                seen.add(id(value))
                _state["classes"].append((value, {k: v for k, v in vars(value).items() if callable(v)}))
    for alias, target in bindings.items():
        value = _resolve(target)
        if value is not None:
            _state["bindings"][alias] = value


def _patchable(cls: type, packages: set[str]) -> bool:
    """A class of a guarded package whose methods Python code can replace."""
    return (_guarded(getattr(cls, "__module__", None) or "", packages)
            and cls.__flags__ & _HEAP and not cls.__flags__ & _IMMUTABLE)


def _inherited(cls: type, attr: str) -> bool:
    return any(attr in vars(base) for base in cls.__mro__[1:])


def _resolve(target: str):
    """``numpy`` → the module; ``labutils.checks.assert_close`` → the function (None if missing)."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        value = _state["modules"].get(".".join(parts[:cut]))
        if value is not None:
            for attr in parts[cut:]:
                value = getattr(value, attr, None)
            return value
    return None


def protect(names: list[str]) -> None:
    """Record the current values of ``names`` (bound by a read-only cell) as the ones checks use."""
    ns = _user_ns()
    _state["bindings"].update({name: ns[name] for name in names if name in ns})


def _wraps(new, old, owner: str) -> bool:
    """True when ``new`` is PyTorch's own wrapper around ``old`` (see SELF_WRAPPING)."""
    if owner.split(".")[0] not in SELF_WRAPPING:
        return False
    for _ in range(5):
        new = getattr(new, "__wrapped__", None)
        if new is None or new is old:
            return new is old
    return False


def _shadow_checked(cls: type) -> bool:
    name = f"{cls.__module__}.{cls.__qualname__}"
    return name in SHADOW_CHECKED or cls.__module__.split(".")[0] == "labutils"


def restore() -> list[str]:
    """Put back every recorded module, attribute, function body, method and name; list what changed."""
    changed = []
    for name, module in _state["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            changed.append(f"sys.modules[{name!r}]")
        now, recorded = vars(module), _state["attrs"][name]
        for attr, value in recorded.items():
            current = now.get(attr, changed)
            if current is value:
                continue
            if _wraps(current, value, name):
                recorded[attr] = current  # PyTorch's own wrapper: the new original
                continue
            setattr(module, attr, value)
            changed.append(f"{name}.{attr}")
    for function, code, defaults, kwdefaults in _state["code"]:
        if function.__code__ is not code or function.__defaults__ is not defaults \
                or function.__kwdefaults__ is not kwdefaults:
            function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
            changed.append(f"the body of {function.__module__}.{function.__qualname__}")
    for cls, methods in _state["classes"]:
        now = vars(cls)
        for attr, value in methods.items():
            current = now.get(attr)
            if current is value:
                continue
            if _wraps(current, value, cls.__module__):
                methods[attr] = current
                continue
            setattr(cls, attr, value)
            changed.append(f"{cls.__module__}.{cls.__qualname__}.{attr}")
        if not _shadow_checked(cls):
            continue
        for attr in [a for a, v in now.items() if a not in methods and callable(v) and _inherited(cls, a)]:
            delattr(cls, attr)  # an added method that hides an inherited one (Tensor.allclose)
            changed.append(f"{cls.__module__}.{cls.__qualname__}.{attr}")
    ns = _user_ns()
    for name, value in _state["bindings"].items():
        if name in ns and ns[name] is not value:
            ns[name] = value
            changed.append(f"the name {name!r}")
    return changed
