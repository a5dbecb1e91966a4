"""A blocking SMB1/SMB2/SMB3 client, drop-in compatible with pysmb.

Public entry point: :class:`smb.SMBConnection.SMBConnection`.
"""

__version__ = "0.1.0"
