"""The HPACK decoder against the hpack package's encoder (Huffman, indexing, eviction)."""

from __future__ import annotations

import hpack
import pytest

from gnomon.server.transport.hpack_decoder import HeaderDecodeError, HeaderDecoder, HeaderListTooLarge

REQUEST = [
    (b":method", b"POST"),
    (b":scheme", b"http"),
    (b":path", b"/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"),
    (b":authority", b"127.0.0.1:7233"),
    (b"content-type", b"application/grpc"),
    (b"te", b"trailers"),
    (b"grpc-timeout", b"9999m"),
    (b"temporal-namespace", b"default"),
    (b"client-name", b"temporal-python"),
]


@pytest.mark.parametrize("huffman", [True, False])
def test_decodes_a_sequence_of_blocks_sharing_the_dynamic_table(huffman: bool) -> None:
    encoder = hpack.Encoder()
    decoder = HeaderDecoder()
    for i in range(50):
        headers = [*REQUEST[:-3], (b"grpc-timeout", f"{10_000 - i}m".encode()), *REQUEST[-2:]]
        assert decoder.decode(encoder.encode(headers, huffman=huffman)) == headers


def test_eviction_keeps_tables_in_step_with_the_encoder() -> None:
    encoder = hpack.Encoder()
    decoder = HeaderDecoder()
    for i in range(300):  # enough distinct large values to cycle a 4 KiB table many times
        headers = [(b":path", b"/x"), (f"x-key-{i % 37}".encode(), b"v" * (i % 200))]
        assert decoder.decode(encoder.encode(headers)) == headers


def test_a_repeated_block_follows_the_dynamic_table() -> None:
    """The same indexed-only bytes name other headers once an insertion shifts the indices."""
    decoder = HeaderDecoder()
    decoder.decode(b"\x40\x03x-a\x011")  # literal with indexing: x-a: 1 becomes index 62
    assert decoder.decode(b"\xbe") == [(b"x-a", b"1")]
    assert decoder.decode(b"\xbe") == [(b"x-a", b"1")]  # served again, table unchanged
    decoder.decode(b"\x40\x03x-b\x012")  # x-b: 2 is now 62, x-a: 1 is 63
    assert decoder.decode(b"\xbe") == [(b"x-b", b"2")]
    assert decoder.decode(b"\xbf") == [(b"x-a", b"1")]
    decoder.decode(b"\x20")  # a table size update to 0 empties the table
    with pytest.raises(HeaderDecodeError):
        decoder.decode(b"\xbe")


def test_table_size_update_shrinks_the_table() -> None:
    encoder = hpack.Encoder()
    decoder = HeaderDecoder()
    decoder.decode(encoder.encode([(b"x-a", b"1" * 100)]))
    encoder.header_table_size = 0
    headers = [(b"x-a", b"1" * 100), (b"x-b", b"2")]
    assert decoder.decode(encoder.encode(headers)) == headers


def test_never_indexed_and_long_integers() -> None:
    encoder = hpack.Encoder()
    decoder = HeaderDecoder()
    long_value = b"z" * 1000  # length needs a multi-byte integer
    block = encoder.encode([hpack.NeverIndexedHeaderTuple(b"authorization", b"secret"), (b"x-long", long_value)])
    assert decoder.decode(block) == [(b"authorization", b"secret"), (b"x-long", long_value)]


@pytest.mark.parametrize(
    "block",
    [
        b"\x80",  # index 0
        b"\xff\x80\x80\x80\x80\x80",  # integer running off the end
        b"\xbf",  # dynamic index past an empty table
        b"\x00\x05ab",  # name shorter than its length
        b"\x3f\xff\x7f",  # size update above the allowed 4096
    ],
)
def test_malformed_blocks_are_errors(block: bytes) -> None:
    with pytest.raises(HeaderDecodeError):
        HeaderDecoder().decode(block)


def test_a_header_list_over_the_limit_is_refused_but_keeps_the_table_in_step() -> None:
    encoder = hpack.Encoder()
    decoder = HeaderDecoder(max_header_list_size=1024)
    with pytest.raises(HeaderListTooLarge) as caught:
        decoder.decode(encoder.encode([(b"x-a", b"1"), (b"x-big", b"v" * 2000)]))
    assert caught.value.size > 1024
    # Both fields went into the dynamic table; the encoder now refers to them by index.
    assert decoder.decode(encoder.encode([(b"x-a", b"1")])) == [(b"x-a", b"1")]


def test_a_table_size_update_after_a_field_is_an_error() -> None:
    with pytest.raises(HeaderDecodeError):
        HeaderDecoder().decode(b"\x82\x20")
