"""What every backend's emit does with its Function records: render them through a module template, and
keep user text from leaving the docstring."""
import functools
from pathlib import Path

import jinja2

from gradc.version import __version__


def _template_folder():
    """gradc/templates: in a wheel the folder itself, in a checkout a link to the top-level templates/."""
    return str(Path(__file__).parents[1] / "templates")


@functools.lru_cache(maxsize=1)
def _environment():
    loader = jinja2.FileSystemLoader(_template_folder())
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)


def render(template, order, functions, **fields):
    """The module text: `template` over `functions` and the helpers their lines call (in `order`), checked
    to be valid Python before anyone sees it."""
    used = {name for function in functions for line in _all_lines(function) for name in line.helpers}
    assert used <= set(order), used - set(order)
    helpers = [name for name in order if name in used]
    text = _environment().get_template(template).render(version=__version__, helpers=helpers,
                                                        functions=functions, **fields)
    compile(text, "<generated module>", "exec")
    return text


def _all_lines(function):
    """A function's lines, those of its loops included (a jacobian's basis loop)."""
    yield from function.body
    for basis in function.loops:
        yield from basis.before
        yield from basis.body
        yield from basis.after


def docstring_safe(text, limit=300):
    """`text` on one line, shortened past `limit` characters, with nothing that could end the docstring."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 5] + " ..."
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
