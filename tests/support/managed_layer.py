"""The managed pandas layer as recorded, and a pyarrow that refuses what the layer's build lacks.

layers/managed-pandas-layer.toml says which AWS SDK for pandas layer the functions run on and
which codecs its pyarrow was built with. Tests run on PyPI's pyarrow, which has every codec, so
without this a codec the layer lacks passes every test and fails every execution in AWS.
`refusing_codecs_the_layer_lacks` wraps pyarrow's codec entry points so that, while it is
active, they answer as the layer's build does: `ArrowNotImplementedError: Support for codec
'zstd' not built`. tests/conftest.py keeps it active for the whole test run.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pyarrow.parquet.core
import pytest

ROOT = Path(__file__).parents[2]
RECORD = ROOT / "layers" / "managed-pandas-layer.toml"

# Names that mean "no codec": any build has them.
NO_CODEC = frozenset({"none", "uncompressed"})


@dataclass(frozen=True)
class ManagedLayer:
    name: str
    version: int
    region: str
    account: str
    release: str
    packages: dict[str, str]
    codecs: frozenset[str]

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:layer:{self.name}:{self.version}"


def load_managed_layer(record: Path = RECORD) -> ManagedLayer:
    data = tomllib.loads(record.read_text(encoding="utf-8"))
    return ManagedLayer(
        name=data["layer"]["name"],
        version=data["layer"]["version"],
        region=data["layer"]["region"],
        account=data["layer"]["account"],
        release=data["layer"]["release"],
        packages=dict(data["packages"]),
        codecs=frozenset(data["pyarrow_build"]["codecs"]),
    )


def _codec_names(compression: Any) -> list[str]:
    """The codec names a compression argument asks for (a name, a Codec, or one per column)."""
    if compression is None:
        return []
    if isinstance(compression, dict):
        return [name for value in compression.values() for name in _codec_names(value)]
    if isinstance(compression, pa.Codec):
        return [compression.name]
    return [str(compression)]


def _argument(function: Callable[..., Any], name: str, args: Any, kwargs: Any) -> Any:
    """The value `name` takes in a call, its default included."""
    bound = inspect.signature(function).bind_partial(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments.get(name)


class _Refusal:
    def __init__(self, codecs: frozenset[str]) -> None:
        self.codecs = codecs

    def built(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in NO_CODEC or lowered in self.codecs

    def check(self, compression: Any) -> None:
        for name in _codec_names(compression):
            if not self.built(name):
                raise pa.ArrowNotImplementedError(f"Support for codec '{name.lower()}' not built")

    def check_parquet_file(self, metadata: pq.FileMetaData) -> None:
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for column in range(row_group.num_columns):
                self.check(row_group.column(column).compression)


def _parquet_writer(refusal: _Refusal, original: type) -> type:
    class ParquetWriter(original):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            refusal.check(_argument(original.__init__, "compression", (self, *args), kwargs))
            super().__init__(*args, **kwargs)

    return ParquetWriter


def _parquet_file(refusal: _Refusal, original: type) -> type:
    class ParquetFile(original):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            refusal.check_parquet_file(self.metadata)

    return ParquetFile


def _read_table(refusal: _Refusal, original: Callable[..., Any]) -> Callable[..., Any]:
    def read_table(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str | Path) and Path(source).is_file():
            refusal.check_parquet_file(pq.read_metadata(source))
        return original(source, *args, **kwargs)

    return read_table


def _codec(refusal: _Refusal, original: type) -> type:
    class Codec(original):  # type: ignore[valid-type,misc]
        def __init__(self, compression: str, compression_level: int | None = None) -> None:
            refusal.check(compression)
            super().__init__(compression, compression_level)

        @staticmethod
        def is_available(compression: str) -> bool:
            return refusal.built(compression) and original.is_available(compression)

    return Codec


def _checking(refusal: _Refusal, original: Callable[..., Any], argument: str) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        refusal.check(_argument(original, argument, args, kwargs))
        return original(*args, **kwargs)

    return checked


def _checking_class(refusal: _Refusal, original: type, position: int | None) -> type:
    """A subclass of a Cython class whose constructor checks its `compression` argument.

    Cython classes carry no signature to bind to: `position` is where `compression` stands
    among the positional arguments (None: keyword only).
    """

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        positional = args[position] if position is not None and len(args) > position else None
        refusal.check(kwargs.get("compression", positional))
        original.__init__(self, *args, **kwargs)

    return type(original.__name__, (original,), {"__init__": __init__})


@contextmanager
def refusing_codecs_the_layer_lacks(layer: ManagedLayer | None = None) -> Iterator[None]:
    """While active, pyarrow refuses every codec the layer's build lacks, as that build does."""
    refusal = _Refusal((layer or load_managed_layer()).codecs)
    writer = _parquet_writer(refusal, pq.core.ParquetWriter)
    parquet_file = _parquet_file(refusal, pq.core.ParquetFile)
    codec = _codec(refusal, pa.Codec)
    with pytest.MonkeyPatch.context() as patch:
        for module in (pq, pq.core):
            # write_table and pandas' to_parquet go through ParquetWriter.
            patch.setattr(module, "ParquetWriter", writer)
            patch.setattr(module, "ParquetFile", parquet_file)
        patch.setattr(pq, "read_table", _read_table(refusal, pq.read_table))
        patch.setattr(pa, "Codec", codec)
        patch.setattr(pa, "compress", _checking(refusal, pa.compress, "codec"))
        patch.setattr(pa, "decompress", _checking(refusal, pa.decompress, "codec"))
        for stream in ("CompressedOutputStream", "CompressedInputStream"):
            patch.setattr(pa, stream, _checking_class(refusal, getattr(pa, stream), 1))
        options = _checking_class(refusal, pyarrow.ipc.IpcWriteOptions, None)
        patch.setattr(pyarrow.ipc, "IpcWriteOptions", options)
        yield
