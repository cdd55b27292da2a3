"""Priors files: the shipped ones load; each validation rule has a broken file that trips it."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest
from conftest import DATA

import kneebayes as kb
from kneebayes.config import default_priors_path, load_config, parse_config

TINY = tomllib.loads((DATA / "tiny.toml").read_text())


def broken(mutate) -> dict:
    data = copy.deepcopy(TINY)
    mutate(data)
    return data


def problems_of(data: dict, tmp_path: Path) -> str:
    """Write `data` as a file (via a tiny TOML writer) and return the ConfigError text."""
    path = tmp_path / "broken.toml"
    path.write_text(_to_toml(data))
    with pytest.raises(kb.ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    return str(info.value)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"
    raise TypeError(v)


def _to_toml(data: dict) -> str:
    lines = [f'"{k}" = {_toml_value(v)}' for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if not isinstance(table, dict):
            continue
        if section in ("triage", "references") or not all(isinstance(v, dict) for v in
                                                           table.values()):
            lines.append(f'["{section}"]')
            lines += [f'"{k}" = {_toml_value(v)}' for k, v in table.items()]
            continue
        for key, spec in table.items():
            lines.append(f'["{section}"."{key}"]')
            lines += [f'"{k}" = {_toml_value(v)}' for k, v in spec.items()]
    return "\n".join(lines) + "\n"


def test_shipped_default_loads_with_the_required_vocabulary():
    config = load_config()
    assert default_priors_path().name == "default.toml"
    required_causes = {"pfps", "quadriceps_tendinopathy", "itb_syndrome", "hip_referred_pain",
                       "lumbar_radiculopathy", "knee_osteoarthritis", "fracture",
                       "septic_arthritis", "deep_vein_thrombosis", "bone_tumour",
                       "extensor_mechanism_rupture", "cauda_equina", "scfe",
                       "meralgia_paresthetica", "greater_trochanteric_pain", "meniscal_tear",
                       "crystal_arthritis"}
    assert required_causes <= set(config.causes)
    assert len(config.factors) >= 8 and len(config.findings) >= 50
    # every must-not-miss condition has its own triage threshold and message
    assert set(config.triage.causes) == {"fracture", "septic_arthritis",
                                         "deep_vein_thrombosis", "bone_tumour",
                                         "extensor_mechanism_rupture", "cauda_equina", "scfe"}
    assert all(c.message for c in config.triage.conditions)
    for nid in config.findings:
        assert config.nodes[nid].parents, f"{nid} has no parent"


def test_every_shipped_number_is_sourced():
    config = load_config()
    for parameter in config.parameters():
        assert parameter.source, parameter.path
        for part in parameter.source.partition("elicited:")[0].split(";"):
            if part.strip():  # every reference named resolves
                assert part.split(":", 1)[0].strip() in config.references, (parameter.path,
                                                                          part)


def test_the_round_trip_writer_reproduces_tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(_to_toml(TINY))
    assert load_config(path).nodes.keys() == load_config(DATA / "tiny.toml").nodes.keys()


BROKEN = {
    "unknown top-level key": (
        lambda d: d.update(colour="red"), ["(top level).colour: unknown key"]),
    "unknown node key, with suggestion": (
        lambda d: d["findings"]["pain"].update(lek=0.1),
        ["findings.pain.lek: unknown key", "Did you mean 'leak'?"]),
    "unknown node reference, with suggestion": (
        lambda d: d["findings"]["pain"]["causes"].update(overuze=0.9),
        ["findings.pain.causes.overuze: expected the id of a cause", "is not defined",
         "Did you mean 'overuse'?"]),
    "reference to a node of the wrong role": (
        lambda d: d["causes"]["overuse"]["factors"].update(serious=0.5),
        ["causes.overuse.factors.serious: expected the id of a factor", "which is a cause"]),
    "probability of exactly one": (
        lambda d: d["findings"]["pain"].update(leak=1.0),
        ["findings.pain.leak: expected a number strictly between 0 and 1", "got 1.0"]),
    "probability of zero": (
        lambda d: d["factors"]["trauma"].update(prior=0),
        ["factors.trauma.prior: expected a number strictly between 0 and 1", "got 0"]),
    "probability above one": (
        lambda d: d["causes"]["serious"]["factors"].update(trauma=1.5),
        ["causes.serious.factors.trauma: expected a number strictly between 0 and 1"]),
    "probability written as a string": (
        lambda d: d["findings"]["fever"].update(leak="0.02"),
        ["findings.fever.leak: expected a number strictly between 0 and 1", "got '0.02'"]),
    "probability written as a boolean": (
        lambda d: d["findings"]["fever"].update(leak=True),
        ["findings.fever.leak: expected a number strictly between 0 and 1", "got True"]),
    "Beta strength not positive": (
        lambda d: d["factors"]["runner"].update(prior={"mean": 0.3, "n": 0}),
        ["factors.runner.prior.n: expected a positive number"]),
    "range with low above high": (
        lambda d: d["causes"]["overuse"].update(base={"low": 0.2, "high": 0.1}),
        ["causes.overuse.base: expected low < high"]),
    "unknown probability form": (
        lambda d: d["causes"]["overuse"].update(base={"mean": 0.2, "sd": 0.1}),
        ["causes.overuse.base: expected a number, { mean = ..., n = ... } or { low = ..., "]),
    "noisy-OR weight not above the leak": (
        lambda d: d["findings"]["pain"]["causes"].update(overuse=0.1),
        ["findings.pain.causes.overuse: expected a probability above the leak 0.2",
         "give the node a full table"]),
    "wrong type for a label": (
        lambda d: d["findings"]["pain"].update(label=3),
        ["findings.pain.label: expected a non-empty string, got 3"]),
    "node given as a value, not a table": (
        lambda d: d["findings"].update(swelling=0.3),
        ["findings.swelling: expected a table"]),
    "missing source": (
        lambda d: d["findings"]["fever"].pop("source"),
        ["findings.fever.leak: this number has no source"]),
    "unresolved source, with suggestion": (
        lambda d: d["findings"]["fever"].update(source="ref3"),
        ["findings.fever.source: source 'ref3' does not resolve in [references]",
         "Did you mean 'ref2' or 'ref1'?"]),
    "elicited without a reason": (
        lambda d: d["factors"]["trauma"].update(source="elicited:  "),
        ["factors.trauma.source: expected a reason after 'elicited:'"]),
    "per-parameter source for an unknown parameter": (
        lambda d: d["findings"]["pain"]["sources"].update(overuze="ref1"),
        ["findings.pain.sources.overuze: no parameter of that name", "Did you mean 'overuse'?"]),
    "duplicate id across sections": (
        lambda d: d["factors"].update(pain={"label": "x", "prior": 0.2, "source": "ref1"}),
        ["findings.pain: duplicate id, already defined as factors.pain"]),
    "cycle between mechanisms": (
        lambda d: (
            d["mechanisms"].update(m2={"label": "M2", "leak": 0.1,
                                       "mechanisms": {"irritability": 0.5}, "source": "ref1"}),
            d["mechanisms"]["irritability"].update(mechanisms={"m2": 0.5}),
        ),
        ["cycle: ", "irritability -> m2 -> irritability"]),
    "unknown schema_version": (
        lambda d: d.update(schema_version=2),
        ["schema_version: expected 1 (the only version this kneebayes reads), got 2"]),
    "missing required key": (
        lambda d: d["findings"]["pain"].pop("kind"),
        ["findings.pain.kind: required key is missing"]),
    "bad finding kind": (
        lambda d: d["findings"]["pain"].update(kind="imaging"),
        ["findings.pain.kind: expected one of history, examination, red_flag, got 'imaging'"]),
    "full table missing a row": (
        lambda d: d["findings"]["normal_exam"]["table"].pop("irritability"),
        ["findings.normal_exam.table: missing the row 'irritability'"]),
    "full table with an unknown row": (
        lambda d: d["findings"]["normal_exam"]["table"].update(iritability=0.3),
        ["findings.normal_exam.table.iritability: expected a row label",
         "Did you mean 'irritability'?"]),
    "full table mixed with noisy-OR keys": (
        lambda d: d["findings"]["normal_exam"].update(leak=0.1),
        ["findings.normal_exam.leak: a finding given as a full table takes no 'leak'"]),
    "red flag on an unknown finding": (
        lambda d: d["red_flags"]["fever_after_trauma"].update(when=["fevr", "trauma"]),
        ["red_flags.fever_after_trauma.when: expected the id of a finding or factor, got "
         "'fevr'", "Did you mean 'fever'?"]),
    "red flag id that is no finding and has no when": (
        lambda d: d["red_flags"].update(limp={"level": "urgent", "message": "m"}),
        ["red_flags.limp: expected the id of a finding or factor, got 'limp'"]),
    "red flag level unknown": (
        lambda d: d["red_flags"]["fever"].update(level="soon"),
        ["red_flags.fever.level: expected 'see_clinician' or 'urgent', got 'soon'"]),
    "triage thresholds reversed": (
        lambda d: d["triage"].update(see_clinician_above=0.6),
        ["triage: expected see_clinician_above < urgent_above"]),
    "triage missing": (
        lambda d: d.pop("triage"), ["triage: required table is missing"]),
    "triage on a factor": (
        lambda d: d["triage"].update(cause="trauma"),
        ["triage.cause: expected the id of a cause, got 'trauma', which is a factor"]),
}


@pytest.mark.parametrize("rule", list(BROKEN))
def test_each_validation_rule_names_key_path_expectation_and_value(rule, tmp_path):
    mutate, expected = BROKEN[rule]
    text = problems_of(broken(mutate), tmp_path)
    for fragment in expected:
        assert fragment in text, f"{rule}: {fragment!r} not in\n{text}"


def test_all_problems_are_collected_into_one_error(tmp_path):
    def two(d):
        d["findings"]["pain"].update(leak=2.0)
        d["findings"]["fever"].update(source="nowhere")

    text = problems_of(broken(two), tmp_path)
    assert "2 problems" in text
    assert "findings.pain.leak" in text and "findings.fever.source" in text


def test_not_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("title = 'x'\n[causes\n")
    with pytest.raises(kb.ConfigError, match="is not valid TOML"):
        load_config(bad)
    with pytest.raises(kb.ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_toml_duplicate_key_is_reported_with_its_line(tmp_path):
    bad = tmp_path / "dup.toml"
    bad.write_text((DATA / "tiny.toml").read_text() + "\n[factors.runner]\nlabel = 'again'\n")
    with pytest.raises(kb.ConfigError, match=r"is not valid TOML.*line"):
        load_config(bad)


def test_parsing_executes_nothing(tmp_path):
    # What YAML loaders would have run is, in TOML, only a string, and then a wrong type.
    data = broken(lambda d: d["findings"]["pain"].update(leak="!!python/object/apply:os.system"))
    text = problems_of(data, tmp_path)
    assert "findings.pain.leak: expected a number" in text


def test_errors_are_value_errors():
    assert issubclass(kb.ConfigError, kb.KneebayesError)
    assert issubclass(kb.EvidenceError, kb.KneebayesError)
    assert issubclass(kb.KneebayesError, ValueError)


def test_probability_forms():
    config = parse_config(TINY)
    runner = config.nodes["runner"].parameters[0].value
    assert runner.mean == 0.3 and runner.beta == pytest.approx((6.0, 14.0))
    base = config.nodes["overuse"].parameters[0].value
    assert base.mean == pytest.approx(0.10)
    # the {low, high} range is read as the Beta's central 90% interval (by its moments)
    from scipy import stats

    a, b = base.beta
    assert stats.beta.ppf(0.05, a, b) == pytest.approx(0.05, abs=0.01)
    assert stats.beta.ppf(0.95, a, b) == pytest.approx(0.15, abs=0.01)
    assert config.nodes["trauma"].parameters[0].value.beta is None


def test_per_parameter_sources_override_the_node_source():
    config = parse_config(TINY)
    by_path = {p.path: p for p in config.parameters()}
    assert by_path["findings.pain.leak"].source == "elicited: background pain"
    assert by_path["findings.pain.leak"].elicited
    assert by_path["findings.pain.causes.overuse"].source == "ref1"
    assert by_path["findings.normal_exam.table.irritability"].elicited


def test_nodes_are_in_topological_order():
    config = load_config()
    seen: set[str] = set()
    for node in config.nodes.values():
        assert set(node.parents) <= seen, node.id
        seen.add(node.id)
