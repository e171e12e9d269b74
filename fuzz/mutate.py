"""Mutators: generic bytes, Standard MIDI File structure (tokenized events), YAML/JSON text, WAV headers.

Every mutator takes a ``random.Random`` and returns ``(new input, label)``; the label says what was done (shown for
the slowest case and kept in fixture names).
"""

from __future__ import annotations

import random
import re
import struct

INTERESTING32 = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


# ---------------------------------------------------------------------------------------------- bytes


def mutate_bytes(rng: random.Random, data: bytes, others: list[bytes] = (), max_ops: int = 4) -> tuple[bytes, str]:
    """1..max_ops random byte-level edits (AFL-style havoc)."""
    buf = bytearray(data)
    names = []
    for _ in range(rng.randint(1, max_ops)):
        op = rng.choice(["flip", "byte", "insert", "delete", "dup", "truncate", "splice", "int32", "zero"])
        names.append(op)
        n = len(buf)
        if op == "flip" and n:
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n)
                buf[i] ^= 1 << rng.randrange(8)
        elif op == "byte" and n:
            buf[rng.randrange(n)] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == "insert":
            i = rng.randint(0, n)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 4, 16, 64])))
        elif op == "delete" and n:
            i = rng.randrange(n)
            del buf[i: i + rng.choice([1, 2, 4, 16, 256])]
        elif op == "dup" and n:
            i = rng.randrange(n)
            j = min(n, i + rng.choice([4, 16, 256, 1024]))
            k = rng.randint(0, n)
            buf[k:k] = buf[i:j] * rng.choice([1, 2, 10])
        elif op == "truncate" and n:
            del buf[rng.randrange(n):]
        elif op == "splice" and others:
            other = rng.choice(others)
            if other:
                i, j = rng.randint(0, n), rng.randrange(len(other))
                buf[i:] = other[j:]
        elif op == "int32" and n >= 4:
            i = rng.randrange(n - 3)
            buf[i: i + 4] = struct.pack(rng.choice([">I", "<I"]), rng.choice(INTERESTING32))
        elif op == "zero" and n:
            i = rng.randrange(n)
            buf[i: i + rng.choice([1, 4, 64])] = bytes(len(buf[i: i + rng.choice([1, 4, 64])]))
    return bytes(buf), "bytes:" + "+".join(names)


# ---------------------------------------------------------------------------------------------- MIDI

# An event: (delta ticks, raw bytes of the event including its status byte). Tracks are lists of events.
Event = tuple[int, bytes]


