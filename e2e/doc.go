// Package e2e holds the end-to-end tests: they build the moq-gateway binary,
// push real streams into it with ffmpeg (RTMP, SRT, RTSP), and receive them
// with `moq-gateway sub` and with Eyevinn/moqtransport, an independent MoQT
// implementation; ffprobe judges the MP4 files. Run them with
// `go test -tags e2e ./e2e/...` (make e2e). They need ffmpeg and ffprobe,
// which scripts/test.sh installs, and fail loudly without them.
package e2e
