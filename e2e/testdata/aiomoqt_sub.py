#!/usr/bin/env python3
"""Standalone MoQT (draft-14) subscriber built on aiomoqt 0.5.3 (+ qh3 1.9.x).

Connects to a MoQT publisher/relay, subscribes to the tracks of one namespace
tuple (default: catalog, video, audio), counts objects and groups per track
for N seconds and exits 0 if every track got at least one object, else 1.

  aiomoqt_sub.py moqt://127.0.0.1:4443 live cam1            # raw QUIC, ALPN moq-00
  aiomoqt_sub.py https://127.0.0.1:4443/moq live cam1       # WebTransport
  aiomoqt_sub.py https://127.0.0.1:4443/moq live/cam1 -d 5 --early

Exit codes: 0 every track got >=1 object; 1 some track got none (or a
SUBSCRIBE failed / the session broke); 2 usage error; 3 could not connect or
set up the session.

TLS certificate verification is always off (self-signed test servers).

aiomoqt 0.5.3 needs qh3 < 2 (it imports qh3.quic.packet_builder, removed in
qh3 2.0): pip install aiomoqt==0.5.3 'qh3==1.9.4'.

The session class below works around aiomoqt 0.5.3 limitations (see the
research notes):
  * raw QUIC: aiomoqt always strips a 2-varint WebTransport stream header from
    incoming unidirectional streams and a quarter-stream-id varint from
    datagrams; over raw QUIC there is none, so a fake one is prepended;
  * control messages split across STREAM frames are reassembled before
    aiomoqt parses them (it assumes one frame holds whole messages);
  * a large object split over several STREAM frames: aiomoqt over-counts
    the bytes still needed by the object's offset in the first frame and so
    never delivers the last object of a stream (the catalog, typically);
  * objects are attributed to tracks via the subgroup header's track alias
    (aiomoqt's on_object_received callback does not say which track);
  * a data stream's reader task is ended at FIN instead of idling 5 s;
  * raw QUIC CLIENT_SETUP carries PATH only when the URL has a path
    (aiomoqt would send the literal "/None").
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys
import time
from collections import defaultdict
from urllib.parse import urlparse

try:
    import aiomoqt  # noqa: F401  (fails on qh3 >= 2: no qh3.quic.packet_builder)
except ModuleNotFoundError as e:
    print(f"error: cannot import aiomoqt ({e}); use aiomoqt==0.5.3 with qh3==1.9.4",
          file=sys.stderr)
    sys.exit(3)

from qh3.asyncio.client import connect
from qh3.quic.configuration import QuicConfiguration
from qh3.quic.events import StreamDataReceived, DatagramFrameReceived
from qh3.quic.connection import stream_is_unidirectional
from qh3.h3.connection import H3_ALPN

from aiomoqt.client import MOQTClient
from aiomoqt.protocol import MOQTSession
from aiomoqt.types import (MOQT_ALPN, MOQT_VERSIONS, FilterType, GroupOrder,
                           ObjectStatus, SetupParamType, MOQTException)
from aiomoqt.messages import (SubscribeOk, SubscribeError, ObjectHeader,
                              ObjectDatagram, SubgroupHeader, MOQTUnderflow)
from aiomoqt.utils.logger import set_log_level

USER_AGENT = b"aiomoqt_sub/0.1 (aiomoqt 0.5.3)"

FILTERS = {
    "latest": FilterType.LATEST_OBJECT,        # 0x2
    "next-group": FilterType.NEXT_GROUP_START,  # 0x1
    "absolute": FilterType.ABSOLUTE_START,     # 0x3 (start 0/0)
}


def _varint_len(first_byte: int) -> int:
    return 1 << (first_byte >> 6)


def _complete_control_prefix(buf: bytearray) -> int:
    """Length of the longest prefix of buf made of whole control messages
    (draft-14: type varint, 16-bit length, payload)."""
    pos = 0
    n = len(buf)
    while pos < n:
        tl = _varint_len(buf[pos])
        if pos + tl + 2 > n:
            break
        mlen = int.from_bytes(buf[pos + tl:pos + tl + 2], "big")
        end = pos + tl + 2 + mlen
        if end > n:
            break
        pos = end
    return pos


class Stats:
    def __init__(self):
        self.objects = defaultdict(int)       # track alias -> objects
        self.groups = defaultdict(set)        # track alias -> group ids
        self.bytes = defaultdict(int)
        self.first_payload = {}               # track alias -> payload bytes
        self.first_at = {}                    # track alias -> monotonic seconds
        self.last_id = {}                     # track alias -> (group, object)
        self.ids = defaultdict(set)           # (alias, group) -> object ids
        self.datagrams = defaultdict(int)     # track alias -> objects that came as datagrams
        self.event = asyncio.Event()          # set on every new object

    def add(self, alias, group_id, object_id, payload):
        self.objects[alias] += 1
        self.groups[alias].add(group_id)
        self.bytes[alias] += len(payload)
        self.first_payload.setdefault(alias, payload)
        self.first_at.setdefault(alias, time.monotonic())
        self.last_id[alias] = (group_id, object_id)
        self.ids[(alias, group_id)].add(object_id)
        self.event.set()

    def gaps(self, alias):
        """Object IDs missing inside the received range of each group
        (after the group's first received object, before its last)."""
        missing = 0
        for (al, _g), ids in self.ids.items():
            if al == alias:
                missing += (max(ids) - min(ids) + 1) - len(ids)
        return missing


class SubSession(MOQTSession):
    """aiomoqt MOQTSession with the fixes listed in the module docstring."""

    def __init__(self, *args, stats: Stats, raw_quic: bool, path, **kwargs):
        super().__init__(*args, **kwargs)
        self.stats = stats
        self.raw_quic = raw_quic
        self.setup_path = path
        self._ctrl_buf = bytearray()

    # ---- incoming QUIC events ------------------------------------------
    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived) and self._wt_session_setup.done():
            sid = event.stream_id
            if sid == self._control_stream_id and sid != self._session_id:
                if event.end_stream and not event.data and not self._ctrl_buf:
                    return super().quic_event_received(event)  # peer closed control stream
                self._ctrl_buf += event.data
                n = _complete_control_prefix(self._ctrl_buf)
                if n == 0:
                    return
                data = bytes(self._ctrl_buf[:n])
                del self._ctrl_buf[:n]
                return super().quic_event_received(
                    StreamDataReceived(data=data, end_stream=False, stream_id=sid))
            if stream_is_unidirectional(sid):
                new = sid not in self._data_streams
                if self.raw_quic and new:
                    # aiomoqt strips 2 varints (WT stream type + session id)
                    event = StreamDataReceived(data=b"\x01\x01" + event.data,
                                               end_stream=event.end_stream, stream_id=sid)
                super().quic_event_received(event)
                if event.end_stream and sid in self._stream_tasks:
                    self._stream_queues[sid].put_nowait(None)  # end reader task at FIN
                return
        elif isinstance(event, DatagramFrameReceived) and self.raw_quic:
            event = DatagramFrameReceived(data=b"\x00" + event.data)  # fake quarter stream id
        return super().quic_event_received(event)

    # ---- object accounting ----------------------------------------------
    def _moqt_handle_data_stream(self, stream_id, buf, length):
        start = buf.tell()
        try:
            msg = super()._moqt_handle_data_stream(stream_id, buf, length)
        except MOQTUnderflow as e:
            # aiomoqt raises needed as an absolute buffer offset (pos + payload
            # length) but _process_data_stream treats it as a byte count from
            # the object's start: it would then wait for `start` extra bytes
            # and lose the last object of every stream (e.g. the catalog).
            raise MOQTUnderflow(e.pos, e.needed - start)
        if isinstance(msg, ObjectHeader) and msg.status == ObjectStatus.NORMAL:
            hdr = self._data_streams.get(stream_id)
            if isinstance(hdr, SubgroupHeader):
                self.stats.add(hdr.track_alias, hdr.group_id, msg.object_id, msg.payload)
        return msg

    def _moqt_handle_data_dgram(self, buf):
        msg = super()._moqt_handle_data_dgram(buf)
        if isinstance(msg, ObjectDatagram):
            self.stats.datagrams[msg.track_alias] += 1
            self.stats.add(msg.track_alias, msg.group_id, msg.object_id, msg.payload)
        return msg

    # ---- setup --------------------------------------------------------------
    async def setup(self, timeout: float):
        if not self.raw_quic:
            return await self.client_session_init(timeout=timeout)
        # raw QUIC: same as aiomoqt's client_session_init, minus PATH="/None"
        self._wt_session_setup.set_result(True)
        self._control_stream_id = self._quic.get_next_available_stream_id(is_unidirectional=False)
        params = {SetupParamType.AUTHORITY: f"{self._session.host}:{self._session.port}",
                  SetupParamType.MAX_REQUEST_ID: 10000,
                  SetupParamType.IMPLEMENTATION: USER_AGENT}
        if self.setup_path:
            params[SetupParamType.PATH] = self.setup_path
        self.client_setup(versions=MOQT_VERSIONS, parameters=params)
        try:
            async with asyncio.timeout(timeout):
                ok = await self._moqt_session_setup
        except TimeoutError:
            raise MOQTException(0x11, "timeout waiting for SERVER_SETUP")
        if not ok or self._close_err is not None:
            raise MOQTException(*(self._close_err or (0x1, "session setup failed")))


