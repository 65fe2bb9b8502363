"""URLs without their credentials, for everything we record in a store or show to anyone.

A shared MLflow server or DVC remote is read by everyone with access to it, and a model card
travels with the model, so a git remote such as ``https://user:TOKEN@host/repo.git`` or a
presigned ``...?X-Amz-Signature=...`` must never be written there or shown as it is.

``redact_url`` drops the userinfo of a ``scheme://`` URL (a user name alone can be a token:
``https://TOKEN@github.com/...``) and every query or fragment parameter whose name looks like a
credential. An ssh user (``git@host:repo.git``, ``ssh://git@host/repo``) is kept: ssh
authenticates with a key, the user name is part of the address and says which account to ask
for, and git needs it to clone; a password written next to it is dropped. Anything that is not
a URL (a local path, a remote's name) comes back unchanged. Standard library only: this runs
on every tag we write and must never fail.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

__all__ = ["is_secret_name", "redact_text", "redact_url"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# scheme://, authority, path, ?query, #fragment
_PARTS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$", re.S)
# scp-like git address: [user[:password]@]host:path, no "://" and no "/" before the ":"
_SCP = re.compile(r"^(?P<user>[^@/\s:]+)(?P<password>:[^@/\s]*)?@(?P<rest>[^@/\s:]+:.*)$", re.S)
_SSH_SCHEMES = {"ssh", "git+ssh", "ssh+git"}
_SECRET_NAMES = {
    "auth",
    "authorization",
    "code",
    "credential",
    "credentials",
    "jwt",
    "key",
    "pass",
    "passwd",
    "password",
    "pwd",
    "sas",
    "secret",
    "session",
    "sig",
    "signature",
    "token",
}
# access_token, private_token, client_secret, api_key, apikey, x-api-key, sas_token, ...
_SECRET_SUFFIX = re.compile(
    r"[-_.]?(token|secret|passw(or)?d|signature|credentials?|api[-_]?key|access[-_]?key|"
    r"secret[-_]?key|private[-_]?key|session[-_]?id|sig)$"
)
_SECRET_PREFIXES = ("x-amz-", "x-goog-", "x-ms-")
# a URL inside free text: scheme://, then anything up to whitespace, a quote or a bracket
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter called ``name`` is likely to carry a credential."""
    key = unquote_plus(name).strip().lower()
    return (
        key in _SECRET_NAMES or key.startswith(_SECRET_PREFIXES) or bool(_SECRET_SUFFIX.search(key))
    )


def _strip_params(text: str) -> str:
    """``a=1&token=x&b=2`` -> ``a=1&b=2``: the pairs kept exactly as written."""
    if not text:
        return text
    kept = [p for p in re.split(r"[&;]", text) if not is_secret_name(p.split("=", 1)[0])]
    return "&".join(kept)


def redact_url(value: str | None) -> str | None:
    """``value`` without user info (ssh user names excepted) and credential-like parameters.

    ``https://u:TOKEN@host/r.git?access_token=S&ref=main`` -> ``https://host/r.git?ref=main``;
    ``git@host:org/r.git`` stays; ``/data/raw`` and ``origin`` stay. Never raises.
    """
    if not value or not isinstance(value, str):
        return value
    text = value.strip()
    if _SCHEME.match(text):
        return _redact_scheme_url(text)
    scp = None if "\\" in text else _SCP.match(text)  # a backslash: a Windows path
    if scp:  # user@host:path; a password next to the user is dropped
        return f"{scp['user']}@{scp['rest']}"
    return value


def _redact_scheme_url(text: str) -> str:
    """Parsed by hand (``urlsplit``/``urlunsplit`` would turn ``sqlite:////abs`` into
    ``sqlite://abs`` and raise on a bad IPv6 host): only the parts that change are rebuilt."""
    found = _PARTS.match(text)
    if found is None:
        return text
    scheme, netloc, path, query, fragment = found.groups()
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        keep_user = scheme[:-3].lower() in _SSH_SCHEMES and user
        netloc = f"{user}@{host}" if keep_user else host
    if query is not None:
        query = _strip_params(query[1:])
        query = f"?{query}" if query else ""
    if fragment is not None and "=" in fragment:  # OAuth's implicit flow: #access_token=...
        kept = _strip_params(fragment[1:])
        fragment = f"#{kept}" if kept else ""
    return f"{scheme}{netloc}{path}{query or ''}{fragment or ''}"


def redact_text(text: str | None) -> str | None:
    """``text`` with every ``scheme://`` URL in it redacted (error messages, tag values)."""
    if not text or not isinstance(text, str) or "://" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        cut = len(url.rstrip(".,;:!?)]}"))  # sentence punctuation after a URL is not part of it
        return _redact_scheme_url(url[:cut]) + url[cut:]

    return _URL_IN_TEXT.sub(one, text)