def vlq(n: int) -> bytes:
    """MIDI variable-length quantity (any size: values over 28 bits give more than 4 bytes, as a fuzzer wants)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _read_vlq(b: bytes, i: int) -> tuple[int, int]:
    v = 0
    for _ in range(4):
        c = b[i]
        i += 1
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            break
    return v, i


def parse_smf(data: bytes) -> tuple[int, int, list[list[Event]]] | None:
    """(format, division, tracks) of a well-formed file, or None (seeds are well formed; mutants may not be)."""
    try:
        if data[:4] != b"MThd":
            return None
        hlen, fmt, _, division = struct.unpack(">IHHH", data[4:14])
        pos = 8 + hlen
        tracks = []
        while pos + 8 <= len(data):
            ctype, clen = data[pos: pos + 4], struct.unpack(">I", data[pos + 4: pos + 8])[0]
            body = data[pos + 8: pos + 8 + clen]
            pos += 8 + clen
            if ctype != b"MTrk":
                continue
            events, i, status = [], 0, 0
            while i < len(body):
                delta, i = _read_vlq(body, i)
                start = i
                if body[i] & 0x80:
                    status = body[i]
                    i += 1
                if status == 0xFF:
                    i += 1
                    length, i = _read_vlq(body, i)
                    i += length
                elif status in (0xF0, 0xF7):
                    length, i = _read_vlq(body, i)
                    i += length
                else:
                    i += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
                raw = body[start:i]
                if not raw[0] & 0x80:  # running status in the seed: make the status explicit
                    raw = bytes([status]) + raw
                events.append((delta, raw))
            tracks.append(events)
        return fmt, division, tracks
    except (IndexError, struct.error):
        return None


def write_smf(fmt: int, division: int, tracks: list[list[Event]], *, ntracks: int | None = None,
              running_status: bool = False, lengths: dict[int, int] | None = None) -> bytes:
    """An SMF from tracks; ``lengths`` overrides (lies about) chunk lengths; ``running_status`` drops repeats."""
    out = b"MThd" + struct.pack(">IHHH", 6, fmt & 0xFFFF, (len(tracks) if ntracks is None else ntracks) & 0xFFFF,
                                division & 0xFFFF)
    for t, events in enumerate(tracks):
        body, last = bytearray(), None
        for delta, raw in events:
            body += vlq(delta)
            if running_status and raw and raw[0] == last and raw[0] < 0xF0:
                body += raw[1:]
            else:
                body += raw
            last = raw[0] if raw and raw[0] < 0xF0 else None
        length = (lengths or {}).get(t, len(body))
        out += b"MTrk" + struct.pack(">I", length & 0xFFFFFFFF) + bytes(body)
    return out


def tempo_event(us_per_beat: int) -> bytes:
    return b"\xff\x51\x03" + (us_per_beat & 0xFFFFFF).to_bytes(3, "big")


def note_pair(rng: random.Random, ch: int = 0, pitch: int | None = None) -> list[Event]:
    p = rng.randrange(128) if pitch is None else pitch
    return [(0, bytes([0x90 | ch, p, 100])), (rng.choice([1, 240, 480]), bytes([0x80 | ch, p, 0]))]


EOT = (0, b"\xff\x2f\x00")


def mutate_midi(rng: random.Random, data: bytes, others: list[bytes] = ()) -> tuple[bytes, str]:
    """A structure-aware mutation of a MIDI file (half the time followed by byte havoc)."""
    parsed = parse_smf(data)
    if parsed is None or rng.random() < 0.2:
        return mutate_bytes(rng, data, others)
    fmt, division, tracks = parsed
    tracks = [list(t) for t in tracks] or [[EOT]]
    kw: dict = {}
    op = rng.choice(["header", "chunklen", "delta", "tempo", "tempos", "running", "datahigh", "metalie",
                     "tracks", "storm", "noeot", "wrap", "drop", "sysex", "program", "shuffle"])
    ti = rng.randrange(len(tracks))
    tr = tracks[ti]
    if op == "header":
        fmt = rng.choice([0, 1, 2, 3, 0xFFFF, fmt])
        kw["ntracks"] = rng.choice([0, 1, len(tracks) + 3, 0xFFFF, len(tracks)])
        division = rng.choice([0, 1, 2, 0x7FFF, 0x8000, 0xE250, 0xE728, 0xE764, 0xE301, 0xFF00, 0x8001,
                               rng.randrange(0x10000), division])
    elif op == "chunklen":
        body = len(write_smf(0, 96, [tr])) - 22
        kw["lengths"] = {ti: rng.choice([0, 1, body - 1, body + 1, body + 1000, 0x7FFFFFFF, 0xFFFFFFFF,
                                         rng.randrange(0x100000000)])}
    elif op == "delta" and tr:
        i = rng.randrange(len(tr))
        tr[i] = (rng.choice([0x0FFFFFFF, 0x0FFFFFFF // 2, 10**7, 10**7 + 1, 2**21, 2**32, 2**40]), tr[i][1])
    elif op == "tempo":
        value = rng.choice([0, 1, 2, 0xFFFFFF, 500000, 60])
        tr.insert(rng.randint(0, len(tr)), (rng.choice([0, 1, 480]), tempo_event(value)))
        tracks[ti] = [(d, tempo_event(value) if r[:2] == b"\xff\x51" else r) for d, r in tr]
    elif op == "tempos":
        n = rng.choice([100, 1000, 5000])
        tr[0:0] = [(rng.choice([0, 1]), tempo_event(rng.choice([1, 0xFFFFFF, rng.randrange(1, 0x1000000)])))
                   for _ in range(n)]
    elif op == "running":
        kw["running_status"] = True
        if tr and rng.random() < 0.5:  # a status byte lost: running status with no status to run on
            i = rng.randrange(len(tr))
            tr[i] = (tr[i][0], tr[i][1][1:] or b"\x00")
    elif op == "datahigh" and tr:
        i = rng.randrange(len(tr))
        raw = bytearray(tr[i][1])
        if len(raw) > 1:
            raw[rng.randrange(1, len(raw))] |= 0x80
        tr[i] = (tr[i][0], bytes(raw))
    elif op == "metalie":
        lie = rng.choice([0x7F, 0x0FFFFFFF, 0x3FFF, 1000])
        tr.insert(rng.randint(0, len(tr)), (0, b"\xff" + bytes([rng.choice([1, 3, 0x51, 0x58, 0x59, 0x7F, 0x2F])])
                                            + vlq(lie) + b"abc"))
    elif op == "tracks":
        n = rng.choice([100, 1000, 3000, 65535])
        small = [(0, bytes([0xC0, rng.randrange(128)]))] + note_pair(rng) + [EOT]
        tracks = tracks[:1] + [list(small) for _ in range(n)]
        kw["ntracks"] = rng.choice([n + 1, 0xFFFF])
    elif op == "storm":
        pitch = rng.randrange(128)
        n = rng.choice([500, 2000, 5000])
        tr[0:0] = [(0, bytes([0x90, pitch, 100])) for _ in range(n)] + [(0, bytes([0x80, pitch, 0]))
                                                                        for _ in range(n)]
    elif op == "noeot":
        tracks[ti] = [e for e in tr if e[1][:2] != b"\xff\x2f"] + ([] if rng.random() < 0.5 else note_pair(rng))
    elif op == "wrap":
        smf = write_smf(fmt, division, tracks)
        kind = rng.choice(["riff", "junk", "chunk"])
        if kind == "riff":
            size = rng.choice([len(smf), len(smf) + 100, 0xFFFFFFFF, 0])
            return (b"RIFF" + struct.pack("<I", len(smf) + 12) + b"RMIDdata" + struct.pack("<I", size) + smf,
                    "midi:wrap-riff")
        if kind == "junk":
            return bytes(rng.randrange(256) for _ in range(rng.choice([1, 100, 4095, 4096, 5000]))) + smf, \
                "midi:wrap-junk"
        junk = rng.choice([b"XFIH", b"\x00\x00\x00\x00", b"MThd", b"RIFF", b"MTr\x00"])
        i = smf.find(b"MTrk")
        return smf[:i] + junk + struct.pack(">I", 4) + b"abcd" + smf[i:], "midi:wrap-chunk"
    elif op == "drop":
        if len(tracks) > 1:
            del tracks[ti]
        else:
            tracks[ti] = [e for e in tr if not 0x80 <= e[1][0] < 0xA0] + [EOT]
    elif op == "sysex":
        length = rng.choice([0, 1, 100, 0x0FFFFFFF])
        tr.insert(rng.randint(0, len(tr)), (0, rng.choice([b"\xf0", b"\xf7"]) + vlq(length) + b"\x7e\x7f\xf7"))
    elif op == "program":
        tr.insert(rng.randint(0, len(tr)), (0, bytes([rng.choice([0xC0, 0xC9, 0xB0, 0xE0]),
                                                      rng.randrange(256), rng.randrange(256)])))
    elif op == "shuffle" and tr:
        rng.shuffle(tr)
    out = write_smf(fmt, division, tracks, **kw)
    label = f"midi:{op}"
    if rng.random() < 0.3:
        out, more = mutate_bytes(rng, out, others, max_ops=2)
        label += "+" + more
    return out, label


# ---------------------------------------------------------------------------------------------- text

YAML_VALUES = [
    "-1", "0", "1e999", "-1e999", ".nan", ".inf", "~", "null", "[]", "{}", '""', "''", "99999999999999999999999",
    "!!binary AAAA", "!!python/object/apply:os.system ['true']", "!!set {a, b}", "&x 1", "*x", "*undefined",
    "{a: [b, {c: d}]}", '"\\u0000"', "é€𝄞\u202e", "x" * 5000, "true", "yes", "0x1F", "0o17", "1_000",
    "2001-12-14", "!!timestamp 2001-12-14", "!!float 3", "|\n  block", "? complex\n: key", "[[[[[[[[[]]]]]]]]]",
    "!custom tag", "%", "@", "`", "\t", "- a\n- b", "128", "16384", "-0", "0.5", "1e-320", "~/x", "~nobody/x",
    "/" + "a" * 300, "../../../../etc/passwd", "\x00",
]
JSON_VALUES = [
    "null", "true", "false", "-1", "0", "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "-0", "1.5", "[]", "{}",
    '""', '"S00"', '"S999"', '"~nouser/x"', '"~"', '"/"', '"."', '"\\u0000"', '"' + "a" * 5000 + '"', "9" * 5000,
    '"' + "/a" * 3000 + '"', '{"a": 1, "a": 2}', '"\\ud800"', '"é€𝄞"', "[1, 2]", "[0, 1e308]", "[2, 1]", "[-1, 5]",
    '"wav"', '"mp3"', "99999", "100000", "1e5", "2.0", '"slakh-studio-session/2"', '"../x.mid"', '"song.mid"',
    "[" * 50 + "]" * 50, '{"strips": {"S00": {"gain_db": 1e400}}}',
]


def laughs(depth: int = 9, width: int = 9) -> str:
    """A YAML billion-laughs document body: anchors that expand to width**depth items."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for d in range(1, depth):
        lines.append(f"l{d}: &l{d} [" + ", ".join([f"*l{d - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def yaml_special(rng: random.Random, text: str) -> tuple[str, str]:
    """A structural YAML attack woven into ``text``."""
    kind = rng.choice(["laughs", "deep", "deepmap", "dupkey", "multidoc", "tab", "bom", "crlf", "anchorvalue",
                       "merge", "complexkey", "nul"])
    lines = text.splitlines()
    if kind == "laughs":
        d = rng.choice([4, 6, 9])
        body = laughs(d)
        # the alias used as a value somewhere real
        m = [i for i, ln in enumerate(lines) if re.match(r"^\s*[\w.-]+:\s+\S", ln)]
        if m:
            i = rng.choice(m)
            lines[i] = re.sub(r":\s+\S.*$", f": *l{d - 1}", lines[i])
        return body + "\n".join(lines), f"yaml:laughs{d}"
    if kind == "deep":
        n = rng.choice([100, 1000, 10000, 100000])
        return text + f"\ndeep: {'[' * n}{']' * n}\n", f"yaml:deep{n}"
    if kind == "deepmap":
        n = rng.choice([100, 1000, 5000])
        return text + "\ndeep: " + "{a: " * n + "1" + "}" * n + "\n", f"yaml:deepmap{n}"
    if kind == "dupkey" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == "multidoc":
        return text + "\n---\n" + text, "yaml:multidoc"
    elif kind == "tab" and lines:
        i = rng.randrange(len(lines))
        lines[i] = "\t" + lines[i]
    elif kind == "bom":
        return "\ufeff" + text, "yaml:bom"
    elif kind == "crlf":
        return text.replace("\n", "\r\n"), "yaml:crlf"
    elif kind in ("anchorvalue", "merge") and lines:
        i = rng.randrange(len(lines))
        if kind == "anchorvalue":
            lines[i] = re.sub(r":\s+(\S.*)$", r": &a \1", lines[i])
            lines.append(rng.choice(["extra: *a", "  extra: *a", "- *a"]))
        else:
            lines.insert(i, rng.choice(["  <<: *a", "<<: {name: x}", "  <<: [*a, *a]", "<<: 3"]))
    elif kind == "complexkey":
        lines.insert(rng.randint(0, len(lines)), rng.choice(["? [a, b]\n: 1", "? {a: 1}\n: 2", "[1]: x"]))
    elif kind == "nul":
        return text.replace(":", ":\x00", 1), "yaml:nul"
    return "\n".join(lines) + "\n", f"yaml:{kind}"


def mutate_text(rng: random.Random, data: bytes, others: list[bytes] = (), *, values: list[str] = YAML_VALUES,
                special=yaml_special) -> tuple[bytes, str]:
    """Line- and token-level edits of a YAML or JSON file, YAML/JSON attacks, or byte havoc (invalid UTF-8)."""
    r = rng.random()
    if r < 0.15:
        return mutate_bytes(rng, data, others, max_ops=2)
    text = data.decode("utf-8", "replace")
    if r < 0.35 and special is not None:
        out, label = special(rng, text)
        return out.encode("utf-8", "surrogatepass"), label
    lines = text.splitlines()
    names = []
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(["value", "value", "value", "key", "delete", "dup", "swap", "indent", "insert"])
        names.append(op)
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        if op == "value":
            m = list(re.finditer(r"(?<=: )[^,}\n]+|(?<=- )[^\n]+|(?<=\[)[^,\]\n]+|(?<=, )[^,\]}\n]+", lines[i]))
            if m:
                g = rng.choice(m)
                lines[i] = lines[i][: g.start()] + rng.choice(values) + lines[i][g.end():]
            else:
                lines[i] = lines[i] + " " + rng.choice(values)
        elif op == "key":
            lines[i] = re.sub(r"[\w.\"-]+(?=\s*:)", rng.choice(["x", "patchs", "1", "S00", '"format"', "~", "é"]),
                              lines[i], count=1)
        elif op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = rng.choice(["  ", " ", ""]) + lines[i].lstrip(" ") if rng.random() < 0.5 else "    " + lines[i]
        elif op == "insert":
            lines.insert(i, rng.choice(["x: 1", "- 3", "  extra: " + rng.choice(values), "{", "]", '"a": "b",']))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"), "text:" + "+".join(names)


def json_special(rng: random.Random, text: str) -> tuple[str, str]:
    kind = rng.choice(["deep", "deepobj", "bom", "utf16", "trailing", "dupkey", "bigint", "surrogate"])
    if kind == "deep":
        n = rng.choice([100, 1000, 100000])
        return text.replace('"mixer": {', '"mixer": {"d": ' + "[" * n + "]" * n + ", ", 1) if '"mixer": {' in text \
            else "[" * n + "]" * n, f"json:deep{n}"
    if kind == "deepobj":
        n = rng.choice([1000, 100000])
        return '{"a": ' * n + "1" + "}" * n, f"json:deepobj{n}"
    if kind == "bom":
        return "\ufeff" + text, "json:bom"
    if kind == "utf16":
        return text.encode("utf-16").decode("latin-1"), "json:utf16"
    if kind == "trailing":
        return text + rng.choice(["x", "{}", ",", "\x00"]), "json:trailing"
    if kind == "dupkey":
        return text.replace("{", '{"seed": 1, ', 1), "json:dupkey"
    if kind == "bigint":
        return text.replace('"seed": ', '"seed": ' + "9" * rng.choice([19, 400, 4300, 5000]) + " + 0 * ", 1) \
            .replace(" + 0 * ", ", \"x\": "), "json:bigint"
    return text.replace('"song": "', '"song": "\\udc00', 1), "json:surrogate"


def mutate_json(rng: random.Random, data: bytes, others: list[bytes] = ()) -> tuple[bytes, str]:
    return mutate_text(rng, data, others, values=JSON_VALUES, special=json_special)


# ---------------------------------------------------------------------------------------------- audio


def mutate_audio(rng: random.Random, data: bytes, others: list[bytes] = ()) -> tuple[bytes, str]:
    """WAV header field attacks (sizes, channels, rate, bits, format tag), FLAC STREAMINFO edits, or byte havoc."""
    if data[:4] == b"RIFF" and len(data) >= 44 and rng.random() < 0.6:
        buf = bytearray(data)
        field = rng.choice(["riffsize", "fmtsize", "format", "channels", "rate", "byterate", "align", "bits",
                            "datasize", "truncate"])
        fmt = data.find(b"fmt ")
        dat = data.find(b"data")
        spots = {"riffsize": (4, "<I"), "fmtsize": (fmt + 4, "<I"), "format": (fmt + 8, "<H"),
                 "channels": (fmt + 10, "<H"), "rate": (fmt + 12, "<I"), "byterate": (fmt + 16, "<I"),
                 "align": (fmt + 20, "<H"), "bits": (fmt + 22, "<H"), "datasize": (dat + 4, "<I")}
        if field == "truncate":
            return bytes(buf[: rng.choice([12, 20, 36, 44, 45, 47, len(buf) // 2])]), "wav:truncate"
        off, f = spots[field]
        if off < 0:
            return mutate_bytes(rng, data, others)
        big = 0xFFFF if f == "<H" else 0xFFFFFFFF
        struct.pack_into(f, buf, off, rng.choice([0, 1, 3, 7, 0xFFFE, big, rng.randrange(big + 1)]))
        return bytes(buf), f"wav:{field}"
    if data[:4] == b"fLaC" and len(data) > 42 and rng.random() < 0.5:
        buf = bytearray(data)
        i = rng.randrange(8, 42)  # inside STREAMINFO: block sizes, rate, channels, bits, total samples
        buf[i] = rng.choice([0, 0xFF, rng.randrange(256)])
        return bytes(buf), "flac:streaminfo"
    return mutate_bytes(rng, data, others)
