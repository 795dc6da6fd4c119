package rtmp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// This file is the NetConnection/NetStream command exchange of a publisher,
// done here rather than by gortmplib.ServerConn because ServerConn hides the
// connect command's tcUrl and app: the gateway needs them to decide on Adobe
// authentication before the publisher names its stream, and to split OBS's
// "Server" and "Stream Key" fields itself (url.go). The replies mirror
// ServerConn's, which OBS and ffmpeg are known to accept.

// Stream IDs of the replies: gortmplib writes message stream IDs big-endian,
// so 0x1000000 is the stream 1 that createStream hands out.
const (
	statusChunkStreamID = 5
	statusStreamID      = 0x1000000
	encodingAMF0        = 0
)

// errUnpublished reports a publisher that ended its stream with
// FCUnpublish, deleteStream or closeStream.
var errUnpublished = errors.New("publisher ended the stream")

// connectCommand is what a publisher's connect command says.
type connectCommand struct {
	chunkStreamID byte
	id            int
	app, tcURL    string
	flashVer      string
}

// readConnect reads messages up to the connect command.
func (c *conn) readConnect() (connectCommand, error) {
	for {
		msg, err := c.mc.Read()
		if err != nil {
			return connectCommand{}, err
		}
		cmd, ok := msg.(*message.CommandAMF0)
		if !ok {
			continue
		}
		if cmd.Name != "connect" {
			return connectCommand{}, fmt.Errorf("expected connect, got command %q", cmd.Name)
		}
		var obj amf0.Object
		if len(cmd.Arguments) > 0 {
			obj, _ = objectOrArray(cmd.Arguments[0])
		}
		cc := connectCommand{chunkStreamID: cmd.ChunkStreamID, id: cmd.CommandID}
		cc.app, _ = obj.GetString("app")
		cc.tcURL, ok = obj.GetString("tcUrl")
		if !ok {
			cc.tcURL, _ = obj.GetString("tcurl")
		}
		cc.flashVer, _ = obj.GetString("flashVer")
		if cc.app == "" && cc.tcURL == "" {
			return connectCommand{}, errors.New("connect command without app and tcUrl")
		}
		return cc, nil
	}
}

func objectOrArray(v any) (amf0.Object, bool) {
	switch o := v.(type) {
	case amf0.Object:
		return o, true
	case amf0.ECMAArray:
		return amf0.Object(o), true
	default:
		return nil, false
	}
}

// acceptConnect answers connect with success.
func (c *conn) acceptConnect(cc connectCommand) error {
	for _, msg := range []message.Message{
		&message.SetWindowAckSize{Value: 2500000},
		&message.SetPeerBandwidth{Value: 2500000, Type: 2},
		&message.SetChunkSize{Value: 65536},
		&message.CommandAMF0{
			ChunkStreamID: cc.chunkStreamID,
			Name:          "_result",
			CommandID:     cc.id,
			Arguments: []any{
				amf0.Object{
					{Key: "fmsVer", Value: "LNX 9,0,124,2"},
					{Key: "capabilities", Value: float64(31)},
				},
				amf0.Object{
					{Key: "level", Value: "status"},
					{Key: "code", Value: "NetConnection.Connect.Success"},
					{Key: "description", Value: "Connection succeeded."},
					{Key: "objectEncoding", Value: float64(encodingAMF0)},
				},
			},
		},
	} {
		if err := c.mc.Write(msg); err != nil {
			return err
		}
	}
	return nil
}

// rejectConnect answers connect with an error; Adobe authentication speaks
// through its description.
func (c *conn) rejectConnect(cc connectCommand, description string) error {
	return c.mc.Write(&message.CommandAMF0{
		ChunkStreamID: cc.chunkStreamID,
		Name:          "_error",
		CommandID:     cc.id,
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: "error"},
				{Key: "code", Value: "NetConnection.Connect.Rejected"},
				{Key: "description", Value: description},
			},
		},
	})
}

// streamCommand is a publish or play command.
type streamCommand struct {
	id      int
	publish bool
	name    string
}

// readStreamCommand answers createStream and returns the publish or play
// command that follows. releaseStream, FCPublish and the like need no reply.
func (c *conn) readStreamCommand() (streamCommand, error) {
	for {
		msg, err := c.mc.Read()
		if err != nil {
			return streamCommand{}, err
		}
		cmd, ok := msg.(*message.CommandAMF0)
		if !ok {
			continue
		}
		switch cmd.Name {
		case "createStream":
			err = c.mc.Write(&message.CommandAMF0{
				ChunkStreamID: cmd.ChunkStreamID,
				Name:          "_result",
				CommandID:     cmd.CommandID,
				Arguments:     []any{nil, float64(1)},
			})
			if err != nil {
				return streamCommand{}, err
			}
		case "publish", "play":
			sc := streamCommand{id: cmd.CommandID, publish: cmd.Name == "publish"}
			ok = false
			if len(cmd.Arguments) >= 2 {
				sc.name, ok = cmd.Arguments[1].(string)
			}
			if !ok {
				return streamCommand{}, fmt.Errorf("%s command without a stream name", cmd.Name)
			}
			return sc, nil
		case "deleteStream", "closeStream", "FCUnpublish":
			return streamCommand{}, errUnpublished
		}
	}
}

// status sends an onStatus event for the stream (NetStream.Publish.Start,
// NetStream.Publish.Unauthorized…). Error descriptions reach the user: ffmpeg
// prints "Server error: <description>".
func (c *conn) status(commandID int, level, code, description string) error {
	return c.mc.Write(&message.CommandAMF0{
		ChunkStreamID:   statusChunkStreamID,
		MessageStreamID: statusStreamID,
		Name:            "onStatus",
		CommandID:       commandID,
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: level},
				{Key: "code", Value: code},
				{Key: "description", Value: description},
			},
		},
	})
}

// endsStream reports whether a command ends the publisher's stream.
func endsStream(msg message.Message) bool {
	cmd, ok := msg.(*message.CommandAMF0)
	if !ok {
		return false
	}
	switch strings.TrimSpace(cmd.Name) {
	case "deleteStream", "closeStream", "FCUnpublish":
		return true
	}
	return false
}
