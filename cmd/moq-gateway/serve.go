package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/gateway"
)

func runServe(ctx context.Context, args, environ []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("moq-gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML configuration file")
	logFormat := fs.String("log-format", "", "log format: text or json")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error")
	rtmpAddr := fs.String("rtmp", "", "RTMP listen address (\"off\" disables)")
	srtAddr := fs.String("srt", "", "SRT listen address (\"off\" disables)")
	rtspAddr := fs.String("rtsp", "", "RTSP listen address (\"off\" disables)")
	moqAddr := fs.String("moq", "", "MoQ UDP listen address, raw QUIC and WebTransport (\"off\" disables)")
	httpAddr := fs.String("http", "", "status, metrics and health listen address (\"off\" disables)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: moq-gateway [flags]\n       moq-gateway sub -h\n       moq-gateway version\n\nflags:")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nEvery configuration key can also be set with %s<KEY_PATH> environment variables, e.g. MOQGW_RTMP_LISTEN.\n", config.EnvPrefix)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	// Problems of the file, the environment and the result are reported
	// together, so one run shows everything to fix.
	cfg, loadErr := config.Load(*cfgPath, environ)
	override := map[string]*string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "log-format":
			override["format"] = &cfg.Log.Format
		case "log-level":
			override["level"] = &cfg.Log.Level
		case "rtmp":
			override["rtmp"] = &cfg.RTMP.Listen
		case "srt":
			override["srt"] = &cfg.SRT.Listen
		case "rtsp":
			override["rtsp"] = &cfg.RTSP.Listen
		case "moq":
			override["moq"] = &cfg.MoQ.Listen
		case "http":
			override["http"] = &cfg.HTTP.Listen
		}
	})
	for name, dst := range override {
		v := map[string]string{
			"format": *logFormat, "level": *logLevel, "rtmp": *rtmpAddr, "srt": *srtAddr,
			"rtsp": *rtspAddr, "moq": *moqAddr, "http": *httpAddr,
		}[name]
		if v == "off" {
			v = ""
		}
		*dst = v
	}
	if err := errors.Join(loadErr, cfg.Validate()); err != nil {
		return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	g, err := gateway.New(cfg, cfg.Log.NewLogger(stderr))
	if err != nil {
		return err
	}
	return g.Run(ctx)
}
