"""carta-trio: a CARTA image-viewer backend (ICD 28) in Python on trio.

The layers live in sibling folders installed as subpackages:
``carta_trio.messages`` (schema, framing, client), ``carta_trio.codecs`` (bytes on
the wire), ``carta_trio.io`` (files), ``carta_trio.analysis`` (numpy maths) and
``carta_trio.actors`` (the trio runtime).
"""

__version__ = "0.1.0"

#: The CARTA reference version this backend reproduces.
REFERENCE_VERSION = "4.1.0"
