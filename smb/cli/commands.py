"""The command line's commands: one function per command, each taking a :class:`Context`.

They use the public :class:`smb.SMBConnection.SMBConnection` API only; transfers go through
:mod:`smb.cli.transfer`, output through :mod:`smb.cli.listing`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import List, Optional, Tuple

from smb.base import OperationFailure, SharedFile
from smb.cli import listing, transfer
from smb.cli.exitcodes import CLIError, ExitCode, is_status
from smb.cli.session import Connections
from smb.cli.url import SMBURL, is_url, parse_url


class Context:
    """What a command works with: its options, the open connections, where output goes."""

    def __init__(self, args, stdin=None, stdout=None, stderr=None):
        self.args = args
        self.stdout = stdout or sys.stdout
        self.stdin = stdin or sys.stdin
        stderr = stderr or sys.stderr
        self.connections = Connections(args, self.stdin)
        self.timeout = args.timeout
        # bars only for a person watching a terminal: quiet when piped or redirected
        self.show_progress = not args.quiet and stderr.isatty()

    def conn(self, url: SMBURL):
        return self.connections.get(url)

    def attributes(self, url: SMBURL) -> SharedFile:
        return self.conn(url).getAttributes(url.share, url.path, timeout=self.timeout)

    def attributes_or_none(self, url: SMBURL) -> Optional[SharedFile]:
        try:
            return self.attributes(url)
        except OperationFailure as e:
            if is_status(e, ExitCode.NOT_FOUND):
                return None
            raise

    def bar(self, total, description, initial=0):
        return transfer.progress_bar(self.show_progress, total, description, initial)

    def print(self, line: str) -> None:
        print(line, file=self.stdout)

    def close(self) -> None:
        self.connections.close()


def remote(text: str, need_share: bool = True) -> SMBURL:
    url = parse_url(text)
    if need_share and not url.share:
        raise CLIError("%s names no share (smb://host/share/...)" % text, ExitCode.USAGE)
    return url


def _split_target(paths: List[str], target_is_url: bool) -> Tuple[List[str], Optional[str]]:
    """Sources and target of get/put/cp: the target is the last argument when it is of the
    target's kind (local for get, a URL for put and cp)."""
    if len(paths) > 1 and is_url(paths[-1]) == target_is_url:
        return paths[:-1], paths[-1]
    return paths, None


# ---------------------------------------------------------------------------- listings
def cmd_shares(ctx: Context) -> None:
    url = remote(ctx.args.url, need_share=False)
    shares = sorted(ctx.conn(url).listShares(timeout=ctx.timeout), key=lambda s: s.name.lower())
    if ctx.args.json:
        ctx.print(listing.dumps([listing.share_record(s) for s in shares]))
    else:
        for line in listing.share_lines(shares):
            ctx.print(line)


def cmd_ls(ctx: Context) -> None:
    url = remote(ctx.args.url)
    conn = ctx.conn(url)
    if url.has_wildcard():
        base = url.parent
        files = transfer.list_folder(conn, base, ctx.timeout, pattern=url.name)
        if not files:  # as a shell's ls: a pattern matching nothing is an error
            raise CLIError("no match for %s" % url.name, ExitCode.NOT_FOUND)
    else:
        info = ctx.attributes(url)
        if info.isDirectory and not ctx.args.directory:
            base, files = url, transfer.list_folder(conn, url, ctx.timeout)
        else:
            info.filename = url.name
            base, files = url.parent, [info]
    files.sort(key=lambda f: (f.filename.lower(), f.filename))
    if ctx.args.json:
        ctx.print(listing.dumps([listing.file_record(f, base.child(f.filename).path) for f in files]))
    else:
        lines = [f.filename for f in files] if ctx.args.one else listing.long_lines(files)
        for line in lines:
            ctx.print(line)