def parse_args(argv):
    p = argparse.ArgumentParser(description="aiomoqt draft-14 test subscriber")
    p.add_argument("url", help="moqt://host:port[/path] (raw QUIC) or https://host:port/path (WebTransport)")
    p.add_argument("namespace", nargs="+",
                   help="namespace tuple fields, e.g. 'live cam1'; a single field with '/' is split unless --verbatim")
    p.add_argument("-t", "--tracks", default="catalog,video,audio", help="comma-separated track names")
    p.add_argument("-d", "--duration", type=float, default=10.0, help="seconds to receive after SUBSCRIBE_OK (default 10)")
    p.add_argument("--early", action="store_true", help="exit as soon as every track has an object")
    p.add_argument("--filter", choices=sorted(FILTERS), default="latest", help="subscription filter (default latest = 0x2)")
    p.add_argument("--setup-timeout", type=float, default=5.0, help="QUIC+SETUP timeout seconds (default 5)")
    p.add_argument("--catalog-bytes", type=int, default=160, help="how many catalog bytes to print")
    p.add_argument("--verbatim", action="store_true", help="do not split a single namespace field on '/'")
    p.add_argument("--debug", action="store_true", help="aiomoqt debug logging to stderr")
    p.add_argument("--keylog", default=None, help="TLS key log file")
    a = p.parse_args(argv)
    ns = a.namespace
    if len(ns) == 1 and "/" in ns[0] and not a.verbatim:
        ns = ns[0].split("/")
    a.ns_tuple = tuple(x.encode() for x in ns)
    a.track_list = [t for t in a.tracks.split(",") if t]
    u = urlparse(a.url)
    if u.scheme == "moqt":
        a.raw_quic, a.port = True, u.port or 4443
        a.path = u.path if u.path not in ("", "/") else None
    elif u.scheme == "https":
        a.raw_quic, a.port = False, u.port or 443
        a.path = u.path.strip("/") or "moq"
    else:
        p.error("URL scheme must be moqt:// or https://")
    a.host = u.hostname or "localhost"
    return a


