"""``KEY=VALUE`` overrides of config fields from the command line.

``train --set env.rewards.track_ang_vel_z_exp.weight=2.0 --set agent.algorithm.num_mini_batches=2``
edits the task's env config (``env.``) or the rsl-rl runner config (``agent.``) before the env
is built, as Isaac Lab's own train script does with Hydra, so a recipe change can be tried on
the GPU without editing the task. ``train --solver KEY=VALUE`` uses the same typing
(:func:`athena_train.tasks.physics.override_solver`). Each value takes the type of the field it
replaces (int, float, bool as 0/1/true/false, str; a YAML list or tuple for a list/tuple field);
an unknown field or a value of the wrong type is refused with a ValueError naming it, before
any simulation starts.
"""

from __future__ import annotations

import yaml

ROOTS = ("env", "agent")


class OverrideError(ValueError):
    """A ``--set``/``--solver`` pair that names no field or whose value does not fit it."""


def typed_value(raw: str, current: object, what: str) -> object:
    """``raw`` as the type of ``current`` (the field's present value); ValueError if it is not."""
    kind = type(current)
    try:
        if kind is bool:
            if raw.lower() not in ("0", "1", "true", "false"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true")
        if kind is int or current is None and raw.lstrip("-").isdigit():
            return int(raw)
        if kind in (float, str):
            return kind(raw)
        if kind in (list, tuple):
            value = yaml.safe_load(raw)
            if not isinstance(value, (list, tuple)):
                raise ValueError(raw)
            return kind(value)
        if current is None:
            return yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError):
        pass
    raise OverrideError(f"{what}: {raw!r} is not of type {kind.__name__}")


def split(pair: str, what: str = "--set") -> tuple[list[str], str]:
    """``"a.b.c=v"`` -> (["a", "b", "c"], "v"); ValueError when it is not ``KEY=VALUE``."""
    key, sep, raw = pair.partition("=")
    path = key.strip().split(".")
    if not sep or not all(path):
        raise OverrideError(f"{what} {pair!r}: expected KEY=VALUE")
    return path, raw


def set_field(root: object, path: list[str], raw: str, what: str) -> object:
    """Set ``root.<path>`` (attributes or dict keys) to ``raw`` typed as the field; return it."""
    obj = root
    for i, name in enumerate(path):
        last = i == len(path) - 1
        if isinstance(obj, dict):
            if name not in obj:
                raise OverrideError(f"{what}: no field {'.'.join(path[:i + 1])!r}")
            if last:
                obj[name] = typed_value(raw, obj[name], what)
                return obj[name]
            obj = obj[name]
        else:
            if not hasattr(obj, name) or getattr(obj, name) is None and not last:
                raise OverrideError(f"{what}: no field {'.'.join(path[:i + 1])!r} "
                                    f"(in {type(obj).__name__})")
            if last:
                value = typed_value(raw, getattr(obj, name), what)
                setattr(obj, name, value)
                return value
            obj = getattr(obj, name)
    raise AssertionError("unreachable")


def check_syntax(pairs: list[str]) -> None:
    """Refuse a malformed ``--set`` (no ``=``, or a root other than env/agent) at once."""
    for pair in pairs:
        path, _ = split(pair)
        if path[0] not in ROOTS or len(path) < 2:
            raise OverrideError(f"--set {pair!r}: the key starts with one of {ROOTS}, e.g. "
                                "env.rewards.track_ang_vel_z_exp.weight=2.0")


def apply(pairs: list[str], root_name: str, cfg: object) -> dict[str, object]:
    """Apply the ``pairs`` whose key starts with ``root_name`` to ``cfg``; return what was set."""
    done = {}
    for pair in pairs:
        path, raw = split(pair)
        if path[0] == root_name:
            done[".".join(path)] = set_field(cfg, path[1:], raw, f"--set {pair!r}")
    return done
