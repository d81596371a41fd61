"""Offline helpers: nothing in the redaction stage may touch the network at run time.

Presidio's ``EmailRecognizer.validate_result`` calls the module-level
``tldextract.extract``, whose default extractor downloads the public suffix list on
first use. ``offline_tld_extractor`` builds one that reads only the snapshot bundled
inside the tldextract package (no URLs, no cache directory).
"""
from __future__ import annotations

import functools

import tldextract


@functools.lru_cache(maxsize=1)
def offline_tld_extractor() -> tldextract.TLDExtract:
    """A process-wide extractor that uses tldextract's bundled suffix-list snapshot."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def has_public_suffix(candidate: str) -> bool:
    """True when ``candidate``'s host part ends in a known public suffix."""
    return offline_tld_extractor()(candidate).fqdn != ""