def cmd_watch(ctx: Context) -> None:
    """One line per change (``action<TAB>path``, or a JSON object per line with --json):
    ``added``, ``removed``, ``modified``, ``renamed_old_name``/``renamed_new_name``...;
    ``rescan`` when the server lost track (list the folder again)."""
    import json

    from smb.errors import SMBTimeout

    url = remote(ctx.args.url)
    conn = ctx.conn(url)
    seen = 0
    with conn.watchDirectory(url.share, url.path, recursive=ctx.args.recursive,
                             timeout=ctx.args.duration) as changes:
        try:
            for change in changes:
                path = url.child(change.name.replace("\\", "/")).path if change.name else url.path
                if ctx.args.json:
                    ctx.print(json.dumps({"action": change.action_name, "path": path}, ensure_ascii=False))
                else:
                    ctx.print("%s\t%s" % (change.action_name, path))
                ctx.stdout.flush()
                seen += 1
                if ctx.args.count is not None and seen >= ctx.args.count:
                    return
        except SMBTimeout:
            return  # --for SECONDS passed without a change: done


def cmd_stat(ctx: Context) -> None:
    url = remote(ctx.args.url)
    info = ctx.attributes(url)
    if ctx.args.json:
        ctx.print(listing.dumps(listing.file_record(info, url.path)))
    else:
        for line in listing.stat_lines(info, url.path):
            ctx.print(line)


# ---------------------------------------------------------------------------- downloads
def cmd_cat(ctx: Context) -> None:
    for text in ctx.args.urls:
        _cat(ctx, remote(text))


def cmd_get(ctx: Context) -> None:
    sources, target = _split_target(ctx.args.paths, target_is_url=False)
    if not all(is_url(s) for s in sources):
        raise CLIError("sources must be smb:// URLs (and the target a local path)",
                       ExitCode.USAGE)
    into_dir = target is None or os.path.isdir(target)
    if len(sources) > 1 and not into_dir:
        raise CLIError("no such folder: %s" % target, ExitCode.NOT_FOUND)
    for text in sources:
        url = remote(text)
        local = os.path.join(target or ".", url.name) if into_dir or target is None else target
        info = ctx.attributes(url)
        if info.isDirectory:
            _need_recursive(ctx, url)
            _get_tree(ctx, url, local)
        elif local == "-":
            _cat(ctx, url)
        else:
            offset = _resume_offset(ctx, local, info.file_size, url)
            bar = ctx.bar(info.file_size, url.name, offset)
            try:
                _get_file(ctx, url, local, offset, bar)
            finally:
                bar.close()


def _cat(ctx: Context, url: SMBURL) -> None:
    transfer.download(ctx.conn(url), url, ctx.stdout.buffer.write, 0, ctx.timeout,
                      transfer.NO_BAR)
    ctx.stdout.buffer.flush()


def _need_recursive(ctx: Context, what) -> None:
    if not ctx.args.recursive:
        raise CLIError("%s is a folder (use -r)" % what, ExitCode.ERROR)


def _resume_offset(ctx: Context, local: str, size: int, url: SMBURL) -> int:
    if not (ctx.args.resume and os.path.exists(local)):
        return 0
    have = os.path.getsize(local)
    transfer.check_resume(have, size, str(url))
    return have


def _get_file(ctx: Context, url: SMBURL, local: str, offset: int, bar) -> None:
    with open(local, "r+b" if offset else "wb") as f:
        f.seek(offset)
        transfer.download(ctx.conn(url), url, f.write, offset, ctx.timeout, bar)


def _get_tree(ctx: Context, url: SMBURL, local: str) -> None:
    entries = list(transfer.walk_remote(ctx.conn(url), url, ctx.timeout))
    os.makedirs(local, exist_ok=True)
    bar = ctx.bar(sum(e.info.file_size for e in entries if not e.info.isDirectory), url.name)
    try:
        for e in entries:
            path = os.path.join(local, *e.relative.split("/"))
            if e.info.isDirectory:
                os.makedirs(path, exist_ok=True)
                continue
            offset = _resume_offset(ctx, path, e.info.file_size, url.child(e.relative))
            bar.update(offset)
            _get_file(ctx, url.child(e.relative), path, offset, bar)
    finally:
        bar.close()


