"""The ICD 28 schema: .proto files, generated modules, framing, registry and client.

- ``schema``: every message class and enum by proto name (``from carta_trio.messages import
  schema as pb``); generated from ``proto/carta_icd.proto`` into ``carta_icd_pb2``.
- ``framing``: the 8-byte header (``pack_frame``, ``unpack_header``, ``ICD_VERSION``).
- ``registry``: EventType <-> message class, ``decode_frame`` -> ``Envelope``.
- ``client``: ``open_client(url)`` -> ``CartaClient`` for tests, benchmarks and scripts.
- ``generate_protos``: regenerates the schema from ``messages/wire_numbers.tsv``::

      python3 -m carta_trio.messages.generate_protos [--tsv PATH] [--icd-dir DIR] [--check]
"""
