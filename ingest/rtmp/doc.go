// Package rtmp is the gateway's RTMP and RTMPS ingest: a Server that accepts
// publishers (OBS, ffmpeg and other encoders), authorizes them with
// ingest.Auth and hands their tracks and frames to an ingest.Sink.
//
// It is built on gortmplib: its handshake, chunk and message layers, and its
// Reader, which finds the tracks (legacy H.264 and AAC; Enhanced RTMP H.265,
// AV1, Opus and multitrack) and splits the frames. The command exchange up to
// publish is done here (command.go) so that the gateway sees the connect
// command's tcUrl: it needs it for OBS's split of Server and Stream Key and
// for Adobe authentication (adobe.go).
//
// # What publishers type
//
// The stream path is the tcUrl's path joined with the stream name, without
// either query (url.go):
//
//	OBS     Server rtmp://gw/live             Stream Key cam1          → live/cam1
//	OBS     Server rtmp://gw/live/cam1        Stream Key (empty)       → live/cam1
//	ffmpeg  -f flv rtmp://gw/live/cam1                                 → live/cam1
//
// Credentials go in the query of either part, ?key=K for a stream key rule
// and ?user=U&pass=P for a user rule: Stream Key "cam1?key=K", or
// rtmp://gw/live/cam1?key=K for ffmpeg. OBS's "Use authentication" (Adobe
// authentication) works for rules with a user name on the Server's path:
// "live/*", "*", or the exact path when the Stream Key is empty. RTMPS is the
// same Server behind TLS (ServeTLS); OBS refuses self-signed certificates.
//
// # Timestamps
//
// RTMP has one millisecond clock per connection; gortmplib reassembles the
// 24-bit and extended timestamps into a 32-bit value and this package
// unwraps it into the 64-bit timeline of ingest.Frame, so Track.Timescale is
// 1000. DTS is the RTMP timestamp as sent (ffmpeg's first two B-frame stream
// frames share DTS 0, and so do they here); PTS is DTS plus the composition
// time.
//
// # Limits
//
// Every read has a deadline; the handshake and commands, and then the track
// probe, must each finish within HandshakeTimeout, and a connection may send
// 64 KiB before its publish is accepted and 64 MiB during the probe. Chunk
// sizes below 128 bytes, RTMPE, unknown message types and messages over
// 10 MiB (gortmplib's limit) end the connection. MaxConns bounds the number of
// connections. Each connection's goroutines recover from panics and close
// only their connection.
package rtmp