# ---------------------------------------------------------------------------- uploads
def cmd_put(ctx: Context) -> None:
    sources, target = _split_target(ctx.args.paths, target_is_url=True)
    if target is None or any(is_url(s) for s in sources):
        raise CLIError("give local sources and an smb:// URL as the target", ExitCode.USAGE)
    dest, into_dir = _remote_target(ctx, target, len(sources))
    for src in sources:
        name = os.path.basename(os.path.normpath(src))
        to = dest.child(name) if into_dir and src != "-" else dest
        if src == "-":
            transfer.upload(ctx.conn(to), ctx.stdin.buffer, to, 0, True, ctx.timeout,
                            transfer.NO_BAR)
        elif os.path.isdir(src):
            _need_recursive(ctx, src)
            _put_tree(ctx, src, to)
        else:
            size = os.path.getsize(src)
            offset = _remote_resume_offset(ctx, to, size, src)
            bar = ctx.bar(size, name, offset)
            try:
                _put_file(ctx, src, to, offset, bar)
            finally:
                bar.close()


def _remote_target(ctx: Context, text: str, n_sources: int) -> Tuple[SMBURL, bool]:
    """The target URL of put/cp, and whether it is an existing folder to put things in
    (which it must be for several sources, or when written with a trailing '/')."""
    dest = remote(text)
    into_dir = _is_folder(ctx, dest)
    if not into_dir and (n_sources > 1 or text.endswith("/")):
        raise CLIError("no such folder: %s" % dest, ExitCode.NOT_FOUND)
    return dest, into_dir


def _is_folder(ctx: Context, url: SMBURL) -> bool:
    info = ctx.attributes_or_none(url)
    return info is not None and info.isDirectory


def _remote_resume_offset(ctx: Context, url: SMBURL, size: int, src: str) -> int:
    if not ctx.args.resume:
        return 0
    info = ctx.attributes_or_none(url)
    have = info.file_size if info is not None else 0
    transfer.check_resume(have, size, src)
    return have


def _put_file(ctx: Context, src: str, url: SMBURL, offset: int, bar) -> None:
    with open(src, "rb") as f:
        f.seek(offset)
        if offset and offset == os.fstat(f.fileno()).st_size:
            return  # already complete
        transfer.upload(ctx.conn(url), f, url, offset, offset == 0, ctx.timeout, bar)


