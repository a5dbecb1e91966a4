"""Whole-file operations of one open in one round trip over SMB1 (a mixin of
:class:`smb.smb1.engine.SMB1Engine`): AndX chains ([MS-CIFS] 2.2.3.4; sending 3.2.4.1.4,
receiving 3.2.5.1.3).

Each is one message: NT_CREATE_ANDX (2.2.4.64), at most one operation on the open it makes,
and CLOSE (2.2.4.5), so the server closes the file whatever happens after the open:

* :meth:`open_close`: NT_CREATE_ANDX + CLOSE (attributes, a folder creation, a delete with
  FILE_DELETE_ON_CLOSE);
* :meth:`open_read_close`: NT_CREATE_ANDX + READ_ANDX (2.2.4.42) + CLOSE -- READ_ANDX is a
  follow-on command of NT_CREATE_ANDX, CLOSE one of READ_ANDX;
* :meth:`open_write_close`: NT_CREATE_ANDX + WRITE_ANDX (2.2.4.43) + CLOSE.

The follow-on requests name the FID placeholder 0xFFFF: the server applies them to the open
the chain made (Samba: the chain's file, whatever FID is given).

Sizes: a chained response must fit the client's MaxBufferSize (64 KiB, announced in
SESSION_SETUP_ANDX; Samba cannot build a longer chained answer and replies with a message
no request matches), so the chained READ asks at most :data:`MAX_CHAINED_READ` bytes; a
chained upload is sent only when the whole request fits the server's MaxBufferSize
(2.2.3.4). Larger uploads take one round trip per request (the :class:`smb.engine.Engine`
defaults); larger downloads go on with the pipelined path (:mod:`smb.wholefile`).

Responses: the header's status is the last block's, the blocks before it succeeded
(3.2.5.1.3). A failed NT_CREATE_ANDX is raised with its status (nothing is open); when a
later request fails, the server stops the chain there, so the file is closed on its own
(:meth:`smb.engine.Engine.close_after_failure`) before the failure is raised. Blocks that
do not answer the requests sent, in order, are a ProtocolError. A server that answers only
part of a chain with success (it does not process chains), or refuses the chained message
as such, gets the rest of the operation as separate requests, and no more chains on that
connection.
"""

from __future__ import annotations

from smb import engine as E
from smb.errors import ProtocolError
from smb.ntstatus import STATUS_END_OF_FILE, STATUS_INVALID_SMB, STATUS_SMB_BAD_COMMAND
from smb.records import smb1_failure
from smb.smb1 import header as H
from smb.smb1 import messages as M
from smb.smb1.connection import command_names
from smb.smb1.mixin import EngineMixin

#: the FID of the requests that follow NT_CREATE_ANDX in a chain
CHAINED_FID = 0xFFFF
#: the largest chained READ: its response, with the header and the NT_CREATE_ANDX and CLOSE
#: blocks (the extended 50-word NT_CREATE_ANDX response included), fits 0xFFFF bytes
MAX_CHAINED_READ = 0xFFFF - 256
#: statuses refusing the chained message itself (it is then not sent again)
_CHAIN_REFUSED = frozenset((STATUS_INVALID_SMB, STATUS_SMB_BAD_COMMAND))


def open_result(r: M.CreateResult) -> E.OpenResult:
    return E.OpenResult(file_id=r.fid, create_action=r.create_action, creation_time=r.creation_time,
                        last_access_time=r.last_access_time, last_write_time=r.last_write_time,
                        change_time=r.change_time, allocation_size=r.allocation_size,
                        end_of_file=r.end_of_file, file_attributes=r.file_attributes,
                        is_directory=r.directory)


