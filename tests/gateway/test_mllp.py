"""MLLP framing (HL7 v2.5.1 Appendix C): frames in any pieces, limits, refusals, one exchange
over a real localhost socket."""

from __future__ import annotations

import socket
import threading

import pytest

from radgov.gateway.mllp import END, START, FrameError, FrameReader, exchange, frame

MSG = b"MSH|^~\\&|RIS|HOSP|RADGOV|HOSP|20261205||ORU^R01|42|P|2.5.1\rOBX|1|TX|||No bleed"


def test_frame_wraps_a_message_in_the_block_characters() -> None:
    assert frame(MSG) == b"\x0b" + MSG + b"\x1c\x0d"
    assert (START, END) == (b"\x0b", b"\x1c\x0d")


def test_a_message_holding_a_block_character_cannot_be_framed() -> None:
    with pytest.raises(FrameError, match="block characters"):
        frame(b"MSH|\x1c|")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_reader_unframes_a_stream_cut_into_any_pieces(size: int) -> None:
    stream = frame(MSG) + b"\r\n" + frame(b"second") + frame(b"third")
    reader, got = FrameReader(), []
    for i in range(0, len(stream), size):
        got += reader.feed(stream[i : i + size])
    assert got == [MSG, b"second", b"third"]
    assert not reader.pending


def test_reader_refuses_bytes_outside_a_frame() -> None:
    with pytest.raises(FrameError, match="outside an MLLP frame"):
        FrameReader().feed(b"GET / HTTP/1.1\r\n")


def test_reader_refuses_a_message_over_the_limit_before_reading_the_rest() -> None:
    reader = FrameReader(max_bytes=10)
    assert reader.feed(START + b"12345") == []
    with pytest.raises(FrameError, match="longer than 10 bytes"):
        reader.feed(b"678901")


def test_reader_refuses_an_end_block_without_its_carriage_return() -> None:
    with pytest.raises(FrameError, match="followed by 0x0D"):
        FrameReader().feed(START + b"abc\x1cX")


def test_reader_gives_whole_frames_before_refusing_what_follows_them() -> None:
    reader = FrameReader()
    assert reader.feed(frame(b"one") + frame(b"two") + b"GET /") == [b"one", b"two"]
    assert reader.refused is not None
    with pytest.raises(FrameError, match="outside an MLLP frame"):
        reader.feed(b"")


def test_reader_knows_when_a_frame_was_left_open() -> None:
    reader = FrameReader()
    reader.feed(START + b"half")
    assert reader.pending


def _one_shot_server(answer: bytes | None) -> tuple[int, threading.Thread, list[bytes]]:
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def run() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                reader = FrameReader()
                while not (messages := reader.feed(conn.recv(4096))):
                    pass
                received.extend(messages)
                if answer is not None:
                    conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server.getsockname()[1], thread, received


def test_exchange_sends_one_message_and_returns_the_answer() -> None:
    port, thread, received = _one_shot_server(frame(b"MSH|ACK\rMSA|AA|42"))
    assert exchange("127.0.0.1", port, MSG, timeout=5) == b"MSH|ACK\rMSA|AA|42"
    thread.join(5)
    assert received == [MSG]


def test_exchange_says_when_the_peer_closes_without_answering() -> None:
    port, thread, _ = _one_shot_server(None)
    with pytest.raises(FrameError, match="without answering"):
        exchange("127.0.0.1", port, MSG, timeout=5)
    thread.join(5)


def test_exchange_says_when_the_peer_answers_in_something_else() -> None:
    port, thread, _ = _one_shot_server(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    with pytest.raises(FrameError, match="outside an MLLP frame"):
        exchange("127.0.0.1", port, MSG, timeout=5)
    thread.join(5)
