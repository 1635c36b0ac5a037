"""plastix bench: suites cover every registered rule, runs are reused, tables and plots."""

from __future__ import annotations

import csv
import json

import pytest

from _cifar import write_cifar_bin
from plastix import ConfigError
from plastix.bench import (
    SUITES,
    Entry,
    RunResult,
    Suite,
    aggregate,
    markdown,
    run_suite,
    update_section,
    write_report,
)
from plastix.config import RULES, from_preset


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_covers_every_rule_and_its_presets_resolve(name):
    suite = SUITES[name]
    covered = {e.rule for e in suite.entries}
    missing = sorted(set(RULES) - covered - set(suite.excluded))
    assert not missing, f"rules neither in suite {name!r} nor excluded with a reason: {missing}"
    assert all(reason for reason in suite.excluded.values())
    for e in suite.entries:
        run = from_preset(e.preset, dict(e.overrides))
        assert run.rule.name == e.rule, e.label


def test_bad_suites_are_refused():
    bp = Entry("bp", "bp", "digits-pc", {"rule.name": "bp"})
    with pytest.raises(ConfigError, match="repeats an entry label"):
        Suite("s", "", (bp, bp))
    with pytest.raises(ConfigError, match="names baseline 'nope'"):
        Suite("s", "", (Entry("pc", "pc", "digits-pc", baseline="nope"),))
    with pytest.raises(ConfigError, match="names control 'nope'"):
        Suite("s", "", (Entry("pc", "pc", "digits-pc", control="nope"),))


def test_the_lead_over_a_control_is_the_difference_of_the_seed_means(tmp_path):
    """A row with a ``control`` shows its mean test accuracy minus the control's, in points;
    the column appears only in suites that have controls."""
    learned = Entry("learned", "hebbian", "hebbian-mnist", seeds=2, control="random")
    random = Entry("random", "hebbian", "hebbian-mnist", seeds=2)
    suite = Suite("s", "", (random, learned))
    summary = {"train_seconds_per_epoch": 1.0, "history": [], "epochs": 1}

    def res(e: Entry, seed: int, acc: float) -> RunResult:
        return RunResult(e, seed, tmp_path, {**summary, "test_accuracy": acc}, None)

    results = [res(random, 0, 0.80), res(random, 1, 0.82), res(learned, 0, 0.90)]
    results.append(res(learned, 1, 0.94))
    rows = {r["rule"]: r for r in aggregate(suite, results)}
    assert rows["learned"]["control_points"] == pytest.approx(100 * (0.92 - 0.81))
    assert rows["random"]["control_points"] is None
    md = markdown(suite, list(rows.values()), "cmd")
    assert "| vs control (points) |" in md and "| +11.00 |" in md
    header, rule_line = md.splitlines()[5:7]
    assert header.count("|") == rule_line.count("|")
    plain = Suite("p", "", (Entry("random", "hebbian", "hebbian-mnist"),))
    assert "vs control" not in markdown(plain, aggregate(plain, results[:1]), "cmd")