class AndXChains(EngineMixin):
    """NT_CREATE_ANDX + [READ_ANDX | WRITE_ANDX] + CLOSE as one AndX chain each."""

    compounds = True
    #: False once the server showed it does not process chains (per connection)
    chaining = True

    def open_close(self, tree: E.Tree, path: str, *, timeout: E.Timeout, **create_args) -> E.OpenResult:
        return self._open_chain(tree, path, create_args, None, timeout)[0]

    def open_read_close(self, tree: E.Tree, path: str, offset: int, length: int, *,
                        timeout: E.Timeout, **create_args):
        length = max(0, min(length, self.max_read_size, MAX_CHAINED_READ))

        def parse(resp, block):
            data = M.parse_read_andx(resp, block)
            if len(data) > length:
                raise ProtocolError("READ_ANDX returned %d bytes for a %d-byte request" % (len(data), length))
            return bytes(data)
        step = (M.read_andx(CHAINED_FID, offset, length), parse,
                lambda fid: self.read(tree, fid, offset, length, timeout))
        return self._open_chain(tree, path, create_args, step, timeout)

    def open_write_close(self, tree: E.Tree, path: str, offset: int, data, *,
                         timeout: E.Timeout, **create_args):
        data = memoryview(data).cast("B")[:self.max_write_size]
        if not len(data):
            return self.open_close(tree, path, timeout=timeout, **create_args), 0

        def parse(resp, block):
            count = M.parse_write_andx(resp, block)
            if count > len(data):
                raise ProtocolError("WRITE_ANDX response claims %d bytes of %d" % (count, len(data)))
            return count
        step = (M.write_andx(CHAINED_FID, offset, data), parse,
                lambda fid: self.write(tree, fid, offset, data, timeout))
        return self._open_chain(tree, path, create_args, step, timeout)

    # --- internals ------------------------------------------------------------------------
    def _open_chain(self, tree: E.Tree, path: str, create_args, step, timeout: E.Timeout):
        """``(OpenResult, step's result)`` of NT_CREATE_ANDX [+ step's request] + CLOSE.

        ``step``: None or ``(request, parse(response, block), redo(fid))``, ``redo`` doing
        the operation as a request of its own (when the server did not chain it)."""
        chain = M.Chain([M.nt_create(M.tree_path(tree, path), unicode=self.unicode, **create_args)])
        if step is not None:
            chain.append(step[0])
        chain.append(M.close(CHAINED_FID))
        if not self.chaining or M.message_size(chain) > self.conn.max_request:
            return self._unchained(tree, path, create_args, step, timeout)
        resp = self._response(self.conn.send(chain, tree.tree_id, deadline=timeout.deadline(),
                                             dfs=bool(tree.dfs_prefix)), timeout)
        sent = [req[0] for req in chain]
        got = [block[0] for block in resp.blocks]
        if got != sent[:len(got)]:
            raise ProtocolError("the AndX response chain %s does not answer the requests %s"
                                % (command_names(got), command_names(sent)))
        if len(got) == 1 and resp.status:
            if resp.status in _CHAIN_REFUSED:
                self.chaining = False
                return self._unchained(tree, path, create_args, step, timeout)
            raise self._failed(resp, 0, path)
        opened = open_result(M.parse_nt_create(resp, 0))
        done = len(got) - (1 if resp.status else 0)  # blocks that succeeded
        if done < len(sent) and not resp.status:
            self.chaining = False  # answered in part: the server does not chain
            return self._finish(tree, opened, step if done == 1 else None, timeout,
                                step[1](resp, 1) if step is not None and done == 2 else None)
        if resp.status == STATUS_END_OF_FILE and step is not None and len(got) == 2:
            return self._finish(tree, opened, None, timeout, b"")  # a READ at the end of the file
        if resp.status:
            self.close_after_failure(tree, opened.file_id, timeout)
            raise self._failed(resp, len(got) - 1, path)
        return opened, (step[1](resp, 1) if step is not None else None)

    def _finish(self, tree, opened, step, timeout, result):
        """The rest of a chain the server stopped short of, as requests of their own."""
        action = step[2] if step is not None else (lambda _fid: result)
        return opened, self._do_close(tree, opened.file_id, timeout, action)

    def _unchained(self, tree, path, create_args, step, timeout):
        return self._open_do_close(tree, path, timeout, create_args,
                                   step[2] if step is not None else (lambda _fid: None))

    @staticmethod
    def _failed(resp: H.Response, block: int, path: str):
        return smb1_failure("SMB1 %s failed: %s" % (command_names([resp.blocks[block][0]]), path),
                            resp.raw, resp.status)
