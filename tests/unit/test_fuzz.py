"""No input makes ``parse``, ``check-config`` or ``report`` print a traceback: each answers
with a result or one readable line, and an exit code from its documented set. The corpus in
``tests/fixtures/fuzz/`` keeps every case found; hypothesis generates more from the real
fixtures and from the config's own keys. In-process for speed, a few through a real process.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main
from monitor.config import ConfigError, parse_config
from monitor.errors import ParseError
from monitor.parsers import KINDS, parser_for
from tests.support.fixtures import FIXTURES, stdout_fixtures

FUZZ = FIXTURES / "fuzz"
PARSE_CORPUS = sorted((FUZZ / "parse").iterdir())
CONFIG_CORPUS = sorted((FUZZ / "config").glob("*.toml"))
REPORT_ARGS = [json.loads(line) for line in (FUZZ / "report-args.jsonl").read_text().splitlines()]
MAINTENANCE_ARGS = [
    json.loads(line) for line in (FUZZ / "maintenance-args.jsonl").read_text().splitlines()
]


# Fuzzing is deterministic here: the same examples on every run, so CI never flakes on a
# new random find (run with --hypothesis-seed=random locally to explore further).
def fuzz(examples: int) -> settings:
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def one_line_or_nothing(err: str) -> None:
    assert "Traceback" not in err, err
    assert err == "" or (err.endswith("\n") and "\n" not in err[:-1]), err


# --- parse -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", PARSE_CORPUS, ids=lambda p: p.name)
def test_parse_corpus(capsys, kind, path):
    code = main(["parse", kind, str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    one_line_or_nothing(err)
    if code == 0:
        json.loads(out)  # a document, whatever came in
    else:
        assert out == "" and err.startswith(f"slurm-sla parse {kind}: {path}: ")


def _mutations() -> st.SearchStrategy[str]:
    """Real fixture text with a token replaced, a cut, a splice or a nesting bomb."""
    texts = [
        p.read_text(encoding="utf-8", errors="replace")
        for kind in KINDS
        for p in stdout_fixtures(kind)
    ]
    token = st.sampled_from(
        ["9" * 5000, "1e400", "-1e400", "NaN", "Infinity", "-1", "0", "1.5", "99999999999999999999",
         "", "[", "]", "{", "}", '"', ":", ",", "|", "=", "(", ")", "\n", "\r\n", "\t", "\x00",
         "\ufffd", "N/A", "UP", "DOWN", "primary", "backup", "[1-99999999]"]
    )  # fmt: skip

    @st.composite
    def mutate(draw) -> str:
        text = draw(st.sampled_from(texts))
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(text)))
            j = draw(st.integers(i, min(len(text), i + 40)))
            how = draw(st.sampled_from(["replace", "insert", "cut", "number"]))
            if how == "number":
                numbers = list(re.finditer(r"\d+", text))
                if numbers:
                    m = draw(st.sampled_from(numbers))
                    i, j = m.start(), m.end()
                how = "replace"
            piece = "" if how == "cut" else draw(token)
            text = text[:i] + piece + (text[i:] if how == "insert" else text[j:])
        return text

    return mutate()


@fuzz(400)
@given(kind=st.sampled_from(KINDS), text=_mutations())
def test_parse_mutated_fixtures(kind, text):
    try:
        result = parser_for(kind)(text)
    except ParseError:
        return
    # What parsed must print as strict JSON: no NaN or Infinity leaks into the document.
    json.dumps(result.to_dict(), allow_nan=False)


@fuzz(100)
@given(kind=st.sampled_from(KINDS), text=st.text(max_size=300))
def test_parse_any_text(kind, text):
    with contextlib.suppress(ParseError):
        parser_for(kind)(text)


# --- check-config ------------------------------------------------------------------------


@pytest.mark.parametrize("path", CONFIG_CORPUS, ids=lambda p: p.name)
def test_check_config_corpus(capsys, path):
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code in (0, 1, 4), err
    if code == 1:
        # Every problem on its own line, as FILE:LINE: key.path: message.
        for line in err.splitlines():
            assert re.match(rf"{re.escape(str(path))}:\d+: \S", line), line
    elif code == 4:
        one_line_or_nothing(err)


def _toml_value() -> st.SearchStrategy[str]:
    """TOML literals of every type, with the numbers and dates that once broke things."""
    scalars = st.one_of(
        st.sampled_from(["inf", "-inf", "nan", "+nan", "1e308", "-1e308", "1e-308", "0", "-0",
                         "-1", "0.0", "9223372036854775807", "-9223372036854775808", "true",
                         "false", '""', '" "', '"UTC"', '"nope"', '"/etc/passwd"',
                         '"0.0.0.0:9817"', '"{alertname:>999999999}"', '"http://u:p@h:1/"',
                         "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+23:59",
                         "1979-05-27T07:32:00", "1979-05-27", "07:32:00"]),
        st.integers().map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(
            lambda f: "nan" if f != f else ("inf" if f == float("inf") else
                                             "-inf" if f == float("-inf") else repr(f))
        ),
        st.text(max_size=20).map(json.dumps),
    )  # fmt: skip
    # Flat on purpose: st.recursive made generation, not the config, the slow part.
    keys = st.sampled_from(["name", "url", "a", "slurmctld"])
    return st.one_of(
        scalars,
        st.lists(scalars, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(keys, scalars, max_size=2).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"
        ),
    )


_TABLE_KEYS = {
    "monitor": ["interval_seconds", "failure_threshold", "command_timeout_seconds",
                "confirm_interval_seconds", "jitter_seconds", "max_workers", "listen",
                "state_dir", "log_format", "web_config_file"],
    "slo": ["slurmctld", "slurmdbd"],
    "sla": ["timezone", "unknown_counts_as", "min_downtime_minutes"],
    "thresholds": ["ping_latency_seconds", "server_threads", "agent_queue_size"],
    "alerts": ["repeat_interval_seconds", "group_by", "runbook_url", "flap_threshold",
               "routes"],
    "alerts.outbox": ["retry_initial_seconds", "retry_max_seconds", "keep_sent_seconds"],
    "report": ["formats", "directory", "mail_receiver"],
    "[clusters]": ["name", "slurm_bin", "host_addresses", "local_daemons", "slo",
                   "accounting"],
    "[maintenance]": ["start", "end", "repeat", "until", "clusters", "reason"],
    "[receivers]": ["name", "type", "url", "bearer_token", "timeout_seconds", "urls", "port"],
}  # fmt: skip


@st.composite
def _config(draw) -> str:
    lines = ['[[clusters]]\nname = "a"']
    for table in draw(st.lists(st.sampled_from(sorted(_TABLE_KEYS)), max_size=4)):
        lines.append(f"[{table}]")  # "[clusters]" gives the array table [[clusters]]
        keys = draw(st.lists(st.sampled_from(_TABLE_KEYS[table]), max_size=4, unique=True))
        for key in keys:
            lines.append(f"{key} = {draw(_toml_value())}")
    return "\n".join(lines) + "\n"


@fuzz(150)
@given(text=_config())
def test_generated_configs_validate_or_name_every_problem(text):
    try:
        parse_config(text, "c.toml")
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert re.match(r"c\.toml:\d+: \S", problem), problem


# --- report ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """A config and a small store (one maintenance window in October 2026)."""
    root = tmp_path_factory.mktemp("fuzz-report")
    (root / "config.toml").write_text(f'[monitor]\nstate_dir = "{root}/state"\n'
                                      '[[clusters]]\nname = "a"\n')  # fmt: skip
    (root / "blocker").write_text("a file")
    window = ["--start", "2026-10-20T00:00Z", "--end", "2026-10-20T01:00Z", "--reason", "fuzz",
              "--retroactive"]  # fmt: skip
    assert main(["maintenance", "add", "--config", str(root / "config.toml"), *window]) == 0
    return root


def _report(capsys, monkeypatch, root: Path, argv: list[str]) -> None:
    monkeypatch.chdir(root)
    code = main(["report", "--config", "config.toml", *argv])
    _, err = capsys.readouterr()
    assert code in (0, 1, 4), (argv, err)
    if code != 0:
        assert "Traceback" not in err and err.count("\n") >= 1, err
        if not err.startswith("usage: "):
            one_line_or_nothing(err)


@pytest.mark.parametrize("argv", REPORT_ARGS, ids=lambda a: " ".join(a)[:40])
def test_report_args_corpus(capsys, monkeypatch, store_dir, argv):
    _report(capsys, monkeypatch, store_dir, argv)


@fuzz(60)
@given(
    month=st.one_of(
        st.from_regex(r"[0-9]{1,5}-[0-9]{1,3}", fullmatch=True),
        st.text(max_size=12).filter(lambda s: "\x00" not in s),
    ),
    fmt=st.sampled_from([None, "md", "html", "json", "csv"]),
    cluster=st.sampled_from([None, "a", "b", ""]),
)
def test_report_generated_args(capsys, monkeypatch, store_dir, month, fmt, cluster):
    argv = ["--month", month]
    if fmt:
        argv += ["--format", fmt]
    if cluster is not None:
        argv += ["--cluster", cluster]
    _report(capsys, monkeypatch, store_dir, argv)


@pytest.mark.parametrize("argv", MAINTENANCE_ARGS, ids=lambda a: " ".join(a)[:40])
def test_maintenance_args_corpus(capsys, monkeypatch, store_dir, argv):
    monkeypatch.chdir(store_dir)
    code = main(["maintenance", *argv[:1], "--config", "config.toml", *argv[1:]])
    _, err = capsys.readouterr()
    assert code in (0, 1, 4), (argv, err)
    assert "Traceback" not in err
    if code == 1:
        assert err.startswith("slurm-sla: ") and err.count("\n") == 1, err


# --- through a real process --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "codes"),
    [
        (["parse", "sdiag", str(FUZZ / "parse" / "json-deep-object.json")], {1}),
        (["parse", "ping", str(FUZZ / "parse" / "json-1e400.json")], {1}),
        (["check-config", str(FUZZ / "config" / "deep-array.toml")], {1}),
        (["check-config", str(FUZZ / "config" / "numbers-inf-nan-huge.toml")], {1}),
        (
            [
                "report",
                "--config",
                str(FUZZ / "config" / "numbers-inf-nan-huge.toml"),
                "--month",
                "9999-12",
            ],
            {4},
        ),
    ],  # fmt: skip
    ids=["parse-deep", "parse-1e400", "check-deep", "check-inf", "report-bad-config"],
)
def test_a_real_process_prints_no_traceback(argv, codes):
    result = subprocess.run(
        [sys.executable, "-m", "monitor", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in codes, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_report_month_9999_12_through_a_process(store_dir):
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "report", "--config", "config.toml",
         "--month", "9999-12"],
        capture_output=True, text=True, timeout=120, check=False, cwd=store_dir,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (
        1,
        "slurm-sla: --month: 9999-12 is outside 1970-01 .. 9998-12\n",
    )


def test_the_corpus_is_there():
    # A glob that silently matched nothing would pass every test above.
    assert len(PARSE_CORPUS) >= 20 and len(CONFIG_CORPUS) >= 30 and len(REPORT_ARGS) >= 20
