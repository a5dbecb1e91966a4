"""NetBIOS over TCP/IP (RFC 1001 / RFC 1002) and direct TCP transport for the SMB client.

* :mod:`nmb.framing` - session packet headers and SESSION REQUEST codec (RFC 1002 4.3,
  [MS-SMB2] 2.1 direct TCP).
* :mod:`nmb.transport` - :class:`~nmb.transport.Transport`, the framed TCP connection the
  SMB engines run on.
* :mod:`nmb.nmb_structs` - name service packet codec (RFC 1002 4.2).
* :mod:`nmb.NetBIOS` - :class:`~nmb.NetBIOS.NetBIOS`, pysmb's name query API.
* :mod:`nmb.utils` - first/second-level name encoding (RFC 1001 14, RFC 1002 4.1).
"""
