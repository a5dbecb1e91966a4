"""SMB1 part of DFS: TRANS2_GET_DFS_REFERRAL ([MS-CIFS] 2.2.6.16, [MS-SMB] 2.2.6.16) on IPC$:
the parameters are a REQ_GET_DFS_REFERRAL, the data a RESP_GET_DFS_REFERRAL ([MS-DFSC])."""

from __future__ import annotations

from smb import dfs
from smb.engine import Timeout, Tree
from smb.smb1 import trans as T
from smb.smb1.mixin import EngineMixin

TRANS2_GET_DFS_REFERRAL = 0x0010


class DfsOperations(EngineMixin):
    """Mixin of SMB1Engine."""

    def get_dfs_referral(self, tree: Tree, path: str, timeout: Timeout) -> bytes:
        max_data = min(dfs.MAX_RESPONSE, self.max_transact_size)
        req = T.trans2(TRANS2_GET_DFS_REFERRAL, dfs.encode_request(path), max_param=0,
                       max_data=max_data)
        asm, _st = self.conn.transact(req, tree.tree_id, timeout, max_param=0, max_data=max_data,
                                      what="get DFS referral")
        return bytes(asm.data)
