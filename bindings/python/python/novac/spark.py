"""novac.spark: scan a Spark DataFrame's prompt column with novac rules.

>>> import novac, novac.spark
>>> rules = novac.compile(paths="rules/")
>>> out = novac.spark.scan(df, column="prompt", rules=rules)   # doctest: +SKIP
>>> out.filter("matched").select("prompt", "matched_rules").show()  # doctest: +SKIP

:func:`scan` adds ``matched`` (boolean) and ``matched_rules`` (array<string>)
to ``df`` (and ``keywords`` / ``warnings`` on request, as
:meth:`novac.Rules.scan_arrow` returns them) through ``DataFrame.mapInArrow``:
the compiled rules travel to the executors once, as a broadcast pickle (the
bundle, loaded without parsing), and each Python worker process builds its
:class:`novac.Rules` once and keeps it for every later task. Each Arrow batch
is scanned in place by ``scan_arrow`` without the GIL.

Needs ``pyspark`` (3.3 or later: ``mapInArrow``) and ``pyarrow`` on the
driver and the workers; novac does not depend on them.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import threading
from typing import Any, Dict, Iterator, Optional

from novac._novac import Rules

__all__ = ["scan", "result_fields"]

# Per worker process: the Rules built from each broadcast payload (by hash).
_CACHE: Dict[str, Rules] = {}
_LOCK = threading.Lock()


def _rules(key: str, broadcast: Any) -> Rules:
    with _LOCK:
        rules = _CACHE.get(key)
        if rules is None:
            rules = pickle.loads(broadcast.value)
            if not isinstance(rules, Rules):
                raise TypeError("novac.spark: the broadcast payload is not a novac.Rules")
            _CACHE[key] = rules
        return rules


def result_fields(*, spans: bool = False, warnings: bool = False) -> list:
    """The Spark fields :func:`scan` appends (a list of ``StructField``)."""
    from pyspark.sql.types import ArrayType, BooleanType, LongType, StringType, StructField, StructType

    fields = [
        StructField("matched", BooleanType(), True),
        StructField("matched_rules", ArrayType(StringType(), True), True),
    ]
    if spans:
        span = StructType(
            [
                StructField("rule", StringType(), False),
                StructField("var", StringType(), False),
                StructField("start", LongType(), False),
                StructField("end", LongType(), False),
            ]
        )
        fields.append(StructField("keywords", ArrayType(span, True), True))
    if warnings:
        fields.append(StructField("warnings", ArrayType(StringType(), True), True))
    return fields


def _map_batches(
    key: str,
    broadcast: Any,
    column: str,
    options: Dict[str, Any],
    batches: Iterator[Any],
) -> Iterator[Any]:
    """Runs on the executors: scans each Arrow batch and appends the columns."""
    import pyarrow as pa

    rules = _rules(key, broadcast)
    for batch in batches:
        result = rules.scan_arrow(batch.column(column), **options)
        arrays = list(batch.columns) + [c.combine_chunks() for c in result.columns]
        names = list(batch.schema.names) + list(result.schema.names)
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def scan(
    df: Any,
    column: str = "prompt",
    rules: Optional[Rules] = None,
    *,
    threads: int = 1,
    spans: bool = False,
    warnings: bool = False,
    normalize: bool = False,
    decode: bool = False,
    max_prompt_bytes: Optional[int] = None,
) -> Any:
    """Returns ``df`` with novac's verdicts on ``df[column]`` appended.

    Columns added: ``matched`` and ``matched_rules``, plus ``keywords`` with
    ``spans=True`` and ``warnings`` with ``warnings=True`` (null where the
    prompt is null). ``threads`` is per Python worker (default 1: Spark
    already runs one worker per core). Rules with semantics need the
    embedding model at the same path on the workers (the pickle carries its
    directory). Lazy, like any DataFrame transformation.
    """
    if not isinstance(rules, Rules):
        raise TypeError(f"novac.spark.scan() needs rules=novac.Rules, not {type(rules).__name__}")
    if column not in df.columns:
        raise ValueError(f"novac.spark.scan(): the DataFrame has no column {column!r} (columns: {df.columns})")
    from pyspark.sql.types import StringType, StructType

    if not isinstance(df.schema[column].dataType, StringType):
        raise TypeError(
            f"novac.spark.scan(): column {column!r} is {df.schema[column].dataType.simpleString()}, not string"
        )
    added = result_fields(spans=spans, warnings=warnings)
    clash = [f.name for f in added if f.name in df.columns]
    if clash:
        raise ValueError(f"novac.spark.scan(): the DataFrame already has column(s) {clash}; rename them first")
    payload = pickle.dumps(rules)
    key = hashlib.sha256(payload).hexdigest()
    broadcast = df.sparkSession.sparkContext.broadcast(payload)
    options = {
        "threads": threads,
        "spans": spans,
        "warnings": warnings,
        "normalize": normalize,
        "decode": decode,
        "max_prompt_bytes": max_prompt_bytes,
    }
    schema = StructType(list(df.schema.fields) + added)
    return df.mapInArrow(functools.partial(_map_batches, key, broadcast, column, options), schema)
