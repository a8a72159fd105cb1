"""The README documents exactly the CLI; the quick demo leaves the expected MLflow and Optuna records."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import optuna
import typer
from mlflow.tracking import MlflowClient

from attpd_bench import registry, tracking
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


def test_demo_records_the_users_day_reproducibly_in_its_own_workdir(tmp_path, monkeypatch):
    """Studies for PD and Ross, untuned and tuned runs through the promotion gate, the transfer matrices and
    summary.md; the same command twice in fresh folders gives the same summary; a user's MLFLOW_TRACKING_URI is
    left alone."""
    from attpd_bench.demo import SIZES, SUMMARY_FILE, run_demo

    elsewhere = tmp_path / "users-server.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{elsewhere}")
    size = dataclasses.replace(SIZES["quick"], n_events=10, trials=1, epochs=1, n_boot=100)
    summaries = [run_demo(tmp_path / name, quick=True, size=size) for name in ("work", "again")]
    assert not elsewhere.exists()
    texts = [(tmp_path / name / SUMMARY_FILE).read_text().replace(str(tmp_path / name), "WORKDIR")
             for name in ("work", "again")]
    assert texts[0] == texts[1]
    assert "## Champions on their own region's test split" in texts[0] and "Transfers best on average" in texts[0]

    work = tmp_path / "work"
    assert (work / "mlflow.db").exists() and (work / "optuna.journal").exists()
    monkeypatch.chdir(work)
    tracking.configure(f"sqlite:///{work / 'mlflow.db'}")
    client = MlflowClient()
    regions = ("ins", "hinet", "scsn", "pnw")
    names = {e.name for e in client.search_experiments()}
    assert {f"attpd/{r}" for r in regions} | {f"attpd/tune/{r}" for r in regions} | {"attpd/transfer"} <= names
    for region in regions:
        tune_runs = tracking.search_runs(f"attpd/tune/{region}")
        assert sorted(r.data.tags["kind"] for r in tune_runs) == ["study", "study", "trial", "trial"]
        training = tracking.search_runs(f"attpd/{region}", "tags.kind = 'training'")
        assert {r.data.tags["model"] for r in training} == {"pd", "ross"}
        assert {r.data.tags["demo_role"] for r in training} <= {"untuned", "tuned"}
        promotions = tracking.search_runs(f"attpd/{region}", "tags.kind = 'promotion'")
        assert len(promotions) == 4  # untuned, then tuned, per model
        for model in ("pd", "ross"):
            outcome = summaries[0]["outcomes"][(model, region)]
            champion = registry.alias_version(f"attpd-{model}-{region}", "champion")
            first = outcome.decisions[0]
            assert (champion is not None) == any(d.alias == "champion" for d in outcome.decisions)
            if champion is not None:
                assert champion.run_id in {r.info.run_id for r in training}
            if first.alias == "challenger":  # the untuned run failed the gate
                assert "majority-class baseline" in first.reason
            study = optuna.load_study(study_name=f"{region}-{model}", storage=open_storage(None))
            assert len(study.trials) == 1 and study.trials[0].user_attrs["origin"] == "untuned defaults"
    transfer = tracking.search_runs("attpd/transfer")
    parent = [r for r in transfer if "mlflow.parentRunId" not in r.data.tags]
    assert len(parent) == 1 and len(transfer) == 9
    assert SUMMARY_FILE in {a.path for a in client.list_artifacts(parent[0].info.run_id)}
    assert all(r.data.tags.get("reused") == "true" for r in transfer if r not in parent)  # nothing retrained
    assert summaries[0]["transfer"].matrices["pd"]["macro_f1"].shape == (4, 4)
