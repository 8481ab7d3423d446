"""What several subcommands share: option values parsed by click (integer lists, zoom
ranges, byte sizes, compressors, value pairs; each parser says what it expected when it
fails), and the options of the commands that colour a raster."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from geozarr.render import COLORMAPS

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
#: Compressor names and the numcodecs config each spelling stands for; the optional number
#: after a colon is the level (``acceleration`` for lz4).
_COMPRESSORS = {"zstd": "level", "zlib": "level", "gzip": "level", "lz4": "acceleration",
                "bz2": "level", "lzma": "preset"}


class IntList(click.ParamType):
    """Comma-separated positive integers (``"512,512"``); one number is repeated ``repeat``
    times (``"512"`` -> ``(512, 512)``) when ``repeat`` is given."""

    name = "integers"

    def __init__(self, repeat: int | None = None):
        self.repeat = repeat

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            numbers = tuple(int(part) for part in str(value).split(","))
        except ValueError:
            self.fail(f"expected comma-separated integers, got {value!r}", param, ctx)
        if any(n < 1 for n in numbers):
            self.fail(f"expected positive integers, got {value!r}", param, ctx)
        if self.repeat is not None and len(numbers) == 1:
            return numbers * self.repeat
        if self.repeat is not None and len(numbers) != self.repeat:
            self.fail(f"expected one or {self.repeat} integers, got {value!r}", param, ctx)
        return numbers


class ZoomRange(click.ParamType):
    """``"2-12"`` (minimum and maximum zoom) or ``"7"`` (one zoom) -> ``(min, max)``."""

    name = "zoom"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(value))
        if match is None:
            self.fail(f"expected MIN-MAX (like 2-12) or one zoom, got {value!r}", param, ctx)
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            self.fail(f"the maximum zoom {high} is below the minimum {low}", param, ctx)
        return low, high


class ByteSize(click.ParamType):
    """A number of bytes: ``1048576``, ``512M``, ``2G``, ``1.5GiB``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if match is None:
            self.fail(f"expected a size such as 512M or 2G, got {value!r}", param, ctx)
        size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
        if size < 1:
            self.fail(f"expected a positive size, got {value!r}", param, ctx)
        return size


class FloatPair(click.ParamType):
    """Two numbers ``"LOW,HIGH"`` with ``LOW < HIGH`` (a value range)."""

    name = "low,high"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[float, float]:
        if isinstance(value, tuple):
            return value
        try:
            low, high = (float(part) for part in str(value).split(","))
        except ValueError:
            self.fail(f"expected two numbers LOW,HIGH, got {value!r}", param, ctx)
        if not high > low:
            self.fail(f"expected LOW below HIGH, got {value!r}", param, ctx)
        return low, high


class Compressor(click.ParamType):
    """A compressor for Zarr chunks: ``default`` (Zstd level 3), ``none``, a name with an
    optional level (``zstd:7``, ``zlib:6``, ``gzip:9``, ``lz4``, ``bz2``, ``lzma``),
    ``blosc[:cname[:clevel]]`` (byte shuffle), or a numcodecs JSON config
    (``{"id": "zstd", "level": 5}``). Converts to what the library takes: ``"default"``,
    None or a numcodecs config dict."""

    name = "compressor"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str | dict[str, Any] | None:
        if value is None or isinstance(value, dict):
            return value
        text = str(value).strip()
        if text.startswith("{"):
            try:
                config = json.loads(text)
            except json.JSONDecodeError as error:
                self.fail(f"not valid JSON: {error}", param, ctx)
            if not isinstance(config, dict) or not isinstance(config.get("id"), str):
                self.fail(f"a JSON compressor needs an \"id\", got {text!r}", param, ctx)
            return config
        name, *rest = text.lower().split(":")
        if name == "default" and not rest:
            return "default"
        if name == "none" and not rest:
            return None
        if name == "blosc" and len(rest) <= 2:
            config: dict[str, Any] = {"id": "blosc", "cname": rest[0] if rest else "zstd",
                                      "clevel": self._number(rest[1], param, ctx)
                                      if len(rest) == 2 else 5, "shuffle": 1}
            return config
        if name in _COMPRESSORS and len(rest) <= 1:
            config = {"id": name}
            if rest:
                config[_COMPRESSORS[name]] = self._number(rest[0], param, ctx)
            return config
        self.fail(f"unknown compressor {value!r}: use default, none, "
                  f"{', '.join(sorted(_COMPRESSORS))} (each with an optional :level), "
                  f"blosc[:cname[:clevel]] or a numcodecs JSON config", param, ctx)

    def _number(self, text: str, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        try:
            return int(text)
        except ValueError:
            self.fail(f"expected an integer level, got {text!r}", param, ctx)


Command = TypeVar("Command", bound=Callable[..., Any])


def colour_options(rescale_default: str) -> Callable[[Command], Command]:
    """The ``-b/--bands``, ``--colormap`` and ``--rescale`` options of every command that
    colours a raster (``serve``, ``tiles``, ``preview``), so that they read alike.

    ``rescale_default`` says, in the help of ``--rescale``, what spans the colours when the
    option is not given.
    """
    options = (
        click.option("-b", "--bands", type=IntList(),
                     help="One band (colour-mapped) or three (red, green, blue), 1-based "
                          "[default: 1,2,3 for uint8 with three bands or more, else 1]."),
        click.option("--colormap", type=click.Choice(list(COLORMAPS)), default="viridis",
                     show_default=True, help="Colours of a single band."),
        click.option("--rescale", type=FloatPair(),
                     help=f"The value range LOW,HIGH spanning the colours "
                          f"[default: {rescale_default}]."),
    )

    def decorate(command: Command) -> Command:
        for option in reversed(options):  # click lists options in decorator order
            command = option(command)
        return command
    return decorate
