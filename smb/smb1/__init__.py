"""SMB1 (NT LM 0.12, CIFS section 4) engine: codec (header, messages, trans), MD5 signing
(signing) and the operation engine behind :class:`smb.engine.Engine` (engine)."""
