package moq_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// exampleServer serves origin on 127.0.0.1 with a fresh self-signed
// certificate. It returns the address, a TLS configuration that trusts the
// certificate, and a stop function that shuts the server down gracefully
// and waits for it.
func exampleServer(origin *moq.Origin, versions ...wire.Version) (addr string, client *tls.Config, stop func()) {
	cert, _, err := moq.SelfSignedCert([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		panic(err)
	}
	srv := &moq.Server{
		Addr:      "127.0.0.1:0",
		Origin:    origin,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Versions:  versions,
		Logger:    slog.New(slog.DiscardHandler),
	}
	if err := srv.Listen(); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return srv.LocalAddr().String(), &tls.Config{RootCAs: roots}, func() {
		cancel() // Serve closes every session gracefully, then returns
		if err := <-served; err != nil {
			fmt.Println("serve:", err)
		}
	}
}

// The whole lifecycle: a server publishes a broadcast whose tracks are
// created on demand, a client dials it, subscribes and reads groups, an
// unknown track is refused, and the server's graceful shutdown ends the
// subscription with PUBLISH_DONE (GOING_AWAY).
func Example() {
	ns := moq.Namespace{"live", "cam1"}
	origin := moq.NewOrigin()
	created := make(chan *moq.Track, 1)
	bc, err := origin.Publish(ns, moq.TrackProviderFunc(func(b *moq.Broadcast, _ moq.Namespace, name string) *moq.Track {
		if name != "video" {
			return nil // the subscriber gets TRACK_DOES_NOT_EXIST at once
		}
		t, err := b.CreateTrack(name, moq.TrackOptions{})
		if err != nil {
			return b.Track(nil, name) // created by a concurrent request
		}
		created <- t
		return t
	}))
	if err != nil {
		panic(err)
	}
	defer bc.Close()
	addr, clientTLS, stop := exampleServer(origin)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := moq.Dial(ctx, "moqt://"+addr, moq.DialOptions{TLSConfig: clientTLS, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer sess.Close()
	fmt.Println("negotiated:", sess.Version())
	if err := sess.WaitAnnounced(ctx, ns); err != nil {
		panic(err)
	}

	sub, err := sess.Subscribe(ctx, ns, "video", moq.SubscribeOptions{})
	if err != nil {
		panic(err)
	}
	video := <-created
	for g := uint64(1); g <= 2; g++ {
		// One group per GOP; objects are numbered 0, 1, 2 … in it.
		_ = video.StartGroup(g)
		_ = video.WriteObject([]byte(fmt.Sprintf("keyframe %d", g)))
		_ = video.WriteObject([]byte(fmt.Sprintf("delta %d", g)))
		video.EndGroup()
		for n := 0; n < 2; {
			o, err := sub.ReadObject(ctx)
			if err != nil {
				panic(err)
			}
			if o.Status == wire.StatusEndOfGroup {
				continue // the group's stream ended with FIN
			}
			fmt.Printf("group %d object %d: %s\n", o.Group, o.ID, o.Payload)
			n++
		}
	}

	_, err = sess.Subscribe(ctx, ns, "audio", moq.SubscribeOptions{})
	var re *moq.RequestError
	fmt.Println("audio:", errors.Is(err, moq.ErrTrackDoesNotExist), errors.As(err, &re) && re.Code == wire.RequestDoesNotExist)

	stop()
	for {
		if _, err = sub.ReadObject(ctx); err != nil {
			break
		}
	}
	var done *moq.PublishDoneError
	fmt.Println("subscription ended:", errors.As(err, &done) && done.Code == wire.DoneGoingAway)
	uri, goaway := sess.GoAwayURI()
	fmt.Printf("GOAWAY: %v %q\n", goaway, uri)
	<-sess.Context().Done()
	var se *moq.SessionError
	fmt.Println("session closed cleanly:", errors.As(sess.Err(), &se) && se.Code == wire.SessionNoError)
	// Output:
	// negotiated: draft-19
	// group 1 object 0: keyframe 1
	// group 1 object 1: delta 1
	// group 2 object 0: keyframe 2
	// group 2 object 1: delta 2
	// audio: true true
	// subscription ended: true
	// GOAWAY: true ""
	// session closed cleanly: true
}

// A client that offers only a draft the server does not speak fails with
// an error matching ErrVersionNegotiation that names what it offered.
func ExampleDial_versionNegotiation() {
	addr, clientTLS, stop := exampleServer(moq.NewOrigin(), wire.Draft14)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := moq.Dial(ctx, "moqt://"+addr, moq.DialOptions{
		TLSConfig: clientTLS,
		Versions:  []wire.Version{wire.Draft16},
		Logger:    slog.New(slog.DiscardHandler),
	})
	fmt.Println(errors.Is(err, moq.ErrVersionNegotiation), strings.Contains(err.Error(), "[moqt-16]"))

	// Offering both drafts (the default) succeeds with the common one.
	sess, err := moq.Dial(ctx, "moqt://"+addr, moq.DialOptions{TLSConfig: clientTLS, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer sess.Close()
	fmt.Println(sess.Version())
	// Output:
	// true true
	// draft-14
}

// Datagram delivery: each object that fits goes as an OBJECT_DATAGRAM. One
// too large goes on a subgroup stream in draft-16; draft-14 counts it in
// SessionStats.DatagramsLost instead.
func ExampleDelivery() {
	ns := moq.Namespace{"live", "sensor"}
	origin := moq.NewOrigin()
	bc, err := origin.Publish(ns, nil)
	if err != nil {
		panic(err)
	}
	defer bc.Close()
	track, err := bc.CreateTrack("readings", moq.TrackOptions{Delivery: moq.DeliveryDatagram})
	if err != nil {
		panic(err)
	}
	addr, clientTLS, stop := exampleServer(origin)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := moq.Dial(ctx, "https://"+addr+moq.DefaultWebTransportPath, moq.DialOptions{
		TLSConfig: clientTLS, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer sess.Close()
	fmt.Println(sess.Transport(), sess.Version())
	sub, err := sess.Subscribe(ctx, ns, "readings", moq.SubscribeOptions{Filter: wire.FilterNextGroupStart})
	if err != nil {
		panic(err)
	}

	_ = track.StartGroup(7)
	_ = track.WriteObject([]byte("21.5 °C"))
	o, err := sub.ReadObject(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d/%d datagram=%v %s\n", o.Group, o.ID, o.Datagram, o.Payload)

	_ = track.WriteObject(make([]byte, 4000))
	for {
		o, err = sub.ReadObject(ctx)
		if err != nil || o.Status == wire.StatusNormal {
			break
		}
	}
	fmt.Printf("%d/%d datagram=%v %d bytes\n", o.Group, o.ID, o.Datagram, len(o.Payload))
	// Output:
	// webtransport draft-19
	// 7/0 datagram=true 21.5 °C
	// 7/1 datagram=false 4000 bytes
}

// Fetching the past: a joining FETCH returns, from the track's cache, the
// groups before its subscription's Largest Location up to and including it;
// the subscription itself starts at that location's group, so the two
// overlap there.
func ExampleSession_Fetch() {
	ns := moq.Namespace{"live", "cam1"}
	origin := moq.NewOrigin()
	bc, err := origin.Publish(ns, nil)
	if err != nil {
		panic(err)
	}
	defer bc.Close()
	video, err := bc.CreateTrack("video", moq.TrackOptions{CacheGroups: 4})
	if err != nil {
		panic(err)
	}
	for g := uint64(1); g <= 3; g++ {
		_ = video.StartGroup(g)
		_ = video.WriteObject([]byte(fmt.Sprintf("GOP %d", g)))
	}
	addr, clientTLS, stop := exampleServer(origin)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := moq.Dial(ctx, "moqt://"+addr, moq.DialOptions{
		TLSConfig: clientTLS, Versions: []wire.Version{wire.Draft14}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer sess.Close()

	sub, err := sess.Subscribe(ctx, ns, "video", moq.SubscribeOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("largest:", *sub.Largest)
	f, err := sess.Fetch(ctx, moq.FetchRequest{Joining: sub, JoiningStart: 2})
	if err != nil {
		panic(err)
	}
	for {
		o, err := f.ReadObject(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("fetched %d/%d: %s\n", o.Group, o.ID, o.Payload)
	}
	o, err := sub.ReadObject(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("subscribed %d/%d: %s\n", o.Group, o.ID, o.Payload)
	// Output:
	// largest: {3 0}
	// fetched 1/0: GOP 1
	// fetched 2/0: GOP 2
	// fetched 3/0: GOP 3
	// subscribed 3/0: GOP 3
}
