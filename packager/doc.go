// Package packager turns the neutral ingest vocabulary (ingest.Track,
// ingest.Frame) of one stream into CMAF for MoQ: one single-track init
// segment per track, one CMAF chunk (moof+mdat holding exactly one frame)
// per MoQ object, one MoQ group per GOP, and an MSF draft-01 catalog with
// CMSF packaging "cmaf" on the track "catalog".
//
// # Tracks
//
// The first video track of a publication is named "video", the first audio
// track "audio", further ones "video1", "audio1" and so on. Names are kept
// when a publisher reconnects (Muxer.SetTracks on a live Muxer), so
// subscribers keep their subscriptions. Each track has its own init segment
// (ftyp+moov, brand cmfc, one trak with trackID 1): avc1, hvc1, av01, mp4a
// (esds built from the real AudioSpecificConfig) or Opus (dOps). Video uses
// the 90 kHz media timescale, audio its sample rate.
//
// # Timing
//
// Each track has a continuous 64-bit decode timeline. All tracks of a stream
// share one origin: the first frame the stream emits is placed at the
// wall-clock time the stream started, so tfdt divided by the timescale is
// roughly Unix time and lines up across tracks. Non-increasing video DTS are
// clamped to the previous DTS plus one tick (ffmpeg's FLV muxer starts B-frame
// streams with two frames at DTS 0); a jump of more than 10 s forward or
// 100 ms backward is taken as a discontinuity and re-anchors the track right
// after its previous frame. A reconnecting publisher's timestamps are
// re-anchored the same way, after the end of the stream so far, so tfdt
// never rewinds on a track whose name stays.
//
// Audio decode times come from a running sample count (AAC 1024 or 960
// samples per frame, 2048 for HE-AAC at its output rate, Opus from the TOC
// byte), anchored on the first frame. The count follows the source clock
// only when the two drift apart by more than one frame: a source ahead of the
// count leaves a gap, a source behind it drops the frame. This keeps
// durations exact although RTMP millisecond timestamps jitter and 44.1 kHz
// frames are not integral in a 90 kHz clock.
//
// Video sample durations are a latency trade-off. A frame's exact duration
// is only known when the next frame arrives. By default nothing is held
// back: a chunk's tfdt is the frame's true DTS and its duration is the DTS
// delta to the previous frame (the nominal frame duration for the first
// frame), so a player sees exact decode times and durations that are
// exact for constant frame rates and off by the rate change otherwise.
// Config.ExactDurations holds one video frame back instead, which costs one
// frame of latency and writes each duration as the true DTS delta.
//
// # Groups and objects
//
// A video group starts at every keyframe, with object 0 the keyframe chunk.
// Audio starts a new group with the same group ID at its first frame at or
// after the keyframe's presentation time; a stream without video starts an
// audio group about every second, and audio waits at most two seconds for
// a declared video track's first keyframe. Group IDs only grow, also across
// publisher reconnects, and are seeded from wall-clock milliseconds. Frames
// that cannot be decoded yet (before a track's first keyframe, before its
// decoder configuration is known, audio before the group it aligns to) are
// dropped and counted in Stats.
//
// # Catalog
//
// A catalog version lists every track whose decoder configuration is known;
// it goes out as object 0 of a new group of the track "catalog" before the
// first object that needs it: at the first keyframe, when a configuration
// changes (a new init segment with a new initRef, in band or from a
// reconnecting publisher), when tracks come or go, and once more when the
// bitrates of tracks that declared none have been measured.
//
// # Performance
//
// The per-frame path writes the fixed-layout moof (mfhd, traf with tfhd,
// tfdt and a one-sample version 1 trun), an optional prft and the mdat
// header straight into one new payload slice, then copies the NAL units with
// 4-byte length prefixes. It produces the same bytes as mp4ff's
// CreateFragment, AddFullSample and Encode, without building a box tree.
package packager