def _local_tree(root: str):
    """(relative '/'-joined path, is_folder, size) below ``root``, folders before contents."""
    out = []
    for here, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(here, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        out += [(prefix + d, True, 0) for d in dirs]
        out += [(prefix + f, False, os.path.getsize(os.path.join(here, f))) for f in sorted(files)]
    return out


def _put_tree(ctx: Context, src: str, url: SMBURL) -> None:
    entries = _local_tree(src)
    ensure_folder(ctx, url)
    bar = ctx.bar(sum(size for _, _, size in entries), url.name)
    try:
        for rel, is_folder, size in entries:
            to = url.child(rel)
            if is_folder:
                ensure_folder(ctx, to)
                continue
            local = os.path.join(src, *rel.split("/"))
            offset = _remote_resume_offset(ctx, to, size, local)
            bar.update(offset)
            _put_file(ctx, local, to, offset, bar)
    finally:
        bar.close()


def ensure_folder(ctx: Context, url: SMBURL) -> None:
    """Create the folder ``url`` unless it exists already (as a folder)."""
    try:
        ctx.conn(url).createDirectory(url.share, url.path, timeout=ctx.timeout)
    except OperationFailure as e:
        if not is_status(e, ExitCode.EXISTS) or not _is_folder(ctx, url):
            raise


# ---------------------------------------------------------------------------- changes
def cmd_rm(ctx: Context) -> None:
    for text in ctx.args.urls:
        url = remote(text)
        try:
            _remove(ctx, url)
        except OperationFailure as e:
            if not (ctx.args.force and is_status(e, ExitCode.NOT_FOUND)):
                raise


def _remove(ctx: Context, url: SMBURL) -> None:
    conn = ctx.conn(url)
    if not url.path:
        raise CLIError("refusing to remove the whole share %s" % url, ExitCode.USAGE)
    if not url.has_wildcard() and ctx.attributes(url).isDirectory:
        _need_recursive(ctx, url)
    conn.deleteFiles(url.share, url.path, delete_matching_folders=ctx.args.recursive,
                     timeout=ctx.timeout)


def cmd_mkdir(ctx: Context) -> None:
    for text in ctx.args.urls:
        url = remote(text)
        if not ctx.args.parents:
            ctx.conn(url).createDirectory(url.share, url.path, timeout=ctx.timeout)
            continue
        parts = url.path.split("/")
        for i in range(1, len(parts) + 1):
            ensure_folder(ctx, replace(url, path="/".join(parts[:i])))


def cmd_rmdir(ctx: Context) -> None:
    for text in ctx.args.urls:
        url = remote(text)
        ctx.conn(url).deleteDirectory(url.share, url.path, timeout=ctx.timeout)


def cmd_mv(ctx: Context) -> None:
    src, dst = remote(ctx.args.source), remote(ctx.args.target)
    if src.server != dst.server or src.share.lower() != dst.share.lower():
        raise CLIError("mv works within one share; use cp and rm across shares", ExitCode.USAGE)
    if src.path.lower() != dst.path.lower() and _is_folder(ctx, dst):
        dst = dst.child(src.name)  # (not when only the case of the name changes)
    ctx.conn(src).rename(src.share, src.path, dst.path, timeout=ctx.timeout)


def cmd_cp(ctx: Context) -> None:
    sources, target = _split_target(ctx.args.urls, target_is_url=True)
    if target is None:
        raise CLIError("give one or more sources and a target, all smb:// URLs", ExitCode.USAGE)
    dest, into_dir = _remote_target(ctx, target, len(sources))
    for text in sources:
        src = remote(text)
        to = dest.child(src.name) if into_dir else dest
        if _contains(src, to):
            raise CLIError("cannot copy %s onto or into itself" % src, ExitCode.USAGE)
        info = ctx.attributes(src)
        if info.isDirectory:
            _need_recursive(ctx, src)
            _cp_tree(ctx, src, to)
        else:
            bar = ctx.bar(info.file_size, src.name)
            try:
                transfer.copy_remote(ctx.conn(src), src, ctx.conn(to), to, ctx.timeout, bar)
            finally:
                bar.close()


def _contains(outer: SMBURL, inner: SMBURL) -> bool:
    """True when ``inner`` is ``outer`` or lies below it (names compared case-insensitively)."""
    if outer.server != inner.server or outer.share.lower() != inner.share.lower():
        return False
    o, i = outer.path.lower(), inner.path.lower()
    return not o or i == o or i.startswith(o + "/")


def _cp_tree(ctx: Context, src: SMBURL, dst: SMBURL) -> None:
    entries = list(transfer.walk_remote(ctx.conn(src), src, ctx.timeout))
    ensure_folder(ctx, dst)
    bar = ctx.bar(sum(e.info.file_size for e in entries if not e.info.isDirectory), src.name)
    try:
        for e in entries:
            if e.info.isDirectory:
                ensure_folder(ctx, dst.child(e.relative))
            else:
                transfer.copy_remote(ctx.conn(src), src.child(e.relative), ctx.conn(dst),
                                     dst.child(e.relative), ctx.timeout, bar)
    finally:
        bar.close()
