"""YAML files of the folder, loaded as the Hub does (``yaml.safe_load``) but keeping positions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from executor_rules._folder import Folder, decode_text
from executor_rules._verdict import OTHER, refuse

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class YamlFile:
    """A loaded YAML document and its node tree (for line numbers)."""

    name: str
    data: Any
    node: yaml.Node | None

    def line_of(self, *keys: str) -> int | None:
        """The 1-based line of the mapping key at ``keys`` (a path of keys), if present."""
        import yaml

        node = self.node
        line: int | None = None
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                return None
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return None
        return line

    def value_lines(self, *keys: str) -> list[int]:
        """1-based lines of the value at ``keys``: its items if a sequence, else itself."""
        import yaml

        node = self.node
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                return []
            found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key]
            if not found:
                return []
            node = found[-1]
        if isinstance(node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in node.value]
        if node is None:
            return []
        return [node.start_mark.line + 1]

    def nested_keys(self, key: str) -> list[tuple[str, int]]:
        """Where ``key`` appears deeper than the top level: (parent key path, line)."""
        import yaml

        found: list[tuple[str, int]] = []
        if self.node is None:
            return found
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, str]] = [(self.node, "")]
        while stack:
            node, path = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                    if name == key and path:
                        found.append((path, key_node.start_mark.line + 1))
                    stack.append((value_node, f"{path}.{name}" if path else str(name)))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, path) for item in node.value)
        return sorted(found, key=lambda item: item[1])


def load(folder: Folder, name: str) -> YamlFile:
    """Load ``name`` (at the folder's top); a refusal if it is not YAML the Hub can read.

    PyYAML is imported here, on first use, so that importing this package stays cheap.
    """
    import yaml

    text = decode_text(folder.read((name,)), name)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        raise refuse(
            OTHER,
            f"{name} is not valid YAML: {problem}" + (f" (line {line})." if line else "."),
            file=name,
            line=line,
            hub_message=str(exc),
        ) from None
    except yaml.YAMLError as exc:
        raise refuse(
            OTHER, f"{name} is not valid YAML: {exc}.", file=name, hub_message=str(exc)
        ) from None
    except RecursionError:
        raise refuse(
            OTHER,
            f"{name} is nested too deeply to be read.",
            file=name,
            hub_message="maximum recursion depth exceeded",
        ) from None
    finally:
        loader.dispose()
    return YamlFile(name=name, data=data, node=node)
