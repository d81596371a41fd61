"""Data Docs pages that render offline and call no one.

Great Expectations' page templates load bootstrap, jQuery, bootstrap-table, popper, the
datepicker, font-awesome and vega from public CDNs, and fetch the logo from the vendor's bucket
with the data context id in the query string. The site builder here uses views whose template
loader rewrites GE's own templates as they are loaded:

* every CDN address in ``VENDORED_ASSETS`` becomes a relative link into the run's
  ``data_docs/static/vendor/`` (files shipped in ``expectations/data_docs_static/``, with their
  licences), computed per page depth the way GE computes its own ``static/`` links;
* ``integrity``/``crossorigin`` attributes go (a CORS request cannot be made from ``file://``);
* the logo and favicon come from GE's own packaged ``static/images/``, with no id or timestamp;
* links to the vendor's web site are kept as plain text, the newsletter footer is left out.

``assert_offline`` is the guard: a rewritten template that still names a host raises, so a
Great Expectations upgrade that adds an asset fails the build (and the tests) instead of
quietly calling out.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader

ASSETS_DIR = Path(__file__).with_name("data_docs_static")
VENDOR_FOLDER = "vendor"

# The CDN address as GE 1.x's templates write it -> the file under static/vendor/.
VENDORED_ASSETS: Dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
}
# GE's dark-mode logo lives only in the vendor's bucket; the packaged light logo stands in.
_VENDOR_BUCKET = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_BUCKET_IMAGES = {"full_logo_dark.png": "logo-long.png", "logo-long.png": "logo-long.png"}

# ``gk_static_root``: the run's ``data_docs/static/`` relative to the page being rendered, by
# the same rule GE's top_navbar.j2 uses (validation pages sit under
# validations/<suite, one folder per dot-part>/<run name>/<run time>/, suite pages under
# expectations/<suite>/, the index at the top).
_STATIC_ROOT = (
    '{%- set gk_dots = (expectation_suite_name or "").count(".") -%}'
    '{%- if "ValidationResults" in renderer_type or "ProfilingResults" in renderer_type -%}'
    '{%- set gk_static_root = ((gk_dots + 4) * "../") + "static/" -%}'
    '{%- elif "ExpectationSuite" in renderer_type -%}'
    '{%- set gk_static_root = ((gk_dots + 1) * "../") + "static/" -%}'
    '{%- else -%}{%- set gk_static_root = "./static/" -%}{%- endif -%}'
)
_FAVICON = '<link rel="shortcut icon" href="{{ gk_static_root }}images/favicon.ico" type="image/x-icon"/>'
# Whole templates replaced: the newsletter footer (a form on the vendor's site) is left out.
_REPLACED_TEMPLATES = {"cloud-footer.j2": "", "favicon.j2": _STATIC_ROOT + _FAVICON}
_SRI = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
_EXTERNAL_ANCHOR = re.compile(r'<a\s+href="https?://[^"]*"[^>]*>(.*?)</a>', re.S)
_BUCKET_IMAGES_DIR = re.compile(r'{%-?\s*set static_images_dir\s*=\s*"' + re.escape(_VENDOR_BUCKET) + r'"\s*-?%}')
_HOST = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I)


class OfflineTemplateError(RuntimeError):
    """A Data Docs template still refers to a host after the rewrite."""


def rewrite_template(name: str, source: str) -> str:
    """GE's template ``name`` with every external reference made local (see the module doc)."""
    if name in _REPLACED_TEMPLATES:
        return _REPLACED_TEMPLATES[name]
    rewritten = source
    for url in sorted(VENDORED_ASSETS, key=len, reverse=True):  # longest first: no prefix clash
        rewritten = re.sub(re.escape(url) + r'(?=["\'])',
                           "{{ gk_static_root }}" + VENDOR_FOLDER + "/" + VENDORED_ASSETS[url], rewritten)
    rewritten = _SRI.sub("", rewritten)
    rewritten = _BUCKET_IMAGES_DIR.sub('{%- set static_images_dir = gk_static_root + "images/" -%}', rewritten)
    for image, local in _BUCKET_IMAGES.items():
        rewritten = rewritten.replace(_VENDOR_BUCKET + image, "{{ gk_static_root }}images/" + local)
    rewritten = rewritten.replace("| add_data_context_id_to_url", "")
    rewritten = _EXTERNAL_ANCHOR.sub(r"\1", rewritten)
    if rewritten != source and "gk_static_root" in rewritten:
        rewritten = _STATIC_ROOT + rewritten
    assert_offline(name, rewritten)
    return rewritten


def assert_offline(name: str, source: str) -> None:
    """Raise ``OfflineTemplateError`` if ``source`` still links to or loads from a host."""
    found = _HOST.search(source)
    if found:
        raise OfflineTemplateError(f"data docs template {name} refers to a host")


class OfflineTemplateLoader(BaseLoader):
    """GE's packaged templates and styles, rewritten by ``rewrite_template`` as they load."""

    def __init__(self) -> None:
        self._packaged = ChoiceLoader([PackageLoader("great_expectations", "render/view/templates"),
                                       PackageLoader("great_expectations", "render/view/static/styles")])

    def get_source(self, environment: Environment, template: str) -> Tuple[str, Optional[str], Callable[[], bool]]:
        source, filename, uptodate = self._packaged.get_source(environment, template)
        return rewrite_template(template, source), filename, uptodate


class _OfflineViewMixin:
    """Puts ``OfflineTemplateLoader`` first, before GE's own loaders (which cannot be overridden
    by ``custom_views_directory``: GE appends that one last)."""

    env: Environment

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)  # type: ignore[call-arg]
        extra = [FileSystemLoader(d) for d in (custom_styles_directory, custom_views_directory) if d]
        self.env.loader = ChoiceLoader([OfflineTemplateLoader(), *extra])


class OfflineJinjaPageView(_OfflineViewMixin, DefaultJinjaPageView):
    """Validation result and suite pages."""


class OfflineJinjaIndexPageView(_OfflineViewMixin, DefaultJinjaIndexPageView):
    """The site index."""


def offline_site_config(base_directory: str) -> dict:
    """A ``SiteBuilder`` config whose every page is rendered by the offline views."""
    view = {"module_name": __name__, "class_name": OfflineJinjaPageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,  # the buttons link to the vendor's documentation
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": base_directory},
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": OfflineJinjaIndexPageView.__name__},
        },
        "site_section_builders": {
            "expectations": {"view": view},
            "validations": {"view": view},
            "profiling": {"view": view},
        },
    }


def copy_vendored_assets(site_dir: Path) -> Path:
    """Copy the vendored files into ``site_dir/static/vendor/`` (and their licences beside)."""
    target = Path(site_dir) / "static" / VENDOR_FOLDER
    shutil.copytree(ASSETS_DIR / VENDOR_FOLDER, target, dirs_exist_ok=True)
    shutil.copytree(ASSETS_DIR / "licenses", target / "licenses", dirs_exist_ok=True)
    shutil.copy2(ASSETS_DIR / "README.md", target / "README.md")
    return target
