//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browserPage is a minimal MoQT subscriber in the browser: it opens a
// WebTransport session to the gateway with the certificate pinned by its
// SHA-256 (serverCertificateHashes), offers one protocol (moqt-16 for
// draft-16; moq-00 or none for draft-14 negotiated in SETUP), waits for
// the namespace announcement, subscribes to the catalog and the video track
// and posts what it got to /result.
const browserPage = `<!doctype html><meta charset="utf-8"><title>moq</title><script type="module">
const URL_ = %q, HASH = %q, NS = %q.split("/"), PROTO = %q;
const post = (o) => fetch("/result", {method: "POST", body: JSON.stringify(o)});
const hex = (s) => new Uint8Array(s.match(/../g).map((b) => parseInt(b, 16)));
function varint(v) {
  v = BigInt(v);
  if (v < 64n) return [Number(v)];
  if (v < 16384n) return [0x40 | Number(v >> 8n), Number(v & 255n)];
  if (v < 1073741824n) { const b = []; for (let i = 3; i >= 0; i--) b.push(Number((v >> BigInt(8 * i)) & 255n)); b[0] |= 0x80; return b; }
  const b = []; for (let i = 7; i >= 0; i--) b.push(Number((v >> BigInt(8 * i)) & 255n)); b[0] |= 0xc0; return b;
}
const enc = new TextEncoder(), dec = new TextDecoder();
const bytes = (s) => [...varint(enc.encode(s).length), ...enc.encode(s)];
const tuple = (fs) => [...varint(fs.length), ...fs.flatMap(bytes)];
function msg(type, payload) { return new Uint8Array([...varint(type), payload.length >> 8, payload.length & 255, ...payload]); }
class Reader {
  constructor(stream) { this.r = stream.getReader(); this.buf = new Uint8Array(0); }
  async need(n) {
    while (this.buf.length < n) {
      const {value, done} = await this.r.read();
      if (done) throw new Error("stream ended");
      const b = new Uint8Array(this.buf.length + value.length); b.set(this.buf); b.set(value, this.buf.length); this.buf = b;
    }
  }
  async take(n) { await this.need(n); const out = this.buf.slice(0, n); this.buf = this.buf.slice(n); return out; }
  async varint() {
    await this.need(1); const len = 1 << (this.buf[0] >> 6);
    const b = await this.take(len); let v = BigInt(b[0] & 0x3f);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(b[i]);
    return Number(v);
  }
  async message() { const type = await this.varint(); const l = await this.take(2); return {type, payload: await this.take((l[0] << 8) | l[1])}; }
}
try {
  const wt = new WebTransport(URL_, {serverCertificateHashes: [{algorithm: "sha-256", value: hex(HASH)}], protocols: [PROTO]});
  await wt.ready;
  const d16 = wt.protocol === "moqt-16";
  const ctrl = await wt.createBidirectionalStream();
  const w = ctrl.writable.getWriter(), r = new Reader(ctrl.readable);
  const maxReq = [0x01, 0x02, ...varint(100)]; // one parameter: MAX_REQUEST_ID 100
  await w.write(msg(0x20, d16 ? maxReq : [...varint(1), ...varint(0xff00000e), ...maxReq]));
  const setup = await r.message();
  if (setup.type !== 0x21) throw new Error("expected SERVER_SETUP, got " + setup.type);
  // The server announces its broadcasts; accept ours.
  for (;;) {
    const m = await r.message();
    if (m.type !== 0x06) continue;
    const mr = new Reader(new ReadableStream({start(c) { c.enqueue(m.payload); c.close(); }}));
    const id = await mr.varint();
    await w.write(msg(0x07, d16 ? [...varint(id), 0] : varint(id)));
    break;
  }
  const subscribe = (id, track) => msg(0x03, d16
    ? [...varint(id), ...tuple(NS), ...bytes(track), 0]
    : [...varint(id), ...tuple(NS), ...bytes(track), 128, 0, 1, ...varint(2), 0]);
  const uni = wt.incomingUnidirectionalStreams.getReader();
  const firstObject = async () => {
    const {value} = await uni.read();
    const sr = new Reader(value);
    const type = await sr.varint(); await sr.varint(); const group = await sr.varint();
    if ((type & 0x06) === 0x04) await sr.varint(); // explicit subgroup ID
    if (!(d16 && (type & 0x20))) await sr.take(1); // publisher priority
    const id = await sr.varint();
    if (type & 0x01) await sr.take(await sr.varint()); // extensions
    return {group, id, payload: await sr.take(await sr.varint())};
  };
  await w.write(subscribe(0, "catalog"));
  const catalog = JSON.parse(dec.decode((await firstObject()).payload));
  await w.write(subscribe(2, "video"));
  const video = await firstObject();
  const boxes = []; for (let o = 0; o + 8 <= video.payload.length && boxes.length < 4;) {
    const v = new DataView(video.payload.buffer, video.payload.byteOffset + o);
    boxes.push(dec.decode(video.payload.slice(o + 4, o + 8))); o += v.getUint32(0);
  }
  await post({ok: true, protocol: wt.protocol, catalog: catalog.version, tracks: catalog.tracks.map((t) => t.name + ":" + t.codec), videoObject: video.id, boxes});
} catch (e) {
  await post({ok: false, error: String(e)});
}
</script>`

