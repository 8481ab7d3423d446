"""An open Zarr group: a mapping of names to arrays and groups, with attributes."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from geozarr.core.array import Array
from geozarr.core.creation import create_array, create_group_node, normalise_path
from geozarr.core.node import Node
from geozarr.core.nodes import MetadataSource, NodeInfo
from geozarr.errors import NodeNotFoundError
from geozarr.storage.keys import join_key


def node_from_info(source: MetadataSource, info: NodeInfo, *, read_only: bool
                   ) -> Array | Group:
    """The open :class:`Array` or :class:`Group` for a loaded node."""
    if info.is_array:
        return Array(source.store, info.path, info.metadata, info.attributes,
                     read_only=read_only)
    return Group(source, info, read_only=read_only)


class Group(Node):
    """A Zarr v2 or v3 group: ``group["name"]``, ``list(group)``, ``group.attrs``.

    Open one with :func:`geozarr.open_group`. Children are read through the group's
    metadata source: consolidated metadata when the group was opened through it.
    """

    _kind = "group"

    def __init__(self, source: MetadataSource, info: NodeInfo, *, read_only: bool):
        super().__init__(source.store, info.path, info.metadata, info.attributes,
                         read_only=read_only)
        self._source = source

    @property
    def metadata(self) -> Any:
        """The parsed group metadata."""
        return self._metadata

    def __repr__(self) -> str:
        return f"<geozarr.Group {self._path or '/'} v{self.zarr_format}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its metadata source (the store, and any consolidated documents), path,
        metadata and attributes."""
        return (partial(Group, read_only=self._read_only),
                (self._source, NodeInfo(self._path, self._metadata, self._attrs.asdict())))

    # -- members --------------------------------------------------------------------------
    def _child_path(self, name: str, *, new: bool = False) -> str:
        return join_key(self._path, normalise_path(name, absolute_ok=not new))

    def __getitem__(self, name: str) -> Array | Group:
        path = self._child_path(name)
        info = self._source.find(path)
        if info is None:
            raise NodeNotFoundError(f"no array or group named {name!r} in group "
                                    f"{self._path or '/'!r} of {self.store!r}")
        return node_from_info(self._source, info, read_only=self._read_only)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            return self._source.find(self._child_path(name)) is not None
        except NodeNotFoundError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._source.child_names(self._path))

    def __len__(self) -> int:
        return len(self._source.child_names(self._path))

    def keys(self) -> list[str]:
        """Names of the direct children, sorted."""
        return self._source.child_names(self._path)

    def members(self) -> Iterator[tuple[str, Array | Group]]:
        """(name, node) for every direct child."""
        for name in self.keys():
            yield name, self[name]

    def arrays(self) -> Iterator[tuple[str, Array]]:
        """(name, array) for every direct child that is an array."""
        for name, node in self.members():
            if isinstance(node, Array):
                yield name, node

    def groups(self) -> Iterator[tuple[str, Group]]:
        """(name, group) for every direct child that is a group."""
        for name, node in self.members():
            if isinstance(node, Group):
                yield name, node

    def document(self, key: str) -> dict[str, Any] | None:
        """The raw JSON metadata document at ``key`` (relative to this group), read through
        consolidated metadata when the group was opened with it; None when absent."""
        return self._source.document(join_key(self._path, key))

    # -- creating -------------------------------------------------------------------------
    def create_group(self, name: str, *, attributes: dict[str, Any] | None = None,
                     overwrite: bool = False) -> Group:
        """Create a group ``name`` (may be nested: "a/b") inside this one."""
        self._check_writable()
        info = create_group_node(self.store, self._child_path(name, new=True),
                                 zarr_format=self.zarr_format, attributes=attributes,
                                 overwrite=overwrite)
        return Group(self._source.without_consolidated(), info, read_only=False)

    def require_group(self, name: str) -> Group:
        """The group ``name``, created when it does not exist."""
        node = self._source.find(self._child_path(name, new=True))
        if node is not None and not node.is_array:
            return Group(self._source, node, read_only=self._read_only)
        return self.create_group(name)

    def create_array(self, name: str, **keywords: Any) -> Array:
        """Create an array ``name`` inside this group; keywords as :func:`create_array`.

        The array takes the group's Zarr format unless ``zarr_format`` is given.
        """
        self._check_writable()
        keywords.setdefault("zarr_format", self.zarr_format)
        return create_array(self.store, name=self._child_path(name, new=True), **keywords)
