"""Issue 16: URLs lose their credentials, model cards show store values as text and render
inert (no request, form or overlay), whatever the store holds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_mlops.core.redact import redact_text, redact_url
from jupyter_mlops.core.registry.model_card import card_html, render_model_card


@pytest.mark.parametrize(
    ("given_url", "shown"),
    [
        ("https://user:TOKEN@host/repo.git?access_token=S2", "https://host/repo.git"),
        ("https://TOKEN@github.com/o/r.git", "https://github.com/o/r.git"),  # a bare token
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),  # an ssh user is no secret
        ("git:PW@github.com:o/r.git", "git@github.com:o/r.git"),
        ("ssh://git:PW@host:22/r.git", "ssh://git@host:22/r.git"),
        ("postgresql://u:PW@db:5432/mlflow", "postgresql://db:5432/mlflow"),
        ("s3://b/k?X-Amz-Signature=S&X-Amz-Date=1&versionId=3", "s3://b/k?versionId=3"),
        ("azure://c/p?sv=2024&SIG=S&se=2", "azure://c/p?sv=2024&se=2"),
        ("https://h/p?Password=a&api_key=b&client_secret=c&ref=main", "https://h/p?ref=main"),
        ("https://h/cb#access_token=T&state=1", "https://h/cb#state=1"),
        ("http://u:p@[::1/x", "http://[::1/x"),  # malformed: still no password, no error
        ("sqlite:////abs/mlflow.db", "sqlite:////abs/mlflow.db"),  # untouched, slashes and all
        ("file:///a/b", "file:///a/b"),
        ("/data/raw@v2:x", "/data/raw@v2:x"),  # paths, names and Windows paths stay
        ("C:\\data\\a@b:c", "C:\\data\\a@b:c"),
        ("origin", "origin"),
        ("", ""),
        (None, None),
    ],
)
def test_redact_url(given_url: str | None, shown: str | None) -> None:
    assert redact_url(given_url) == shown


@given(
    secret=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=12, max_size=30),
    name=st.sampled_from(["token", "ACCESS_TOKEN", "sig", "X-Amz-Credential", "key", "secret"]),
    user=st.sampled_from(["", "user", "x-access-token", "oauth2"]),
)
def test_no_secret_survives(secret: str, name: str, user: str) -> None:
    userinfo = f"{user}:{secret}@" if user else f"{secret}@"
    url = f"https://{userinfo}host.example/a/b.git?ref=main&{name}={secret}#x"
    shown = redact_url(url)
    assert secret not in shown and shown == "https://host.example/a/b.git?ref=main#x"
    text = f"push to {url}, then (see {url})."
    assert redact_text(text) == f"push to {shown}, then (see {shown})."


HOSTILE = "<img src=http://127.0.0.1:9/a> [a](javascript:alert(1)) **b** `c` | $x$ ~~d~~"


def test_card_shows_store_values_as_text() -> None:
    from markdown_it import MarkdownIt

    facts = {
        "run": {"id": "ab12", "name": HOSTILE, "status": "FINISHED", "experiment": HOSTILE},
        "source": {"type": "<b>NOTEBOOK</b>", "name": "x.py"},
        "git": {"commit": "c0ffee", "repo_url": "https://u:TOKEN9@h/r.git?token=T9", "dirty": 0},
        "metrics": {HOSTILE: 0.5},
        "params": {"p": HOSTILE, "q": "```\n<iframe src=http://x>"},
        "tags": {"note": "![x](http://127.0.0.1:9/b)"},
        "data": [{"path": "d.csv", "md5": "m", "remote": "https://u:PW9@r/s?sig=S9"}],
        "environment": {"packages": {"<s>": "1"}},
    }
    description = "# Big\n- item\n1. one\n<form action=http://x><input></form>\n---\n" + HOSTILE
    text = render_model_card(
        facts,
        name=HOSTILE,
        version=1,
        alias="a",
        model_uri="models:/m/1",
        description=description,
        requirements=["x==1", "```", "<script>alert(1)</script>"],
    )
    assert not re.search("TOKEN9|T9|PW9|S9", text)
    assert "https://h/r.git" in text and "https://r/s" in text
    # rendered by a Markdown renderer that passes raw HTML through (GitHub, a notebook)
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    for live in ("<img", "<iframe", "<form", "<input", "<script", "<s>", "<b>", "<a ", "<strong"):
        assert live not in rendered, live
    assert "<em>" not in rendered and "<del>" not in rendered
    assert "&lt;img src=http://127.0.0.1:9/a&gt; [a](javascript:alert(1)) **b** `c`" in rendered
    description_html = rendered.split("<h2>Description</h2>")[1].split("<h2>")[0]
    assert "<h1>" not in description_html and "<li>" not in description_html
    assert "<hr" not in description_html and "# Big" in description_html
    assert rendered.count("<h1>") == 1  # the card's own title only


INERT_TAGS = {"h1", "h2", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre"}


def parsed(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every element of ``html`` with its attributes, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


def test_card_html_renders_any_card_inert() -> None:
    card = "\n\n".join(
        [
            "# Card <img src=http://127.0.0.1:9/a>",
            "![chart](http://127.0.0.1:9/b) ![](//127.0.0.1:9/c)",
            '<form action="http://127.0.0.1:9/f"><input name=q></form>',
            '<div style="position:fixed;inset:0;background:red">overlay</div>',
            "<iframe src=http://127.0.0.1:9/i></iframe>",
            "<link rel=stylesheet href=http://127.0.0.1:9/s.css>",
            "[ok](https://example.com/x?token=T9) [js](javascript:alert(1)) [f](file:///etc/passwd)"
            " [rel](../other) <mailto:a@b.c>",
            "| a | b |\n|:-:|--:|\n| `x\\|y` | 2 |",
            "```html style=x\n<b>code</b>\n```",
        ]
    )
    html = card_html(card)
    elements = parsed(html)
    assert {tag for tag, _ in elements} <= INERT_TAGS | {"a"}
    assert {name for tag, attrs in elements for name in attrs if tag != "a"} == set()
    assert "&lt;img src=http://127.0.0.1:9/a&gt;" in html  # shown as text
    assert "[image: chart] (http://127.0.0.1:9/b)" in html and "![](//127.0.0.1:9/c)" in html
    links = re.findall(r"<a [^>]*>", html)
    assert links == [
        '<a href="https://example.com/x" target="_blank" rel="noopener noreferrer">',
        '<a href="mailto:a@b.c" target="_blank" rel="noopener noreferrer">',
    ]
    assert "[js](javascript:alert(1))" in html and "[rel](../other)" in html  # text, no link
    assert "<td><code>x|y</code></td>" in html and "&lt;b&gt;code&lt;/b&gt;" in html
