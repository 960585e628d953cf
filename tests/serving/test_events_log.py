"""The event log: round trips, sequence numbers, torn tails and corruption."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.errors import ConfigError, DataError
from recsys.serving.events import EventLog, read_log

ids = st.one_of(st.integers(-2**70, 2**70), st.text(max_size=12))
records = st.fixed_dictionaries({"user": ids, "item": ids,
                                 "weight": st.floats(0.5, 100.0),
                                 "type": st.sampled_from(["view", "cart", None])})
batches = st.lists(st.lists(records, min_size=1, max_size=5), min_size=1, max_size=6)


def _events(tmp_path, sizes):
    path = tmp_path / "events.log"
    with EventLog(path) as log:
        for n, size in enumerate(sizes):
            log.append("events", [{"user": f"u{n}", "item": i, "weight": 1.0}
                                  for i in range(size)])
    return path


def _read(path, after=0):
    return [(b.seq, b.records) for b in read_log(path, after)[1]]


@settings(max_examples=30, deadline=None)
@given(batches)
def test_batches_read_back_as_written_with_rising_sequence_numbers(tmp_path_factory, written):
    path = tmp_path_factory.mktemp("log") / "events.log"
    with EventLog(path) as log:
        spans = [log.append("events", batch) for batch in written]
    expected_first = 1
    for (first, last), batch in zip(spans, written, strict=True):
        assert (first, last) == (expected_first, expected_first + len(batch) - 1)
        expected_first = last + 1
    assert _read(path) == [(first, batch) for (first, _), batch in zip(spans, written,
                                                                         strict=True)]
    # Reading after any sequence number returns exactly the records numbered above it.
    flat = [record for batch in written for record in batch]
    for after in range(len(flat) + 1):
        got = [record for _, batch in _read(path, after) for record in batch]
        assert got == flat[after:]


def test_reopening_continues_the_numbering_and_keeps_the_log_id(tmp_path):
    path = _events(tmp_path, [2, 3])
    first_id = read_log(path)[0]
    with EventLog(path) as log:
        assert log.last_seq == 5 and log.log_id == first_id
        assert log.append("items", [{"item": "new"}]) == (6, 6)
    assert [seq for seq, _ in _read(path)] == [1, 3, 6]


def test_a_torn_last_record_is_ignored_at_every_cut_and_cut_off_by_the_writer(tmp_path):
    path = _events(tmp_path, [2, 3])
    whole = path.read_bytes()
    last_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    for cut in range(last_start, len(whole)):  # every prefix of the last line, newline excluded
        path.write_bytes(whole[:cut])
        assert [seq for seq, _ in _read(path)] == [1], cut
        with EventLog(path) as log:
            assert log.last_seq == 2
            assert log.append("events", [{"user": "x", "item": 1, "weight": 1.0}]) == (3, 3)
        assert [seq for seq, _ in _read(path)] == [1, 3]
        assert path.read_bytes().startswith(whole[:last_start])


def test_a_complete_last_line_with_a_bad_checksum_counts_as_torn(tmp_path):
    path = _events(tmp_path, [1, 1])
    lines = path.read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1][:9] + b"\0" * (len(lines[-1]) - 10) + b"\n"  # zero-filled block
    path.write_bytes(b"".join(lines))
    assert [seq for seq, _ in _read(path)] == [1]
    with EventLog(path) as log:
        assert log.last_seq == 1


def test_damage_followed_by_intact_records_is_corruption_naming_the_line(tmp_path):
    path = _events(tmp_path, [1, 1, 1])
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"u1"', b'"uX"')  # checksum no longer matches
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataError, match="line 3 .* corrupt"):
        _read(path)
    with pytest.raises(DataError, match="line 3"):
        EventLog(path)


def test_a_gap_in_the_numbering_is_refused(tmp_path):
    path = _events(tmp_path, [1])
    text = json.dumps({"kind": "events", "seq": 5, "records": [{"user": 1}]},
                      separators=(",", ":")).encode()
    with open(path, "ab") as handle:
        handle.write(b"%08x %s\n" % (zlib.crc32(text), text))
    with pytest.raises(DataError, match="line 3 is not the batch that follows .* 1"):
        _read(path)


@pytest.mark.parametrize("content", [b"hello\nworld\n", b'{"kind": "log"}\n'])
def test_a_file_that_is_not_a_log_is_refused(tmp_path, content):
    path = tmp_path / "other.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not an event log"):
        _read(path)
    with pytest.raises(DataError, match="not an event log"):
        EventLog(path)
    assert path.read_bytes() == content  # refused, not overwritten


def test_a_header_torn_before_its_sync_starts_a_new_log(tmp_path):
    path = tmp_path / "events.log"
    path.write_bytes(b'0123abcd {"format":1,"ki')
    with EventLog(path) as log:
        assert log.last_seq == 0
        log.append("events", [{"user": 1, "item": 2, "weight": 1.0}])
    assert _read(path) == [(1, [{"user": 1, "item": 2, "weight": 1.0}])]


def test_one_writer_per_log(tmp_path):
    path = tmp_path / "events.log"
    with EventLog(path):
        with pytest.raises(ConfigError, match="open in another process"):
            EventLog(path)
    EventLog(path).close()  # released on close


def test_bad_batches_and_missing_files_are_clear_errors(tmp_path):
    with EventLog(tmp_path / "events.log") as log:
        with pytest.raises(ConfigError, match="at least one record"):
            log.append("events", [])
        with pytest.raises(ConfigError, match="kind"):
            log.append("purchases", [{"user": 1}])
        assert log.last_seq == 0
    with pytest.raises(DataError, match="cannot read the event log"):
        read_log(tmp_path / "missing.log")
    with pytest.raises(ConfigError, match="cannot open the event log"):
        EventLog(tmp_path / "no-such-dir" / "events.log")
