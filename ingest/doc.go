// Package ingest is the neutral vocabulary shared by the protocol adapters
// (ingest/rtmp, ingest/rtsp, ingest/srt) and the stages behind them: a stream
// is a set of Tracks and a sequence of Frames, published into a Sink.
//
// Library types of gortmplib, gortsplib and gosrt never leave their adapter
// package; everything that crosses the seam is declared here.
package ingest
