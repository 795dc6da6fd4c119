package sub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/moqgw/moq-gateway/moq"
)

// onMoqRSInit follows a version of a moq-rs layout's init track (one
// ftyp+moov for every track, as moq-pub publishes it): each track is
// recorded from "<trackID>.m4s" into video.mp4, audio.mp4 (video2.mp4 …)
// with an init segment of its own.
func (r *recording) onMoqRSInit(ctx context.Context, obj moq.Object) error {
	inits, err := splitInit(obj.Payload)
	if err != nil {
		return fmt.Errorf("moq-rs init track: %w", err)
	}
	seen := map[string]int{}
	var specs []trackSpec
	for _, ti := range inits {
		seen[ti.kind]++
		file := ti.kind
		if n := seen[ti.kind]; n > 1 {
			file += strconv.Itoa(n)
		}
		ref := strconv.FormatUint(obj.Group, 10) + "/" + strconv.Itoa(int(ti.id))
		specs = append(specs, trackSpec{file, strconv.Itoa(int(ti.id)) + ".m4s", ref, ti.init, moq.SubscribeOptions{Join: true}})
	}
	return r.record(ctx, specs)
}

// trackInit is one track of a multi-track init segment, as an init segment
// of its own.
type trackInit struct {
	id   uint32
	kind string // "video", "audio" or the handler type
	init []byte
}

// splitInit splits an ftyp+moov with several traks into one init segment
// per trak, keeping each track's ID (its chunks carry it).
func splitInit(b []byte) (out []trackInit, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed init segment: %v", p)
		}
	}()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if f.Init == nil || f.Init.Moov == nil || len(f.Init.Moov.Traks) == 0 {
		return nil, errors.New("no moov with tracks")
	}
	for _, trak := range f.Init.Moov.Traks {
		seg := mp4.NewMP4Init()
		if f.Init.Ftyp != nil {
			seg.AddChild(f.Init.Ftyp)
		}
		moov := mp4.NewMoovBox()
		seg.AddChild(moov)
		moov.AddChild(f.Init.Moov.Mvhd)
		moov.AddChild(trak)
		mvex := mp4.NewMvexBox()
		if f.Init.Moov.Mvex != nil {
			for _, trex := range f.Init.Moov.Mvex.Trexs {
				if trex.TrackID == trak.Tkhd.TrackID {
					mvex.AddChild(trex)
				}
			}
		}
		moov.AddChild(mvex)
		buf := make([]byte, seg.Size())
		sw := bits.NewFixedSliceWriterFromSlice(buf)
		if err := seg.EncodeSW(sw); err != nil {
			return nil, err
		}
		kind := trak.Mdia.Hdlr.HandlerType
		switch kind {
		case "vide":
			kind = "video"
		case "soun":
			kind = "audio"
		}
		out = append(out, trackInit{id: trak.Tkhd.TrackID, kind: kind, init: sw.Bytes()})
	}
	return out, nil
}
