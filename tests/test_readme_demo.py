"""The README documents exactly the CLI; the quick demo leaves the expected MLflow and Optuna records."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import typer
from mlflow.tracking import MlflowClient

from attpd_bench import tracking
from attpd_bench.cli import app
from attpd_bench.tune import open_storage

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _commands() -> dict[str, set[str]]:
    """'data prepare' -> {'--dataset', ...} for every command of the CLI."""
    out = {}

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            if path and getattr(cmd, "invoke_without_command", False):
                out[" ".join(path)] = {o for p in cmd.params for o in p.opts + p.secondary_opts if o.startswith("--")}
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out[" ".join(path)] = {o for p in cmd.params for o in p.opts + p.secondary_opts if o.startswith("--")}

    walk(typer.main.get_command(app), [])
    return out


def _sections() -> dict[str, str]:
    parts = re.split(r"^### `attpd ([a-z0-9 -]+)`\s*$", README, flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def test_every_command_and_option_is_documented():
    commands, sections = _commands(), _sections()
    assert set(sections) == set(commands)
    for name, options in commands.items():
        missing = {o for o in options if o not in sections[name] and not o.startswith("--no-")}
        assert not missing, f"README section of `attpd {name}` lacks {sorted(missing)}"


def test_every_command_line_in_the_readme_exists():
    commands = _commands()
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = " ".join(blocks).replace("\\\n", " ")
    used = re.findall(r"(?:^|\s)attpd ((?:[a-z][a-z0-9-]* ?)+?)((?:\s+--[a-z-]+(?:\s+[^\s-][^\s]*)?)*)(?=\s*(?:#|$|\n))",
                      lines, flags=re.M)
    assert used
    for name, opts in used:
        name = name.strip()
        while name not in commands and " " in name:  # trailing positional arguments
            name = name.rsplit(" ", 1)[0]
        assert name in commands, f"README uses unknown command `attpd {name}`"
        for option in re.findall(r"--[a-z-]+", opts):
            assert option in commands[name], f"README uses unknown option {option} of `attpd {name}`"


def test_quick_demo_leaves_experiments_runs_and_champions(tmp_path, monkeypatch):
    from attpd_bench.demo import SIZES, run_demo

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    size = SIZES["quick"].__class__(n_events=8, trials=1, epochs=1, batch_size=32, n_boot=50)
    summary = run_demo(tmp_path / "work", quick=True, size=size)
    work = tmp_path / "work"
    assert (work / "mlflow.db").exists() and (work / "optuna.journal").exists()
    monkeypatch.chdir(work)
    tracking.configure(None)
    client = MlflowClient()
    regions = ("ins", "hinet", "scsn", "pnw")
    names = {e.name for e in client.search_experiments()}
    assert {f"attpd/{r}" for r in regions} | {f"attpd/tune/{r}" for r in regions} | {"attpd/transfer"} <= names
    for region in regions:
        tune_runs = tracking.search_runs(f"attpd/tune/{region}")
        assert sorted(r.data.tags["kind"] for r in tune_runs) == ["study", "trial"]
        training = tracking.search_runs(f"attpd/{region}", "tags.kind = 'training'")
        assert sorted(r.data.tags["model"] for r in training) == ["pd", "ross"]
        for model in ("pd", "ross"):
            champion = client.get_model_version_by_alias(f"attpd-{model}-{region}", "champion")
            assert champion.run_id in {r.info.run_id for r in training}
        study = optuna.load_study(study_name=f"{region}-pd", storage=open_storage(None))
        assert len(study.trials) == 1
    transfer = tracking.search_runs("attpd/transfer")
    assert sum("mlflow.parentRunId" not in r.data.tags for r in transfer) == 1 and len(transfer) == 9
    assert summary["transfer"].matrices["pd"]["macro_f1"].shape == (4, 4)
    assert "mlflow ui --backend-store-uri sqlite:///" in summary["mlflow_ui"]