async def run(a) -> int:
    stats = Stats()
    # MOQTClient is only the per-connection config holder aiomoqt sessions read
    peer = MOQTClient(a.host, a.port, endpoint=None if a.raw_quic else a.path,
                      use_quic=a.raw_quic, verify_tls=False)
    cfg = QuicConfiguration(
        alpn_protocols=[MOQT_ALPN] if a.raw_quic else H3_ALPN,
        is_client=True, verify_mode=ssl.CERT_NONE, server_name=a.host,
        max_data=2**24, max_stream_data=2**24, max_datagram_frame_size=64 * 1024,
        idle_timeout=30.0)
    if a.keylog:
        cfg.secrets_log_file = open(a.keylog, "a")
    transport = "raw QUIC (ALPN moq-00)" if a.raw_quic else f"WebTransport (h3, /{a.path})"
    ns_str = "/".join(x.decode() for x in a.ns_tuple)
    print(f"# connecting to {a.host}:{a.port} via {transport}, namespace {list(x.decode() for x in a.ns_tuple)}")

    def factory(*args, **kwargs):
        return SubSession(*args, **kwargs, session=peer, stats=stats,
                          raw_quic=a.raw_quic, path=a.path if a.raw_quic else None)

    aliases = {}   # track name -> alias
    failures = {}  # track name -> reason
    rc = 1
    t_sub = None
    try:
        async with asyncio.timeout(a.setup_timeout + 12 + a.duration + 5):
            try:
                async with asyncio.timeout(a.setup_timeout):
                    cm = connect(a.host, a.port, configuration=cfg, create_protocol=factory)
                    session = await cm.__aenter__()
            except (TimeoutError, ConnectionError, OSError) as e:
                print(f"error: QUIC connection failed: {type(e).__name__} {e}", file=sys.stderr)
                return 3
            try:
                try:
                    await session.setup(a.setup_timeout)
                except (MOQTException, TimeoutError) as e:
                    print(f"error: MoQT session setup failed: {e}", file=sys.stderr)
                    return 3
                print(f"# SETUP ok, version 0x{session._moqt_version:x}")
                filt = FILTERS[a.filter]
                waits = [session.subscribe(a.ns_tuple, t, filter_type=filt,
                                           group_order=GroupOrder.ASCENDING,
                                           start_group=0, start_object=0,
                                           wait_response=True)
                         for t in a.track_list]
                # aiomoqt waits at most 10 s per SUBSCRIBE and then returns a
                # synthetic SubscribeError
                resps = await asyncio.gather(*waits)
                for t, r in zip(a.track_list, resps):
                    if isinstance(r, SubscribeOk):
                        aliases[t] = r.track_alias
                        le = (f" largest={r.largest_group_id}.{r.largest_object_id}"
                              if r.largest_group_id is not None else "")
                        print(f"# SUBSCRIBE_OK {t}: alias={r.track_alias}{le}")
                    elif isinstance(r, SubscribeError):
                        failures[t] = f"SUBSCRIBE_ERROR code=0x{r.error_code:x} reason={r.reason!r}"
                    else:
                        failures[t] = f"unexpected response {r}"
                for t, why in failures.items():
                    print(f"# {t}: {why}")
                t_sub = time.monotonic()
                deadline = t_sub + (a.duration if aliases else 0)
                closed = asyncio.ensure_future(session.async_closed())
                while time.monotonic() < deadline and not closed.done():
                    if a.early and aliases and all(stats.objects.get(al, 0) > 0 for al in aliases.values()):
                        break
                    stats.event.clear()
                    try:
                        async with asyncio.timeout(min(0.5, max(0.01, deadline - time.monotonic()))):
                            await stats.event.wait()
                    except TimeoutError:
                        pass
                if closed.done():
                    print(f"# session closed by peer/error: {session._close_err}")
                else:
                    closed.cancel()
            finally:
                try:
                    session.close()
                except Exception:
                    pass
                try:
                    async with asyncio.timeout(2):
                        await cm.__aexit__(None, None, None)
                except BaseException:
                    pass
    except TimeoutError:
        print("error: overall timeout", file=sys.stderr)

    elapsed = time.monotonic() - t_sub if t_sub else 0.0
    print(f"# results after {elapsed:.1f}s (namespace {ns_str})")
    all_ok = bool(a.track_list)
    for t in a.track_list:
        al = aliases.get(t)
        n = stats.objects.get(al, 0) if al is not None else 0
        g = len(stats.groups.get(al, ())) if al is not None else 0
        b = stats.bytes.get(al, 0) if al is not None else 0
        first = (f" first_after={max(0.0, stats.first_at[al] - t_sub):.2f}s last={stats.last_id[al][0]}.{stats.last_id[al][1]}"
                 if al in stats.first_at and t_sub else "")
        if al is not None and n:
            first += f" gaps={stats.gaps(al)}"
            if stats.datagrams.get(al):
                first += f" datagrams={stats.datagrams[al]}"
        status = "OK" if n > 0 else "NO OBJECTS"
        if t in failures:
            status = failures[t]
        print(f"track {t}: objects={n} groups={g} bytes={b}{first} [{status}]")
        all_ok = all_ok and n > 0
    cat_alias = aliases.get("catalog")
    if cat_alias is not None and cat_alias in stats.first_payload:
        raw = stats.first_payload[cat_alias]
        print(f"catalog first {min(len(raw), a.catalog_bytes)} of {len(raw)} bytes: "
              f"{raw[:a.catalog_bytes]!r}")
        try:
            doc = json.loads(raw)
            if isinstance(doc, dict):
                print(f"catalog JSON keys: {sorted(doc)}")
        except ValueError:
            print("catalog is not a complete JSON document (delta or truncated?)")
    unknown = set(stats.objects) - set(aliases.values())
    if unknown:
        print(f"# objects on unknown track aliases: { {al: stats.objects[al] for al in unknown} }")
    rc = 0 if all_ok else 1
    print(f"RESULT {'PASS' if rc == 0 else 'FAIL'}")
    return rc


def main(argv=None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    set_log_level(logging.DEBUG if a.debug else logging.CRITICAL)
    try:
        return asyncio.run(run(a))
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main())
