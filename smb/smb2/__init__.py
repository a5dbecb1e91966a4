"""SMB2/SMB3 protocol support ([MS-SMB2])."""
