"""novac.ray: scan a Ray Dataset's prompt column with novac rules.

>>> import novac, novac.ray, ray
>>> rules = novac.compile(paths="rules/")
>>> ds = ray.data.read_parquet("prompts.parquet")            # doctest: +SKIP
>>> out = ds.map_batches(novac.ray.Scanner, fn_constructor_args=(rules,),
...                      fn_constructor_kwargs={"column": "prompt"},
...                      batch_format="pyarrow", concurrency=2)  # doctest: +SKIP

:class:`Scanner` is a callable class for ``Dataset.map_batches``: Ray starts
an actor pool, pickles ``rules`` to each actor once (a compiled bundle,
loaded without parsing), and every batch is scanned in place by
:meth:`novac.Rules.scan_arrow` without the GIL. Batches may be
``pyarrow.Table`` (fastest), pandas ``DataFrame`` or a dict of numpy arrays.

Needs ``ray[data]`` and ``pyarrow``; novac does not depend on them.
"""

from __future__ import annotations

from typing import Any, Optional

from novac._novac import Rules

__all__ = ["Scanner"]


class Scanner:
    """Appends ``matched`` and ``matched_rules`` (and ``keywords`` /
    ``warnings`` on request) to each batch, computed from ``column``.

    ``threads`` is per actor (default 1: scale with the actor pool).
    """

    def __init__(
        self,
        rules: Rules,
        column: str = "prompt",
        *,
        threads: int = 1,
        spans: bool = False,
        warnings: bool = False,
        normalize: bool = False,
        decode: bool = False,
        max_prompt_bytes: Optional[int] = None,
    ) -> None:
        if not isinstance(rules, Rules):
            raise TypeError(f"novac.ray.Scanner() needs a novac.Rules object, not {type(rules).__name__}")
        self.rules = rules
        self.column = column
        self.options = {
            "threads": threads,
            "spans": spans,
            "warnings": warnings,
            "normalize": normalize,
            "decode": decode,
            "max_prompt_bytes": max_prompt_bytes,
        }

    def scan_table(self, table: Any) -> Any:
        """``table`` (a ``pyarrow.Table``) with the result columns appended."""
        if self.column not in table.column_names:
            raise KeyError(f"novac.ray.Scanner: the batch has no column {self.column!r} (columns: {table.column_names})")
        result = self.rules.scan_arrow(table.column(self.column), **self.options)
        for name in result.column_names:
            table = table.append_column(name, result.column(name))
        return table

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        if isinstance(batch, pa.Table):
            return self.scan_table(batch)
        if isinstance(batch, dict):  # batch_format="numpy"
            table = pa.table({self.column: pa.array(batch[self.column], type=pa.large_string())})
            result = self.scan_table(table)
            out = dict(batch)
            for name in result.column_names[1:]:
                out[name] = result.column(name).to_numpy(zero_copy_only=False)
            return out
        # batch_format="pandas"
        table = pa.table({self.column: pa.array(batch[self.column], type=pa.large_string(), from_pandas=True)})
        result = self.scan_table(table).drop_columns([self.column]).to_pandas()
        out = batch.copy()
        for name in result.columns:
            out[name] = result[name].values
        return out

    def __repr__(self) -> str:
        return f"<novac.ray.Scanner: {len(self.rules)} rule(s) on column {self.column!r}>"