def test_a_tiny_suite_runs_reports_and_is_reused(tmp_path):
    small = {"model.hidden": [16], "train.batch_size": 64}
    suite = Suite(
        "tiny",
        "digits, two rules and a broken entry",
        (
            Entry("bp", "bp", "digits-pc", {**small, "rule.name": "bp"}, baseline="bp"),
            Entry("pc", "pc", "digits-pc", small, baseline="bp", bar=0.5),
            Entry("broken", "pc", "digits-pc", {"rule.nope": 1}),
        ),
        gradient_check=32,
    )
    results = run_suite(suite, tmp_path, epochs=2, progress=False)
    by = {r.entry.label: r for r in results}
    assert by["broken"].summary is None and "rule.nope" in (by["broken"].error or "")
    # seed 0's programs compiled alone twice, the second from the cache the first filled
    info = json.loads((tmp_path / "pc" / "seed-0" / "bench.json").read_text())
    cold, warm = info["compile_only"]["cold"], info["compile_only"]["warm"]
    assert 0 < warm < cold and by["pc"].warm_compile_seconds == warm
    assert by["bp"].summary["epochs"] == 2 and by["pc"].summary["rule"] == "pc"
    assert by["pc"].peak_rss_bytes > 50 * 2**20  # a Python + JAX process
    paths = write_report(suite, results, tmp_path, "plastix bench --suite tiny")
    rows = {r["rule"]: r for r in csv.DictReader(paths["csv"].open())}
    assert set(rows) == {"bp", "pc", "broken"}
    assert float(rows["bp"]["ratio_to_bp"]) == 1.0
    pc_s, bp_s = by["pc"].summary, by["bp"].summary
    ratio = pc_s["train_seconds_per_epoch"] / bp_s["train_seconds_per_epoch"]
    assert float(rows["pc"]["ratio_to_bp"]) == pytest.approx(ratio)
    assert float(rows["pc"]["test_accuracy_mean"]) == pytest.approx(pc_s["test_accuracy"])
    # the gradient check ran for PC (every epoch) and not for BP (cosine 1 by construction)
    assert pc_s["config"]["train"]["gradient_check"] == 32
    assert [("grad_cosine" in r) for r in pc_s["history"]] == [True, True]
    assert bp_s["config"]["train"]["gradient_check"] == 0 and rows["bp"]["cosine_to_bp"] == ""
    cos = pc_s["history"][-1]["grad_cosine"]
    assert float(rows["pc"]["cosine_to_bp"]) == pytest.approx(cos) and 0.0 < cos <= 1.0 + 1e-6
    per_edge = pc_s["history"][-1]["grad_cosine_per_edge"]
    assert len(per_edge) == 2  # digits-pc with one hidden layer: two dense edges
    layer_mean = float(rows["pc"]["cosine_to_bp_layer_mean"])
    assert layer_mean == pytest.approx(sum(per_edge) / 2)
    md = paths["markdown"].read_text()
    assert "| pc | `digits-pc` | 1 |" in md and "Failed runs" in md
    assert "| compile s (cold / warm) |" in md and f" / {warm:.3g} |" in md
    for png in ("accuracy_png", "time_png"):
        assert paths[png].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run_suite(suite, tmp_path, epochs=2, progress=False, only=["bp", "pc"])
    assert all(r.reused for r in again)
    assert json.loads((tmp_path / "pc" / "seed-0" / "bench.json").read_text()) == info
    # an entry whose settings changed since its run is not reused silently, nor rerun over it
    changed = Suite(
        "tiny",
        "",
        (Entry("bp", "bp", "digits-pc", {**small, "rule.name": "bp", "train.batch_size": 32}),),
    )
    (stale,) = run_suite(changed, tmp_path, epochs=2, progress=False, warm_compile=False)
    assert stale.summary is None and not stale.reused
    err = stale.error or ""
    assert "holds a run of another command" in err and "delete the folder" in err
    assert "train.batch_size=64" in err
    assert json.loads((tmp_path / "bp" / "seed-0" / "summary.json").read_text()) == bp_s
    # the suite's section of a BENCHMARKS.md: appended, then replaced, the rest kept
    bench_md = tmp_path / "BENCHMARKS.md"
    bench_md.write_text("# Benchmarks\n\nhand-written text\n")
    update_section(bench_md, "tiny", paths)
    first = bench_md.read_text()
    assert first.startswith("# Benchmarks\n\nhand-written text\n\n<!-- plastix bench tiny: begin")
    assert "| pc | `digits-pc` | 1 |" in first and "](bench-tiny-accuracy.png)" in first
    assert (tmp_path / "bench-tiny-time.png").read_bytes()[:4] == b"\x89PNG"
    bench_md.write_text(first + "\nafter\n")
    paths["markdown"].write_text("### new table\n")
    update_section(bench_md, "tiny", paths)
    second = bench_md.read_text()
    assert second.count("plastix bench tiny: begin") == 1 and "### new table" in second
    assert "| pc |" not in second and second.endswith("\nafter\n")
    assert second.startswith("# Benchmarks\n\nhand-written text\n")
    bench_md.write_text(second.replace("<!-- plastix bench tiny: end -->", ""))
    with pytest.raises(ConfigError, match="no end marker"):
        update_section(bench_md, "tiny", paths)


