"""SMB2 part of DFS: FSCTL_DFS_GET_REFERRALS ([MS-SMB2] 2.2.31 / 3.2.4.20.3, [MS-DFSC] 2.2.2)
on a tree connect of IPC$, with the FileId {0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF}."""

from __future__ import annotations

from smb import dfs
from smb.engine import Timeout, Tree
from smb.errors import OperationFailure
from smb.smb2 import messages as M
from smb.smb2.fileops import PartialData
from smb.smb2.mixin import EngineMixin

#: [MS-FSCC] 2.3 FSCTL_DFS_GET_REFERRALS
FSCTL_DFS_GET_REFERRALS = 0x00060194


class DfsOperations(EngineMixin):
    """Mixin of SMB2Engine."""

    def get_dfs_referral(self, tree: Tree, path: str, timeout: Timeout) -> bytes:
        """The raw RESP_GET_DFS_REFERRAL for ``path`` ('\\\\server\\\\share\\\\...')."""
        out = self.ioctl(tree, M.RELATED_FILE_ID, FSCTL_DFS_GET_REFERRALS,
                         dfs.encode_request(path), dfs.MAX_RESPONSE, timeout)
        if isinstance(out, PartialData):
            raise OperationFailure("DFS referral for '%s' larger than %d bytes"
                                   % (path, dfs.MAX_RESPONSE), [])
        return out
