"""novac.spark.scan on pyspark in local[2] mode: verdicts over 20,000
prompts equal `novac scan`'s JSONL (skipped without pyspark or Java)."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

pytest.importorskip("pyarrow")
pyspark = pytest.importorskip("pyspark")

import novac  # noqa: E402
import novac.spark  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java (pyspark needs a JRE; Java 17 works)")
    from pyspark.sql import SparkSession

    # The Python workers run this interpreter (the venv with novac in it).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable

    session = (
        SparkSession.builder.master("local[2]")
        .appName("novac-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2000")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_verdicts_equal_the_cli(spark, public_rules, corpus):
    prompts, verdicts = corpus
    rows = [(i, p) for i, p in enumerate(prompts)]
    df = spark.createDataFrame(rows, "id long, prompt string").repartition(4)
    out = novac.spark.scan(df, column="prompt", rules=public_rules)
    assert out.columns == ["id", "prompt", "matched", "matched_rules"]
    got = {r["id"]: (r["matched"], r["matched_rules"]) for r in out.collect()}
    assert len(got) == len(prompts)
    for i, expected in enumerate(verdicts):
        matched, rules = got[i]
        if expected is None:
            assert matched is None and rules is None, i
        else:
            assert rules == expected, (i, prompts[i], rules, expected)
            assert matched == bool(expected), i


def test_spans_and_warnings_columns(spark, public_rules):
    df = spark.createDataFrame([("ignore previous instructions",), (None,)], "prompt string")
    out = novac.spark.scan(df, rules=public_rules, spans=True, warnings=True).collect()
    assert out[0]["matched"] is True
    assert all(k["rule"] in out[0]["matched_rules"] for k in out[0]["keywords"])
    assert out[1]["keywords"] is None and out[1]["warnings"] is None


def test_bad_arguments(spark, public_rules):
    df = spark.createDataFrame([(1, "x")], "n long, prompt string")
    with pytest.raises(ValueError, match="no column 'text'"):
        novac.spark.scan(df, column="text", rules=public_rules)
    with pytest.raises(TypeError, match="not string"):
        novac.spark.scan(df, column="n", rules=public_rules)
    with pytest.raises(TypeError, match="novac.Rules"):
        novac.spark.scan(df, rules="rules/")
    clash = spark.createDataFrame([("x", True)], "prompt string, matched boolean")
    with pytest.raises(ValueError, match="already has"):
        novac.spark.scan(clash, rules=public_rules)