@pytest.mark.slow  # ~4 min of CPU (seven full-width nets compiled); `make test-slow` runs it
def test_the_cifar10_suite_runs_end_to_end_on_a_small_slice(tmp_path):
    """Every entry of the cifar10 suite, the published networks at full width, trains one step
    on 10 images in the CIFAR-10 binary format and is scored on 10 (EP's relaxation shortened to
    5 free and 2 nudged steps); the report has a row per entry, PC and DTP next to their BP."""
    suite = SUITES["cifar10"]
    write_cifar_bin(tmp_path / "data", 10)
    small = {"data.train_limit": 10, "data.test_limit": 10, "train.batch_size": 10}
    # the suite's gradient check on the 10 images (EP's, by conjugate gradients, left out)
    check = {"train.gradient_check": 10}
    ep = "ep (4-conv)"
    common = dict(epochs=1, data_dir=str(tmp_path / "data"), progress=False, warm_compile=False)
    others = [e.label for e in suite.entries if e.label != ep]
    results = run_suite(suite, tmp_path / "out", sets={**small, **check}, only=others, **common)
    steps = {"rule.free.steps": 5, "rule.nudged.steps": 2, "train.gradient_check": 0}
    results += run_suite(suite, tmp_path / "out", sets={**small, **steps}, only=[ep], **common)
    failed = {r.entry.label: r.error for r in results if r.summary is None}
    assert not failed, failed
    assert all(r.summary["epochs"] == 1 for r in results)
    by = {r.entry.label: r.summary for r in results}
    ep_run = by[ep]["config"]
    assert ep_run["model"]["channels"] == [128, 256, 512, 512] and ep_run["rule"]["readout"]
    hebb = by["softhebb (96-384-1536 + read-out)"]
    assert hebb["num_params"] > 96 * 75 + 384 * 96 * 9 + 1536 * 384 * 9
    assert hebb["history"][0]["train_hebbian"] == 1.0  # the unsupervised epoch ran
    checked = {k for k, v in by.items() if "grad_cosine" in v["history"][0]}
    assert checked == {"pc (vgg-5)", "dtp + l-drl (simple-vgg)"}, checked
    dtp = by["dtp + l-drl (simple-vgg)"]["config"]
    assert dtp["model"]["channels"] == [128, 128, 256, 256, 512]
    assert dtp["rule"]["layer_noise"] == [0.4, 0.4, 0.2, 0.2, 0.08]
    paths = write_report(suite, results, tmp_path / "out", "plastix bench --suite cifar10")
    rows = {r["rule"]: r for r in csv.DictReader(paths["csv"].open())}
    assert set(rows) == {e.label for e in suite.entries}
    assert float(rows["pc (vgg-5)"]["ratio_to_bp"]) > 0
    assert float(rows["dtp + l-drl (simple-vgg)"]["ratio_to_bp"]) > 0


def test_the_cosine_column_from_logged_checks(tmp_path):
    """All-layer cosine / mean of the finite per-layer cosines; 'undefined' where the exact
    gradient vanished (nan cosine, as CHL's saturated outputs at their targets give)."""
    from plastix.bench import RunResult, aggregate
    from plastix.bench._report import markdown

    entries = (Entry("a", "fa", "fa-mnist-mlp"), Entry("b", "chl", "chl-mnist-mlp"))
    suite = Suite("s", "", entries, gradient_check=8)

    def run(entry, check):
        hist = [{"epoch": 1, "test_accuracy": 0.5, **check}]
        summary = {"test_accuracy": 0.5, "train_seconds_per_epoch": 1.0, "history": hist,
                   "epochs": 1}  # fmt: skip
        return RunResult(entry, 0, tmp_path, summary, 2**20)

    nan = float("nan")
    results = [
        run(entries[0], {"grad_cosine": 0.5, "grad_cosine_per_edge": [0.5, nan, 1.0]}),
        run(entries[1], {"grad_cosine": nan, "grad_cosine_per_edge": [nan, nan]}),
    ]
    rows = {r["rule"]: r for r in aggregate(suite, results)}
    assert rows["a"]["cosine_to_bp"] == 0.5 and rows["a"]["cosine_to_bp_layer_mean"] == 0.75
    assert rows["b"]["cosine_to_bp"] is None and rows["b"]["cosine_undefined"]
    md = markdown(suite, list(rows.values()), "cmd")
    assert "| 0.5 / 0.75 |" in md and "| undefined |" in md and "first 8 training" in md


