"""Faults, and nothing lost: kills during training and saving, a full disk, SIGTERM with a request in
flight, and corrupted checkpoints.

"No half-written files" means: the checkpoint a reader resolves always has all of its files and loads;
what a killed save leaves behind is hidden (``.tmp-PID-*``, ``.model.old-model``), never read by
loaders, and removed by the next save. The real-process faults live in ``scripts/reliability/faults.py``
(also runnable by hand); the tests here assert on what they report.
"""

from __future__ import annotations

import errno
import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from ner import checkpoint
from ner.cli import app
from ner.config import load_config
from ner.conll import read_conll
from ner.features import Featurizer
from ner.model import BiLstmCrf
from ner.pipeline import Tagger
from ner.tags import bioes_labels
from ner.train import train

from .conftest import EN_TRAIN, TINY

FILES = sorted([checkpoint.CONFIG_FILE, checkpoint.VOCAB_FILE, checkpoint.WEIGHTS_FILE, checkpoint.CARD_FILE])
EN_TINY = [*TINY, "features.casing_dim=4"]
Model = tuple[BiLstmCrf, Featurizer]


def _faults_script() -> ModuleType:
    path = Path(__file__).parents[1] / "scripts" / "reliability" / "faults.py"
    spec = importlib.util.spec_from_file_location("reliability_faults", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


faults = _faults_script()


def _tiny(seed: int) -> Model:
    """An untrained tiny English model: saving and loading do not care what it learned."""
    config = load_config("en", overrides=EN_TINY)
    sentences = read_conll(EN_TRAIN).sentences
    featurizer = Featurizer.build(config.features, [s.tokens for s in sentences])
    types = sorted({tag[2:] for s in sentences for tag in s.tags if tag != "O"})
    torch.manual_seed(seed)
    return BiLstmCrf.for_featurizer(featurizer, config.model, bioes_labels(types)).eval(), featurizer


@pytest.fixture(scope="module")
def old() -> Model:
    return _tiny(seed=1)


@pytest.fixture(scope="module")
def new() -> Model:
    return _tiny(seed=2)


def _same(a: BiLstmCrf, b: BiLstmCrf) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _loads_and_predicts(out: Path) -> BiLstmCrf:
    """What every reader must be able to do after any fault: resolve a complete checkpoint, load, predict."""
    assert sorted(p.name for p in checkpoint.resolve(out).iterdir()) == FILES
    model, featurizer, config = checkpoint.load(out)
    text = "Angela Merkel visited Paris ."
    for e in Tagger(model, featurizer, config).predict([text])[0]:
        assert text[e.start : e.end] == e.text
    return model


# --- SIGKILL ---------------------------------------------------------------------------------------


def test_sigkill_mid_training_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    """Real `ner train` processes, killed 0 s and 0.4 s after their first checkpoint and, twice, the
    moment a save is seen in progress; each run after the first restarts with --overwrite."""
    out = tmp_path / "run"
    kills = faults.kill_training(out, delays=(0.0, None, 0.4, None), overrides=EN_TINY)
    for kill in kills:
        assert kill["returncode"] == -signal.SIGKILL, kill
        assert kill["loadable"] and kill["checkpoint"] in ("model", ".model.old-model"), kill
        assert kill["checkpoint_files"] == FILES, kill
        assert all(name.startswith(".") for name in kill["leftovers"]), kill  # hidden, never loaded
        assert kill["metrics_lines"] >= 1 and kill["metrics_whole"], kill
    after = faults.resave(out)  # the next save cleans up whatever the killed ones left
    assert after["loadable"] and after["leftovers"] == [], after


def _save_killed_at(step: int, model: Model, target: Path) -> bool:
    """``checkpoint.save`` in a forked child that SIGKILLs itself at its ``step``-th kill point: with
    each file half written, before and after each rename, and with the old checkpoint half removed.
    True when the child was killed, False when ``step`` is past the last kill point."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            points = itertools.count(1)

            def point() -> None:
                if next(points) == step:
                    os.kill(os.getpid(), signal.SIGKILL)

            real_write, real_rename, real_rmtree = checkpoint._write, os.rename, shutil.rmtree

            def write(path: Path, data: bytes) -> None:
                path.write_bytes(data[: len(data) // 2])
                point()
                real_write(path, data)

            def rename(src: str | Path, dst: str | Path) -> None:
                point()
                real_rename(src, dst)
                point()

            def rmtree(path: str | Path, *args: object, **kwargs: object) -> None:
                first = next(Path(path).iterdir(), None)
                if first is not None:
                    first.unlink()
                point()
                real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

            checkpoint._write, os.rename, shutil.rmtree = write, rename, rmtree  # type: ignore[assignment]
            checkpoint.save(*model, target)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, "the save failed without being killed"
    return False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_at_every_step_of_a_save_loses_nothing(old: Model, new: Model, tmp_path: Path) -> None:
    out = tmp_path / "run"
    checkpoint.save(*old, out / "model")
    got = []
    for step in itertools.count(1):
        killed = _save_killed_at(step, new, out / "model")
        loaded = _loads_and_predicts(out)
        assert _same(loaded, old[0]) or _same(loaded, new[0])
        got.append("old" if _same(loaded, old[0]) else "new")
        assert {p.name for p in out.iterdir() if not p.name.startswith(".")} <= {"model"}
        if not killed:
            break
        checkpoint.save(*old, out / "model")  # the next save removes what the killed one left
        assert sorted(os.listdir(out)) == ["model"] and _same(_loads_and_predicts(out), old[0])
    assert step >= 10, "every write, both renames and the removal were kill points"
    # The switch happens exactly once, at the rename of the new checkpoint into place.
    assert got == sorted(got, reverse=True) and got[0] == "old" and got[-1] == "new", got


def test_the_next_save_removes_temporaries_of_dead_writers_only(old: Model, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    alive = os.getpid()  # another thread of this process could be saving right now
    for name in (f".tmp-{dead}-abc", f".tmp-{alive}-def", ".tmp-nopid"):
        (tmp_path / name).mkdir()
        (tmp_path / name / checkpoint.CONFIG_FILE).write_text("{")
    checkpoint.save(*old, tmp_path / "model")
    assert sorted(os.listdir(tmp_path)) == [f".tmp-{alive}-def", ".tmp-nopid", "model"]


def test_a_checkpoint_path_still_loads_between_the_renames_of_a_save(old: Model, tmp_path: Path) -> None:
    """Killed after moving the old checkpoint aside and before renaming the new one into place."""
    checkpoint.save(*old, tmp_path / "ckpt")
    os.rename(tmp_path / "ckpt", tmp_path / ".model.old-ckpt")
    assert _same(checkpoint.load(tmp_path / "ckpt")[0], old[0])
    checkpoint.save(*old, tmp_path / "ckpt")
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]


def test_train_refuses_an_output_whose_checkpoint_was_moved_aside(old: Model, tmp_path: Path) -> None:
    """Without --overwrite a new run must not replace the previous model, wherever a kill left it."""
    checkpoint.save(*old, tmp_path / "model")
    os.rename(tmp_path / "model", tmp_path / ".model.old-model")
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        train(load_config("en", overrides=EN_TINY), EN_TRAIN, tmp_path, dev_path=EN_TRAIN, progress=False)
    assert _same(checkpoint.load(tmp_path)[0], old[0])


# --- full disk -------------------------------------------------------------------------------------

FULL_DISK_STEPS = [
    "mkdtemp",
    checkpoint.CONFIG_FILE,
    checkpoint.VOCAB_FILE,
    checkpoint.CARD_FILE,
    checkpoint.WEIGHTS_FILE,
    "rename old aside",
    "rename new into place",
]


def _enospc(*filenames: str | Path | None) -> OSError:
    names = [str(f) if f is not None else None for f in filenames]
    if len(names) == 2:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), names[0], None, names[1])
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), *names)


@pytest.mark.parametrize("step", FULL_DISK_STEPS)
def test_a_full_disk_at_any_step_keeps_the_previous_checkpoint(
    step: str, old: Model, new: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    checkpoint.save(*old, target)
    real_write, real_rename = checkpoint._write, os.rename

    def write(path: Path, data: bytes) -> None:
        if path.name == step:
            path.write_bytes(data[: len(data) // 2])
            raise _enospc()  # as write(2) reports it: no file name
        real_write(path, data)

    def rename(src: str | Path, dst: str | Path) -> None:
        aside = step == "rename old aside" and Path(src) == target
        into_place = step == "rename new into place" and Path(dst) == target and Path(src).name.startswith(".tmp-")
        if aside or into_place:
            raise _enospc(src, dst)
        real_rename(src, dst)

    def mkdtemp(*args: object, dir: str | Path | None = None, **kwargs: object) -> str:
        raise _enospc(dir)

    monkeypatch.setattr(checkpoint, "_write", write)
    monkeypatch.setattr(os, "rename", rename)
    if step == "mkdtemp":
        monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(OSError) as raised:
        checkpoint.save(*new, target)
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert "No space left on device" in str(raised.value) and str(target) in str(raised.value)
    assert sorted(os.listdir(tmp_path)) == ["model"], "no temporaries, nothing left moved aside"
    assert _same(_loads_and_predicts(tmp_path), old[0])


def test_train_cli_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ner train` whose second checkpoint finds the disk full: the first stays, and the user gets one line."""
    real_write = checkpoint._write
    saved: list[Path] = []

    def write(path: Path, data: bytes) -> None:
        if path.name == checkpoint.WEIGHTS_FILE:
            if saved:
                raise _enospc()
            saved.append(path)
        real_write(path, data)

    monkeypatch.setattr(checkpoint, "_write", write)
    out = tmp_path / "run"
    sets = [x for o in EN_TINY for x in ("--set", o)]
    args = ["train", "--train", str(EN_TRAIN), "--dev", str(EN_TRAIN), "--out", str(out), *sets]
    result = CliRunner().invoke(app, args)
    monkeypatch.undo()
    assert saved and result.exit_code != 0
    assert sorted(os.listdir(out)) == ["metrics.jsonl", "model"]
    _loads_and_predicts(out)
    assert result.exit_code == 2
    message = f"error: [Errno {errno.ENOSPC}] No space left on device; checkpoint not saved: '{out / 'model'}'"
    assert message in result.stderr.splitlines()


def test_a_real_full_disk(tmp_path: Path) -> None:
    """A 5 MB tmpfs: `ner train` of a 3.3 MB model (the second checkpoint cannot fit beside the first),
    then a 12 MB model saved into an empty directory."""
    report = faults.disk_full(tmp_path, "5m", overrides=EN_TINY)
    if report is None:
        pytest.skip("cannot mount a tmpfs here (needs root; containers usually refuse)")
    trained, after = report["train"], report["train"]["after"]
    target = tmp_path / "tmpfs" / "run" / "model"
    assert trained["returncode"] != 0, trained
    assert trained["last_stderr_line"].endswith(f"No space left on device; checkpoint not saved: '{target}'"), trained
    assert after["loadable"] and after["checkpoint"] == "model" and after["leftovers"] == [], after
    assert after["checkpoint_files"] == FILES and after["metrics_whole"], after
    big = report["save_bigger_than_disk"]
    assert big["raised"] == "OSError" and big["errno"] == "ENOSPC" and big["tree"] == [], big


# --- SIGTERM ---------------------------------------------------------------------------------------


def test_sigterm_drains_the_request_in_flight(tmp_path: Path) -> None:
    """`ner serve --model zh`, a 100,000-character request, SIGTERM 0.5 s into it."""
    report = faults.sigterm_drain(model="zh", chars=100_000, wait=0.5, workdir=tmp_path)
    assert report["in_flight_status"] == 200 and report["entities_correct"], report
    assert report["entities"] == 4 * (100_000 // len(faults.ZH_UNIT)), report
    assert report["new_connection"] == "refused", report
    assert report["returncode"] is not None and report["exit_seconds_after_sigterm"] < 30, report
    assert report["returncode"] == 0, report


# --- corrupted checkpoints -------------------------------------------------------------------------


def _edit_json(name: str, edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def corrupt(path: Path) -> None:
        data = json.loads((path / name).read_text(encoding="utf-8"))
        edit(data)
        (path / name).write_text(json.dumps(data), encoding="utf-8")

    return corrupt


def _truncate(name: str) -> Callable[[Path], None]:
    def corrupt(path: Path) -> None:
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: len(data) // 2])

    return corrupt


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda path: (path / name).write_bytes(data)


def _remove(name: str) -> Callable[[Path], None]:
    return lambda path: (path / name).unlink()


def _edit_weights(edit: Callable[[dict[str, torch.Tensor]], object]) -> Callable[[Path], None]:
    def corrupt(path: Path) -> None:
        state = load_file(str(path / checkpoint.WEIGHTS_FILE))
        edit(state)
        save_file(state, str(path / checkpoint.WEIGHTS_FILE))

    return corrupt


def _shrink_first(state: dict[str, torch.Tensor]) -> None:
    key = sorted(state)[0]
    state[key] = state[key][:-1].clone()


CONFIG, VOCAB, WEIGHTS = checkpoint.CONFIG_FILE, checkpoint.VOCAB_FILE, checkpoint.WEIGHTS_FILE
CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "config truncated": _truncate(CONFIG),
    "config not UTF-8": _write(CONFIG, b"\xff\xfe{\x00"),
    "config a JSON list": _write(CONFIG, b"[]"),
    "config unknown format version": _edit_json(CONFIG, lambda c: c.update(format_version=99)),
    "config unknown feature key": _edit_json(CONFIG, lambda c: c["features"].update(colour=1)),
    "config negative embedding size": _edit_json(CONFIG, lambda c: c["features"].update(char_dim=-3)),
    "config labels not a list": _edit_json(CONFIG, lambda c: c.update(labels=7)),
    "config one label fewer (shapes)": _edit_json(CONFIG, lambda c: c["labels"].pop()),
    "config other hidden size (shapes)": _edit_json(CONFIG, lambda c: c["model"].update(hidden_size=64)),
    "vocab missing": _remove(VOCAB),
    "vocab truncated": _truncate(VOCAB),
    "vocab a JSON list": _write(VOCAB, b"[]"),
    "vocab fewer words (shapes)": _edit_json(VOCAB, lambda v: v["words"].pop()),
    "vocab without <pad>": _edit_json(VOCAB, lambda v: v["words"].pop(0)),
    "weights missing": _remove(WEIGHTS),
    "weights truncated": _truncate(WEIGHTS),
    "weights empty": _write(WEIGHTS, b""),
    "weights garbage": _write(WEIGHTS, b"\xff" * 64),
    "weights huge header length": _write(WEIGHTS, (2**62).to_bytes(8, "little") + b"{}"),
    "weights wrong tensor shape": _edit_weights(_shrink_first),
    "weights tensor missing": _edit_weights(lambda s: s.pop(sorted(s)[0])),
    "weights extra tensor": _edit_weights(lambda s: s.update(extra=torch.zeros(2))),
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_a_corrupted_checkpoint_is_a_checkpoint_error(
    corrupt: Callable[[Path], None], old: Model, tmp_path: Path
) -> None:
    path = checkpoint.save(*old, tmp_path / "model")
    corrupt(path)
    with pytest.raises(checkpoint.CheckpointError) as raised:
        checkpoint.load(path)
    assert str(path) in str(raised.value)
    error = raised.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__), "no chained traceback"
