#!/usr/bin/env python3
"""ntsd.toml(5) from docs/configuration.md, so that the manual page lists
every key the reference does and cannot drift from it.

usage: config_to_man.py docs/configuration.md VERSION > ntsd.toml.5

Handles what that file uses: # / ## headings, paragraphs, "- " lists,
``` blocks, | key | default | meaning | tables, `code`, **bold**.
"""
import re
import sys


def esc(text):
    text = text.replace("\\", "\\e")
    text = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = text.replace("-", "\\-")
    # A line may not start with a control character.
    return re.sub(r"^([.'])", r"\\&\1", text)


def main():
    src, version = sys.argv[1], sys.argv[2]
    out = [f'.TH NTSD.TOML 5 "2026" "ntsd {version}" "File Formats"',
           ".SH NAME",
           "ntsd.toml \\- configuration of ntsd, ntsd\\-ke and ntsd\\-pool",
           ".SH SYNOPSIS",
           ".I /etc/ntsd/ntsd.toml",
           ".SH DESCRIPTION"]
    lines = open(src, encoding="utf-8").read().splitlines()
    i, para = 0, []

    def flush():
        if para:
            out.append(".PP")
            out.extend(esc(p) for p in para)
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            i += 1
            continue
        if line.startswith("## "):
            flush()
            out.append(".SH " + esc(line[3:].upper().replace("`", "")))
        elif line.startswith("```"):
            flush()
            out.append(".PP\n.nf\n.RS 4")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(esc(lines[i]) if lines[i] else "")
                i += 1
            out.append(".RE\n.fi")
        elif line.startswith("| key"):
            flush()
            i += 2  # header and |---| line
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split(" | ")]
                key, default, meaning = cells[0], cells[1], " | ".join(cells[2:])
                out.append(".TP")
                out.append(esc(f"{key} (default {default})"))
                out.append(esc(meaning))
                i += 1
            continue
        elif line.startswith("- "):
            flush()
            item = [line[2:]]
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                item.append(lines[i].strip())
            out.append(".IP \\(bu 2")
            out.extend(esc(x) for x in item)
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    out += [".SH FILES", ".TP", ".I /usr/share/ntsd/ntsd.toml.example",
            "An annotated example for a stratum\\-1 server on a PTP hardware clock.",
            ".SH SEE ALSO", ".BR ntsd (8),", ".BR ntsd\\-ke (8),", ".BR ntsd\\-pool (8),", ".BR ntsgen (1)"]
    print("\n".join(out))


main()