def test_the_published_number_and_the_gap_in_points(tmp_path):
    """Each row shows its paper's number and ours minus it in points (mean over seeds); an
    entry's own seed count raises the suite's."""
    from plastix.bench import Published, RunResult, aggregate
    from plastix.bench._report import markdown

    paper = Published(0.9855, "Someone 2016; read")
    entries = (Entry("a", "dfa", "dfa-mnist-mlp", published=paper, seeds=3), Entry("b", "fa", "fa-mnist-mlp", bar=0.9855))  # fmt: skip
    suite = Suite("s", "", entries)

    def run(entry, seed, acc):
        summary = {"test_accuracy": acc, "train_seconds_per_epoch": 1.0, "history": [], "epochs": 1}
        return RunResult(entry, seed, tmp_path, summary, 2**20)

    results = [run(entries[0], 0, 0.98), run(entries[0], 1, 0.982), run(entries[0], 2, 0.984), run(entries[1], 0, 0.9)]  # fmt: skip
    rows = {r["rule"]: r for r in aggregate(suite, results)}
    assert rows["a"]["gap_points"] == pytest.approx(100 * (0.982 - 0.9855))  # -0.35 points
    assert rows["b"]["published"] is None and rows["b"]["gap_points"] is None
    md = markdown(suite, list(rows.values()), "cmd")
    assert "| 0.9820 ± 0.0020 | — | 0.9855 (Someone 2016; read) | -0.35 |" in md
    # a bar is shown with the digits it has (0.9855 rounded to 0.986 read as a higher bar)
    assert "| 0.9000 | 0.9855 (**no**) | — |" in md
    # run_suite gives entry "a" its 3 seeds even when asked for 1 (nothing trains: all reused)
    from plastix.bench import run_suite
    from plastix.bench._runner import _command

    for seed in range(3):
        d = tmp_path / "out" / "a" / f"seed-{seed}"
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps({"test_accuracy": 0.98, "epochs": 1, "history": [], "train_seconds_per_epoch": 1.0}))  # fmt: skip
        cmd = _command(entries[0], d, seed, None, None, {}, 0, False)  # what the suite runs
        (d / "bench.json").write_text(json.dumps({"peak_rss_bytes": 1, "command": cmd}))
    got = run_suite(
        suite, tmp_path / "out", seeds=1, only=["a"], progress=False, warm_compile=False
    )
    assert [(r.entry.label, r.seed, r.reused) for r in got] == [("a", s, True) for s in range(3)]


def test_entry_folders_are_ascii_names_of_their_labels():
    """A run folder is the label lowercased with every run of other characters one hyphen;
    letters outside ASCII are transliterated, not dropped ("Nøkland" is not "n-kland")."""
    from plastix.bench._runner import slug

    assert slug("pc (strict)") == "pc-strict"
    assert slug("bp (2x800, batch 32, dropout)") == "bp-2x800-batch-32-dropout"
    assert slug("dfa (Nøkland 2016 recipe)") == "dfa-nokland-2016-recipe"
    assert slug("Journé's net") == "journe-s-net"


def test_the_relaxation_column_from_the_last_epoch(tmp_path):
    """Steps and residual of the free phase in the last epoch (median over seeds); — for a rule
    that does not relax; the column only in suites that have a relaxing rule."""
    entries = (Entry("ep", "ep", "ep-mnist-mlp", seeds=2), Entry("bp", "bp", "bp-mnist-mlp"))
    suite = Suite("s", "", entries)

    def run(entry, seed, last):
        hist = [{"epoch": 1, "train_inference_steps": 99.0, "train_residual": 9.0},
                {"epoch": 2, **last}]  # fmt: skip
        summary = {"test_accuracy": 0.9, "train_seconds_per_epoch": 1.0, "history": hist,
                   "epochs": 2}  # fmt: skip
        return RunResult(entry, seed, tmp_path, summary, 2**20)

    results = [
        run(entries[0], 0, {"train_inference_steps": 30.0, "train_residual": 0.25}),
        run(entries[0], 1, {"train_inference_steps": 20.0, "train_residual": 0.75}),
        run(entries[1], 0, {}),
    ]
    rows = {r["rule"]: r for r in aggregate(suite, results)}
    assert rows["ep"]["relaxation_steps"] == 25.0 and rows["ep"]["relaxation_residual"] == 0.5
    assert rows["bp"]["relaxation_steps"] is None and rows["bp"]["relaxation_residual"] is None
    md = markdown(suite, list(rows.values()), "cmd")
    header, ep_line, bp_line = md.splitlines()[5], md.splitlines()[7], md.splitlines()[8]
    assert header.endswith("| relaxation: steps / residual |")
    assert ep_line.endswith("| 25 / 0.5 |") and bp_line.endswith("| — |")
    assert header.count("|") == ep_line.count("|") == bp_line.count("|")
    plain = Suite("p", "", entries[1:])
    assert "relaxation" not in markdown(plain, aggregate(plain, results[2:]), "cmd")