// TestBrowserWebTransport: headless Chromium, a client nobody here wrote,
// reaches the gateway over WebTransport with the self-signed certificate
// pinned through serverCertificateHashes (which browsers accept only for
// ECDSA certificates valid under 14 days), negotiates MoQT, and receives
// the catalog and a video object.
func TestBrowserWebTransport(t *testing.T) {
	for _, proto := range []string{"moqt-16", "moq-00"} {
		t.Run(proto, func(t *testing.T) { browserSubscribes(t, proto) })
	}
}

func browserSubscribes(t *testing.T, proto string) {
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "install chromium: apt-get install -y chromium (scripts/test.sh does)")
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
	push := startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "2", "-i", clip, "-c", "copy", "-f", "flv", "rtmp://"+g.RTMP+"/live/cam1")
	defer push.kill()
	g.waitStream(t, "live/cam1", 20*time.Second)
	hash := regexp.MustCompile(`sha256=([0-9a-f]{64})`).FindStringSubmatch(g.logs.String())
	require.NotNil(t, hash, "certificate hash in the log")

	results := make(chan map[string]any, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	page := fmt.Sprintf(browserPage, "https://"+g.MoQ+"/moq", hash[1], "live/cam1", proto)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/result" {
			var res map[string]any
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &res)
			select {
			case results <- res:
			default:
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile := t.TempDir()
	browser := exec.CommandContext(ctx, chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "http://"+ln.Addr().String()+"/")
	out := &syncBuffer{}
	browser.Stdout, browser.Stderr = out, out
	require.NoError(t, browser.Start())
	defer func() {
		_ = browser.Process.Kill()
		_ = browser.Wait()
		_ = os.RemoveAll(profile)
	}()
	select {
	case res := <-results:
		t.Logf("browser result: %v", res)
		require.Equal(t, true, res["ok"], "browser: %v\n%s", res["error"], out.String())
		require.Equal(t, proto, res["protocol"], "negotiated with WT-Available-Protocols (moq-00: draft-14 in SETUP)")
		require.Equal(t, "draft-01", res["catalog"])
		tracks := fmt.Sprint(res["tracks"])
		require.Contains(t, tracks, "video:avc1.64")
		require.Contains(t, tracks, "audio:mp4a.40.2")
		require.Equal(t, float64(0), res["videoObject"], "a joiner starts at a group's first object")
		boxes := strings.Join(toStrings(res["boxes"]), ",")
		require.Contains(t, []string{"prft,moof,mdat", "moof,mdat"}, boxes, "one CMAF chunk per object")
	case <-ctx.Done():
		t.Fatalf("no result from the browser:\n%s", out.String())
	}
}

func toStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, x := range a {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}
