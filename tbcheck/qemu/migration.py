"""Migrations between two QEMU processes on this host: live over loopback TCP, or via a file.

Each migration is bracketed by ``migrate-start`` and ``migrate-done`` marks, and every MIGRATION,
STOP and RESUME event of both sides is in the trace with QEMU's own timestamp, so a validator
can place the phases (implicit stop, transfer, load, resume) that docs/properties.md's migrate has.
"""

from __future__ import annotations

import shlex

from tbcheck.qemu.session import Session
from tbcheck.qemu.vm import RecordError, Vm


async def set_caps(vm: Vm, **caps: bool) -> None:
    """Migration capabilities by name (underscores for dashes); ``events`` is always wanted."""
    caps = {"events": True, **caps}
    wanted = [{"capability": k.replace("_", "-"), "state": v} for k, v in caps.items()]
    await vm.command("migrate-set-capabilities", {"capabilities": wanted})


async def listen(session: Session, name: str, uri: str, *, paused: bool = False
                 ) -> tuple[Vm, str]:
    """Start a destination with ``-incoming defer`` (and ``-S`` if ``paused``), then listen on
    ``uri``.

    Deferred so that the events capability is on before anything arrives, and so that a TCP
    port is chosen by QEMU itself (port 0), which avoids racing for a free port.
    """
    dst = await session.start_vm(name, incoming="defer", paused=paused)
    await set_caps(dst)
    _, win = await dst.command("migrate-incoming", {"uri": uri})
    if uri.startswith("tcp:"):
        info, _ = await dst.command("query-migrate")
        try:
            port = info["socket-address"][0]["port"]
        except (KeyError, IndexError, TypeError):
            raise RecordError(f"{name}: query-migrate gave no listening port: {info}") from None
        uri = f"tcp:127.0.0.1:{port}"
    else:
        session.mark("migrate-load-start", dst, win, to=name, uri=uri)
    return dst, uri


async def _finish_on(dst: Vm, source_state: str, since: int, paused: bool = False) -> str:
    """Wait until the destination has loaded (and, for a running source, resumed, unless it was
    started paused: then QEMU leaves it paused until ``cont``)."""
    status = await dst.wait_migration({"completed"}, since=since)
    if status != "completed":
        raise RecordError(f"{dst.name}: incoming migration {status}")
    if source_state == "running" and not paused:
        await dst.wait_event(lambda e: e["event"] == "RESUME", since=since)
    return await dst.runstate()


async def _start(session: Session, src: Vm, dst_name: str, uri: str, transport: str,
                 held: bool) -> tuple[str, int, dict[str, int]]:
    """Send ``migrate`` and mark its start. Returns the source's run state before it, the
    index of the source's next event, and the command's time window."""
    await set_caps(src, pause_before_switchover=held)
    source_state = await src.runstate()
    since = len(src.events)
    _, start = await src.command("migrate", {"uri": uri})
    session.mark(
        "migrate-start", src, start, to=dst_name, uri=uri, transport=transport,
        source_state=source_state, held=held, **{"from": src.name},
    )
    return source_state, since, start


async def _until(src: Vm, status: str, since: int, what: str) -> None:
    """Wait for the source's migration to reach ``status``; any other end is an error."""
    got = await src.wait_migration({status}, since=since)
    if got != status:
        raise RecordError(f"{src.name}: {what} {got}")


async def live(session: Session, src: Vm, dst_name: str, *, hold_s: float | None = None,
               dest_paused: bool = False) -> Vm:
    """Live migration to a new process over loopback; with ``hold_s`` the switchover is held
    that long at pre-switchover (source stopped), which makes the downtime long and visible;
    with ``dest_paused`` the destination is started with ``-S``."""
    dst, uri = await listen(session, dst_name, "tcp:127.0.0.1:0", paused=dest_paused)
    since_dst = len(dst.events)
    source_state, since_src, start = await _start(session, src, dst_name, uri, "tcp",
                                                  held=hold_s is not None)
    if hold_s is not None:
        await hold(session, src, since_src, start, hold_s)
    await _until(src, "completed", since_src, "migration")
    dest_state = await _finish_on(dst, source_state, since_dst, dest_paused)
    info, _ = await src.command("query-migrate")
    session.mark(
        "migrate-done", dst, session.since(start), to=dst_name, transport="tcp",
        source_state=source_state, dest_state=dest_state, dest_started_paused=dest_paused,
        downtime_ms=info.get("downtime"),
        total_time_ms=info.get("total-time"), **{"from": src.name},
    )
    return dst


async def hold(session: Session, src: Vm, since: int, start: dict[str, int], hold_s: float) -> None:
    """Wait for pre-switchover, read the held source, keep it held ``hold_s``, then continue."""
    await _held(session, src, since, start)
    await session.wait(hold_s, src, "switchover held")
    _, win = await src.command("migrate-continue", {"state": "pre-switchover"})
    session.mark("migrate-continue", src, win)


async def _held(session: Session, src: Vm, since: int, start: dict[str, int]) -> None:
    """The migration reaches pre-switchover (the source stopped): mark it, read the source."""
    await _until(src, "pre-switchover", since, "migration before switchover:")
    session.mark("migrate-held", src, session.since(start))
    await session.reads(src, "source-held")


async def via_file(session: Session, src: Vm, dst_name: str, gap_s: float) -> Vm:
    """Save to a file (``exec:cat > F``), quit the source, wait ``gap_s``, load in a new
    process (``exec:cat F``): the model's migrate with a long transfer phase."""
    stream = session.workdir / f"{src.name}-to-{dst_name}.mig"
    out_uri = f"exec:cat > {shlex.quote(str(stream))}"
    source_state, since_src, start = await _start(session, src, dst_name, out_uri, "file",
                                                  held=False)
    await _until(src, "completed", since_src, "migration to file")
    session.mark(
        "migrate-saved", src, session.since(start), file_bytes=stream.stat().st_size,
        **{"from": src.name},
    )
    await session.reads(src, "source-postmigrate")
    await session.quit(src)
    await session.wait(gap_s, None, "stream on disk, no VM running")
    dst, _ = await listen(session, dst_name, f"exec:cat {shlex.quote(str(stream))}")
    # since=0: the destination's listener has heard every event since it started
    dest_state = await _finish_on(dst, source_state, 0)
    session.mark(
        "migrate-done", dst, session.since(start), to=dst_name, transport="file",
        source_state=source_state, dest_state=dest_state, **{"from": src.name},
    )
    return dst


async def cancelled(session: Session, src: Vm, dst_name: str, hold_s: float = 0.0) -> Vm:
    """Start a live migration, hold it at pre-switchover (source stopped) ``hold_s``, then
    cancel it: the model's migrate-fail. Returns the source, which should be running again."""
    dst, uri = await listen(session, dst_name, "tcp:127.0.0.1:0")
    source_state, since, start = await _start(session, src, dst_name, uri, "tcp", held=True)
    await _held(session, src, since, start)
    if hold_s > 0:
        await session.wait(hold_s, src, "switchover held")
    _, win = await src.command("migrate_cancel")
    session.mark("migrate-cancel", src, win)
    status = await src.wait_migration({"cancelled"}, since=since)
    if source_state == "running":
        await src.wait_event(lambda e: e["event"] == "RESUME", since=since)
    after = await src.runstate()
    session.mark(
        "migrate-failed", src, session.since(start), to=dst_name, status=status,
        source_state=after, **{"from": src.name},
    )
    await session.quit(dst)
    return src
