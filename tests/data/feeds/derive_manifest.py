#!/usr/bin/env python3
"""The reference reading used to draft MANIFEST.tsv (Python standard library only).

It reads each corpus file the way a forgiving, correct feed reader should, and prints one
manifest row per file: the items a brand monitor keeps (those with a title or a text),
the first one's plain-text title, and its link (`<link>`, else a permalink `<guid>`,
redirectors unwrapped; `rel:<ref>` when relative to the feed's URL, `(feed)` when the item
has no link at all). Every row was then checked by hand; the manifest, not this script,
is the reference. Run from this directory: python3 derive_manifest.py > /tmp/rows.tsv
"""

import base64
import html
import html.entities
import json
import os
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

# Encodings of the files that do not say theirs (feedparser's illformed/chardet cases).
UNDECLARED = {
    "big5.xml": "big5",
    "eucjp.xml": "euc_jp",
    "euckr.xml": "euc_kr",
    "gb2312.xml": "gb2312",
    "koi8r.xml": "koi8_r",
    "shiftjis.xml": "shift_jis",
    "tis620.xml": "tis_620",
    "windows1255.xml": "cp1255",
}


def header_content_type(raw):
    """feedparser's test files carry the HTTP header they are served with in a comment."""
    head = raw[:2000].decode("latin-1")
    m = re.search(r"Header:\s*Content-type:\s*([^\n]+)", head, re.I)
    return m.group(1).strip() if m else ""


def charset_of(ct):
    m = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", ct or "", re.I)
    return m.group(1) if m else None


def codec(label):
    try:
        import codecs

        return codecs.lookup(label).name
    except (LookupError, TypeError):
        return None


def decode(raw, name, ct):
    for bom, enc in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    ):
        if raw.startswith(bom):
            return raw[len(bom):].decode(enc, "replace")
    for pat, enc in (
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00<\x00", "utf-16-be"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"<\x00!\x00", "utf-16-le"),
        (b"<\x00r\x00", "utf-16-le"),
    ):
        if raw.startswith(pat):
            return raw.decode(enc, "replace")
    base = os.path.basename(name)
    if base in UNDECLARED and "chardet" in name:
        return raw.decode(UNDECLARED[base], "replace")
    ascii_only = all(b < 0x80 for b in raw)
    try:
        utf8 = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    # Bytes that are valid UTF-8 with non-ASCII in them are UTF-8, whatever was declared.
    if utf8 is not None and not ascii_only:
        return utf8
    m = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([^\"']+)", raw)
    declared = charset_of(ct) or (m.group(1).decode("ascii", "replace") if m else None)
    enc = codec(declared) if declared else None
    if enc in ("latin-1", "iso8859-1", "ascii"):
        enc = "cp1252"
    if enc and enc not in ("utf-8", "utf-16", "utf-32"):
        return raw.decode(enc, "replace")
    if utf8 is not None:
        return utf8
    return raw.decode("cp1252", "replace")


XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


def repair(text):
    """What a browser would repair: bare '&', HTML entities XML does not define."""

    def entity(m):
        name = m.group(1)
        if name in XML_ENTITIES:
            return m.group(0)
        cp = html.entities.name2codepoint.get(name)
        return "&#%d;" % cp if cp else m.group(0)

    declared = set(re.findall(r"<!ENTITY\s+([A-Za-z][\w.-]*)", text))
    text = re.sub(r"&([A-Za-z][A-Za-z0-9]*);", lambda m: m.group(0) if m.group(1) in declared else entity(m), text)
    text = re.sub(r"&(?!#\d+;|#[xX][0-9A-Fa-f]+;|[A-Za-z][\w.-]*;)", "&amp;", text)
    return text


def parse_xml(text):
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"))
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        pass
    # Cut after the last complete item and close the document.
    for end in ("</item>", "</entry>"):
        i = text.rfind(end)
        if i >= 0:
            cut = text[: i + len(end)]
            for closing in ("</channel></rss>", "</feed>", "</channel></rdf:RDF>", "</rdf:RDF>", "</channel>"):
                try:
                    return ET.fromstring(cut + closing)
                except ET.ParseError:
                    continue
    return None


def local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def text_of(el):
    if el is None:
        return ""
    mode = el.get("mode")
    typ = (el.get("type") or "").lower()
    raw = "".join(el.itertext()) if len(el) else (el.text or "")
    if mode == "base64":
        try:
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        except Exception:
            pass
    if len(el) == 0 and (mode == "escaped" or "html" in typ or "<" in raw or "&" in raw):
        raw = re.sub(r"<[^>]+>", " ", raw)
        raw = html.unescape(raw)
    return " ".join(raw.split())


def unwrap(url):
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    host = u.netloc.lower()
    if host.endswith("google.com") and u.path in ("/url", "/news/url") and (q.get("url") or q.get("q")):
        return q.get("url") or q.get("q")
    if host.endswith("bing.com") and u.path.endswith("/apiclick.aspx") and q.get("url"):
        return q["url"]
    return url


def link_of(item):
    links = [c for c in item if local(c.tag) == "link"]
    for c in links:
        if c.get("href") and c.get("rel") in (None, "alternate"):
            return c.get("href")
    for c in links:
        if c.get("href"):
            return c.get("href")
    for c in links:
        if (c.text or "").strip():
            return c.text.strip()
    for c in item:
        if local(c.tag) == "guid" and c.get("isPermaLink", "true").lower() != "false":
            g = (c.text or "").strip()
            if g:
                return g
    return None


def items_of(root):
    out = []
    for el in root.iter():
        if local(el.tag) not in ("item", "entry"):
            continue
        title = ""
        body = ""
        for c in el:
            n = local(c.tag)
            if n == "title" and not title:
                title = text_of(c)
            elif n in ("description", "summary", "content", "encoded", "fullitem", "body") and not body:
                body = text_of(c)
        if title or body:
            out.append((title, link_of(el)))
    return out


def json_items(text):
    feed = json.loads(text)
    out = []
    for it in feed.get("items", []):
        title = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", it.get("title", ""))).split())
        body = it.get("content_text") or it.get("content_html") or it.get("summary") or ""
        if title or body.strip():
            out.append((title, it.get("url") or it.get("external_url")))
    return out


def row(path):
    raw = open(path, "rb").read()
    ct = header_content_type(raw)
    if path.endswith(".json"):
        items = json_items(raw.decode("utf-8"))
    else:
        root = parse_xml(repair(decode(raw, path, ct)))
        items = items_of(root) if root is not None else []
    title, link = items[0] if items else ("", None)
    if link is None:
        shown = "(feed)" if items else ""
    else:
        link = unwrap(link)
        shown = link if re.match(r"https?://", link) else "rel:" + link
    clean = lambda s: s.replace("\t", " ").replace("\n", " ")
    return "\t".join([path, ct, str(len(items)), clean(title), clean(shown)])


if __name__ == "__main__":
    for dirpath, _, files in sorted(os.walk(".")):
        for f in sorted(files):
            if f.endswith((".xml", ".rdf", ".json", ".atom", ".rss")):
                p = os.path.join(dirpath, f)[2:]
                try:
                    print(row(p))
                except Exception as e:  # a file the reading cannot handle: say so
                    print("\t".join([p, "", "?", "", "ERROR " + repr(e)]))
                    print(p, e, file=sys.stderr)
