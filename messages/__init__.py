"""The ICD 28 schema: .proto files, generated modules, framing, registry and client."""
