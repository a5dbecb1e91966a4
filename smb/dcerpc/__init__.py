"""DCE/RPC over SMB named pipes: the connection-oriented PDU codec ([MS-RPCE] 2.2.2, C706
chapter 12) in :mod:`smb.dcerpc.rpce` and the SRVSVC share enumeration ([MS-SRVS] 3.1.4.8)
in :mod:`smb.dcerpc.srvsvc`. Pure codecs: the engines supply the pipe transport."""

from smb.dcerpc.rpce import RPCBindError, RPCClient, RPCFault  # noqa: F401
